"""Execution verdicts kept on disk beside the generations, so that a killed or repeated run does not lose them.

Keyed like the generation cache (infill.generation.cache: one JSONL file per key, a header naming what the key
covers, torn lines from a killed writer skipped, a file lock for concurrent writers): the key holds everything
that can change a verdict, namely the execution rule version, the sandbox limits (timeout, memory, processes, file
size), the isolation actually in force and the Python version that runs the programs; an entry is keyed by the
sha256 of the whole assembled program (prompt, completion, suffix, tests). A sandbox error is never stored (it is
an infrastructure fault, retried), nor a timeout (it depends on how loaded the machine was: a program near the limit
gets its own chance in each run). Verdicts are written in groups (every FLUSH_EVERY verdicts or FLUSH_SECONDS,
and when the grader closes), so a SIGKILL loses at most the last group: those programs run again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
import time
from pathlib import Path

from infill.generation.cache import GenerationCache
from infill.grading.execution import EXECUTION_RULE_VERSION, ExecutionResult, SandboxConfig

FLUSH_EVERY = 64
FLUSH_SECONDS = 2.0


def program_key(program: str) -> str:
    return hashlib.sha256(program.encode("utf-8")).hexdigest()


class VerdictCache:
    def __init__(self, directory: Path, config: SandboxConfig, isolation: str, enabled: bool = True):
        limits = {k: v for k, v in dataclasses.asdict(config).items() if k not in ("workers", "isolation")}
        # a folder of their own: the generation cache's folder holds generation and score files only
        self.store = GenerationCache(Path(directory) / "verdicts", {
            "kind": "execution-verdicts", "execution_rule": EXECUTION_RULE_VERSION, "limits": limits,
            "isolation": isolation, "python": platform.python_version()}, enabled)
        self.known = {key: ExecutionResult(*json.loads(value)) for key, value in self.store.load().items()}
        self.unwritten: dict[str, str] = {}
        self.written_at = time.monotonic()

    def get(self, program: str) -> ExecutionResult | None:
        return self.known.get(program_key(program))

    def put(self, program: str, result: ExecutionResult) -> None:
        key = program_key(program)
        self.known[key] = result
        self.unwritten[key] = json.dumps([result.status, result.detail, result.duration_s])
        if len(self.unwritten) >= FLUSH_EVERY or time.monotonic() - self.written_at >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.unwritten:
            self.store.append(self.unwritten)
            self.unwritten = {}
        self.written_at = time.monotonic()
