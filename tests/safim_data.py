"""The shipped SAFIM rows for tests, read straight from the package (wherever the checkout lives)."""

from __future__ import annotations

import functools
import gzip
import json
from collections import Counter
from pathlib import Path

import infill.benchmarks

SAFIM_DIR = Path(infill.benchmarks.__file__).parent / "data" / "safim"
SPLITS = ("block", "control", "api")


@functools.lru_cache(maxsize=None)
def safim_rows(split: str) -> tuple[dict, ...]:
    with gzip.open(SAFIM_DIR / f"{split}_completion.jsonl.gz", "rt", encoding="utf-8") as handle:
        return tuple(json.loads(line) for line in handle if line.strip())


def language_counts(split: str) -> Counter:
    return Counter(row["lang"] for row in safim_rows(split))
