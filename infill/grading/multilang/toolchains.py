"""Which compilers and runtimes are installed, their versions, and an identity for the compile cache.

A language whose tools are missing (or do not answer ``--version``) is reported unavailable with the reason: the
pool refuses its jobs (``ToolchainUnavailable``) instead of grading them, and the caller reports it.
Tools are looked up on the sandbox's PATH (/usr/local/bin:/usr/bin:/bin), not the grader's.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass

from infill.grading.multilang.languages import Language
from infill.grading.multilang.sandbox import COMPILE_ENV, PATH

VERSION_ARGS = {"g++": ["--version"], "javac": ["-version"], "java": ["-version"], "mcs": ["--version"],
                "mono": ["--version"], "python3": ["--version"], "pypy3": ["--version"]}


@dataclass(frozen=True)
class Toolchain:
    language: str
    available: bool
    reason: str  # why not ("" when available)
    version: str  # each tool's version line, "; "-separated
    identity: str  # sha256 of the versions and the binaries' paths, sizes and times (compile cache key)


def _version(path: str, tool: str) -> str:
    done = subprocess.run([path, *VERSION_ARGS.get(tool, ["--version"])], capture_output=True, text=True,
                          env=dict(COMPILE_ENV, HOME="/nonexistent"), timeout=60, stdin=subprocess.DEVNULL)
    text = (done.stdout + "\n" + done.stderr).strip()
    if done.returncode != 0 or not text:
        raise OSError(f"'{tool} {' '.join(VERSION_ARGS.get(tool, []))}' exited {done.returncode}: {text[:200]}")
    return " ".join(text.splitlines()[0].split())


def _stat(path: str) -> str:
    real = os.path.realpath(path)
    st = os.stat(real)
    return f"{real}:{st.st_size}:{st.st_mtime_ns}"


def detect(language: Language) -> Toolchain:
    versions, stats = [], []
    for tool in language.tools:
        path = shutil.which(tool, path=PATH)
        if path is None:
            return Toolchain(language.key, False, f"{tool} not found on {PATH}", "", "")
        try:
            versions.append(f"{tool}: {_version(path, tool)}")
        except (OSError, subprocess.SubprocessError) as exc:
            return Toolchain(language.key, False, f"{tool} does not work: {exc}", "", "")
        stats.append(_stat(path))
    version = "; ".join(versions)
    identity = hashlib.sha256("\n".join([language.runtime, version, *stats]).encode()).hexdigest()
    return Toolchain(language.key, True, "", version, identity)
