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
        # compared with the header as JSON reads it back: a tuple (the diffusion window) is a list there
        self.components, self.enabled = json.loads(json.dumps(components)), enabled
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
        with open(self.path, "rb") as handle:       # bytes: a torn line may end inside a multi-byte character
            lines = handle.read().split(b"\n")
        for number, line in enumerate(lines):
            try:
                row = json.loads(line)
            except ValueError:                # torn line (JSON or UTF-8) from a killed writer: regenerated
                if number == 0:
                    return {}                 # no complete header: nothing in the file can be trusted
                continue
            if number == 0:
                if not isinstance(row, dict) or row.get("format") != CACHE_FORMAT \
                        or row.get("components") != self.components:
                    return {}                 # not ours (collision or edited): never serve it
                continue
            if isinstance(row, dict) and isinstance(row.get("sample_id"), str) \
                    and isinstance(row.get("completion"), str):
                completions[row["sample_id"]] = row["completion"]
        return completions

    def append(self, completions: dict[str, str]) -> None:
        if not self.enabled or not completions:
            return
        with self._locked():
            with open(self.path, "a+b") as handle:        # bytes: offsets are byte offsets
                size = handle.seek(0, os.SEEK_END)
                if size:
                    handle.seek(size - 1)
                    if handle.read(1) != b"\n":         # cut a torn line left by a killed writer
                        handle.seek(0)
                        size = handle.read().rfind(b"\n") + 1
                        handle.truncate(size)
                lines = []
                if size == 0:                            # a new file, or one whose header itself was torn
                    lines.append(json.dumps({"format": CACHE_FORMAT, "components": self.components},
                                            sort_keys=True, ensure_ascii=False))
                lines += [json.dumps({"sample_id": s, "completion": c}, ensure_ascii=False)
                          for s, c in completions.items()]
                # a lone surrogate in a completion becomes its JSON escape (read back as the same text)
                handle.write(("\n".join(lines) + "\n").encode("utf-8", "backslashreplace"))
                handle.flush()
                os.fsync(handle.fileno())
