"""Completion sources: where a model's completion for a sample comes from (replayed files, the ground truth, a live
model, an ensemble of them).

The run drives a source in explicit steps: `prepare(benchmark, samples)` with every sample of the run's selection
it will ask about (a live model generates them in batches; an ensemble scores its members' candidates); for a
source that needs verdicts (an ensemble), grading its `candidates_to_grade` and `take_verdicts`; then
`completion(sample)` per sample: the text to grade, or None when there is none (a missing task,
which counts as a failure). A source never calls back into the run.
"""

from __future__ import annotations

from infill.benchmarks.sample import Sample


class CompletionSource:
    model: str
    kind: str
    members: tuple[str, ...] = ()           # the models it is built on (an ensemble's): scheduled beside them
    shares_work_with: tuple[str, ...] = ()  # rows prepared together with this one (an ensemble's strategies)

    def covers(self, benchmark: str) -> bool:
        raise NotImplementedError

    def prepare(self, benchmark: str, samples: list[Sample]) -> None:
        """Make the completions of these samples ready (nothing to do for a file or the ground truth)."""

    def candidates_to_grade(self, benchmark: str) -> list[tuple[Sample, str | None]]:
        """After `prepare`: completions whose verdicts the source needs before it can answer (an ensemble's
        candidates); the run grades them and calls `take_verdicts` with the verdicts in the same order."""
        return []

    def take_verdicts(self, benchmark: str, verdicts: list) -> None:
        """See `candidates_to_grade`."""

    def completion(self, sample: Sample) -> str | None:
        raise NotImplementedError

    def candidates(self, sample: Sample) -> list[str | None]:
        """Every completion the source has for the sample (n samples per task); the first is `completion`."""
        return [self.completion(sample)]

    def record_extras(self, sample: Sample) -> dict:
        """Fields this source adds to a sample's record (the ensemble's candidates and choice)."""
        return {}

    def provenance(self) -> dict:
        return {"model": self.model, "kind": self.kind}
