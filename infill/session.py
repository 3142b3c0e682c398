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
from infill.records import summarize
from infill.replay import embedded_replays, parse_replay_option
from infill.report import prepare_report_dir, write_report
from infill.sources import CanonicalSource, CompletionSource, ReplaySource

BUILTIN_SOURCES = {"canonical": CanonicalSource}
DEFAULT_BENCHMARKS = "humaneval-single-line,santacoder-fim-py"


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _number(name: str, value, kind: type, minimum: float):
    try:
        number = kind(value)
    except (TypeError, ValueError):
        what = "a whole number" if kind is int else "a number"
        raise InfillUsageError(f"--{name.replace('_', '-')} {value!r}: expected {what}") from None
    if number < minimum:
        raise InfillUsageError(f"--{name.replace('_', '-')} {value!r}: must be at least {minimum}")
    return number


class InfillSession:
    def __init__(self, sources: dict[str, CompletionSource], benchmarks: list[str], explicit_benchmarks: bool,
                 grader: Grader, limit: int | None, root: Path, notes: list[str]):
        self.sources, self.benchmarks, self.limit, self.root = sources, benchmarks, limit, root
        self.explicit_benchmarks = explicit_benchmarks
        self.grader, self.notes = grader, notes
        self.selected_cases: list = []          # set after collection (what -k left), for prefetching
        self.completions = CompletionLookup(self)
        self.grading = GradingService(self)

    @classmethod
    def from_options(cls, get: Callable[[str], object], root: Path) -> "InfillSession":
        notes: list[str] = []
        sources: dict[str, CompletionSource] = {}
        for value in get("infill_replay") or []:
            model, benchmark, path = parse_replay_option(value)
            if model in sources or model in BUILTIN_SOURCES:
                raise InfillUsageError(f"--infill-replay {value!r}: model name {model!r} is used twice; "
                                       f"give each replayed model its own name")
            sources[model] = ReplaySource(model, path, benchmark)
        embedded = dict(embedded_replays())
        wanted = _split(get("infill_models"))
        for model in wanted:
            if model in sources:
                continue
            if model in BUILTIN_SOURCES:
                sources[model] = BUILTIN_SOURCES[model]()
            elif model in embedded:
                sources[model] = ReplaySource(model, embedded[model])
            else:
                raise InfillUsageError(
                    f"unknown model {model!r}: choose from {', '.join([*BUILTIN_SOURCES, *embedded])} or give "
                    f"--infill-replay {model}=PATH")
        if wanted:
            sources = {m: s for m, s in sources.items() if m in wanted}
        if not sources:
            sources = {m: ReplaySource(m, p) for m, p in embedded.items()}
            notes.append("Default run: replayed real generations recorded by a third party on one NVIDIA L4 "
                         "(shipped in infill/recorded, Apache-2.0); no model was run.")
        spec = get("infill_benchmarks")
        if spec:
            benchmarks = resolve_benchmarks(str(spec))
        else:
            covered = {b for s in sources.values() if isinstance(s, ReplaySource) for b in s.files}
            benchmarks = [b for b in BENCHMARKS if b in covered] or resolve_benchmarks(DEFAULT_BENCHMARKS)
        if not benchmarks:
            raise InfillUsageError(f"--infill-benchmarks {spec!r} selects no benchmark")
        limit = get("infill_limit")
        limit = None if limit in (None, "") else _number("infill_limit", limit, int, 1)
        em_rule = str(get("infill_em_rule"))
        if em_rule not in EM_RULES:
            raise InfillUsageError(f"--infill-em-rule {em_rule!r}: choose from {', '.join(EM_RULES)}")
        isolation = str(get("infill_isolation"))
        if isolation not in ("auto", "bwrap", "rlimits"):
            raise InfillUsageError(f"--infill-isolation {isolation!r}: choose auto, bwrap or rlimits")
        sandbox = SandboxConfig(timeout_s=_number("infill_timeout", get("infill_timeout"), float, 0.1),
                                workers=_number("infill_workers", get("infill_workers"), int, 0),
                                isolation=isolation)
        return cls(sources, benchmarks, bool(spec), Grader(sandbox, em_rule), limit, root, notes)

    # ---- what runs ----
    def samples(self, benchmark: str) -> tuple[Sample, ...]:
        samples = load_benchmark(benchmark).samples
        return samples[: self.limit] if self.limit else samples

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
    def report_context(self, records: list[dict], complete: bool, incomplete_reason: str, command: str,
                       started: float, finished: float) -> dict:
        benchmarks = sorted({r["benchmark"] for r in records}, key=list(BENCHMARKS).index)
        isolation = sorted({r["isolation"] for r in records if r.get("isolation")})
        rules = {**self.grader.rules(), "isolation": "; ".join(isolation) or "not used (no program was run)",
                 "postprocessing": "none: completions graded verbatim, as recorded"}
        iso = lambda t: dt.datetime.fromtimestamp(t, dt.timezone.utc).isoformat(timespec="seconds")
        return {
            "complete": complete, "incomplete_reason": incomplete_reason, "notes": list(self.notes),
            "selection": {"models": list(self.sources), "benchmarks": benchmarks, "limit": self.limit,
                          "data_sha256": {b: load_benchmark(b).sha256 for b in benchmarks}},
            "rules": rules, "sources": [self.sources[m].provenance() for m in self.sources],
            "provenance": provenance.collect(self.root),
            "run": {"command": command, "started": iso(started), "finished": iso(finished),
                    "seconds": round(finished - started, 3)},
        }

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
            model, benchmark = case.group
            data = load_benchmark(benchmark)
            source = self.session.sources[model]
            pairs = [(data.samples[c.index], None) for c in self.session.selected_cases
                     if (c.model, c.benchmark) == case.group]
            self.session.grader.prefetch([(s, source.completion(s)) for s, _ in pairs])
        return self.session.grader.grade(case.sample, completion)
