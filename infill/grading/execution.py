"""Sandboxed execution of Python programs (HumanEval-Infilling's assembled programs).

A :class:`SandboxPool` keeps a few warm workers (``sandbox_worker.py``), each started
once inside its own bubblewrap sandbox (no network, a minimal read-only filesystem
holding only the interpreter and the standard library, private /tmp, PID and IPC namespaces:
see ``bwrap.py``) when bubblewrap works, else bare with rlimits only. A worker forks one child
per program; the child gets a new process group, its own uid (when we are root), no
capabilities, rlimits, a seccomp filter (``seccomp.py``), a fresh private working
directory, /dev/null for stdio and a cleared environment, and runs ``exec(program, {})``
exactly like the reference harness. A pass is only reported when exec returned normally
(see ``sandbox_child.py`` for what that can and cannot prove). The worker also bounds the
memory of all a program's processes together (``sandbox_memory.py``): no cgroup is used (a
cgroup v2 memory controller is not available on every machine this runs on; see the README).

Each :class:`ExecutionResult` says whether it may be kept (``cacheable``): only verdicts
that the program alone decided, never a timeout, a kill by a signal, the memory watchdog or
any fault of the grader's (decided in ``sandbox_judge.py`` and here).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from infill.grading import bwrap as _bwrap
from infill.grading import isolation as _isolation
from infill.grading import sandbox_sys as _sys
from infill.grading import seccomp as _seccomp
from infill.grading.dispatch import DispatchPool
from infill.grading.worker_process import ENV as _ENV
from infill.grading.worker_process import ProtocolError, Worker, WorkerDied, WorkerStartError, source_fds

# Bump if anything that can change a verdict changes. v2: the memory of a program's processes is bounded
# together, memfd_create is denied, the stdlib's site-packages is hidden, cacheable verdicts only.
EXECUTION_RULE_VERSION = "exec-v2"

PASSED, FAILED, TIMEOUT, MEMORY, SANDBOX_ERROR = "passed", "failed", "timeout", "memory", "sandbox_error"
STATUSES = (PASSED, FAILED, TIMEOUT, MEMORY, SANDBOX_ERROR)

WORKER_SCRIPT = Path(__file__).resolve().with_name("sandbox_worker.py")
_PROBE = "import os\nopen(os.__file__, 'rb').close()\n"  # a program can import from the stdlib
DETAIL_MAX = 500


@dataclass(frozen=True)
class ExecutionResult:
    status: str  # one of STATUSES
    detail: str  # "" for passed, else one line of printable text
    duration_s: float
    # The program alone decided this verdict (see the module docstring): it may be kept and served again.
    cacheable: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class SandboxConfig:
    timeout_s: float = 3.0  # the reference harness's timeout
    memory_mb: int = 2048  # per program: each process's address space, and all its processes together
    max_processes: int = 64
    max_file_mb: int = 16
    workers: int = 0  # 0 -> os.cpu_count()
    isolation: str = "auto"  # "auto" (bwrap if usable else rlimits), "bwrap", "rlimits"


def printable(text: str, limit: int = DETAIL_MAX) -> str:
    """One line that is safe on a terminal and valid text: runs of whitespace become one space, and every other
    control or format character (escape sequences, bidirectional overrides) and lone surrogate is replaced by
    its visible escape (``\\x1b``, ``\\u202e``, ``\\ud800``)."""
    out = []
    for ch in " ".join(text.split())[:limit]:
        out.append(ch if unicodedata.category(ch) not in ("Cc", "Cf", "Cs") else ascii(ch)[1:-1])
    return "".join(out)[:limit]


class SandboxPool(DispatchPool):
    """Thread-safe pool of warm sandboxed workers; workers start lazily and are restarted. ``submit(program)``
    returns a Future of its ExecutionResult, ``run_many(programs)`` the results in order."""

    def __init__(self, config: SandboxConfig = SandboxConfig()):
        if config.isolation not in ("auto", "bwrap", "rlimits"):
            raise ValueError(f"unknown isolation {config.isolation!r}")
        super().__init__(config.workers or os.cpu_count() or 1, "sandbox")
        self.config = config
        self._root = os.geteuid() == 0
        self._bwrap: str | None = None
        self._clean_dirs: list[str] = []
        no_filter = _seccomp.available()
        self._seccomp = None if no_filter else _seccomp.program_filter().hex()
        reason = None
        if config.isolation != "rlimits":
            bwrap = shutil.which("bwrap")
            roots = _bwrap.python_dirs() + [os.path.realpath(d) for d in _bwrap.SYSTEM_DIRS]
            self._read_caps = self._root and not _bwrap.readable_by_others(_bwrap.stdlib_paths(), roots)
            reason = "bubblewrap not found" if bwrap is None else self._probe(bwrap)
            if reason is None:
                self._bwrap = bwrap
            elif config.isolation == "bwrap":
                raise RuntimeError(f"isolation='bwrap' requested but bubblewrap is unusable: {reason}")
        if self._bwrap is None:
            self._read_caps = self._root and not _bwrap.readable_by_others(_bwrap.stdlib_paths())
            if self._root:  # where programs of the fallback can leave files (/tmp, /var/tmp, /run/lock, ...)
                self._clean_dirs = _sys.world_writable_dirs()
        self.isolation = self._describe(reason, no_filter)

    def _describe(self, reason: str | None, no_filter: str | None) -> str:
        return _isolation.describe(self.config, bwrap_version=self._bwrap and self._bwrap_version(self._bwrap),
                                   root=self._root, read_caps=self._read_caps, seccomp_on=bool(self._seccomp),
                                   no_filter=no_filter, reason=reason, clean_dirs=self._clean_dirs)

    # ---- worker command lines ----------------------------------------------------------
    def _worker_config(self, tmp_root: str, pidns: bool) -> str:
        c = self.config
        return json.dumps({"timeout_s": c.timeout_s, "memory_mb": c.memory_mb,
                           "max_processes": c.max_processes, "max_file_mb": c.max_file_mb,
                           "tmp_root": tmp_root, "pidns": pidns, "drop_uid": self._root,
                           "read_caps": self._read_caps, "seccomp": self._seccomp,
                           "clean_dirs": [] if pidns else self._clean_dirs})

    def _python_argv(self) -> list[str]:
        # Not -I: it would ignore PYTHONHASHSEED; the environment is cleared instead,
        # and the worker drops its own directory from sys.path.
        return [_bwrap.interpreter(), "-s", "-S", str(WORKER_SCRIPT)]

    def _bwrap_worker(self, bwrap: str) -> Worker:
        """A worker in bubblewrap; its modules are copied in from memory files (no host path shows inside)."""
        tmp_size = max(64, 4 * self.config.max_file_mb) << 20
        script = Path(WORKER_SCRIPT)
        names = (script.name,) + _bwrap.WORKER_MODULES
        try:
            fds = source_fds({name: str(script.with_name(name)) for name in names})
        except OSError as exc:
            raise WorkerStartError(f"cannot read the sandbox worker: {exc}") from None
        try:
            argv = _bwrap.command(bwrap, self._root, fds, [self._worker_config("/tmp", True)], tmp_size, _ENV,
                                  self._read_caps)
            return Worker(argv, None, tuple(fds.values()))
        finally:
            for fd in fds.values():
                os.close(fd)

    def _new_worker(self) -> Worker:
        if self._bwrap:
            return self._bwrap_worker(self._bwrap)
        tmp_root = tempfile.mkdtemp(prefix="infill-sandbox-")
        os.chmod(tmp_root, 0o711)
        try:
            return Worker(self._python_argv() + [self._worker_config(tmp_root, False)], tmp_root)
        except BaseException:
            shutil.rmtree(tmp_root, ignore_errors=True)
            raise

    def _probe(self, bwrap: str) -> str | None:
        """Start one bubblewrap worker and run a trivial program; None if all went well."""
        try:
            worker = self._bwrap_worker(bwrap)
        except WorkerStartError as exc:
            return str(exc)
        try:
            reply = worker.run(_PROBE, self.config.timeout_s, STATUSES)
            if reply.get("status") != PASSED:
                return f"probe program was graded {reply.get('status')}: {reply.get('detail')}"
            return None
        except (WorkerDied, ProtocolError) as exc:
            return f"probe worker failed: {exc}"
        finally:
            worker.kill()

    @staticmethod
    def _bwrap_version(bwrap: str) -> str:
        try:
            out = subprocess.run([bwrap, "--version"], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        return out.strip() or "bubblewrap"

    # ---- dispatcher threads -----------------------------------------------------------------
    def _dispatch(self, index: int) -> None:
        worker: Worker | None = None
        try:
            for program, future in self._jobs():
                try:
                    result, worker = self._grade(program, worker)
                except BaseException as exc:  # never leave a future hanging, nor a broken worker in use
                    result = ExecutionResult(SANDBOX_ERROR, printable(f"grader error: {exc!r}"), 0.0)
                    if worker is not None:
                        worker.kill()
                    worker = None
                future.set_result(result)
        finally:
            if worker is not None:
                worker.kill()

    def _grade(self, program: str, worker: Worker | None) -> tuple[ExecutionResult, Worker | None]:
        deaths = 0
        start = time.monotonic()
        while True:
            if worker is None or not worker.alive():
                if worker is not None:
                    worker.kill()
                try:
                    worker = self._new_worker()
                except WorkerStartError as exc:
                    return ExecutionResult(SANDBOX_ERROR, printable(str(exc)), time.monotonic() - start), None
            try:
                reply = worker.run(program, self.config.timeout_s, STATUSES)
            except WorkerDied:
                # The program may have killed its worker: rerun it once on a fresh one. Whoever did it, the
                # verdict is not the program's alone (an operator or the OOM killer can kill a worker too).
                worker.kill()
                worker = None
                deaths += 1
                if deaths >= 2:
                    return ExecutionResult(FAILED, "killed the grader", time.monotonic() - start), None
                continue
            except ProtocolError as exc:  # an infrastructure fault, not the program's
                worker.kill()
                return ExecutionResult(SANDBOX_ERROR, printable(str(exc)), time.monotonic() - start), None
            if reply.get("retire"):  # it could not clean up after the program: the verdict stands, a new worker
                worker.kill()
                worker = None
            status = reply["status"]
            cacheable = reply.get("cacheable") is True and status not in (TIMEOUT, SANDBOX_ERROR)
            return ExecutionResult(status, printable(str(reply.get("detail") or "")),
                                   float(reply.get("duration", 0.0)), cacheable), worker
