"""Execution verdicts kept on disk beside the generations, so that a killed or repeated run does not lose them.

Keyed like the generation cache (infill.generation.cache: one JSONL file per key, a header naming what the key
covers, torn lines from a killed writer skipped, a file lock for concurrent writers): the key holds everything
that can change a verdict, namely the execution rule version, this cache's own version (what it keeps), the
sandbox limits (timeout, memory, processes, file size), the isolation actually in force and the Python version that
runs the programs; an entry is keyed by the sha256 of the whole assembled program (prompt, completion, suffix,
tests; a lone surrogate is encoded as itself, "surrogatepass": no valid text changes key).

Only a verdict that the program alone decided is kept (``ExecutionResult.cacheable``, set by the sandbox where the
facts are known): it passed, raised or exited by itself. Never a timeout (it depends on how loaded the machine
was), a program killed by a signal (an operator's SIGKILL or the kernel's OOM killer cannot be told from its own),
one stopped by the memory watchdog (it samples), a worker killed twice ("killed the grader") or a sandbox error:
those are graded again in the next run. VERDICTS_VERSION v2 dropped every file of v1, which kept timeouts and
signal kills. Verdicts are written in groups (every FLUSH_EVERY verdicts or FLUSH_SECONDS, and when the grader
closes), so a SIGKILL loses at most the last group: those programs run again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
from pathlib import Path

from infill.generation.cache import GenerationCache
from infill.grading.buffered_cache import FLUSH_EVERY, FLUSH_SECONDS, BufferedCache
from infill.grading.execution import EXECUTION_RULE_VERSION, SANDBOX_ERROR, TIMEOUT, ExecutionResult, SandboxConfig

VERDICTS_VERSION = "verdicts-v2"  # what this cache keeps: bump when that changes


def program_key(program: str) -> str:
    return hashlib.sha256(program.encode("utf-8", "surrogatepass")).hexdigest()


class VerdictCache(BufferedCache):
    def __init__(self, directory: Path, config: SandboxConfig, isolation: str, enabled: bool = True):
        limits = {k: v for k, v in dataclasses.asdict(config).items() if k not in ("workers", "isolation")}
        # a folder of their own: the generation cache's folder holds generation and score files only
        store = GenerationCache(Path(directory) / "verdicts", {
            "kind": "execution-verdicts", "execution_rule": EXECUTION_RULE_VERSION, "verdicts": VERDICTS_VERSION,
            "limits": limits, "isolation": isolation, "python": platform.python_version()}, enabled)
        self.known: dict[str, ExecutionResult] = {}
        for key, value in store.load().items():
            status, detail, duration = json.loads(value)
            if status not in (TIMEOUT, SANDBOX_ERROR):  # (never written; never served either)
                self.known[key] = ExecutionResult(status, detail, duration, cacheable=True)
        super().__init__(store, FLUSH_EVERY, FLUSH_SECONDS)  # (read here: a test changes them)

    def get(self, program: str) -> ExecutionResult | None:
        return self.known.get(program_key(program))

    def put(self, program: str, result: ExecutionResult) -> None:
        if not result.cacheable:
            raise ValueError(f"not a verdict of the program's alone, not to be kept: {result!r}")
        key = program_key(program)
        self.known[key] = result
        self._write(key, json.dumps([result.status, result.detail, result.duration_s]))
