"""Recorded generations as a source: the completions a model wrote elsewhere, read from files."""

from __future__ import annotations

from pathlib import Path

from infill.benchmarks.sample import Sample
from infill.sources.base import CompletionSource
from infill.sources.replay.files import ReplayFile, load_replay


class ReplaySource(CompletionSource):
    kind = "replay"

    def __init__(self, model: str, path: Path, benchmark: str | None = None):
        self.model, self.path = model, path
        self.files: dict[str, ReplayFile] = load_replay(model, path, benchmark)

    def covers(self, benchmark: str) -> bool:
        return benchmark in self.files

    def completion(self, sample: Sample) -> str | None:
        return self.candidates(sample)[0]

    def candidates(self, sample: Sample) -> list[str | None]:
        replay = self.files.get(sample.benchmark)
        return (replay.completions.get(sample.sample_id) if replay else None) or [None]

    def provenance(self) -> dict:
        return {"model": self.model, "kind": self.kind, "files": {
            b: {"path": str(f.path), "format": f.file_format, "sha256": f.sha256, "tasks": len(f.completions),
                **({"samples_per_task": f.samples_per_task} if f.samples_per_task > 1 else {}), "notes": f.notes} for b, f in sorted(self.files.items())}}
