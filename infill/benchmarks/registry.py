"""The benchmark registry. Adding a benchmark is one `Benchmark(...)` entry in `BENCHMARKS`.

A definition says where the rows are, how a row becomes a `Sample` (`fields` maps our names to the dataset's
columns), how it is graded and what it reports. `version` changes whenever anything here that can change a
score changes (data file, field mapping, grader); it is written next to every result.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from infill.errors import InfillUsageError

HUMANEVAL_FIELDS = {"sample_id": "task_id", "prefix": "prompt", "suffix": "suffix",
                    "canonical": "canonical_solution", "test": "test", "entry_point": "entry_point"}
SANTACODER_FIELDS = {"name": "name", "prefix": "prompt", "suffix": "suffix",
                     "canonical": "canonical_solution", "test": "tests", "language": "language"}


@dataclass(frozen=True)
class Benchmark:
    name: str
    version: str
    family: str                 # "humaneval-infill" (graded by execution) or "santacoder-fim" (exact match)
    data_file: str              # relative to infill/benchmarks/data/
    size: int                   # rows after `row_filter`; loading checks it
    grader: str                 # "execution" or "exact_match"
    metrics: tuple[str, ...]    # summary.json metric names, the first is the headline
    fields: dict = field(default_factory=dict)
    row_filter: tuple[str, str] | None = None    # (column, value) kept
    task_type: str = ""
    id_prefix: str = ""         # every sample id starts with it; replay files are matched to benchmarks by it
    description: str = ""


def _humaneval(name: str, file_stem: str, size: int, task_type: str) -> Benchmark:
    return Benchmark(
        name=name, version="1", family="humaneval-infill",
        data_file=f"humaneval-infilling/HumanEval-{file_stem}.jsonl.gz", size=size, grader="execution",
        metrics=("pass@1",), fields=HUMANEVAL_FIELDS, task_type=task_type, id_prefix=f"{file_stem}/",
        description=f"HumanEval-Infilling {task_type} (openai/human-eval-infilling, MIT)")


def _santacoder(language: str, size: int) -> Benchmark:
    return Benchmark(
        name=f"santacoder-fim-{language}", version="1", family="santacoder-fim",
        data_file="santacoder-fim/santacoder-fim-task.all.jsonl.gz", size=size, grader="exact_match",
        metrics=("em_first_line", "em_full"), fields=SANTACODER_FIELDS, row_filter=("language", language),
        task_type=f"single-line {language}", id_prefix=f"{language}/",
        description=f"SantaCoder-FIM {language} (bigcode/santacoder-fim-task, openrail, evaluation only)")


BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in [
    _humaneval("humaneval-single-line", "SingleLineInfilling", 1033, "single-line"),
    _humaneval("humaneval-multi-line", "MultiLineInfilling", 5815, "multi-line"),
    _humaneval("humaneval-random-span", "RandomSpanInfilling", 1640, "random-span"),
    _humaneval("humaneval-random-span-light", "RandomSpanInfillingLight", 164, "random-span-light"),
    _santacoder("py", 1043),
    _santacoder("js", 1969),
    _santacoder("java", 1780),
]}

# Names that select several benchmarks at once on the command line.
GROUPS = {
    "all": list(BENCHMARKS),
    "humaneval": [n for n, b in BENCHMARKS.items() if b.family == "humaneval-infill"],
    "santacoder": [n for n, b in BENCHMARKS.items() if b.family == "santacoder-fim"],
}


def get_benchmark(name: str) -> Benchmark:
    try:
        return BENCHMARKS[name]
    except KeyError:
        raise InfillUsageError(
            f"unknown benchmark {name!r}: choose from {', '.join(list(BENCHMARKS) + list(GROUPS))}") from None


def resolve_benchmarks(spec: str) -> list[str]:
    """'humaneval-single-line,santacoder' -> benchmark names in registry order, no duplicates."""
    wanted: set[str] = set()
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        wanted.update(GROUPS[part] if part in GROUPS else [get_benchmark(part).name])
    return [n for n in BENCHMARKS if n in wanted]
