"""Write the run's artefacts: report.md (for people), summary.json (for gates and scripts), samples.jsonl.

Every file is written to a temporary name and renamed into place, so a crash leaves either the previous file
or the new one, never half of one; report.md is written last and says whether the run was complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from infill.analysis import render_analyses, write_analyses
from infill.benchmarks import BENCHMARKS
from infill.errors import InfillUsageError
from infill.records import record_key

SCHEMA_VERSION = 1


def write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def prepare_report_dir(directory: Path) -> Path:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / f".write-probe-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise InfillUsageError(f"report directory {directory} is not writable ({exc.strerror}): "
                               f"pass --infill-report-dir with a writable folder") from None
    return directory


def check_report_dir(directory: Path) -> None:
    """Raise the error `prepare_report_dir` would raise at the end of the run, now and without creating anything:
    the folder, or the nearest existing folder above it, must take a file (a probe, removed at once)."""
    existing = directory
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    try:
        if not existing.is_dir():
            raise NotADirectoryError(20, f"{existing} is not a folder")
        handle, probe = tempfile.mkstemp(prefix=".write-probe-", dir=existing)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise InfillUsageError(f"report directory {directory} is not writable ({exc.strerror}): pass "
                               f"--infill-report-dir with a writable folder") from None


def write_report(directory: Path, records: list[dict], results: list[dict], context: dict) -> None:
    """Every file is first written into a hidden staging folder (the slow part: analyses and figures), then moved
    into `directory`, summary.json and report.md last: a run killed while writing its report leaves the previous
    report whole (the moves are renames microseconds apart), not a new samples.jsonl beside the old summary."""
    for stale in directory.glob(".staging-*"):      # left by a writer killed before its moves
        if not _process_alive(stale.name.rpartition("-")[2]):
            shutil.rmtree(stale, ignore_errors=True)
    staging = directory / f".staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        _write_report_files(staging, records, results, context)
        names = sorted((p.name for p in staging.iterdir() if not p.name.startswith(".")),
                       key=lambda name: (name in ("summary.json", "report.md"), name == "report.md"))
        for name in names:
            os.replace(staging / name, directory / name)
        handle = os.open(directory, os.O_RDONLY)        # the renames themselves durable
        try:
            os.fsync(handle)
        finally:
            os.close(handle)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _process_alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def _write_report_files(directory: Path, records: list[dict], results: list[dict], context: dict) -> None:
    records = sorted(records, key=record_key)
    write_atomic(directory / "samples.jsonl",
                 "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in records))
    analyses = write_analyses(directory, records, context)     # computed once: PNGs, ensemble files, summary, md
    summary = {"schema_version": SCHEMA_VERSION, "complete": context["complete"], "results": results,
               **{k: context[k] for k in ("selection", "rules", "sources", "provenance", "notes")},
               "run": context["run"], "analyses": analyses}
    if not context["complete"]:         # why the figures cover only part of the run (a merge carries it on)
        summary["incomplete_reason"] = context.get("incomplete_reason") or "not recorded"
    if context.get("timings"):          # pytest-benchmark figures vary run to run: their own key, never in results
        summary["timings"] = context["timings"]
    if context.get("gates") is not None:    # --infill-gates: each gate's outcome (infill.gates)
        from infill.gates import outcomes_json
        summary["gates"] = outcomes_json(context["gates"])
        summary["gates_file"] = context.get("gates_file")
    write_atomic(directory / "summary.json", json.dumps(summary, indent=2, sort_keys=True) + "\n")
    write_atomic(directory / "report.md", render_markdown(results, context, analyses))


def _pct(value: float) -> str:
    return f"{100 * value:.2f}%"


def render_markdown(results: list[dict], context: dict, analyses: dict | None = None) -> str:
    lines = ["# infill-bench report", ""]
    if not context["complete"]:
        lines += [f"> **INCOMPLETE RUN**: {context['incomplete_reason']}. The figures below cover only the "
                  f"samples that finished.", ""]
    if context["run"].get("shard"):         # --shard I/N: say so before anyone reads the figures as the whole run
        lines += [f"> **Shard {context['run']['shard']}** of a sharded run: the figures cover only this shard's "
                  f"samples. Merge the shards' report folders with `./infill-bench merge`.", ""]
    lines += [f"> {note}" for note in context["notes"]] + ([""] if context["notes"] else [])
    if context.get("gates") is not None:    # first, so that a failed gate is what a reader sees
        from infill.gates import markdown_lines
        lines += markdown_lines(context["gates"], context.get("gates_file"))
    lines += ["## Results", "",
              "| benchmark | model | source | n | passed | score [95% CI] | metric | edit sim | timeouts | memory "
              "| missing | sandbox errors |",
              "|---|---|---|---:|---:|---|---|---:|---:|---:|---:|---:|"]
    for r in results:
        subset = "" if r["n"] == r["dataset_size"] else f" of {r['dataset_size']}"
        low, high = r["ci95"]
        lines.append(
            f"| {r['benchmark']} | {r['model']} | {r['source']} | {r['n']}{subset} | {r['passed']} "
            f"| {_pct(r['value'])} [{_pct(low)}, {_pct(high)}] | {r['metric']} "
            f"| {r.get('edit_similarity', '')} | {r['timeout']} | {r['memory']} | {r['missing']} "
            f"| {r['sandbox_error']} |")
    rules = context["rules"]
    lines += ["", "Scores: pass@1 = fraction of samples whose program passed its tests (one completion per "
              "task); EM = exact match under the named rule. Missing completions, timeouts and sandbox errors "
              "count as not passed. Intervals are 95% Wilson intervals.", "", *render_analyses(analyses),
              "## Evaluation rules", "",
              f"- Program assembly (HumanEval-Infill): `prompt + completion + suffix + \"\\n\" + test + \"\\n\" + "
              f"f\"check({{entry_point}})\"`, completion verbatim, run as `exec(program, {{}})` (not `__main__`); "
              f"a pass requires the tests to run to completion. Rule `{rules['execution']}`, timeout "
              f"{rules['timeout_s']} s, memory {rules['memory_mb']} MiB.",
              f"- Isolation: {rules['isolation']}",
              f"- Exact match (SantaCoder-FIM): both rules computed; tests pass or xfail by "
              f"`{rules['em_rule_deciding_tests']}`. " +
              "; ".join(f"`{name}` = {version}" for name, version in rules["em_rules"].items()) +
              f"; edit similarity `{rules['edit_similarity']}`.",
              f"- Post-processing of completions: {rules['postprocessing']}.",
              "- Benchmark definitions: " + ", ".join(
                  f"{b} v{BENCHMARKS[b].version}" for b in context["selection"]["benchmarks"]) + ".", "",
              "## Sources", ""]
    for source in context["sources"]:
        lines.append(f"- **{source['model']}** ({source['kind']})")
        if source.get("length_policy"):
            policy = source["length_policy"]
            lines.append(f"  - length policy `{policy['name']}` ({policy['version']})"
                         + (": uses the ground truth's length" if policy["uses_ground_truth"] else ""))
        for family, settings in source.get("settings", {}).items():
            lines.append(f"  - {family}: " + ", ".join(f"{k}={v}" for k, v in settings.items()))
        if source.get("weights"):
            lines.append(f"  - weights `{source['weights'][:40]}`, {source['device']}, {source['dtype']}")
        for bench, f in source.get("files", {}).items():
            lines.append(f"  - {bench}: `{f['path']}` ({f['format']}, {f['tasks']} tasks, sha256 "
                         f"`{f['sha256'][:16]}…`)" + "".join(f"; {n}" for n in f["notes"]))
    if context.get("timings"):
        from infill.timings import render_timings_markdown
        lines += [""] + render_timings_markdown(context["timings"])
    prov = context["provenance"]
    lines += ["", "## Provenance", "",
              f"- Command: `{context['run']['command']}`",
              *[f"- Shard {s['shard']}: `{s['command']}` ({s['seconds']:.1f} s)"    # a merged run (infill.merge)
                for s in context["run"].get("shards", [])],
              f"- Code: commit `{prov['git']['commit']}`" + (" (uncommitted changes)" if prov["git"]["dirty"] else ""),
              "- Packages: " + ", ".join(f"{k} {v}" for k, v in prov["packages"].items() if v),
              f"- Machine: {prov['machine']['platform']}, {prov['machine']['cpu_count']} CPUs, Python "
              f"{prov['machine']['python']}, GPU: {', '.join(prov['machine']['gpu']) if prov['machine']['gpu'] else 'none'}",
              *memory_lines(prov.get("models_in_memory")),
              "- Data: " + ", ".join(f"{b} sha256 `{h[:16]}…`" for b, h in context["selection"]["data_sha256"].items()),
              f"- Started {context['run']['started']}, finished {context['run']['finished']} "
              f"({context['run']['seconds']:.1f} s)", ""]
    return "\n".join(lines)


def memory_lines(memory: dict | None) -> list[str]:
    """The models' weights held in memory (ModelPool.footprint; under xdist summed over the worker processes)."""
    if not memory or not memory.get("weights_bytes"):
        return []
    mb = lambda n: f"{n / 2**20:.1f} MB"
    n = memory.get("processes")
    per_process = f" in one process ({n} xdist worker{'' if n == 1 else 's'} loaded models)" if n else ""
    return [f"- Models in memory (`{memory['mode']}`): " + ", ".join(
        f"{name} {mb(size)}" for name, size in memory["weights_bytes"].items()) +
        f"; peak held at once {mb(memory['peak_held_bytes'])}{per_process}; {memory['loads']} loads"]
