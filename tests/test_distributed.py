"""`--scheduler`: the same records from a Dask LocalCluster as from a local run."""
import pytest

distributed = pytest.importorskip("distributed", reason="the dev set-up installs distributed")

from reference.corpus.cases import select  # noqa: E402
from reference.running.distributed import SchedulerError, connect  # noqa: E402
from reference.running.harness import run_on_cluster  # noqa: E402
from reference.running.harness import run  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c


def test_a_cluster_gives_the_same_records_as_a_local_run(cluster):
    cases = select("seed")[:6] + select("mlp2-3-1")
    names = ("engine", "torch", "sympy", "fd-central")
    local = [r for batch in run(cases, names) for r in batch]
    remote = [r for batch in run_on_cluster(cluster.scheduler_address, cases, names) for r in batch]
    assert remote == local and len(local) > 50


def test_no_scheduler_at_the_address_is_one_clear_error():
    with pytest.raises(SchedulerError, match="cannot reach a Dask scheduler"):
        connect("tcp://127.0.0.1:9", timeout=1)
