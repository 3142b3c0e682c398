"""One benchmark run's state: which models and benchmarks, where completions come from, how they are graded.

Built once per pytest process from the options (see `infill.plugin`); the pytest-free pieces live here so that
scripts and tests can drive a run without pytest.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Callable

from infill.benchmarks import BENCHMARKS, Sample, load_benchmark, resolve_benchmarks
from infill.errors import InfillUsageError
from infill.grading.grader import Grader, Verdict
from infill.grading.exact_match import EM_RULES
from infill.grading.execution import SandboxConfig
from infill import provenance
from infill.records import isolation_summary, summarize
from infill.report import prepare_report_dir, write_report
from infill.selection import build_sources, cache_dir_option, number
from infill.shard import parse_shard
from infill.sources import CompletionSource, ReplaySource

DEFAULT_BENCHMARKS = "humaneval-single-line,santacoder-fim-py"


class InfillSession:
    def __init__(self, sources: dict[str, CompletionSource], benchmarks: list[str], explicit_benchmarks: bool,
                 grader: Grader, limit: int | None, root: Path, notes: list[str]):
        self.sources, self.benchmarks, self.limit, self.root = sources, benchmarks, limit, root
        self.explicit_benchmarks = explicit_benchmarks
        self.grader, self.notes = grader, notes
        self.selected_cases: list = []          # set after collection (what -k left), for prefetching
        self.shard = None                       # --shard I/N (infill.shard.Shard)
        self.completions = CompletionLookup(self)
        self.grading = GradingService(self)

    @classmethod
    def from_options(cls, get: Callable[[str], object], root: Path, progress=None) -> "InfillSession":
        session = cls({}, [], False, None, None, root, [])
        session.pool = None
        session.shard = parse_shard(get("infill_shard"))    # first: a bad value fails before models load
        family_of = lambda benchmark: BENCHMARKS[benchmark].family
        session.sources, session.notes, session.profile, session.pool = build_sources(
            get, session.selected_samples, progress, family_of, session.grade_candidates)
        spec = get("infill_benchmarks")
        if spec:
            benchmarks = resolve_benchmarks(str(spec))
        else:
            covered = {b for s in session.sources.values() if isinstance(s, ReplaySource) for b in s.files}
            if any(not isinstance(s, ReplaySource) for s in session.sources.values()):
                covered.update(resolve_benchmarks(DEFAULT_BENCHMARKS))
            benchmarks = [b for b in BENCHMARKS if b in covered]
        if not benchmarks:
            raise InfillUsageError(f"--infill-benchmarks {spec!r} selects no benchmark")
        limit = get("infill_limit")
        em_rule = str(get("infill_em_rule"))
        if em_rule not in EM_RULES:
            raise InfillUsageError(f"--infill-em-rule {em_rule!r}: choose from {', '.join(EM_RULES)}")
        isolation = str(get("infill_isolation"))
        if isolation not in ("auto", "bwrap", "rlimits"):
            raise InfillUsageError(f"--infill-isolation {isolation!r}: choose auto, bwrap or rlimits")
        sandbox = SandboxConfig(timeout_s=number("infill_timeout", get("infill_timeout"), float, 0.1),
                                workers=number("infill_workers", get("infill_workers"), int, 0),
                                isolation=isolation)
        session.benchmarks, session.explicit_benchmarks = benchmarks, bool(spec)
        session.limit = None if limit in (None, "") else number("infill_limit", limit, int, 1)
        # execution verdicts are kept beside the generations (infill.grading.verdict_cache), unless nothing is kept
        verdict_dir = None if get("infill_no_cache") else cache_dir_option(get)
        session.grader = Grader(sandbox, em_rule, verdict_dir)
        for benchmark in benchmarks:    # a damaged data file stops the run here, not as a collection error
            load_benchmark(benchmark)
        if isolation == "bwrap" and any(BENCHMARKS[b].grader == "execution" for b in benchmarks):
            try:                        # the sandbox probe, now rather than as an error in every test
                session.grader.pool
            except RuntimeError as exc:
                raise InfillUsageError(f"--infill-isolation bwrap: {exc}: install bubblewrap (apt-get install "
                                       f"bubblewrap) or pass --infill-isolation auto to run programs with rlimits "
                                       f"only (the report then says what that cannot isolate)") from None
        return session

    def selected_samples(self, model: str, benchmark: str) -> list[Sample]:
        """The samples of (model, benchmark) that this process will run (what -k left)."""
        data = load_benchmark(benchmark)
        chosen = [data.samples[c.index] for c in self.selected_cases if (c.model, c.benchmark) == (model, benchmark)]
        return chosen or list(self.samples(benchmark))

    def worker_group(self, model: str) -> str:
        """Models that must share a worker: rows of one model (root name) and an ensemble with its members."""
        if not hasattr(self, "_groups"):
            parent: dict[str, str] = {}

            def find(name: str) -> str:
                while parent.setdefault(name, name) != name:
                    name = parent[name]
                return name
            for name, source in self.sources.items():
                find(name.split("/")[0])
                for member in getattr(getattr(source, "core", None), "members", {}):
                    a, b = sorted([find(name.split("/")[0]), find(member.split("/")[0])])
                    parent[b] = a
            self._groups = {name: find(name.split("/")[0]) for name in self.sources}
        return self._groups.get(model, model.split("/")[0])

    def grade_candidates(self, pairs: list[tuple[Sample, str | None]]) -> list[Verdict]:
        """Verdicts for an ensemble's candidates (started together in the sandbox pool, memoised by program)."""
        self.grader.prefetch(pairs)
        return [self.grader.grade(sample, completion) for sample, completion in pairs]

    # ---- what runs ----
    def samples(self, benchmark: str) -> tuple[Sample, ...]:
        samples = load_benchmark(benchmark).samples
        samples = samples[: self.limit] if self.limit else samples
        # the shard splits what the limit left, for every model alike (ensembles and their members included)
        return tuple(s for s in samples if self.shard.holds(benchmark, s.sample_id)) if self.shard else samples

    def plan(self, family: str) -> list[tuple[str, str, tuple[Sample, ...]]]:
        """(model, benchmark, samples) for one benchmark family. A replayed model is graded on the benchmarks
        its files cover, and on every explicitly requested benchmark (where its tasks count as missing)."""
        plan = []
        for model, source in self.sources.items():
            for benchmark in self.benchmarks:
                if BENCHMARKS[benchmark].family != family:
                    continue
                if source.covers(benchmark) or self.explicit_benchmarks:
                    plan.append((model, benchmark, self.samples(benchmark)))
        return plan

    # ---- report ----
    def worker_provenance(self) -> dict:
        """What only this process knows after running cases (weights identity, device and dtype of the models it
        loaded, its pool's footprint): an xdist worker sends it to the controller, which never loads a model."""
        return {"sources": {m: s.provenance() for m, s in self.sources.items()}, "footprint": self.pool.footprint()
                if self.pool is not None else None}

    def _sources_and_footprint(self, workers: list[dict]) -> tuple[list[dict], dict | None]:
        """This process's view, or under xdist the workers': per model the fullest description (the worker that
        loaded it knows its weights; the others only its settings); footprints add up over the workers."""
        sources = []
        for model, source in self.sources.items():
            views = [source.provenance()] + [w["sources"][model] for w in workers if model in w["sources"]]
            sources.append(max(views, key=len))         # the first of the fullest: deterministic
        footprints = [w["footprint"] for w in workers if w.get("footprint")]
        if not footprints:
            return sources, self.pool.footprint() if self.pool is not None else None
        return sources, {"mode": footprints[0]["mode"], "processes": len(footprints),
                         "weights_bytes": dict(sorted({k: v for f in footprints
                                                       for k, v in f["weights_bytes"].items()}.items())),
                         "peak_held_bytes": max(f["peak_held_bytes"] for f in footprints),   # per process
                         "loads": sum(f["loads"] for f in footprints)}

    def report_context(self, records: list[dict], complete: bool, incomplete_reason: str, command: str,
                       started: float, finished: float, workers: list[dict] = ()) -> dict:
        benchmarks = sorted({r["benchmark"] for r in records}, key=list(BENCHMARKS).index)
        rules = {**self.grader.rules(), "isolation": isolation_summary(records),
                 "postprocessing": self.postprocessing_summary()}
        iso = lambda t: dt.datetime.fromtimestamp(t, dt.timezone.utc).isoformat(timespec="seconds")
        sources, footprint = self._sources_and_footprint(sorted(workers, key=lambda w: w.get("worker", "")))
        return {
            "complete": complete, "incomplete_reason": incomplete_reason, "notes": list(self.notes),
            "selection": {"models": list(self.sources), "profile": self.profile, "benchmarks": benchmarks, "limit": self.limit,
                          "data_sha256": {b: load_benchmark(b).sha256 for b in benchmarks}},
            "rules": rules, "sources": sources,
            "provenance": {**provenance.collect(self.root), "models_in_memory": footprint},
            "run": {"command": command, "started": iso(started), "finished": iso(finished),
                    "seconds": round(finished - started, 3), **({"shard": str(self.shard)} if self.shard else {})},
        }

    def postprocessing_summary(self) -> str:
        from infill.generation.postprocess import POSTPROCESS
        parts = []
        for model, source in self.sources.items():
            if hasattr(source, "settings_for_family"):
                per_family = {family: POSTPROCESS[source.settings_for_family(family).postprocess].version
                              for family in dict.fromkeys(BENCHMARKS[b].family for b in self.benchmarks)}
                parts.append(f"{model}: " + ", ".join(f"{f} `{v}`" for f, v in per_family.items()))
            else:
                parts.append(f"{model}: none, graded verbatim ({source.kind})")
        return "; ".join(parts)

    def write(self, directory: Path, records: list[dict], context: dict) -> list[dict]:
        results = summarize(records)
        write_report(prepare_report_dir(directory), records, results, context)
        return results

    def close(self) -> None:
        self.grader.close()


class CompletionLookup:
    def __init__(self, session: InfillSession):
        self.session = session

    def lookup(self, case) -> str | None:
        return self.session.sources[case.model].completion(case.sample)


class GradingService:
    """Grades one case; the first case of a (model, benchmark) group starts every selected program of the group
    in the sandbox pool, so execution runs in parallel while pytest walks the cases one by one."""

    def __init__(self, session: InfillSession):
        self.session = session
        self.started_groups: set[tuple[str, str]] = set()

    def grade(self, case, completion: str | None) -> Verdict:
        if case.group not in self.started_groups:
            self.started_groups.add(case.group)
            source = self.session.sources[case.model]
            self.session.grader.prefetch([(s, source.completion(s))
                                          for s in self.session.selected_samples(*case.group)])
        return self.session.grader.grade(case.sample, completion)
