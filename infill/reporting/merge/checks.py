"""Whether report folders are the shards of one run, each once: one line naming what differs otherwise."""

from __future__ import annotations

import json

from infill.benchmarks import BENCHMARKS
from infill.errors import InfillUsageError
from infill.reporting.merge.shards import (
    MACHINE_LOCAL_SOURCE_KEYS,
    PER_RECORD_SELECTION,
    ShardReport,
)
from infill.reporting.records import record_key
from infill.reporting.report import SCHEMA_VERSION
from infill.reporting.summary import summarize
from infill.run.shard import shard_number


def shown(value, width: int = 70) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"


def first_difference(a, b, path: str = "") -> tuple[str, object, object] | None:
    """(where, value in a, value in b) of the first difference between two JSON values, or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            found = first_difference(a.get(key), b.get(key), f"{path}.{key}" if path else str(key))
            if found:
                return found
        return None
    return None if a == b else (path, a, b)


def require_same(shards: list[ShardReport], what: str, value_of, advice: str) -> None:
    first = shards[0]
    for other in shards[1:]:
        found = first_difference(value_of(first), value_of(other))
        if found:
            where, mine, theirs = found
            raise InfillUsageError(f"{first.label} and {other.label} differ in {what}"
                                   f"{' ' + where if where else ''}: {shown(mine)} vs {shown(theirs)}; {advice}")


def check_shard_numbers(shards: list[ShardReport]) -> None:
    counts = sorted({s.shard.count for s in shards})
    if len(counts) > 1:
        by_count = {c: next(s for s in shards if s.shard.count == c) for c in counts}
        raise InfillUsageError("the folders are shards of different splits: " + ", ".join(
            by_count[c].label for c in counts) + "; merge the N shards of one --shard I/N run")
    seen: dict[int, ShardReport] = {}
    for shard in shards:
        if shard.shard.index in seen:
            raise InfillUsageError(f"shard {shard.shard} is given twice: {seen[shard.shard.index].directory} and "
                                   f"{shard.directory}")
        seen[shard.shard.index] = shard
    count = counts[0]
    missing = [f"{i}/{count}" for i in range(1, count + 1) if i not in seen]
    if missing:
        raise InfillUsageError(f"shard{'s' if len(missing) > 1 else ''} {', '.join(missing)} missing: a merge "
                               f"needs all {count} shards' report folders")


def without(mapping: dict, keys) -> dict:
    return {k: v for k, v in (mapping or {}).items() if k not in keys}


def check_together(shards: list[ShardReport]) -> None:
    """Raises a one-line InfillUsageError unless these are the shards of one run, each once."""
    check_shard_numbers(shards)
    for shard in shards:
        version = shard.summary.get("schema_version")
        if version != SCHEMA_VERSION:
            raise InfillUsageError(f"{shard.label}: summary.json schema {version}, this code writes "
                                   f"{SCHEMA_VERSION}: merge with the infill-bench version that ran the shards")
    same_run = "the shards of one run need the same options and code"
    require_same(shards, "selection", lambda s: without(s.summary.get("selection"), PER_RECORD_SELECTION), same_run)
    require_same(shards, "rules", lambda s: without(s.summary.get("rules"), ("isolation",)), same_run)
    require_same(shards, "code commit", lambda s: s.summary["provenance"]["git"]["commit"], same_run)
    require_same(shards, "packages", lambda s: s.summary["provenance"]["packages"],
                 "install the same versions on every machine (results may depend on them)")
    require_same(shards, "models", lambda s: [src["model"] for src in s.summary.get("sources", [])], same_run)
    merged_sources(shards)                      # raises when a model's source differs
    merged_data_hashes(shards)                  # raises when a benchmark's data differ
    check_records(shards)


def merged_sources(shards: list[ShardReport]) -> list[dict]:
    """Each model's source provenance, with what any shard knows (a model a shard never loaded lacks its
    weights identity). Keys both shards know must agree, except where this machine found the weights."""
    merged: list[dict] = [dict(src) for src in shards[0].summary.get("sources", [])]
    for other in shards[1:]:
        for mine, theirs in zip(merged, other.summary.get("sources", [])):
            for key, value in theirs.items():
                if key in mine and mine[key] != value and key not in MACHINE_LOCAL_SOURCE_KEYS:
                    found = first_difference(mine[key], value) or ("", mine[key], value)
                    raise InfillUsageError(
                        f"{shards[0].label} and {other.label} differ in model {mine['model']}'s {key}"
                        f"{'.' + found[0] if found[0] else ''}: {shown(found[1])} vs {shown(found[2])}; the shards "
                        f"of one run need the same weights, settings and devices")
                mine.setdefault(key, value)
    return merged


def merged_data_hashes(shards: list[ShardReport]) -> dict[str, str]:
    hashes: dict[str, tuple[str, ShardReport]] = {}
    for shard in shards:
        for benchmark, sha in (shard.summary.get("selection") or {}).get("data_sha256", {}).items():
            if benchmark in hashes and hashes[benchmark][0] != sha:
                raise InfillUsageError(f"{hashes[benchmark][1].label} and {shard.label} graded different data for "
                                       f"{benchmark} (sha256 {hashes[benchmark][0][:12]}… vs {sha[:12]}…); the "
                                       f"shards of one run need the same data")
            hashes.setdefault(benchmark, (sha, shard))
    return {benchmark: sha for benchmark, (sha, _) in hashes.items()}


def check_records(shards: list[ShardReport]) -> None:
    hashes = merged_data_hashes(shards)
    owner: dict[tuple, ShardReport] = {}
    for shard in shards:
        for record in shard.records:
            benchmark, sample_id = record.get("benchmark"), record.get("sample_id")
            if benchmark not in BENCHMARKS or sample_id is None:
                raise InfillUsageError(f"{shard.directory / 'samples.jsonl'}: a record of unknown benchmark "
                                       f"{benchmark!r} or without sample_id: not an infill-bench samples file")
            home = shard_number(benchmark, sample_id, shard.shard.count)
            if home != shard.shard.index:
                raise InfillUsageError(f"{shard.label} holds {benchmark} sample {sample_id}, which belongs to shard "
                                       f"{home}/{shard.shard.count}: the folder is not the output of --shard "
                                       f"{shard.shard}")
            if record.get("data_sha256") != hashes.get(benchmark):
                raise InfillUsageError(f"{shard.label}: {benchmark} sample {sample_id} was graded on other data "
                                       f"than its summary.json names; the folder mixes files of different runs")
            key = record_key(record)
            if key in owner:
                where = "twice" if owner[key] is shard else f"also in {owner[key].label}"
                raise InfillUsageError(f"{shard.label}: {benchmark} sample {sample_id} of model {key[1]} is "
                                       f"recorded {where}; each sample must be graded once")
            owner[key] = shard
        if json.loads(json.dumps(summarize(shard.records))) != shard.summary.get("results"):
            raise InfillUsageError(f"{shard.label}: samples.jsonl does not give the results in its summary.json; "
                                   f"the folder mixes files of different runs")


