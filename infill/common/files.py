"""Atomic file writes: a crash leaves either the previous file or the new one, never half of one."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write `data` (text as UTF-8, or bytes) to a temporary name beside `path`, fsync it, rename it into place."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # backslashreplace: a lone surrogate (a completion may hold one) becomes its \udXXX escape, which is also the
    # JSON escape json.loads reads back; any valid text is encoded exactly as UTF-8
    payload = data.encode("utf-8", "backslashreplace") if isinstance(data, str) else data
    with open(temporary, "wb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
