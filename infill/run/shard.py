"""Sharding: split one run's samples across machines (`--shard I/N`), so that N runs together grade exactly the
samples one run would, each sample once.

A sample's shard depends only on its benchmark and id (a sha256, not Python's per-process `hash`), so every
machine, every process and every model of a run agrees on it without talking to the others, and a sample stays
in its shard when the data or the limit changes around it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from infill.errors import InfillUsageError

SHARD_PATTERN = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")
# the note of a shard that the split left without a sample (its report is empty; a merge leaves the note out)
EMPTY_SHARD_NOTE = "This shard holds no selected sample (the split by sample id put none here): an empty report, " \
                   "so that the merge finds every shard."


def shard_number(benchmark: str, sample_id: str, count: int) -> int:
    """The shard (1..count) that holds this sample. The benchmark is part of the key so that two benchmarks
    sharing ids (HumanEval variants) are split independently."""
    digest = hashlib.sha256(f"{benchmark}\0{sample_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


@dataclass(frozen=True)
class Shard:
    index: int          # 1-based, as written on the command line
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, benchmark: str, sample_id: str) -> bool:
        return shard_number(benchmark, sample_id, self.count) == self.index


def parse_shard(value) -> Shard | None:
    """`--shard I/N` -> Shard(I, N); None when not given. Bad values are a one-line usage error."""
    if value in (None, ""):
        return None
    match = SHARD_PATTERN.fullmatch(str(value))
    if match is None:
        raise InfillUsageError(f"--shard {value!r}: expected I/N with whole numbers, e.g. --shard 1/4 "
                               f"(shard I of N, 1 <= I <= N)")
    index, count = int(match[1]), int(match[2])
    if count < 1:
        raise InfillUsageError(f"--shard {value!r}: the number of shards N must be at least 1")
    if not 1 <= index <= count:
        raise InfillUsageError(f"--shard {value!r}: shards are numbered 1 to {count}, so I must be in that range")
    return Shard(index, count)
