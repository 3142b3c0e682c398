"""Load a registered benchmark from its data file through `datasets` (offline, no hub), checked against the
definition (row count, fields, unique ids), with the file's sha256."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from infill.benchmarks.registry import get_benchmark, kind_of
from infill.benchmarks.sample import BenchmarkData
from infill.errors import InfillUsageError

DATA_DIR = Path(__file__).parent / "data"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_rows(path: Path) -> list[dict]:
    import datasets  # imported here: costs a second, and replay-free unit tests do not need it

    datasets.disable_progress_bars()
    try:
        table = datasets.load_dataset("json", data_files=str(path), split="train")
    except Exception as exc:  # datasets wraps parse errors in several exception types
        raise InfillUsageError(
            f"benchmark data file {path} could not be read ({type(exc).__name__}): it is damaged or truncated; "
            f"restore it (git checkout -- {path}) or reinstall infill-bench") from None
    return table.to_list()


@functools.lru_cache(maxsize=None)
def load_benchmark(name: str) -> BenchmarkData:
    bench = get_benchmark(name)
    path = DATA_DIR / bench.data_file      # an absolute data_file (a kind of your own) replaces DATA_DIR
    if not path.is_file():
        raise InfillUsageError(f"benchmark data file {path} is missing: reinstall infill-bench or restore it with git")
    rows = read_rows(path)
    if bench.row_filter:
        column, value = bench.row_filter
        rows = [r for r in rows if r.get(column) == value]
    if len(rows) != bench.size:
        raise InfillUsageError(f"benchmark {name}: {path} has {len(rows)} rows, expected {bench.size}: "
                               f"the file is damaged or not the shipped one; restore it (git checkout -- {path}) "
                               f"or reinstall infill-bench")
    try:
        kind = kind_of(name)
        samples = tuple(kind.to_sample(bench, i, r) for i, r in enumerate(rows))
    except KeyError as exc:
        raise InfillUsageError(f"benchmark {name}: {path} has rows without the field {exc.args[0]!r}: the file is "
                               f"not the shipped one; restore it (git checkout -- {path}) or reinstall "
                               f"infill-bench") from None
    if len({s.sample_id for s in samples}) != len(samples):
        raise InfillUsageError(f"benchmark {name}: sample ids in {path} are not unique")
    return BenchmarkData(benchmark=bench, samples=samples, sha256=file_sha256(path))
