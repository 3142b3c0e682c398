"""Loading runs: a report directory or a summary.json (with samples.jsonl beside it when present), and the check
that two runs graded the same benchmark data."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from infill.errors import InfillUsageError

RESULT_KEYS = ("benchmark", "model", "metric", "value", "passed", "n")


@dataclass
class Run:
    label: str
    path: Path                                  # the summary.json
    summary: dict
    results: dict[tuple[str, str, str], dict]   # (benchmark, model, metric) -> summary.json result
    samples: dict[tuple[str, str], dict[str, dict]] | None   # (benchmark, model) -> sample id -> record

    def data_sha256(self) -> dict[str, str]:
        hashes = dict(self.summary.get("selection", {}).get("data_sha256") or {})
        for result in self.results.values():
            if result.get("data_sha256"):
                hashes.setdefault(result["benchmark"], result["data_sha256"])
        return hashes


def load_run(argument: str, label: str) -> Run:
    path = Path(argument)
    if path.is_dir():
        path = path / "summary.json"
        if not path.is_file():
            raise InfillUsageError(f"{argument}: no summary.json in this directory: pass a report directory "
                                   f"(e.g. reports/latest) or a summary.json")
    elif not path.is_file():
        raise InfillUsageError(f"{argument}: no such file or directory: pass a report directory or a summary.json")
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" (line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise InfillUsageError(f"{path}: not JSON{where}: pass an infill-bench summary.json") from None
    if not isinstance(summary, dict) or not isinstance(summary.get("results"), list):
        raise InfillUsageError(f"{path}: not an infill-bench summary.json (no 'results' list): pass the summary.json "
                               f"a run wrote, or its report directory")
    results = {}
    for number, result in enumerate(summary["results"], start=1):
        missing = [k for k in RESULT_KEYS if not isinstance(result, dict) or k not in result]
        if missing:
            raise InfillUsageError(f"{path}: results entry {number} has no {missing[0]!r}: not an infill-bench "
                                   f"summary.json, or a damaged one")
        results[(result["benchmark"], result["model"], result["metric"])] = result
    samples_path = path.with_name("samples.jsonl")
    return Run(label, path, summary, results, load_samples(samples_path) if samples_path.is_file() else None)


def load_samples(path: Path) -> dict[tuple[str, str], dict[str, dict]]:
    samples: dict[tuple[str, str], dict[str, dict]] = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                samples.setdefault((record["benchmark"], record["model"]), {})[record["sample_id"]] = record
            except (json.JSONDecodeError, KeyError, TypeError):
                raise InfillUsageError(f"{path}:{number}: not an infill-bench sample record (JSON with benchmark, "
                                       f"model, sample_id): pass the samples.jsonl a run wrote") from None
    return samples


def check_like_with_like(baseline: Run, run: Run) -> None:
    """The same benchmark name on different data is a different benchmark: refuse rather than compare."""
    base_hashes, run_hashes = baseline.data_sha256(), run.data_sha256()
    for benchmark in sorted(base_hashes.keys() & run_hashes.keys()):
        if base_hashes[benchmark] != run_hashes[benchmark]:
            raise InfillUsageError(
                f"{run.path}: {benchmark} data sha256 {run_hashes[benchmark][:12]}… differs from {baseline.path}'s "
                f"{base_hashes[benchmark][:12]}…: the runs graded different data, so comparing them is not like with "
                f"like; compare runs of the same benchmark data")
