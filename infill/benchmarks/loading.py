"""Load a registered benchmark from the shipped file through `datasets` (offline, no hub)."""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from infill.benchmarks.registry import Benchmark, get_benchmark
from infill.errors import InfillUsageError

DATA_DIR = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Sample:
    benchmark: str
    sample_id: str       # the dataset's own id: task_id, or "<language>/<name>" for SantaCoder-FIM
    index: int           # row position within the benchmark (recorded SantaCoder files use it as task_id)
    prefix: str
    suffix: str
    canonical: str       # the ground-truth middle
    test: str
    entry_point: str
    language: str
    task_type: str


@dataclass(frozen=True)
class BenchmarkData:
    benchmark: Benchmark
    samples: tuple[Sample, ...] = field(repr=False)
    sha256: str          # of the shipped data file, recorded with every result

    def by_id(self) -> dict[str, Sample]:
        return {s.sample_id: s for s in self.samples}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_rows(path: Path) -> list[dict]:
    import datasets  # imported here: costs a second, and replay-free unit tests do not need it

    datasets.disable_progress_bars()
    try:
        table = datasets.load_dataset("json", data_files=str(path), split="train")
    except Exception as exc:  # datasets wraps parse errors in several exception types
        raise InfillUsageError(
            f"benchmark data file {path} could not be read ({type(exc).__name__}): it is damaged or truncated; "
            f"restore it (git checkout -- {path}) or reinstall infill-bench") from None
    return table.to_list()


# SantaCoder-FIM names look like "humaneval-HumanEval_75_is_multiply_prime.json-L24" (MultiPL-E's source). The
# sample id drops the "HumanEval" words: pytest's -k is case-insensitive, so `-k humaneval` would otherwise select
# every SantaCoder case too. The id stays unique and stable: "py/75_is_multiply_prime/L24".
MULTIPL_E_NAME = re.compile(r"^humaneval-HumanEval_(\d+_\w+)\.json-(L\d+)$")


def santacoder_sample_id(language: str, name: str) -> str:
    match = MULTIPL_E_NAME.match(name)
    return f"{language}/{match[1]}/{match[2]}" if match else f"{language}/{name}"


def _to_sample(bench: Benchmark, index: int, row: dict) -> Sample:
    f = bench.fields
    language = row.get(f.get("language", ""), "py") or "py"
    sample_id = row[f["sample_id"]] if "sample_id" in f else santacoder_sample_id(language, row[f["name"]])
    return Sample(benchmark=bench.name, sample_id=str(sample_id), index=index, prefix=row[f["prefix"]],
                  suffix=row[f["suffix"]], canonical=row[f["canonical"]], test=row[f["test"]],
                  entry_point=row.get(f.get("entry_point", ""), "") or "", language=language,
                  task_type=bench.task_type)


@functools.lru_cache(maxsize=None)
def load_benchmark(name: str) -> BenchmarkData:
    bench = get_benchmark(name)
    path = DATA_DIR / bench.data_file
    if not path.is_file():
        raise InfillUsageError(f"benchmark data file {path} is missing: reinstall infill-bench or restore it with git")
    rows = _read_rows(path)
    if bench.row_filter:
        column, value = bench.row_filter
        rows = [r for r in rows if r.get(column) == value]
    if len(rows) != bench.size:
        raise InfillUsageError(f"benchmark {name}: {path} has {len(rows)} rows, expected {bench.size}: "
                               f"the file is damaged or not the shipped one; restore it (git checkout -- {path}) "
                               f"or reinstall infill-bench")
    try:
        samples = tuple(_to_sample(bench, i, r) for i, r in enumerate(rows))
    except KeyError as exc:
        raise InfillUsageError(f"benchmark {name}: {path} has rows without the field {exc.args[0]!r}: the file is "
                               f"not the shipped one; restore it (git checkout -- {path}) or reinstall "
                               f"infill-bench") from None
    if len({s.sample_id for s in samples}) != len(samples):
        raise InfillUsageError(f"benchmark {name}: sample ids in {path} are not unique")
    return BenchmarkData(benchmark=bench, samples=samples, sha256=file_sha256(path))
