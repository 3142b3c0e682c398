"""Completion sources: where a model's completion for a sample comes from.

A source answers `completion(sample)` with the text to grade, or None when it has none (a missing task, which
counts as a failure). Replay reads recorded generations; `canonical` returns the ground truth (the grader's
self-check). Live generation (AR and diffusion backends) plugs in behind the same two methods.
"""

from __future__ import annotations

from pathlib import Path

from infill.benchmarks import Sample
from infill.replay import ReplayFile, load_replay


class CompletionSource:
    model: str
    kind: str

    def covers(self, benchmark: str) -> bool:
        raise NotImplementedError

    def completion(self, sample: Sample) -> str | None:
        raise NotImplementedError

    def completions_for(self, benchmark: str, samples: list[Sample]) -> dict[str, str | None]:
        return {s.sample_id: self.completion(s) for s in samples}

    def record_extras(self, sample: Sample) -> dict:
        """Fields this source adds to a sample's record (the ensemble's candidates and choice)."""
        return {}

    def provenance(self) -> dict:
        return {"model": self.model, "kind": self.kind}


class ReplaySource(CompletionSource):
    kind = "replay"

    def __init__(self, model: str, path: Path, benchmark: str | None = None):
        self.model, self.path = model, path
        self.files: dict[str, ReplayFile] = load_replay(model, path, benchmark)

    def covers(self, benchmark: str) -> bool:
        return benchmark in self.files

    def completion(self, sample: Sample) -> str | None:
        replay = self.files.get(sample.benchmark)
        return None if replay is None else replay.completions.get(sample.sample_id)

    def provenance(self) -> dict:
        return {"model": self.model, "kind": self.kind, "files": {
            b: {"path": str(f.path), "format": f.file_format, "sha256": f.sha256, "tasks": len(f.completions),
                "notes": f.notes} for b, f in sorted(self.files.items())}}


class CanonicalSource(CompletionSource):
    """The ground-truth middle as the completion: every sample must pass (grader self-check)."""
    kind = "canonical"
    model = "canonical"

    def covers(self, benchmark: str) -> bool:
        return True

    def completion(self, sample: Sample) -> str | None:
        return sample.canonical
