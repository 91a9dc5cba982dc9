"""The subject: one engine under test, from its spec to the report's ``subject`` and ``diagnosis``.

    subject = Subject.from_spec(parse_spec("path/to/engine.py:Value"))
    subject.prepare()          # load, detect, probe every op by form, diagnose
    subject.evaluate(case, point)  -> (value, [partials]) or a worker Failure
    subject.meta(records)      -> {"subject": {...}, "diagnosis": [...]}
"""
from __future__ import annotations

from reference.subject import explain, hints
from reference.subject import ops as _ops
from reference.subject.diagnose import FAILING_KINDS, diagnose, finding
from reference.subject.load import EngineSpec
from reference.subject.worker import Failure, InProcess, Isolated, case_ref


class Subject:
    """An engine under test and everything learnt about it."""

    def __init__(self, spec: EngineSpec | None = None, cls: type | None = None, isolated: bool = True):
        self.spec = spec
        self.cls = cls
        self.isolated = isolated and spec is not None
        timeout = spec.timeout if spec else 5.0
        self.executor = None
        self._timeout = timeout
        self.broken = ""
        self.detected: dict = {}
        self.forms: dict[str, dict] = {}
        self.lacks: dict[str, str] = {}
        self.hints: list[str] = []
        self._explained: set[int] = set()  # ids of the findings already put in plain words
        self.lifted: dict[str, str] = {}
        self.findings: list[dict] = []
        self.probes = {"ran": 0, "total": 0}
        self.prepared = False
        self.diagnosed = False

    @classmethod
    def from_spec(cls, spec: EngineSpec) -> Subject:
        return cls(spec=spec)

    @classmethod
    def from_class(cls, value_class: type) -> Subject:
        return cls(cls=value_class, isolated=False)

    # -- names -------------------------------------------------------------------------
    @property
    def class_name(self) -> str:
        if self.spec is not None:
            return self.spec.cls
        return self.cls.__qualname__

    @property
    def file(self) -> str:
        if self.spec is not None:
            return self.spec.path or self.spec.module
        import sys
        return getattr(sys.modules.get(self.cls.__module__), "__file__", "") or self.cls.__module__

    @property
    def label(self) -> str:
        if self.spec is not None:
            return f"{self.spec.module + '.' if self.spec.module else ''}{self.spec.cls} ({self.file})" \
                if not self.spec.module else f"{self.spec.module}.{self.spec.cls}"
        return f"{self.cls.__module__}.{self.cls.__qualname__}"

    # -- running ---------------------------------------------------------------------------
    def call(self, name, *args, timeout=None):
        if self.executor is None:
            if self.isolated:
                self.executor = Isolated(self.spec, None, self._timeout)
            else:
                try:
                    self.executor = InProcess(self.spec, self.cls, self._timeout)
                except Exception as err:
                    return Failure("raises", f"{type(err).__name__}: {err}", type(err).__name__)
        return self.executor.call(name, *args, timeout=timeout)

    def prepare(self, diagnose_too: bool = True) -> Subject:
        """Load, detect the adapter's names, probe every op in every form (and diagnose)."""
        if self.prepared:
            if diagnose_too and not self.diagnosed:
                self._diagnose()
            return self
        self.prepared = True
        found = self.call("setup", timeout=max(30.0, self._timeout))
        if isinstance(found, Failure):
            what = {"timeout": "loading the engine did not finish", "crash": "loading the engine killed its process"}
            self.broken = f"{what.get(found.kind, 'loading the engine failed')}: {found.message}"
            self.findings.append(finding("api", None, f"{self.class_name} could not be loaded: {found.message}",
                                         [{"file": self.file}]))
            return self
        if "broken" in found:
            self.broken = found["broken"]
            self.findings.append(finding("api", None, found["broken"], [{"file": self.file}]))
            self.explain()
            return self
        self.detected = found
        if found.get("precision") == "float32":
            self.findings.append(finding("precision", None, f"{self.class_name} computes in float32: judged at "
                                         "float32 tolerance (relative 1e-4) and points outside float32's range "
                                         "are not judged", []))
        plan = {}
        for name, info in _ops.ops().items():
            res = self.call("probe_op", name)
            if isinstance(res, Failure):
                self.forms[name] = {info.primary_form: res}
                self.findings.append(finding(res.kind if res.kind in ("timeout", "crash") else "raises", name,
                                             f"probing {name}: {res.message}", []))
                plan[(name, info.primary_form)] = ("native", "")
                continue
            self.forms[name] = res
            self._plan_op(info, res, plan)
        self.hints = hints.functions_hint(self.file, self.class_name, self.lacks,
                                          bool(self.spec is not None and self.spec.functions))
        if isinstance(self.executor, Isolated):
            self.executor.plan.update(plan)
        self.call("set_plan", plan)
        if diagnose_too:
            self._diagnose()
        return self

    def _plan_op(self, info, res, plan):
        primary = res.get(info.primary_form) or res.get("call")
        for form, r in res.items():
            status = r.get("status")
            if status == "lifted":
                plan[(info.name, form)] = ("lift", "")
                self.lifted[f"{info.name} ({form})"] = (f"{r.get('native_reason', '')}; constants are lifted with "
                                                         f"{self.class_name}(c)").lstrip("; ")
            elif status == "lacks":
                plan[(info.name, form)] = ("lacks", r["reason"])
            elif status == "ok" and r.get("how", "").startswith(("method:", "function:")):
                plan[(info.name, "call")] = ("native", r["how"])
        if primary is None or primary.get("status") == "lacks":
            self.lacks[info.name] = (primary or {}).get("reason", "not found")
        elif primary.get("status") == "raises":
            self.findings.append(finding("raises", info.name, f"{info.name} raises {primary['reason']} at an ordinary "
                                         f"point ({_point(info)})", [{"probe": info.name, "at": _point(info)}]))
        else:
            missing = [f for f, r in res.items() if r.get("status") == "lacks"]
            for form in missing:
                self.lacks[f"{info.name} ({form})"] = res[form]["reason"]

    def _diagnose(self):
        self.diagnosed = True
        if self.broken:
            return
        found, probes = diagnose(self.call, self.forms, self.detected.get("precision", "float64"))
        self.findings += found
        self.probes = probes
        self.explain()

    def explain(self) -> None:
        """Where each finding is in the subject's source, and the finding in plain words (issue 24)."""
        explain.annotate(self.findings, lambda op, form: self.call("locate", op, form), self._explained)

    def evaluate(self, case, point):
        ref = case_ref(case) if self.isolated else case
        return self.call("evaluate", ref, tuple(point))

    def graph(self, case, point):
        ref = case_ref(case) if self.isolated else case
        return self.call("graph", ref, tuple(point))

    def close(self) -> None:
        if self.executor is not None:
            self.executor.stop()

    # -- what the report gets --------------------------------------------------------------
    @property
    def bug_found(self) -> bool:
        return any(f["kind"] in FAILING_KINDS for f in self.findings)

    def subject_dict(self, records=None) -> dict:
        return {"class": self.class_name, "file": self.file, "lacks": dict(self.lacks),
                "lifted": dict(self.lifted), "hints": list(self.hints),
                "adapter": {k: v for k, v in self.detected.items() if k != "notes"},
                "notes": list(self.detected.get("notes", [])),
                "coverage": coverage(records or [], self.probes), **({"broken": self.broken} if self.broken else {})}

    def diagnosis(self) -> list[dict]:
        order = {k: i for i, k in enumerate(("api", "crash", "timeout", "raises", "forward", "rule", "graph",
                                             "precision", "convention"))}
        return sorted(self.findings, key=lambda f: order.get(f["kind"], 99))


def _point(info) -> str:
    names = "xy"
    return ", ".join(f"{names[i]} = {v:g}" for i, v in enumerate(info.probe))


def coverage(records, probes=None) -> dict:
    """Cases and records the subject really ran (status ok), of the total it was given."""
    mine = [r for r in records if r.get("backend") == "engine"]
    cases = {}
    for r in mine:
        cases[r["case"]] = cases.get(r["case"], False) or r["status"] == "ok"
    out = {"records": {"ran": sum(r["status"] == "ok" for r in mine), "total": len(mine)},
           "cases": {"ran": sum(cases.values()), "total": len(cases)},
           "unsupported": sum(r["status"] == "unsupported" for r in mine),
           "errors": sum(r["status"] == "error" for r in mine)}
    if probes is not None:
        out["probes"] = dict(probes)
    return out


def ran_anything(records) -> bool:
    """Whether the subject really ran at least one record (for exit status 3 and the pytest API)."""
    return any(r.get("backend") == "engine" and r.get("status") == "ok" for r in records)
