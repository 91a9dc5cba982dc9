"""The subject: one engine under test, from its spec to the report's ``subject`` and ``diagnosis``.

    subject = Subject.from_spec(parse_spec("path/to/engine.py:Value"))
    subject.prepare()          # load, detect, probe every op by form, diagnose
    subject.evaluate(case, point)  -> (value, [partials]) or a worker Failure
    subject.meta(records)      -> {"subject": {...}, "diagnosis": [...]}
"""
from __future__ import annotations

import os

from reference.corpus.cases import by_name as case_by_name
from reference.subject import explain, hints
from reference.subject import ops as _ops
from reference.subject.adapter import InternalError
from reference.subject.diagnose import FAILING_KINDS, diagnose, finding
from reference.subject.load import EngineSpec
from reference.subject.localise import localise
from reference.subject.worker import Failure, InProcess, Isolated, case_ref

_SHARED: dict = {}  # (pid, spec, pickled class, file version) -> Subject, see Subject.shared


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
        self._worded: set[int] = set()  # ids of the findings already put in plain words
        self.lifted: dict[str, str] = {}
        self.findings: list[dict] = []
        self.probes = {"ran": 0, "total": 0}
        self.prepared = False
        self.diagnosed = False
        self.built_from: dict[str, set] = {}
        self._explained: set = set()
        self._cases: dict = {}

    @classmethod
    def from_spec(cls, spec: EngineSpec) -> Subject:
        return cls(spec=spec)

    @classmethod
    def shared(cls, spec: EngineSpec) -> Subject:
        """One subject per spec (and version of its file) in this process: loaded, probed and diagnosed once.

        ``run`` prepares the subject before the corpus and the harness makes its backends again; the
        fuzzer and ``check_gradients(engine='file.py:Value')`` in a loop make one per expression. Each
        worker is a fresh interpreter, so sharing saves a start and the probes each time. A closed
        subject starts a new worker when asked again.
        """
        try:
            version = os.stat(spec.path).st_mtime_ns if spec.path else 0
        except OSError:
            version = 0
        key = (os.getpid(), spec, spec.by_value, version)  # a forked process makes its own, never reusing pipes
        subject = _SHARED.get(key)
        if subject is None:
            subject = _SHARED[key] = cls(spec=spec)
        return subject

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
                # a notebook runs its cells before the class exists, each with its own budget: more time to start
                self.executor = Isolated(self.spec, None, self._timeout, 120.0 if self.spec.notebook else 30.0)
            else:
                self.executor = InProcess(self.spec, self.cls, self._timeout)
        answer = self.executor.call(name, *args, timeout=timeout)
        if isinstance(answer, Failure) and answer.kind == "internal":
            # half prepared by a bug of adcheck's: never handed out again by ``shared``
            for key in [k for k, v in _SHARED.items() if v is self]:
                del _SHARED[key]
            raise InternalError(answer.message)
        return answer

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
            self.word_findings()
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
        primary_form = info.primary_form if info.primary_form in res else "call"
        primary = res.get(primary_form)
        api_done = False
        for form, r in res.items():
            status = r.get("status")
            if status == "lifted":
                plan[(info.name, form)] = ("lift", "")
                self.lifted[f"{info.name} ({form})"] = (f"{r.get('native_reason', '')}; constants are lifted with "
                                                         f"{self.class_name}(c)").lstrip("; ")
            elif status == "lacks":
                plan[(info.name, form)] = ("lacks", r["reason"])
            elif status == "ok" and r.get("how", "").startswith(("method:", "function:", "dunder:")):
                plan[(info.name, "call")] = ("native", r["how"])
            elif status == "api" and not api_done:  # defined, but returns no node: a bug, never "lacking"
                api_done = True
                self.findings.append(finding("api", info.name, r["reason"],
                                             [{"probe": f"{info.name} ({form})", "at": _point(info)}]))
            elif status == "raises" and form != primary_form:
                self.findings.append(finding("raises", info.name, f"{info.name} ({form}) raises {r['reason']} at an "
                                             f"ordinary point ({_point(info)})" + _cause(r),
                                             [{"probe": f"{info.name} ({form})", "at": _point(info)}]))
        if primary is None or primary.get("status") == "lacks":
            self.lacks[info.name] = (primary or {}).get("reason", "not found")
        elif primary.get("status") == "raises":
            self.findings.append(finding("raises", info.name, f"{info.name} raises {primary['reason']} at an ordinary "
                                         f"point ({_point(info)})" + _cause(primary),
                                         [{"probe": info.name, "at": _point(info)}]))
        elif primary.get("status") != "api":
            missing = [f for f, r in res.items() if r.get("status") == "lacks"]
            for form in missing:
                self.lacks[f"{info.name} ({form})"] = res[form]["reason"]

    def _diagnose(self):
        self.diagnosed = True
        if self.broken:
            return
        found, probes = diagnose(self.call, self.forms, self.detected.get("precision", "float64"),
                                 built_from=self.built_from)
        self.findings += found
        self.probes = probes
        self._locate()
        self.word_findings()

    def word_findings(self) -> None:
        """Where each finding is in the subject's source, and the finding in plain words (issue 24)."""
        explain.annotate(self.findings, lambda op, form: self.call("locate", op, form), self._worded)

    def _locate(self) -> None:
        """``where`` of a wrong partial whose step is a function class's ``backward`` (MiniTorch's ``Mul.backward``):
        the node has no ``_backward`` closure, so the words' own locating would name the operator that builds it.
        Everything else is located when the findings are put into words."""
        for d in self.findings:
            located = isinstance(d.get("where"), dict) and d["where"].get("file")
            if d.get("op") and d["kind"] == "rule" and not located:
                found = self.call("where", d["op"], d["kind"])
                if isinstance(found, dict) and found.get("file") and str(found.get("function", "")).endswith(
                        ".backward"):
                    d["where"] = found

    def evaluate(self, case, point):
        self._cases[case.name] = case  # ad-hoc cases too (check, the Python API), for ``explain``
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

    # -- failures the probes did not explain -------------------------------------------------
    def _blamed(self) -> set | None:
        """Ops whose failures the findings explain (None: every failure, e.g. a faulty graph walk)."""
        ops = set()
        for f in self.findings:
            if f["kind"] in ("graph", "crash", "timeout") and not f["op"]:
                return None
            if f["op"] and f["kind"] in FAILING_KINDS + ("api",):
                ops.add(f["op"])
        ops |= {op for op, inner in self.built_from.items() if inner & ops}
        return ops

    def explain(self, records, most: int = 6) -> None:
        """Every failing record explained: the smallest failing cases no finding covers are localised on
        the case itself (see ``localise``), until a finding covers each of them or ``most`` were tried."""
        if self.broken or not self.prepared:
            return
        if not self.diagnosed:
            self._diagnose()
        failing = [r for r in records or () if r.get("backend") == "engine" and r.get("subject", True)
                   and (r.get("verdict") == "unjudged" or (r.get("verdict") == "mismatch" and not r.get("expected")))]
        todo = []
        for r in failing:
            case = self._cases.get(r["case"])
            if case is None:
                try:
                    case = case_by_name(r["case"])
                except KeyError:  # an ad-hoc case this subject never ran
                    case = None
            key = (r["case"], tuple(r["point"].values()) if isinstance(r["point"], dict) else tuple(r["point"]))
            if case is not None and key not in self._explained:
                todo.append(((len(case.ops), len(case.name)), key, case))  # the smallest case first
        precision = self.detected.get("precision", "float64")
        tried = 0
        for _, key, case in sorted(todo, key=lambda t: (t[0], t[1])):
            blamed = self._blamed()
            if blamed is None:
                return
            if case.ops & blamed:
                continue
            if key in self._explained or tried >= most:
                continue
            self._explained.add(key)
            tried += 1
            found = localise(case, key[1], self.call, 1e-4 if precision == "float32" else 1e-7)
            if found is None:
                continue
            if found["op"] and any(f["op"] == found["op"] and f["kind"] == found["kind"] for f in self.findings):
                continue
            self.findings.append(finding(found["kind"], found["op"], found["summary"], found["evidence"]))
        if failing and not any(f["kind"] in FAILING_KINDS for f in self.findings):
            # never a failure without a finding: what could not be localised is said as such
            names = sorted({r["case"] for r in failing})
            self.findings.append(finding("graph", None, f"{len(names)} failing case(s) could not be localised to one "
                                         f"op (the case cannot be replayed op by op): {', '.join(names[:5])}"
                                         + (" ..." if len(names) > 5 else ""),
                                         [{"case": n} for n in names[:5]]))

    def subject_dict(self, records=None) -> dict:
        if records:
            self.explain(records)
            self.word_findings()  # the findings localising added, in plain words too
        return {"class": self.class_name, "file": self.file, "lacks": dict(self.lacks),
                "lifted": dict(self.lifted), "hints": list(self.hints),
                "adapter": {k: v for k, v in self.detected.items() if k != "notes"},
                "notes": list(self.detected.get("notes", [])),
                "built_from": {op: sorted(inner) for op, inner in sorted(self.built_from.items())},
                "coverage": coverage(records or [], self.probes), **({"broken": self.broken} if self.broken else {})}

    def diagnosis(self) -> list[dict]:
        order = {k: i for i, k in enumerate(("api", "crash", "timeout", "raises", "forward", "rule", "graph",
                                             "precision", "convention"))}
        return sorted(self.findings, key=lambda f: order.get(f["kind"], 99))


def _cause(r) -> str:
    return f": {r['cause']}" if r.get("cause") else ""


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
