"""`run --engine ... --scheduler` on a real Dask cluster (a `dask scheduler` and a `dask worker --nworkers 2`
started as processes): the engine's isolated workers start inside the daemonic Dask worker processes, and the
report is byte for byte the local one (issue 21 item 5)."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed", reason="the dev set-up installs distributed")

ROOT = Path(__file__).resolve().parents[1]
# An engine whose nodes keep their inputs in a tuple: one whose `_prev` is a set (micrograd's) sums a fan-out in
# an order set by memory addresses, so its last bits differ between any two processes, local or not.
ENGINE = ROOT / "tests" / "learner_engines" / "bug_exp_input.py"
CLASS = "Node"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]])
    return env


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


@pytest.fixture
def cluster(tmp_path):
    if shutil.which("dask") is None:
        pytest.skip("no `dask` command (pip install distributed)")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = tmp_path / "dask.log"
    started = []
    with open(log, "w") as out:
        try:
            started.append(subprocess.Popen(["dask", "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                             "--no-dashboard"], stdout=out, stderr=out, env=_env(),
                                            start_new_session=True, cwd=tmp_path))
            started.append(subprocess.Popen(["dask", "worker", address, "--nworkers", "2", "--nthreads", "1",
                                             "--no-dashboard", "--host", "127.0.0.1"], stdout=out, stderr=out,
                                            env=_env(), start_new_session=True, cwd=tmp_path))
            from distributed import Client
            client = Client(address, timeout=30)
            try:
                client.wait_for_workers(2, timeout=60)
            finally:
                client.close()
            yield address
        finally:
            for process in reversed(started):  # only what this fixture started, each by its own group
                _stop(process)


def _run(out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reference", "run", "--engine", f"{ENGINE}:{CLASS}",
                           "--backends", "engine,torch,fd-central", "--out", str(out), *extra],
                          capture_output=True, text=True, env=_env(), cwd=out.parent, timeout=600)


@pytest.mark.slow  # about 30 s: a cluster's start, a local run and a cluster run (CI runs the slow marks too)
def test_an_engine_on_a_real_cluster_gives_the_local_report_byte_for_byte(cluster, tmp_path):
    local, remote = tmp_path / "local", tmp_path / "remote"
    here = _run(local)
    there = _run(remote, "--scheduler", cluster)
    assert "Traceback" not in there.stderr, there.stderr
    assert here.returncode == there.returncode == 1, (here.stdout, there.stdout, there.stderr)
    for name in ("conformance.md", "conformance.json"):
        assert (remote / name).read_bytes() == (local / name).read_bytes(), name
    assert "rule exp" in there.stdout


def test_the_engine_s_workers_start_inside_a_daemonic_process(tmp_path):
    """A multiprocessing pool worker is daemonic: it may not have multiprocessing children, but fresh interpreters."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    start = time.perf_counter()
    with ctx.Pool(1) as pool:
        status, verdicts = pool.apply(_check_in_a_pool, (str(ENGINE),))
    assert status is True, verdicts
    assert "mismatch" in verdicts and time.perf_counter() - start < 120


def _check_in_a_pool(engine: str):
    import multiprocessing

    from reference.testing import check_gradients
    daemonic = multiprocessing.current_process().daemon
    comparison = check_gradients("exp(x) * y", {"x": 0.5, "y": 2.0}, backends=("torch",), engine=f"{engine}:Node")
    return daemonic, [r["verdict"] for r in comparison.records]
