"""Durable on-disk cache of generations.

One append-only JSONL file per *run key*: the hash of everything that can change a completion except the sample
(model id and weights identity, backend, dtype, prompt format and version, generation settings,
post-processing and version, seed, benchmark version and dataset hash). Each line holds one sample's
completion under its sample id, and the full key is written in the file's first line and checked on open, so a
hash collision or a hand-edited file is never served.

Durability: a finished batch is appended under an exclusive lock, flushed and fsync'ed before generation moves
on, so a killed run loses at most the batch in flight. A torn last line (killed mid-write) is ignored on read
and cut away before the next append.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from contextlib import contextmanager
from pathlib import Path

CACHE_FORMAT = "infill-generation-cache-v1"


def run_key(components: dict) -> str:
    canonical = json.dumps(components, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


class GenerationCache:
    def __init__(self, directory: Path, components: dict, enabled: bool = True, refresh: bool = False):
        self.components, self.enabled = components, enabled
        self.key = run_key(components)
        self.path = Path(directory) / f"{self.key}.jsonl"
        if enabled and refresh and self.path.exists():
            self.path.unlink()

    @contextmanager
    def _locked(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def load(self) -> dict[str, str]:
        """sample_id -> completion for every complete line of the file."""
        if not self.enabled or not self.path.exists():
            return {}
        completions: dict[str, str] = {}
        with open(self.path, encoding="utf-8") as handle:
            lines = handle.read().split("\n")
        for number, line in enumerate(lines):
            if not line:
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue                      # a torn line from a killed writer: that batch is regenerated
            if number == 0:
                if row.get("format") != CACHE_FORMAT or row.get("components") != self.components:
                    return {}                 # not ours (collision or edited): never serve it
                continue
            completions[row["sample_id"]] = row["completion"]
        return completions

    def append(self, completions: dict[str, str]) -> None:
        if not self.enabled or not completions:
            return
        with self._locked():
            fresh = not self.path.exists() or self.path.stat().st_size == 0
            with open(self.path, "a+", encoding="utf-8") as handle:
                if not fresh:
                    handle.seek(0, os.SEEK_END)
                    size = handle.tell()
                    handle.seek(size - 1)
                    if handle.read(1) != "\n":          # cut a torn line left by a killed writer
                        handle.seek(0)
                        text = handle.read()
                        handle.truncate(text.rfind("\n") + 1)
                        handle.seek(0, os.SEEK_END)
                lines = []
                if fresh:
                    lines.append(json.dumps({"format": CACHE_FORMAT, "components": self.components},
                                            sort_keys=True, ensure_ascii=False))
                lines += [json.dumps({"sample_id": s, "completion": c}, ensure_ascii=False)
                          for s, c in completions.items()]
                handle.write("\n".join(lines) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
