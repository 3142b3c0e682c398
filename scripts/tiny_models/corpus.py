"""Training corpus: the filtered ``.py`` files of the Python standard library."""

from __future__ import annotations

import hashlib
import os
import sysconfig
from pathlib import Path

# Directories of the stdlib that are not used (tests, GUI, vendored/third
# party, codec tables that are mostly hex data, build configuration).
EXCLUDED_DIRS = {
    "test",
    "tests",
    "idle_test",
    "idlelib",
    "lib2to3",
    "site-packages",
    "dist-packages",
    "__pycache__",
    "turtledemo",
    "ensurepip",
    "encodings",
    "pydoc_data",
    "__phello__",
}


def stdlib_files() -> tuple[Path, list[str]]:
    """Sorted relative paths of the stdlib ``.py`` files used for training."""
    root = Path(sysconfig.get_paths()["stdlib"])
    rels: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d for d in dirnames if d not in EXCLUDED_DIRS and not d.startswith("config-")
        )
        for name in sorted(filenames):
            if name.endswith(".py"):
                rels.append(Path(dirpath, name).relative_to(root).as_posix())
    rels.sort()
    return root, rels


def load_corpus(root: Path, rels: list[str]) -> list[tuple[str, str]]:
    docs = []
    for rel in rels:
        raw = (root / rel).read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        text = text.replace("\r\n", "\n")
        if text.strip():
            docs.append((rel, text))
    return docs


def sha256_lines(items: list[str]) -> str:
    return hashlib.sha256("\n".join(items).encode("utf-8")).hexdigest()


def content_sha256(docs: list[tuple[str, str]]) -> str:
    h = hashlib.sha256()
    for rel, text in docs:
        h.update(rel.encode())
        h.update(b"\0")
        h.update(hashlib.sha256(text.encode("utf-8")).digest())
    return h.hexdigest()


def split_train_eval(docs: list[tuple[str, str]], every: int = 25):
    train = [d for i, d in enumerate(docs) if i % every != every // 2]
    held = [d for i, d in enumerate(docs) if i % every == every // 2]
    return train, held
