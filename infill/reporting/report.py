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

from infill.common.files import write_atomic
from infill.common.jsonable import to_jsonable
from infill.errors import InfillUsageError
from infill.reporting.analysis import write_analyses
from infill.reporting.headline import benchmark_headlines
from infill.reporting.markdown import render_markdown
from infill.reporting.records import record_key
from infill.reporting.roles import model_roles

SCHEMA_VERSION = 1


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


REPORT_FILES = ("summary.json", "report.md", "samples.jsonl")


def check_report_dir(directory: Path) -> None:
    """Raise the error `prepare_report_dir` would raise at the end of the run, now and without creating anything:
    the folder, or the nearest existing folder above it, must take a file (a probe, removed at once). A folder that
    holds other files and no report (`/`, a source folder) is refused: the report would be mixed into it."""
    if directory.is_dir() and any(directory.iterdir()) and not any((directory / f).exists() for f in REPORT_FILES):
        raise InfillUsageError(f"report directory {directory} holds other files and no infill-bench report: pass "
                               f"--infill-report-dir with a new or empty folder (or a previous report's)")
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
    # what each row is (real, ensemble, smoke), read from the sources: the first screen, analyses and colours use it
    roles = model_roles(context["sources"], {r["model"]: r["source"] for r in results})
    analyses = write_analyses(directory, records, context, roles)  # computed once: PNGs, ensemble files, summary, md
    first_screen = {"roles": roles, "headlines": to_jsonable(benchmark_headlines(records, results, roles))}
    summary = {"schema_version": SCHEMA_VERSION, "complete": context["complete"], "results": results,
               **{k: context[k] for k in ("selection", "rules", "sources", "provenance", "notes")},
               "run": context["run"], "analyses": analyses,
               "model_roles": roles, "headlines": first_screen["headlines"]}
    if not context["complete"]:         # why the figures cover only part of the run (a merge carries it on)
        summary["incomplete_reason"] = context.get("incomplete_reason") or "not recorded"
    if context.get("timings"):          # pytest-benchmark figures vary run to run: their own key, never in results
        summary["timings"] = context["timings"]
    if context.get("gates") is not None:    # --infill-gates: each gate's outcome (infill.reporting.gates)
        from infill.reporting.gates import outcomes_json
        summary["gates"] = outcomes_json(context["gates"])
        summary["gates_file"] = context.get("gates_file")
    write_atomic(directory / "summary.json", json.dumps(summary, indent=2, sort_keys=True) + "\n")
    write_atomic(directory / "report.md", render_markdown(results, context, analyses, first_screen))
