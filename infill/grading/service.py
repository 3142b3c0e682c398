"""Grading for a run: each selected benchmark kind's grader, built from the shared tools, behind one call."""

from __future__ import annotations

from infill.benchmarks import kind_of
from infill.benchmarks.sample import Sample
from infill.grading.tools import GradingTools
from infill.grading.verdict import Verdict, missing_verdict


class GradingService:
    def __init__(self, tools: GradingTools, benchmarks: list[str]):
        self.tools = tools
        self.graders: dict[str, object] = {}           # kind name -> its grader, in the selection's order
        for benchmark in benchmarks:
            kind = kind_of(benchmark)
            if kind.name not in self.graders:
                self.graders[kind.name] = kind.grader(tools)

    def _grader(self, sample: Sample):
        kind = kind_of(sample.benchmark)
        if kind.name not in self.graders:          # a benchmark outside the selection (a test driving it directly)
            self.graders[kind.name] = kind.grader(self.tools)
        return self.graders[kind.name]

    def _by_grader(self, items: list, sample_of) -> list[tuple[object, list]]:
        """`items` split by the grader of each one's sample (`sample_of(item)`), in first-seen order."""
        by_grader: dict[int, tuple[object, list]] = {}
        for item in items:
            grader = self._grader(sample_of(item))
            by_grader.setdefault(id(grader), (grader, []))[1].append(item)
        return list(by_grader.values())

    def prefetch(self, pairs: list[tuple[Sample, str | None]]) -> tuple[int, int] | None:
        """Start the slow part (sandboxed execution) of every pair with a completion now. Returns (verdicts from
        the cache, verdicts needed) over the graders that keep verdicts on disk, None when none does."""
        with_completion = [(sample, completion) for sample, completion in pairs if completion is not None]
        counts = [grader.prefetch(chosen) for grader, chosen in self._by_grader(with_completion, lambda p: p[0])]
        counts = [c for c in counts if c is not None]
        return (sum(c[0] for c in counts), sum(c[1] for c in counts)) if counts else None

    def start_known_slow(self, samples: list[Sample]) -> int:
        """Start first the programs of these samples that timed out in an earlier run, with graders that keep such
        a list (`ProgramGrader.start_known_slow`; graders without a sandbox lack it); returns how many started."""
        return sum(grader.start_known_slow(chosen) for grader, chosen in self._by_grader(samples, lambda s: s)
                   if hasattr(grader, "start_known_slow"))

    def excluded(self, sample: Sample) -> str | None:
        """Why this sample cannot be graded on this machine (reported, never graded as a failure), or None."""
        return self._grader(sample).excluded(sample)

    def grade(self, sample: Sample, completion: str | None) -> Verdict:
        if completion is None:
            return missing_verdict()
        return self._grader(sample).grade(sample, completion)

    def grade_many(self, pairs: list[tuple[Sample, str | None]]) -> list[Verdict]:
        """Verdicts for many pairs (started together in the sandbox, memoised by program)."""
        self.prefetch(pairs)
        return [self.grade(sample, completion) for sample, completion in pairs]

    def rules(self) -> dict:
        """The rule versions that decided the scores of the selected kinds, for the report."""
        merged: dict = {}
        for grader in self.graders.values():
            merged.update(grader.rules())
        return merged

    def close(self) -> None:
        for grader in self.graders.values():
            grader.close()
        self.tools.close()
