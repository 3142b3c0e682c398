"""Merge the report folders of a sharded run into the report one unsharded run would have written.

    python -m infill.merge SHARD_DIR [SHARD_DIR ...] -o OUT_DIR [--gates FILE]
    ./infill-bench merge   SHARD_DIR [SHARD_DIR ...] -o OUT_DIR [--gates FILE]

Each SHARD_DIR is the --infill-report-dir of one `--shard I/N` run (summary.json + samples.jsonl). The merge first
checks that the folders belong together: one run's selection, rules, sources, code and packages, shards 1..N of
one N each exactly once, every record in the shard its id hashes to, no record twice. Anything else stops it with
one line naming the folders and what differs (exit code 2). Then it recomputes everything derived from the
records (results, analyses) with the same functions a run uses, so the merged summary.json equals the
unsharded run's except for `run` (commands, times, the shards).

What cannot be recomputed from records is combined: `complete` only if every shard was complete; notes in
order, each once; the timing rows of every shard, tagged with it; gates are checked afresh on the merged figures
(`--gates FILE`, else the gates file the shards recorded when it is found here), never copied from a shard,
whose gates only saw its part. Exit code: 0; 1 if a gate failed or a shard was incomplete (the report is
written either way); 2 for input that does not merge.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from infill.benchmarks import BENCHMARKS
from infill.ensemble.runlevel import reselect_records
from infill.errors import InfillUsageError
from infill.records import isolation_summary, record_key, summarize
from infill.report import SCHEMA_VERSION, prepare_report_dir, write_report
from infill.shard import EMPTY_SHARD_NOTE, Shard, parse_shard, shard_number

# summary.json keys and how a merge treats them (any other key: kept when every shard has the same value)
RECOMPUTED = ("schema_version", "results", "analyses")     # written afresh by write_report from the records
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


# ---- checking that the shards belong together -----------------------------------------------------------------

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


# ---- the merged report ----------------------------------------------------------------------------------------

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
    from infill.gates import load_gates
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
        from infill.gates import evaluate_gates
        context["gates"], context["gates_file"] = evaluate_gates(gates, results, records), str(gates.path)
    write_report(prepare_report_dir(output), records, results, context)
    return results, context


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m infill.merge", description="Merge the report folders of the "
                                     "shards of one run (--shard I/N) into one report.")
    parser.add_argument("shard_dirs", nargs="+", type=Path, metavar="SHARD_DIR",
                        help="the --infill-report-dir of each shard run")
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="OUT_DIR",
                        help="where the merged report.md, summary.json and samples.jsonl go")
    parser.add_argument("--gates", type=Path, metavar="FILE", help="check these gates (TOML, as --infill-gates) "
                        "on the merged figures; a failing gate exits 1")
    args = parser.parse_args(argv)
    try:
        results, context = merge_shards(args.shard_dirs, args.output,
                                        shlex.join(["python", "-m", "infill.merge", *argv]), args.gates)
    except InfillUsageError as error:
        sys.stderr.write(f"infill-bench merge: error: {error}\n")
        return 2
    for r in results:
        print(f"{r['benchmark']:<28} {r['model']:<30} {r['metric']:<14} {r['passed']:>5}/{r['n']:<5} = "
              f"{100 * r['value']:6.2f}%")
    status = 0
    if context.get("gates") is not None:
        from infill.gates import terminal_lines
        print("\n".join(terminal_lines(context["gates"], context["gates_file"])))
        status = 1 if any(not o.passed for o in context["gates"]) else 0
    if not context["complete"]:
        print(f"INCOMPLETE: {context['incomplete_reason']}")
        status = 1
    print(f"merged {len(context['run']['shards'])} shards: {args.output / 'report.md'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
