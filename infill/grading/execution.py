"""Sandboxed execution of Python programs (HumanEval-Infilling's assembled programs).

A :class:`SandboxPool` keeps a few warm workers (``sandbox_worker.py``), each started
once inside its own bubblewrap sandbox (no network, a minimal read-only filesystem
holding only the interpreter, private /tmp, PID and IPC namespaces: see ``bwrap.py``)
when bubblewrap works, else bare with rlimits only. A worker forks one child per
program; the child gets a new process group, its own uid (when we are root), no
capabilities, rlimits, a seccomp filter (``seccomp.py``), a fresh private working
directory, /dev/null for stdio and a cleared environment, and runs ``exec(program, {})``
exactly like the reference harness. A pass is only reported when exec returned normally
(see the worker's docstring for what that can and cannot prove).
"""
from __future__ import annotations

import concurrent.futures
import json
import os
import queue
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from infill.grading import bwrap as _bwrap
from infill.grading import seccomp as _seccomp

EXECUTION_RULE_VERSION = "exec-v1"  # bump if anything that can change a verdict changes

PASSED, FAILED, TIMEOUT, MEMORY, SANDBOX_ERROR = "passed", "failed", "timeout", "memory", "sandbox_error"
STATUSES = (PASSED, FAILED, TIMEOUT, MEMORY, SANDBOX_ERROR)

WORKER_SCRIPT = Path(__file__).resolve().with_name("sandbox_worker.py")
_PROBE = "import os\nopen(os.__file__, 'rb').close()\n"  # a program can import from the stdlib
_START_TIMEOUT_S = 30.0  # a worker must say "ready" within this
_GRACE_S = 20.0  # beyond the program timeout, for the worker's own clean-up
_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
_SHARED_DIRS = ("/tmp", "/var/tmp", "/dev/shm")  # rlimits fallback as root: emptied of a program's files


@dataclass(frozen=True)
class ExecutionResult:
    status: str  # one of STATUSES
    detail: str  # "" for passed, else one line
    duration_s: float


@dataclass(frozen=True)
class SandboxConfig:
    timeout_s: float = 3.0  # the reference harness's timeout
    memory_mb: int = 2048  # per program address-space limit
    max_processes: int = 64
    max_file_mb: int = 16
    workers: int = 0  # 0 -> os.cpu_count()
    isolation: str = "auto"  # "auto" (bwrap if usable else rlimits), "bwrap", "rlimits"


class _WorkerDied(Exception):
    pass


class _WorkerStartError(Exception):
    pass


class _ProtocolError(Exception):
    pass


class _Worker:
    """One worker process and the pipes to it; used by a single dispatcher thread."""

    def __init__(self, argv: list[str], tmp_dir: str | None):
        self._tmp_dir = tmp_dir
        self._stderr = tempfile.TemporaryFile()
        self._buf = b""
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=self._stderr, env=dict(_ENV), cwd="/",
                                         close_fds=True, start_new_session=True)
        except OSError as exc:
            self._stderr.close()
            raise _WorkerStartError(f"cannot start the sandbox worker: {exc}") from None
        try:
            hello = self._read_line(time.monotonic() + _START_TIMEOUT_S)
            if not (isinstance(hello, dict) and hello.get("ready")):
                raise _WorkerDied(f"unexpected greeting {hello!r}")
        except (_WorkerDied, _ProtocolError) as exc:
            message = f"sandbox worker failed to start: {exc}{self._stderr_tail()}"
            self.kill()
            raise _WorkerStartError(message) from None
        self.info = hello

    def _stderr_tail(self) -> str:
        try:
            self._stderr.seek(0)
            lines = self._stderr.read()[-2000:].decode("utf-8", "replace").strip().splitlines()
        except (OSError, ValueError):
            return ""
        return f" ({lines[-1].strip()})" if lines else ""

    def _read_line(self, deadline: float):
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise _WorkerDied("worker stopped responding")
            chunk = os.read(fd, 65536)
            if not chunk:
                try:
                    code = self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    code = None
                raise _WorkerDied(f"worker exited with status {code}")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        try:
            return json.loads(line)
        except ValueError:
            raise _ProtocolError(f"garbled reply from the sandbox worker: {line[:200]!r}") from None

    def run(self, program: str, timeout_s: float) -> dict:
        data = program.encode("utf-8", "surrogatepass")
        try:
            self.proc.stdin.write(b"%d\n" % len(data) + data)
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            raise _WorkerDied("worker pipe closed") from None
        reply = self._read_line(time.monotonic() + timeout_s + _GRACE_S)
        if not isinstance(reply, dict) or reply.get("status") not in STATUSES:
            raise _ProtocolError(f"unexpected reply from the sandbox worker: {reply!r}"[:500])
        return reply

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # bwrap and a bare worker lead their session
        except OSError:
            pass
        self.proc.kill()
        self.proc.wait()
        info = getattr(self, "info", {})
        if info.get("uid") and not info.get("pidns"):
            _kill_uid(int(info["uid"]))  # what a bare worker's programs left behind
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self._stderr.close()
        if self._tmp_dir:
            shutil.rmtree(self._tmp_dir, ignore_errors=True)


def _kill_uid(uid: int) -> None:
    """SIGKILL every process whose real uid is ``uid`` (a dead bare worker's own uid)."""
    for _ in range(50):
        found = False
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/status") as f:
                    real_uid = int(next(line for line in f if line.startswith("Uid:")).split()[1])
                if real_uid == uid:
                    found = True
                    os.kill(int(entry), signal.SIGKILL)
            except (OSError, StopIteration, ValueError):
                pass
        if not found:
            return
        time.sleep(0.01)


class SandboxPool:
    """Thread-safe pool of warm sandboxed workers; workers start lazily and are restarted."""

    def __init__(self, config: SandboxConfig = SandboxConfig()):
        if config.isolation not in ("auto", "bwrap", "rlimits"):
            raise ValueError(f"unknown isolation {config.isolation!r}")
        self.config = config
        self._n = config.workers or os.cpu_count() or 1
        self._root = os.geteuid() == 0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._bwrap: str | None = None
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
        self.isolation = self._describe(reason, no_filter)

    def _describe(self, reason: str | None, no_filter: str | None) -> str:
        c = self.config
        limits = (f"rlimits ({c.timeout_s:g} s wall, {c.memory_mb} MB address space, "
                  f"{c.max_processes} processes, {c.max_file_mb} MB files)")
        common = ("own process group, whole process tree killed after each program, cleared env, "
                  "fresh private working dir, stdio /dev/null")
        uid = "own uid per worker" if self._root else "same uid as the grader"
        caps = ("no capabilities" if not self._read_caps else "programs keep CAP_DAC_READ_SEARCH (the "
                "interpreter is not readable by other users: they can read every file they can see)")
        sec = _seccomp.describe() if self._seccomp else f"NO seccomp filter ({no_filter})"
        if self._bwrap:
            ns = "PID and IPC namespaces" if self._root else "PID, IPC and user namespaces"
            return (f"{self._bwrap_version(self._bwrap)}: no network (empty network namespace), minimal read-only "
                    f"filesystem (the interpreter, /usr, {len(_bwrap.ETC_FILES)} /etc files; not the project, "
                    f"home directories, caches or other workers' files), private /tmp, {ns}, {uid}, {caps}, "
                    f"{sec}, {limits}, {common}")
        if not self._root:
            files = "programs can read and write every file the grader can"
        else:
            files = ("programs can read " + ("every file on the machine" if self._read_caps else
                                             "every file readable by all users")
                     + ", and write where all users can; what they leave in " + ", ".join(_SHARED_DIRS)
                     + " is removed after each program")
        net = "no sockets (seccomp)" if self._seccomp else "NO network isolation"
        why = f" ({reason})" if reason else ""
        return (f"rlimits only{why}: NO filesystem isolation ({files}), {net}, every process visible (no PID "
                f"namespace), {uid}, {caps}, {sec}, {limits}, {common}")

    # ---- worker command lines ----------------------------------------------------------
    def _worker_config(self, tmp_root: str, pidns: bool) -> str:
        c = self.config
        return json.dumps({"timeout_s": c.timeout_s, "memory_mb": c.memory_mb,
                           "max_processes": c.max_processes, "max_file_mb": c.max_file_mb,
                           "tmp_root": tmp_root, "pidns": pidns, "drop_uid": self._root,
                           "read_caps": self._read_caps, "seccomp": self._seccomp,
                           "clean_dirs": list(_SHARED_DIRS) if self._root and not pidns else []})

    def _python_argv(self) -> list[str]:
        # Not -I: it would ignore PYTHONHASHSEED; the environment is cleared instead,
        # and the worker drops its own directory from sys.path.
        return [_bwrap.interpreter(), "-s", "-S", str(WORKER_SCRIPT)]

    def _bwrap_argv(self, bwrap: str) -> list[str]:
        tmp_size = max(64, 4 * self.config.max_file_mb) << 20
        return _bwrap.command(bwrap, self._root, str(WORKER_SCRIPT), [self._worker_config("/tmp", True)],
                              tmp_size, _ENV, self._read_caps)

    def _new_worker(self) -> _Worker:
        if self._bwrap:
            return _Worker(self._bwrap_argv(self._bwrap), None)
        tmp_root = tempfile.mkdtemp(prefix="infill-sandbox-")
        os.chmod(tmp_root, 0o711)
        try:
            return _Worker(self._python_argv() + [self._worker_config(tmp_root, False)], tmp_root)
        except BaseException:
            shutil.rmtree(tmp_root, ignore_errors=True)
            raise

    def _probe(self, bwrap: str) -> str | None:
        """Start one bubblewrap worker and run a trivial program; None if all went well."""
        try:
            worker = _Worker(self._bwrap_argv(bwrap), None)
        except _WorkerStartError as exc:
            return str(exc)
        try:
            reply = worker.run(_PROBE, self.config.timeout_s)
            if reply.get("status") != PASSED:
                return f"probe program was graded {reply.get('status')}: {reply.get('detail')}"
            return None
        except (_WorkerDied, _ProtocolError) as exc:
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

    # ---- public API ----------------------------------------------------------------------
    def submit(self, program: str) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("SandboxPool is closed")
            if not self._threads:
                for i in range(self._n):
                    thread = threading.Thread(target=self._dispatch, name=f"sandbox-{i}", daemon=True)
                    thread.start()
                    self._threads.append(thread)
            self._queue.put((program, future))
        return future

    def run_many(self, programs: list[str]) -> list[ExecutionResult]:
        futures = [self.submit(p) for p in programs]
        return [f.result() for f in futures]

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            threads = list(self._threads)
            for _ in threads:
                self._queue.put(None)
        for thread in threads:
            thread.join()

    def __enter__(self) -> "SandboxPool":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ---- dispatcher threads -----------------------------------------------------------------
    def _dispatch(self) -> None:
        worker: _Worker | None = None
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                program, future = item
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    result, worker = self._grade(program, worker)
                except BaseException as exc:  # never leave a future hanging
                    result = ExecutionResult(SANDBOX_ERROR, f"grader error: {exc!r}"[:500], 0.0)
                future.set_result(result)
        finally:
            if worker is not None:
                worker.kill()

    def _grade(self, program: str, worker: _Worker | None) -> tuple[ExecutionResult, _Worker | None]:
        deaths = 0
        start = time.monotonic()
        while True:
            if worker is None or not worker.alive():
                if worker is not None:
                    worker.kill()
                try:
                    worker = self._new_worker()
                except _WorkerStartError as exc:
                    return ExecutionResult(SANDBOX_ERROR, str(exc)[:500], time.monotonic() - start), None
            try:
                reply = worker.run(program, self.config.timeout_s)
            except _WorkerDied:
                # The program may have killed its worker: rerun it once on a fresh one.
                worker.kill()
                worker = None
                deaths += 1
                if deaths >= 2:
                    return ExecutionResult(FAILED, "killed the grader", time.monotonic() - start), None
                continue
            except _ProtocolError as exc:  # an infrastructure fault, not the program's
                worker.kill()
                return ExecutionResult(SANDBOX_ERROR, str(exc), time.monotonic() - start), None
            detail = " ".join(str(reply.get("detail") or "").split())[:500]
            return ExecutionResult(reply["status"], detail, float(reply.get("duration", 0.0))), worker
