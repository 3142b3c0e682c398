"""The merged report: the records of every shard, with what is derived recomputed by the functions a run uses and
what cannot be recomputed combined (completeness, notes, sources, timings, gates checked afresh)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from infill.benchmarks import BENCHMARKS
from infill.errors import InfillUsageError
from infill.reporting.merge.checks import (
    check_together,
    merged_data_hashes,
    merged_sources,
)
from infill.reporting.merge.shards import COMBINED, RECOMPUTED, ShardReport, read_shard
from infill.reporting.report import prepare_report_dir, write_report
from infill.reporting.summary import isolation_summary, summarize
from infill.run.shard import EMPTY_SHARD_NOTE
from infill.sources.ensemble.runlevel import reselect_records


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def merged_run(shards: list[ShardReport], command: str) -> dict:
    runs = [s.summary["run"] for s in shards]
    started = min(runs, key=lambda r: parse_time(r["started"]))["started"]
    finished = max(runs, key=lambda r: parse_time(r["finished"]))["finished"]
    return {"command": command, "started": started, "finished": finished,
            "seconds": round((parse_time(finished) - parse_time(started)).total_seconds(), 3),
            "shards": [{"shard": str(s.shard), "directory": str(s.directory), "complete": s.summary.get("complete"),
                        "machine": s.summary["provenance"].get("machine"),
                        **{k: s.summary["run"].get(k) for k in ("command", "started", "finished", "seconds")}}
                       for s in shards]}


def merged_timings(shards: list[ShardReport]) -> list[dict]:
    """Every shard's pytest-benchmark rows, named with their shard (each machine timed its own)."""
    return [{**row, "name": f"{row['name']} (shard {s.shard})", "shard": str(s.shard)}
            for s in shards for row in s.summary.get("timings") or []]


def merged_context(shards: list[ShardReport], records: list[dict], command: str) -> dict:
    first = shards[0].summary
    benchmarks = sorted({r["benchmark"] for r in records}, key=list(BENCHMARKS).index)
    hashes = merged_data_hashes(shards)
    incomplete = [s for s in shards if not s.summary.get("complete")]
    context = {
        "complete": not incomplete,
        "incomplete_reason": "; ".join(f"{s.label} did not finish ("
                                       f"{s.summary.get('incomplete_reason') or 'see its report.md'})"
                                       for s in incomplete),
        "notes": list(dict.fromkeys(note for s in shards for note in s.summary.get("notes", [])
                                    if note != EMPTY_SHARD_NOTE)),
        "selection": {**first["selection"], "benchmarks": benchmarks,
                      "data_sha256": {b: hashes[b] for b in benchmarks}},
        "rules": {**first["rules"], "isolation": isolation_summary(records)},
        "sources": merged_sources(shards),
        "provenance": first["provenance"],      # checked alike (commit, packages); each shard's machine: run.shards
        "run": merged_run(shards, command),
        "timings": merged_timings(shards),
    }
    for key in first:                           # keys added later by others: kept when every shard agrees
        if key in RECOMPUTED or key in COMBINED:
            continue
        if all(s.summary.get(key) == first[key] for s in shards):
            context[key] = first[key]
        else:
            sys.stderr.write(f"infill-bench merge: warning: summary.json key {key!r} differs between shards and "
                             f"is not merged\n")
    return context


def gates_to_check(shards: list[ShardReport], gates_path: Path | None):
    """The gates the merged figures are checked against: --gates, else the file the shards recorded if it is
    here. A shard's own gate outcomes judged only its part, so they are never carried over."""
    from infill.reporting.gates import load_gates
    if gates_path is not None:
        return load_gates(gates_path)
    recorded = next((s.summary["gates_file"] for s in shards if s.summary.get("gates_file")), None)
    if recorded is None:
        return None
    if not Path(recorded).is_file():
        sys.stderr.write(f"infill-bench merge: warning: the shards were gated with {recorded}, which is not here; "
                         f"pass --gates FILE to check the merged figures\n")
        return None
    return load_gates(recorded)


def merge_shards(directories: list[Path], output: Path, command: str, gates_path: Path | None = None):
    """Check, merge and write. Returns (results, context) of the merged report."""
    if any(output.resolve() == d.resolve() for d in directories):
        raise InfillUsageError(f"-o {output} is one of the shard folders: write the merged report elsewhere")
    shards = sorted((read_shard(d) for d in directories), key=lambda s: s.shard.index)
    check_together(shards)
    # the ensemble's run-level strategies (calibrated, routed) were fitted on each shard's part: refit on all
    records = reselect_records([record for shard in shards for record in shard.records])
    gates = gates_to_check(shards, gates_path)  # first: a bad gates file fails before anything is written
    results = summarize(records)
    context = merged_context(shards, records, command)
    if gates is not None:
        from infill.reporting.gates import evaluate_gates
        context["gates"], context["gates_file"] = evaluate_gates(gates, results, records), str(gates.path)
    write_report(prepare_report_dir(output), records, results, context)
    return results, context


