"""One benchmark run, built once (infill.run.build): its sources, the benchmarks and samples it selects, and the data
path of one sample: prepare the sample's group, take its completion, grade it, record it.

The pytest plugin maps cases onto `plan` and `evaluate`; scripts and tests can drive a run without pytest.
"""

from __future__ import annotations

from dataclasses import dataclass

from infill.benchmarks import kind_of, load_benchmark
from infill.benchmarks.sample import Sample
from infill.errors import InfillUsageError
from infill.generation.pool import ModelPool
from infill.grading.service import GradingService
from infill.grading.verdict import Verdict
from infill.reporting.records import make_record, samples_record
from infill.run.progress import CacheCount, Progress, SilentProgress
from infill.run.shard import Shard
from infill.sources.base import CompletionSource


@dataclass(frozen=True)
class Case:
    """One benchmark case: a model's completion for one sample."""
    model: str
    benchmark: str
    index: int


@dataclass(frozen=True)
class CaseOutcome:
    sample: Sample
    completion: str | None
    verdict: Verdict
    record: dict


class BenchmarkRun:
    def __init__(self, sources: dict[str, CompletionSource], benchmarks: list[str], explicit_benchmarks: bool,
                 grading: GradingService, pool: ModelPool, limit: int | None = None, shard: Shard | None = None,
                 notes: list[str] | None = None, profile: str = "tiny", progress: Progress | None = None):
        self.sources, self.benchmarks, self.explicit_benchmarks = sources, benchmarks, explicit_benchmarks
        self.progress = progress or SilentProgress()
        self.grading, self.pool, self.limit, self.shard = grading, pool, limit, shard
        self.notes, self.profile = list(notes or []), profile
        self.selected: dict[tuple[str, str], list[int]] = {}    # (model, benchmark) -> indices left after -k
        self.prepared: set[tuple[str, str]] = set()
        self.partial: dict[tuple[str, str], int] = {}           # (model, benchmark) of a partial replay -> covered
        self._samples: dict[str, tuple[Sample, ...]] = {}
        self.warnings: list[str] = []                           # shown once at the start (and in the notes)
        self.groups = worker_groups(sources)

    # ---- what runs ----
    def samples(self, benchmark: str) -> tuple[Sample, ...]:
        if benchmark not in self._samples:
            samples = load_benchmark(benchmark).samples
            samples = samples[: self.limit] if self.limit else samples
            # the shard splits what the limit left, for every model alike (ensembles and their members included)
            if self.shard:
                samples = tuple(s for s in samples if self.shard.holds(benchmark, s.sample_id))
            self._samples[benchmark] = self.gradable(benchmark, samples)
        return self._samples[benchmark]

    def gradable(self, benchmark: str, samples: tuple[Sample, ...]) -> tuple[Sample, ...]:
        """The samples this machine can grade; the others (a language without its toolchain) are left out and
        said so once, never graded as failures."""
        reasons: dict[str, int] = {}
        kept = []
        for sample in samples:
            reason = self.grading.excluded(sample)
            if reason is None:
                kept.append(sample)
            else:
                reasons[reason] = reasons.get(reason, 0) + 1
        for reason, count in reasons.items():
            self.warnings.append(f"{benchmark}: {count} samples not graded here ({reason}); install the toolchain "
                                 f"to grade them (README, SAFIM)")
        self.notes.extend(self.warnings[len(self.warnings) - len(reasons):])
        return tuple(kept)

    def plan(self, kind: str) -> list[tuple[str, str, tuple[Sample, ...]]]:
        """(model, benchmark, samples) for one benchmark kind: each source on the selected benchmarks it covers (a
        replayed model on those its files hold)."""
        return [(model, benchmark, self.samples(benchmark)) for model, source in self.sources.items()
                for benchmark in self.benchmarks if kind_of(benchmark).name == kind and source.covers(benchmark)]

    def select(self, cases: list[Case], allow_partial: bool = False) -> None:
        """The cases this process will run (what -k and the shard left): groups prepare only these. A replayed file
        must hold every selected sample (else a usage error; with `allow_partial` a note and a PARTIAL row)."""
        self.selected = {}
        for case in cases:
            self.selected.setdefault((case.model, case.benchmark), []).append(case.index)
        for (model, benchmark), indices in self.selected.items():
            missing = replay_gaps(self.sources[model], benchmark, indices)
            if missing and not allow_partial:
                raise InfillUsageError(partial_message(self.sources[model], benchmark, missing, len(indices)))
            if missing:
                self.partial[(model, benchmark)] = len(indices) - len(missing)
                self.notes.append(f"PARTIAL: {model} has generations for {len(indices) - len(missing)} of the "
                                  f"{len(indices)} selected {benchmark} samples; the rest count as missing "
                                  f"(--infill-allow-partial-replay); gates refuse this row.")

    def start_known_slow(self) -> int:
        """Start the selected samples' programs that timed out in an earlier run now, so that their timeouts pass
        while pytest walks the cases (infill.grading.slow_programs); returns how many started."""
        return self.grading.start_known_slow(list({(s.benchmark, s.sample_id): s for model, benchmark in self.selected
                                                   for s in self.selected_samples(model, benchmark)}.values()))

    def selected_samples(self, model: str, benchmark: str) -> list[Sample]:
        data = load_benchmark(benchmark)
        chosen = [data.samples[i] for i in self.selected.get((model, benchmark), [])]
        return chosen or list(self.samples(benchmark))

    # ---- the data path of one sample ----
    def evaluate(self, case: Case) -> CaseOutcome:
        """Prepare the sample's group, take its completions, grade them, record them. With n samples per task
        the case's outcome is its first sample's and the record holds every sample's verdict."""
        data = load_benchmark(case.benchmark)
        sample, source = data.samples[case.index], self.sources[case.model]
        self.prepare(case.model, case.benchmark)
        candidates = source.candidates(sample)
        verdicts = self.grading.grade_many([(sample, c) for c in candidates]) if len(candidates) > 1 \
            else [self.grading.grade(sample, candidates[0])]
        completion, verdict = candidates[0], verdicts[0]
        record = make_record(case.model, source.kind, sample, data.sha256, completion, verdict)
        if len(candidates) > 1:
            record.update(samples_record(candidates, verdicts))
        record.update(source.record_extras(sample))
        if (case.model, case.benchmark) in self.partial:
            record["partial"] = True
        return CaseOutcome(sample, completion, verdict, record)

    def prepare(self, model: str, benchmark: str) -> None:
        """The first case of a (model, benchmark) group readies the whole group: the source generates (or scores)
        its selected samples in batches; a source that needs verdicts gets them (an explicit grading stage); then
        every program of the group starts in the sandbox, so execution runs while pytest walks the cases."""
        if (model, benchmark) in self.prepared:
            return
        self.prepared.add((model, benchmark))
        source = self.sources[model]
        wanted: dict[str, Sample] = {}
        for row in (model, *source.shares_work_with):
            for sample in self.selected_samples(row, benchmark):
                wanted.setdefault(sample.sample_id, sample)
        source.prepare(benchmark, list(wanted.values()))
        pending = source.candidates_to_grade(benchmark)
        if pending:
            self.count_cached(model, benchmark, self.grading.prefetch(pending))
            source.take_verdicts(benchmark, self.grading.grade_many(pending))
        self.count_cached(model, benchmark, self.grading.prefetch(
            [(s, c) for s in self.selected_samples(model, benchmark) for c in source.candidates(s)]))
        self.progress.group_ready(model, benchmark)

    def count_cached(self, model: str, benchmark: str, counts: tuple[int, int] | None) -> None:
        if counts is not None and counts[1]:
            self.progress.from_cache(CacheCount(model, benchmark, "verdicts", *counts))

    def worker_group(self, model: str) -> str:
        """Models that must share a worker: rows of one model (root name) and an ensemble with its members."""
        return self.groups.get(model, model.split("/")[0])

    def close(self) -> None:
        self.grading.close()


def worker_groups(sources: dict[str, CompletionSource]) -> dict[str, str]:
    """Union-find over model root names, joining each ensemble with its members."""
    parent: dict[str, str] = {}

    def find(name: str) -> str:
        while parent.setdefault(name, name) != name:
            name = parent[name]
        return name
    for name, source in sources.items():
        find(name.split("/")[0])
        for member in source.members:
            a, b = sorted([find(name.split("/")[0]), find(member.split("/")[0])])
            parent[b] = a
    return {name: find(name.split("/")[0]) for name in sources}


def replay_gaps(source: CompletionSource, benchmark: str, indices: list[int]) -> list[str]:
    """The selected samples a replayed file has no generation for ([] for any other source)."""
    files = getattr(source, "files", None)
    if files is None or benchmark not in files:
        return []
    have, samples = files[benchmark].completions, load_benchmark(benchmark).samples
    return [samples[i].sample_id for i in indices if samples[i].sample_id not in have]


def partial_message(source: CompletionSource, benchmark: str, missing: list[str], selected: int) -> str:
    return (f"{source.files[benchmark].path}: generations for {selected - len(missing)} of the {selected} selected "
            f"{benchmark} samples of {source.model} (first missing: {missing[0]}): give the whole file, select fewer "
            f"samples (--infill-limit, -k), or pass --infill-allow-partial-replay to grade the rest as missing in a "
            f"row marked PARTIAL")
