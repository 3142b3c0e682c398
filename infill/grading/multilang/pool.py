"""The engine's public face: a thread-safe pool that grades programs in C++, Java, C# and Python the way SAFIM's
reference harness (ExecEval) does, without Docker.

``ExecPool(PoolConfig(...)).submit(Job(language, source, tests))`` returns a Future of an ``Outcome`` (ExecEval's
verdict, a one-line detail, the number of tests run, the seconds taken). A job whose language has no working
toolchain is refused (``ToolchainUnavailable``), never graded; a fault of the sandbox itself surfaces as the
Future's exception (``SandboxFailure``), never as a verdict. ``isolation`` says what the sandbox is,
``toolchains()`` what is installed, ``rule_version(language)`` everything that can change a verdict.
"""
from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from infill.grading import bwrap as _bwrap
from infill.grading import seccomp as _seccomp
from infill.grading.dispatch import DispatchPool
from infill.grading.multilang import pch, sandbox
from infill.grading.multilang.cache import CACHE_FORMAT, CompileCache
from infill.grading.multilang.languages import LANGUAGE_RULE_VERSION, Language, languages
from infill.grading.multilang.slot import UID_SPAN, Outcome, SandboxFailure, Slot
from infill.grading.multilang.toolchains import Toolchain, detect
from infill.grading.multilang.verdicts import VERDICT_RULE_VERSION
from infill.grading.multilang.worker_client import WorkerClient, WorkerDied

RULE_VERSION = f"multilang-1; {VERDICT_RULE_VERSION}; {LANGUAGE_RULE_VERSION}"


class ToolchainUnavailable(Exception):
    """The job's language cannot be graded here (a missing or broken compiler or runtime)."""

    def __init__(self, language: str, reason: str):
        super().__init__(f"{language}: {reason}")
        self.language, self.reason = language, reason


@dataclass(frozen=True)
class Job:
    language: str  # SAFIM's lang: "cpp", "java", "csharp", "python"
    source: str  # the whole program
    tests: tuple  # unit tests: {"input": str, "output": [str, ...]} (any output accepts)


@dataclass(frozen=True)
class PoolConfig:
    workers: int = 0  # 0: one per CPU
    isolation: str = "auto"  # "auto" (bubblewrap if it works, else rlimits), "bwrap", "rlimits"
    cache_dir: str | None = None  # compile cache and precompiled header; None: a private folder for the pool
    python_runtime: str = "python3"  # or "pypy3" (SAFIM's choice): see languages.py
    precompiled_header: bool = True  # verdicts are the same without it, only slower
    javac_server: bool = True  # likewise


def _check_job(job: Job, known: dict[str, Language]) -> None:
    if job.language not in known:
        raise ValueError(f"unknown language {job.language!r} (one of {', '.join(known)})")
    if not job.tests:
        raise ValueError("a job needs at least one unit test")
    for test in job.tests:
        if not isinstance(test.get("input"), str) or not all(isinstance(o, str) for o in test.get("output", ())):
            raise ValueError(f"a unit test is {{'input': str, 'output': [str, ...]}}, not {test!r:.100}")


class ExecPool(DispatchPool):
    def __init__(self, config: PoolConfig = PoolConfig()):
        if config.isolation not in ("auto", "bwrap", "rlimits"):
            raise ValueError(f"unknown isolation {config.isolation!r}")
        super().__init__(config.workers or os.cpu_count() or 1, "multilang")
        self.config = config
        self.languages = languages(config.python_runtime)
        self.root = os.geteuid() == 0
        no_filter = _seccomp.available()
        self.seccomp = None if no_filter else _seccomp.program_filter().hex()
        self._private = None if config.cache_dir else tempfile.mkdtemp(prefix="infill-multilang-cache-")
        self._public: str | None = None
        base = Path(config.cache_dir or self._private)
        self.cache = CompileCache(base / "compile")
        self._toolchains: dict[str, Toolchain] = {}
        self._pch: tuple[Path | None, str] | None = None
        self._slots: list[Slot] = []
        self.bwrap, reason = self._choose_bwrap()
        self.pch_root = self._pch_root(base / "pch")
        filt = _seccomp.describe() if self.seccomp else f"NO seccomp filter ({no_filter})"
        self.isolation = (sandbox.describe_bwrap(self._bwrap_version(), self.root, filt) if self.bwrap
                          else sandbox.describe_bare(self.root, filt, reason))

    # ---- set-up ------------------------------------------------------------------------------------
    def _choose_bwrap(self) -> tuple[str | None, str | None]:
        if self.config.isolation == "rlimits":
            return None, None
        path = shutil.which("bwrap")
        reason = "bubblewrap not found" if path is None else self._probe(path)
        if reason is None:
            return path, None
        if self.config.isolation == "bwrap":
            raise RuntimeError(f"isolation='bwrap' requested but bubblewrap is unusable: {reason}")
        return None, reason

    def _pch_root(self, wanted: Path) -> Path:
        """Where precompiled headers live: in the cache folder, unless compilers outside a sandbox (their own
        uid) could not reach it there; then in a folder of this pool's that they can."""
        wanted.mkdir(parents=True, exist_ok=True)
        if self.bwrap or not self.root or _bwrap.readable_by_others([str(wanted.resolve())]):
            return wanted
        self._public = tempfile.mkdtemp(prefix="infill-multilang-pch-")
        os.chmod(self._public, 0o755)
        return Path(self._public)

    def _probe(self, bwrap: str) -> str | None:
        """Start one sandboxed worker and run ``true`` in it; None if that worked."""
        argv = sandbox.bwrap_command(bwrap, self.root, ["serve", self.worker_config(2_000_000_000)("/tmp", True)], [])
        try:
            worker = WorkerClient(argv)
        except WorkerDied as exc:
            return str(exc)
        try:
            worker.request({"op": "install", "files": []})
            reply, _ = worker.request({"op": "run", "argv": ["true"], "limits": {}, "cpu_seconds": 10,
                                       "wall_limit": 30, "stdout_limit": 1024}, [b""], 60)
            ok = reply.get("started") and reply.get("exit") == 0
            return None if ok else f"the probe program failed: {reply}"[:300]
        except WorkerDied as exc:
            return f"the probe worker failed: {exc}"
        finally:
            worker.kill()

    def _bwrap_version(self) -> str:
        try:
            out = subprocess.run([self.bwrap, "--version"], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        return out.strip() or "bubblewrap"

    def worker_config(self, uid_base: int):
        """A function (tmp_root, pidns) -> the worker's JSON configuration."""
        def config(tmp_root: str, pidns: bool) -> str:
            clean = [] if pidns or not self.root else ["/tmp", "/var/tmp", "/dev/shm"]
            return json.dumps({"tmp_root": tmp_root, "pidns": pidns, "uid_base": uid_base if self.root else None,
                               "seccomp": self.seccomp, "env": sandbox.PROGRAM_ENV,
                               "compile_env": sandbox.COMPILE_ENV, "clean_dirs": clean})
        return config

    # ---- what the caller can ask ------------------------------------------------------------------
    def toolchain(self, language: str) -> Toolchain:
        with self._lock:
            if language not in self._toolchains:
                self._toolchains[language] = detect(self.languages[language])
            return self._toolchains[language]

    def toolchains(self) -> dict[str, Toolchain]:
        """Each language's toolchain: available or not, and why."""
        return {key: self.toolchain(key) for key in self.languages}

    def rule_version(self, language: str | None = None) -> str:
        """Everything that can change a verdict: the rules, the runtime chosen for Python, whether programs have
        a uid of their own (the process limits), and with a language, its toolchain's versions."""
        parts = [RULE_VERSION, f"python={self.config.python_runtime}", f"own-uid={self.root}"]
        if language is not None:
            parts.append(f"{language}: {self.toolchain(language).version}")
        return "; ".join(parts)

    def pch_dir(self) -> Path | None:
        """The precompiled header's folder (built on first use), None when disabled or unusable."""
        if not self.config.precompiled_header:
            return None
        with self._lock:
            if self._pch is None:
                gxx = self._toolchains.get("cpp") or detect(self.languages["cpp"])
                self._pch = pch.build(self.pch_root, gxx.identity) if gxx.available else (None, gxx.reason)
            return self._pch[0]

    # ---- jobs ------------------------------------------------------------------------------------------
    def submit(self, job: Job) -> concurrent.futures.Future:
        """A Future of the job's Outcome. Raises ToolchainUnavailable (the language cannot be graded here) and
        ValueError (a malformed job) at once; a sandbox fault is the Future's exception (SandboxFailure)."""
        _check_job(job, self.languages)
        toolchain = self.toolchain(job.language)
        if not toolchain.available:
            raise ToolchainUnavailable(job.language, toolchain.reason)
        return super().submit(job)

    def _closed_now(self) -> None:
        for folder in (self._private, self._public):
            if folder:
                shutil.rmtree(folder, ignore_errors=True)

    def sandbox_uids(self) -> list[int]:
        """The uids this pool's programs, compilers and compile servers run under (root only; for checks)."""
        with self._lock:
            return [slot.uid_base + i for slot in self._slots for i in range(UID_SPAN)] if self.root else []

    def _dispatch(self, index: int) -> None:
        slot = Slot(self, index)
        with self._lock:
            self._slots.append(slot)
        try:
            for job, future in self._jobs():
                try:
                    future.set_result(slot.grade(self.languages[job.language], job.source, list(job.tests)))
                except SandboxFailure as exc:
                    slot.close_worker()
                    future.set_exception(exc)
                except BaseException as exc:  # never leave a Future hanging
                    slot.close_worker()
                    future.set_exception(SandboxFailure(f"grader error: {exc!r}"[:500]))
        finally:
            slot.close()


__all__ = ["CACHE_FORMAT", "ExecPool", "Job", "Outcome", "PoolConfig", "RULE_VERSION", "SandboxFailure",
           "ToolchainUnavailable"]
