"""Load a registered benchmark from its data file, checked against the definition (row count, fields, unique ids),
with the file's sha256."""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import zlib
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
    """Every row of a JSONL file (gzipped or not), read with the standard library: the files are local and small,
    and `datasets` would cost a second of import and an Arrow cache in the home folder for the same rows (checked
    equal on every shipped benchmark when the loader changed)."""
    try:
        raw = path.read_bytes()
        text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode("utf-8")
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, ValueError) as exc:
        raise InfillUsageError(
            f"benchmark data file {path} could not be read ({type(exc).__name__}): it is damaged or truncated; "
            f"restore it (git checkout -- {path}) or reinstall infill-bench") from None


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
