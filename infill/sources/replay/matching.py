"""Which benchmark samples a generations file's entries belong to, never guessed silently.

- A string task id names its sample: in the benchmark `MODEL:BENCHMARK=PATH` names (which wins), else in the
  benchmark whose ids it looks like. An id of no sample is an error with a valid example and the closest id.
- An integer task id is a row index into the benchmark named explicitly or by the file name
  (`santacoder-fim_results.jsonl` -> SantaCoder-FIM py rows, the recorded convention).
- A JSON list entry (bigcode-evaluation-harness) is the row at its position in the benchmark's data file; where
  several benchmarks share one file (SantaCoder-FIM's py, js and java rows are mixed in one), each entry goes to the
  benchmark its row belongs to, so bigcode's whole `santacoder_fim` output reads as the three benchmarks it holds
  and its `--limit N` output as the first N rows of the file.
Several lines of one task are its candidates (n samples per task); every task of a file needs the same number.
"""

from __future__ import annotations

import difflib
import functools
from pathlib import Path

from infill.benchmarks import BENCHMARKS, kind_of, load_benchmark
from infill.benchmarks.loading import DATA_DIR, read_rows
from infill.benchmarks.sample import Sample
from infill.errors import InfillUsageError
from infill.sources.replay.formats import Entry, fail

# File-name hints for integer task ids and JSON lists (the recorded SantaCoder files index the py rows).
FILENAME_HINTS = {"santacoder": "santacoder-fim-py", "humaneval_infill": "humaneval-single-line"}


def hinted_benchmark(file: Path, explicit: str | None) -> str | None:
    if explicit:
        return explicit
    name = file.name.lower()
    for bench in sorted(BENCHMARKS, key=len, reverse=True):
        if bench in name:
            return bench
    return next((bench for hint, bench in FILENAME_HINTS.items() if hint in name), None)


def benchmark_of_id(task_id: str) -> str | None:
    return next((b.name for b in BENCHMARKS.values() if b.id_prefix and task_id.startswith(b.id_prefix)), None)


def id_examples() -> str:
    return ", ".join(f"{load_benchmark(b).samples[0].sample_id} ({b})" for b in BENCHMARKS)


def sample_of_id(file: Path, entry: Entry, explicit: str | None) -> Sample:
    benchmark = explicit or benchmark_of_id(entry.task_id)
    if benchmark is None:
        raise fail(file, entry.line, f"unknown task_id {entry.task_id!r}: matches no benchmark; task ids look like "
                                     f"{id_examples()}")
    by_id = load_benchmark(benchmark).by_id()
    task_id = entry.task_id if entry.task_id in by_id else \
        kind_of(benchmark).replay_id(BENCHMARKS[benchmark], entry.task_id)
    if task_id not in by_id:
        close = difflib.get_close_matches(entry.task_id, list(by_id), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise fail(file, entry.line, f"unknown task_id {entry.task_id!r}: not a sample of {benchmark}; {hint}"
                                     f"its ids look like {next(iter(by_id))!r}")
    return by_id[task_id]


def sample_of_index(file: Path, entry: Entry, benchmark: str | None) -> Sample:
    if benchmark is None:
        raise fail(file, entry.line, "integer task_id but the file name names no benchmark: use --infill-replay "
                                     "MODEL:BENCHMARK=PATH")
    samples = load_benchmark(benchmark).samples
    if not 0 <= entry.task_id < len(samples):
        raise fail(file, entry.line, f"task_id {entry.task_id} is not a row of {benchmark} (0..{len(samples) - 1})")
    return samples[entry.task_id]


@functools.lru_cache(maxsize=None)
def file_rows(data_file: str) -> tuple[tuple[str, int], ...]:
    """(benchmark, index within it) of every row of a data file, in the file's order."""
    sharing = [b for b in BENCHMARKS.values() if b.data_file == data_file]
    seen = {b.name: 0 for b in sharing}
    placed = []
    for row in read_rows(DATA_DIR / data_file):
        owner = next((b.name for b in sharing if not b.row_filter or row.get(b.row_filter[0]) == b.row_filter[1]),
                     None)
        placed.append((owner, seen[owner] if owner else -1))
        if owner:
            seen[owner] += 1
    return tuple(placed)


def list_benchmark(file: Path, count: int, explicit: str | None) -> str:
    """The benchmark whose data file a JSON list follows: named, or the one data file of that many rows."""
    named = hinted_benchmark(file, explicit)
    if named:
        return named
    sizes = {b.data_file: len(file_rows(b.data_file)) for b in BENCHMARKS.values()}
    fits = [b.name for b in BENCHMARKS.values() if sizes[b.data_file] == count]
    if not fits:
        raise InfillUsageError(f"{file}: {count} entries match no benchmark's data file by size: use --infill-replay "
                               f"MODEL:BENCHMARK=PATH")
    return fits[0]


def samples_of_list(file: Path, entries: list[Entry], explicit: str | None) -> list[tuple[Entry, Sample]]:
    benchmark = list_benchmark(file, len(entries), explicit)
    rows = file_rows(BENCHMARKS[benchmark].data_file)
    if len(entries) > len(rows):
        raise InfillUsageError(f"{file}: {len(entries)} entries but {BENCHMARKS[benchmark].data_file} has "
                               f"{len(rows)} rows")
    matched = []
    for entry in entries:
        owner, index = rows[entry.line]
        if owner is not None and (explicit is None or owner == explicit):
            matched.append((entry, load_benchmark(owner).samples[index]))
    return matched


def match_entries(file: Path, entries: list[Entry], explicit: str | None) -> list[tuple[Entry, Sample]]:
    """Each entry with its sample (JSON lists: the rows an explicit benchmark leaves out are dropped)."""
    if entries[0].task_id is None:
        return samples_of_list(file, entries, explicit)
    hinted = hinted_benchmark(file, explicit)
    return [(entry, sample_of_id(file, entry, explicit) if isinstance(entry.task_id, str)
             else sample_of_index(file, entry, hinted)) for entry in entries]


def check_context(file: Path, entry: Entry, sample: Sample) -> None:
    """Recorded lines that carry their prompt must carry this sample's: catches a wrong benchmark or row order.
    A diffusion prefix may end in one added newline (Open-dLLM builds SantaCoder prefixes as prompt + '\\n')."""
    prompt = entry.row.get("prompt", entry.row.get("prefix"))
    if isinstance(prompt, str) and prompt not in (sample.prefix, sample.prefix + "\n"):
        raise fail(file, entry.line, f"the recorded prompt differs from {sample.sample_id}'s in {sample.benchmark}: "
                                     f"wrong benchmark or row order")
    suffix = entry.row.get("suffix")
    if isinstance(suffix, str) and suffix != sample.suffix:
        raise fail(file, entry.line, f"the recorded suffix differs from {sample.sample_id}'s in {sample.benchmark}: "
                                     f"wrong benchmark or row order")
