"""What the caches of grading results share (``verdict_cache.VerdictCache``, ``outcome_cache.OutcomeCache``): every
entry is known in memory at once and written to the cache's durable JSONL file (``GenerationCache``) in groups,
every ``flush_every`` entries or ``flush_seconds``, and by ``flush`` when the grader closes; a SIGKILL loses at most
the last group, whose programs then run again."""

from __future__ import annotations

import time

from infill.generation.cache import GenerationCache

FLUSH_EVERY, FLUSH_SECONDS = 64, 2.0  # the caches' group: entries, or seconds since the last write


class BufferedCache:
    def __init__(self, store: GenerationCache, flush_every: int = FLUSH_EVERY, flush_seconds: float = FLUSH_SECONDS):
        self.store = store
        self.flush_every, self.flush_seconds = flush_every, flush_seconds
        self.unwritten: dict[str, str] = {}
        self.written_at = time.monotonic()

    def _write(self, key: str, line: str) -> None:
        """Write ``line`` under ``key`` with its group: now when the group is full or old enough."""
        self.unwritten[key] = line
        if len(self.unwritten) >= self.flush_every or time.monotonic() - self.written_at >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        if self.unwritten:
            self.store.append(self.unwritten)
            self.unwritten = {}
        self.written_at = time.monotonic()
