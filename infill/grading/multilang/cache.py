"""Compiled programs kept on disk, keyed by everything that decides what the compiler produces.

One file per key (``<root>/<key[:2]>/<key>``): a magic line, the sha256 and length of the payload, then the
payload (a zlib-compressed frame: whether it compiled, the compiler's message, the files it wrote). A writer writes
a private temporary file beside it, fsyncs it and renames it over the entry, so readers never see a partial
file and concurrent writers of one key (who write the same bytes) cannot interleave. A reader checks the magic,
length and checksum: a torn or damaged file is a miss (and is removed, to be rewritten).

A compilation that timed out is never stored: on a loaded machine it might succeed next time.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from infill.grading.multilang import frames

MAGIC = b"infill-multilang-compile-1\n"
CACHE_FORMAT = "compile-cache-1"


@dataclass(frozen=True)
class CompiledProgram:
    ok: bool  # the compiler exited 0
    message: str  # what the compiler printed (for a COMPILATION_ERROR's detail)
    files: dict[str, bytes] = field(default_factory=dict)  # what it wrote that the program needs


def compile_key(language: str, toolchain_identity: str, argv: list[str], name: str, source: str) -> str:
    """sha256 over the language, the compiler's identity, its command line, the file name and the source."""
    blob = json.dumps([CACHE_FORMAT, language, toolchain_identity, argv, name, source], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


def _pack(program: CompiledProgram) -> bytes:
    names = list(program.files)
    header = {"ok": program.ok, "message": program.message, "files": names}
    return zlib.compress(frames.encode(header, [program.files[n] for n in names]), 1)


def _unpack(payload: bytes) -> CompiledProgram:
    raw = zlib.decompress(payload)
    end = raw.index(b"\n")
    header = json.loads(raw[:end])
    files, at = {}, end + 1
    for name, size in zip(header["files"], header["blobs"]):
        files[name] = raw[at:at + size]
        at += size
    if at != len(raw):
        raise ValueError("length mismatch")
    return CompiledProgram(bool(header["ok"]), str(header["message"]), files)


class CompileCache:
    """Thread- and process-safe; ``root`` None keeps nothing."""

    def __init__(self, root: str | os.PathLike | None):
        self.root = Path(root) if root is not None else None
        self.hits = self.misses = self.damaged = 0
        self._lock = threading.Lock()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / key

    def get(self, key: str) -> CompiledProgram | None:
        if self.root is None:
            return None
        path = self._path(key)
        try:
            data = path.read_bytes()
        except OSError:
            self._count("misses")
            return None
        try:
            program = self._check(data)
        except (ValueError, KeyError, TypeError, zlib.error):
            self._count("damaged")
            try:
                path.unlink()
            except OSError:
                pass
            return None
        self._count("hits")
        return program

    @staticmethod
    def _check(data: bytes) -> CompiledProgram:
        if not data.startswith(MAGIC):
            raise ValueError("not a cache entry")
        rest = data[len(MAGIC):]
        digest, size, payload = rest[:32], int.from_bytes(rest[32:40], "big"), rest[40:]
        if len(payload) != size or hashlib.sha256(payload).digest() != digest:
            raise ValueError("torn or damaged entry")
        return _unpack(payload)

    def put(self, key: str, program: CompiledProgram) -> None:
        if self.root is None:
            return
        payload = _pack(program)
        data = MAGIC + hashlib.sha256(payload).digest() + len(payload).to_bytes(8, "big") + payload
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{key}.{os.getpid()}.{threading.get_ident()}.{os.urandom(4).hex()}.tmp")
        try:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()

    def _count(self, what: str) -> None:
        with self._lock:
            setattr(self, what, getattr(self, what) + 1)
