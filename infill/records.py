"""Per-sample records (what each test sends to the controller) and their aggregation into summary results.

A record is a flat JSON-able dict so that it travels through pytest's `user_properties`, including across
pytest-xdist workers, unchanged.
"""

from __future__ import annotations

from collections import defaultdict

from infill.benchmarks import BENCHMARKS, Sample
from infill.grading.grader import Verdict
from infill.stats import wilson_interval

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


def record_key(record: dict) -> tuple:
    return record["benchmark"], record["model"], record["index"]


def summarize(records: list[dict]) -> list[dict]:
    """summary.json `results`: one entry per (benchmark, model, metric), in a stable order.

    The headline counts every selected sample: missing completions, timeouts and sandbox errors are not
    correct. `n` is the number of samples graded in this run, `dataset_size` the benchmark's full size."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for record in records:
        groups[(record["benchmark"], record["model"])].append(record)
    order = {name: i for i, name in enumerate(BENCHMARKS)}
    results = []
    for (benchmark, model), rows in sorted(groups.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])):
        bench = BENCHMARKS[benchmark]
        n = len(rows)
        counts = {status: sum(r["status"] == status for r in rows)
                  for status in ("timeout", "memory", "missing", "sandbox_error")}
        common = {"benchmark": benchmark, "benchmark_version": bench.version, "model": model,
                  "source": rows[0]["source"], "n": n, "dataset_size": bench.size,
                  "data_sha256": rows[0]["data_sha256"], **counts}
        for metric in bench.metrics:
            passed = sum(bool(r["correct"]) for r in rows) if metric == "pass@1" else \
                sum(bool(r.get(metric)) for r in rows)
            low, high = wilson_interval(passed, n)
            entry = {**common, "metric": metric, "value": passed / n if n else 0.0, "passed": passed,
                     "ci95": [round(low, 6), round(high, 6)]}
            if bench.grader == "exact_match":
                entry["edit_similarity"] = round(sum(r.get("edit_similarity", 0.0) for r in rows) / n, 6)
            results.append(entry)
    return results


def isolation_summary(records: list[dict]) -> str:
    """The report's isolation rule: every sandbox isolation the records were graded under."""
    isolation = sorted({r["isolation"] for r in records if r.get("isolation")})
    return "; ".join(isolation) or "not used (no program was run)"
