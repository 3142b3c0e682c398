"""Progress of a run, as data: the pytest plugin shows it on the terminal (infill.pytest_plugin.progress); scripts and
tests may stay silent. Built first and handed to what generates, scores and grades (an observer, not a way back up).

What is reported:
- `advance(reading)`: a slow stage of one (model, benchmark) group, e.g. generating, with done/total, the rate over
  what this run computed (not what the cache held) and the time left at that rate (`Meter` makes the readings);
- `from_cache(count)`: how many of a group's generations, scores or verdicts came from the on-disk cache;
- `group_ready(model, benchmark)`: the group is prepared: its cache counts are complete;
- `update(message)`: a line said once (a warning).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable, Protocol


@dataclass(frozen=True)
class Reading:
    """One stage of one (model, benchmark) group at one moment."""
    model: str
    benchmark: str
    stage: str                  # "generating", "scoring ar_plain:tiny-qwen2-fim", ...
    done: float                 # may be fractional: a backend reports rows finished inside a long batch
    total: int
    elapsed: float              # seconds since the stage started
    rate: float | None          # items per second computed in this run (None until one is)
    finished: bool = False

    @property
    def key(self) -> tuple[str, str, str]:
        return self.model, self.benchmark, self.stage

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate."""
        return None if self.finished or not self.rate else max(self.total - self.done, 0) / self.rate

    def line(self) -> str:
        done = f"{int(self.done)}/{self.total}"
        rate = f"{self.rate:.3g}/s" if self.rate else "-/s"
        if self.finished:
            return f"{self.model} {self.benchmark}: {self.stage} {done} in {clock(self.elapsed)} ({rate})"
        eta = clock(self.eta) if self.eta is not None else "?"
        return f"{self.model} {self.benchmark}: {self.stage} {done}, {rate}, {clock(self.elapsed)} elapsed, ETA {eta}"

    def as_dict(self) -> dict:
        return asdict(self)


def clock(seconds: float) -> str:
    """0:07, 3:25, 1:02:09."""
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Meter:
    """Readings of one stage: the rate counts only what this run computed since the meter started, so a resumed
    stage (half of it in the cache) does not report the cache's speed."""

    def __init__(self, model: str, benchmark: str, stage: str, total: int, done: float = 0,
                 now: Callable[[], float] = time.monotonic):
        self.model, self.benchmark, self.stage, self.total = model, benchmark, stage, total
        self.now, self.started, self.first = now, now(), done

    def reading(self, done: float, finished: bool = False) -> Reading:
        elapsed = self.now() - self.started
        rate = (done - self.first) / elapsed if elapsed > 0 and done > self.first else None
        return Reading(self.model, self.benchmark, self.stage, done, self.total, elapsed, rate, finished)


@dataclass(frozen=True)
class CacheCount:
    """How many of a group's items of one kind came from the cache, of those the group needed this run."""
    model: str
    benchmark: str
    what: str                   # "generations", "scores", "verdicts"
    hits: int
    total: int


class Progress(Protocol):
    def update(self, message: str) -> None: ...

    def advance(self, reading: Reading) -> None: ...

    def from_cache(self, count: CacheCount) -> None: ...

    def group_ready(self, model: str, benchmark: str) -> None: ...


class SilentProgress:
    """Nothing shown."""

    def update(self, message: str) -> None:
        pass

    def advance(self, reading: Reading) -> None:
        pass

    def from_cache(self, count: CacheCount) -> None:
        pass

    def group_ready(self, model: str, benchmark: str) -> None:
        pass


class CacheLines:
    """The cache counts of each group, added up until the group is ready, then one line per group (groups prepared
    as a side effect of another, e.g. an ensemble's live member, come out with it)."""

    def __init__(self):
        self.pending: dict[tuple[str, str], dict[str, list[int]]] = {}

    def add(self, count: CacheCount) -> None:
        kinds = self.pending.setdefault((count.model, count.benchmark), {})
        hits_total = kinds.setdefault(count.what, [0, 0])
        hits_total[0] += count.hits
        hits_total[1] += count.total

    def ready(self, model: str, benchmark: str) -> list[str]:
        self.pending.setdefault((model, benchmark), {})
        lines = []
        for (m, b), kinds in self.pending.items():
            parts = [f"{hits}/{total} {what}" for what, (hits, total) in kinds.items()]
            lines.append(f"{m} {b}: from the cache: {', '.join(parts) if parts else 'nothing needed'}")
        self.pending.clear()
        return lines
