"""Per-sample records: what each case sends to the controller. A record is a flat JSON-able dict so that it travels
through pytest's `user_properties`, including across pytest-xdist workers, unchanged."""

from __future__ import annotations

from infill.benchmarks import BENCHMARKS
from infill.benchmarks.sample import Sample
from infill.grading.verdict import Verdict

RECORD_PROPERTY = "infill_record"


def make_record(model: str, source_kind: str, sample: Sample, data_sha256: str, completion: str | None,
                verdict: Verdict) -> dict:
    bench = BENCHMARKS[sample.benchmark]
    return {
        "benchmark": sample.benchmark, "benchmark_version": bench.version, "data_sha256": data_sha256,
        "model": model, "source": source_kind, "sample_id": sample.sample_id, "index": sample.index,
        "task_type": sample.task_type, "completion": completion, "correct": verdict.correct,
        "status": verdict.status, "detail": verdict.detail, **verdict.metrics,
        "grade_seconds": round(verdict.grade_seconds, 6),
    }


def samples_record(completions: list[str | None], verdicts: list[Verdict]) -> dict:
    """A record's fields for n samples per task: every sample's completion and verdict, and the task's pass
    fraction (its unbiased pass@1). The record's own completion and verdict are the first sample's."""
    correct = sum(v.correct for v in verdicts)
    return {"n_samples": len(verdicts), "n_correct": correct, "pass_fraction": correct / len(verdicts),
            "samples": [{"completion": c, "correct": v.correct, "status": v.status, "detail": v.detail, **v.metrics}
                        for c, v in zip(completions, verdicts)]}


def record_key(record: dict) -> tuple:
    return record["benchmark"], record["model"], record["index"]


def sample_outcome(record: dict, metric: str) -> bool | None:
    """Did the sample pass under this summary metric? None when the record does not say (an older or foreign
    record). The same rule as infill.reporting.summary: pass@1 reads the verdict, any other metric its own field."""
    if metric == "pass@1":
        return bool(record["correct"]) if "correct" in record else None
    return bool(record[metric]) if metric in record else None
