"""A shard's report folder as the merge reads it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from infill.errors import InfillUsageError
from infill.run.shard import Shard, parse_shard

# summary.json keys and how a merge treats them (any other key: kept when every shard has the same value)
# written afresh by write_report from the records (and the merged sources)
RECOMPUTED = ("schema_version", "results", "analyses", "model_roles", "headlines")
COMBINED = ("complete", "incomplete_reason", "selection", "rules", "sources", "provenance", "notes", "run",
            "timings", "gates", "gates_file")
PER_RECORD_SELECTION = ("benchmarks", "data_sha256")       # derived from the records a shard graded
MACHINE_LOCAL_SOURCE_KEYS = ("location",)                  # where this machine found the weights (cache, hub, dir)



@dataclass
class ShardReport:
    directory: Path
    shard: Shard
    summary: dict
    records: list[dict]

    @property
    def label(self) -> str:
        return f"shard {self.shard} ({self.directory})"


# ---- reading --------------------------------------------------------------------------------------------------

def read_shard(directory: Path) -> ShardReport:
    summary_path, samples_path = directory / "summary.json", directory / "samples.jsonl"
    if not directory.is_dir():
        raise InfillUsageError(f"{directory}: no such folder: give the report folders (--infill-report-dir) of "
                               f"the shard runs")
    for path in (summary_path, samples_path):
        if not path.is_file():
            raise InfillUsageError(f"{directory}: no {path.name}: not a report folder, or that shard's run did "
                                   f"not get to write its report")
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InfillUsageError(f"{summary_path}: not valid JSON ({exc}): the file is damaged; copy it again") from None
    records = []
    with open(samples_path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                raise InfillUsageError(f"{samples_path}:{number}: not valid JSON: the file is damaged; copy it "
                                       f"again") from None
    shard_text = (summary.get("run") or {}).get("shard")
    if not shard_text:
        raise InfillUsageError(f"{directory}: not a shard (its run had no --shard I/N); merge only the reports "
                               f"of runs with --shard")
    return ShardReport(directory, parse_shard(shard_text), summary, records)


