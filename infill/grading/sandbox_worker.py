"""Sandbox worker for the execution grader: stdlib only (and ``sandbox_sys.py`` beside it),
no imports from ``infill``.

Started once per pool slot (inside bubblewrap, or bare in the rlimits fallback) as
``python -s -S sandbox_worker.py CONFIG_JSON`` (``python -I -S`` works too), it runs
programs one at a time, each in a freshly forked child.

Protocol (the worker moves its stdin/stdout to private fds at start-up):
  parent -> worker: ``b"<n>\\n"`` followed by n bytes of UTF-8 program text.
  worker -> parent: one JSON object per line. First ``{"ready": true, ...}``, then one
  ``{"status", "detail", "duration"}`` per program, written only after every process the
  program left behind has been killed and reaped and its directory removed.

Child -> worker, on a pipe the program is not told about: ``b"R"`` once set-up is done
and just before ``exec(program, {})``; then one JSON line. A pass is only believed
when that line carries the child's own pid and a random nonce that the child reads,
after exec has returned, from a second pipe. Anything else (no line, a wrong nonce,
the child dying, a fork of the program reporting) is a failure.

What the nonce can and cannot prove: a program cannot guess it, so no accidental or blind
report counts. But the program runs in the very process that reports, with the same fds,
memory and Python frames; a program written to impersonate the grader (find the pipes, read
the nonce, write the report) cannot be told apart from the real thing. No in-process check
can; that would need the tests to run outside the program's reach, which ``exec(program, {})``
semantics rule out. The sandbox keeps such a program from harming anything else.

In the child, before the program: its own process group and uid, rlimits, no capabilities
(unless the interpreter is readable only with CAP_DAC_READ_SEARCH), PR_SET_NO_NEW_PRIVS and
the seccomp filter passed in the configuration (built by ``seccomp.py``), then stdio on
/dev/null and every other fd closed. After it (rlimits fallback as root only): files its uid
left in world-writable directories (``clean_dirs``) are removed.
"""
import json
import os
import resource
import select
import signal
import sys
import time

import sandbox_sys as sx  # beside this script (sys.path[0]), inside the sandbox too

# Bound before any program runs, so a program that monkeypatches ``os`` or ``json``
# cannot make the reporting code lie (it can only break it, which is a failure).
_read, _write, _exit, _getpid, _dumps = os.read, os.write, os._exit, os.getpid, json.dumps

SETUP_FAILED = 113  # child exit status when it could not set itself up
MAX_REPORT = 1 << 16
DETAIL_MAX = 500
# Imported once in the worker so each forked program finds them loaded (importing
# typing alone costs ~10 ms). Programs see the same modules as with a cold import.
# random (which reseeds itself from the OS after a fork) is seeded with 0 in each
# program's process, and PYTHONHASHSEED=0: a verdict does not depend on the run.
PRELOAD = ("typing", "math", "cmath", "re", "collections", "itertools", "functools", "operator",
           "string", "heapq", "bisect", "copy", "random", "hashlib", "fractions", "decimal",
           "statistics", "datetime", "json", "array", "dataclasses", "enum")
ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0",
       "PYTHONDONTWRITEBYTECODE": "1"}


class _NoInput:
    """Stands in for sys.stdin like the reference harness: every read raises OSError."""

    def _fail(self, *args, **kwargs):
        raise OSError("reading stdin is not allowed")

    read = readline = readlines = __iter__ = __next__ = _fail

    def readable(self):
        return False

    def isatty(self):
        return False

    def close(self):
        pass


def _exception_line(exc):
    name = type(exc).__qualname__
    try:
        message = str(exc)
    except BaseException:
        message = "<unprintable>"
    line = "%s: %s" % (name, message) if message else name
    return " ".join(line.split())[:DETAIL_MAX]


class Worker:
    def __init__(self, cfg):
        self.timeout = float(cfg["timeout_s"])
        self.memory = int(cfg["memory_mb"]) << 20
        self.nproc = int(cfg["max_processes"])
        self.fsize = int(cfg["max_file_mb"]) << 20
        self.tmp_root = cfg["tmp_root"]
        self.pidns = bool(cfg.get("pidns")) and os.getpid() == 2
        self.uid = None
        if cfg.get("drop_uid") and os.geteuid() == 0:
            # A uid of its own: the program cannot signal or ptrace the worker, nor touch
            # another slot's programs, and RLIMIT_NPROC is enforced (not for root).
            self.uid = 2_000_000_000 + int.from_bytes(os.urandom(4), "little") % 100_000_000
        self.caps = sx.read_only_caps() if self.uid is not None and cfg.get("read_caps") else None
        self.seccomp = sx.seccomp_args(bytes.fromhex(cfg["seccomp"])) if cfg.get("seccomp") else None
        self.clean_dirs = list(cfg.get("clean_dirs") or ()) if self.uid is not None else []
        self.self_pid = os.getpid()
        self.count = 0
        self.oom_kills = sx.oom_kills()
        os.close(os.pidfd_open(os.getpid()))  # needed by _wait: fail at start-up, not mid-run
        self.in_fd, self.out_fd = os.dup(0), os.dup(1)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.close(devnull)
        self.inbuf = b""
        sx.prctl(36, 1)  # PR_SET_CHILD_SUBREAPER: whatever the program leaves behind stays ours
        if not self.pidns:
            sx.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the pool
            if os.getppid() == 1:
                raise SystemExit("parent already gone")
        import _sitebuiltins
        import builtins
        builtins.exit = _sitebuiltins.Quitter("exit", "Ctrl-D (i.e. EOF)")
        builtins.quit = _sitebuiltins.Quitter("quit", "Ctrl-D (i.e. EOF)")
        builtins.help = _sitebuiltins._Helper()
        script_dir = os.path.dirname(os.path.abspath(__file__))
        sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != script_dir]
        os.environ.clear()  # what each program sees, but for HOME and TMPDIR
        os.environ.update(ENV)
        import importlib
        for name in PRELOAD:
            try:
                importlib.import_module(name)
            except Exception:
                pass
        import gc
        gc.collect()
        gc.freeze()

    # ---- protocol -------------------------------------------------------------------
    def send(self, obj):
        data = (_dumps(obj) + "\n").encode()
        while data:
            data = data[_write(self.out_fd, data):]

    def _read_exact(self, n):
        while len(self.inbuf) < n:
            chunk = _read(self.in_fd, max(1 << 16, n - len(self.inbuf)))
            if not chunk:
                return None
            self.inbuf += chunk
        data, self.inbuf = self.inbuf[:n], self.inbuf[n:]
        return data

    def receive(self):
        while b"\n" not in self.inbuf:
            chunk = _read(self.in_fd, 1 << 16)
            if not chunk:
                return None
            self.inbuf += chunk
        header, self.inbuf = self.inbuf.split(b"\n", 1)
        data = self._read_exact(int(header))
        return None if data is None else data.decode("utf-8", "surrogatepass")

    def serve(self):
        self.send({"ready": True, "pid": self.self_pid, "pidns": self.pidns,
                   "uid": self.uid, "subreaper": True})
        while True:
            program = self.receive()
            if program is None:
                return
            try:
                verdict = self.run(program)
            except Exception as exc:  # a fault of ours, never to be blamed on the program
                self.send({"status": "sandbox_error", "detail": "worker error: " + _exception_line(exc)})
                raise
            self.send(verdict)

    # ---- one program -------------------------------------------------------------------
    def run(self, program):
        self.count += 1
        workdir = os.path.join(self.tmp_root, "run%d" % self.count)
        os.mkdir(workdir, 0o700)
        if self.uid is not None:
            os.chown(workdir, self.uid, self.uid)
        res_r, res_w = os.pipe()
        non_r, non_w = os.pipe()
        nonce = os.urandom(16).hex()
        os.write(non_w, nonce.encode())
        os.close(non_w)
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(res_r)
                self._child(program, workdir, res_w, non_r)
            finally:
                _exit(SETUP_FAILED)
        os.close(res_w)
        os.close(non_r)
        try:
            verdict = self._wait(pid, res_r, start, nonce)
        finally:
            os.close(res_r)
            sx.kill_leftovers(self.self_pid, self.pidns)
            try:
                os.rmdir(workdir)
            except OSError:
                sx.rmtree(workdir)
            for path in self.clean_dirs:
                sx.remove_owned(path, self.uid, 2)
        return verdict

    def _child(self, program, workdir, res_w, non_r):
        try:
            os.setpgid(0, 0)  # own process group (setsid costs ~4 ms here: autogroups)
            cpu = int(self.timeout) + 2
            limits = [(resource.RLIMIT_CPU, cpu, cpu + 1), (resource.RLIMIT_CORE, 0, 0),
                      (resource.RLIMIT_FSIZE, self.fsize, self.fsize)]
            if self.memory > 0:
                limits.append((resource.RLIMIT_AS, self.memory, self.memory))
            if self.uid is not None:  # counted per uid: only meaningful with our own uid
                limits.append((resource.RLIMIT_NPROC, self.nproc, self.nproc))
            for which, soft, hard in limits:
                resource.setrlimit(which, (soft, hard))
            if self.uid is not None:
                if self.caps:
                    sx.prctl(8, 1)  # PR_SET_KEEPCAPS across setuid, then keep only read access
                os.setgroups([])
                os.setgid(self.uid)
                os.setuid(self.uid)  # without KEEPCAPS this clears every capability
                if self.caps:
                    if sx.libc().capset(self.caps[0], self.caps[1]) != 0:
                        raise OSError("capset failed")
                    sx.prctl(8, 0)
            sx.prctl(38, 1)  # PR_SET_NO_NEW_PRIVS
            if self.seccomp:
                sx.install_seccomp(self.seccomp)
            if not self.pidns:  # (the namespace dies with the worker anyway)
                sx.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG, after setuid which clears it
                if os.getppid() != self.self_pid:
                    raise OSError("worker gone")
            os.chdir(workdir)
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            low = 3
            for keep in sorted((res_w, non_r)):
                os.closerange(low, keep)
                low = keep + 1
            os.closerange(low, 1 << 20)
            os.environ["HOME"] = os.environ["TMPDIR"] = workdir  # the rest was set at start-up
            sys.stdin = _NoInput()
            sys.argv = [""]
            if "random" in sys.modules:
                sys.modules["random"].seed(0)
            for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD, signal.SIGALRM):
                signal.signal(sig, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
        except BaseException as exc:
            _write(res_w, ("E%s\n" % _exception_line(exc)).encode())
            _exit(SETUP_FAILED)
        _write(res_w, b"R")
        my_pid = _getpid()
        report = self._execute(program, non_r, my_pid)
        if _getpid() == my_pid:  # a fork the program made must not report
            try:
                _write(res_w, (_dumps(report) + "\n").encode())
            except BaseException:
                pass
        _exit(0)

    @staticmethod
    def _execute(program, non_r, my_pid):
        status = detail = None
        try:
            exec(program, {})
        except MemoryError:
            status, detail = "memory", "MemoryError"
        except SystemExit as exc:
            status = "failed"
            try:
                code = repr(exc.code) if isinstance(exc.code, str) else str(exc.code)
            except BaseException:
                code = "?"
            detail = ("exited before the tests completed (SystemExit %s)" % code)[:DETAIL_MAX]
        except BaseException as exc:
            status = "failed"
            detail = _exception_line(exc)
        if status is not None:
            return {"status": status, "detail": detail}
        try:
            nonce = _read(non_r, 64).decode("ascii", "replace")
        except BaseException as exc:
            return {"status": "failed", "detail": "broke the grader's pipe (%s)" % type(exc).__name__}
        return {"pid": my_pid, "nonce": nonce}

    def _wait(self, pid, res_r, start, nonce):
        deadline = start + self.timeout
        pidfd = os.pidfd_open(pid)
        buf = bytearray()
        reading, exited, timed_out = True, False, False
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    timed_out = True
                    break
                fds = [pidfd, res_r] if reading else [pidfd]
                ready = select.select(fds, [], [], remaining)[0]
                if res_r in ready:
                    chunk = _read(res_r, MAX_REPORT)
                    buf += chunk
                    if not chunk or len(buf) > MAX_REPORT:
                        reading = False
                    elif buf[:1] in (b"R", b"E") and buf.endswith(b"\n"):
                        break
                if pidfd in ready:
                    exited = True
                    break
        finally:
            os.close(pidfd)
        if exited and reading:  # the child wrote before exiting: collect what is there
            os.set_blocking(res_r, False)
            try:
                while len(buf) <= MAX_REPORT:
                    chunk = _read(res_r, MAX_REPORT)
                    if not chunk:
                        break
                    buf += chunk
            except BlockingIOError:
                pass
        duration = time.monotonic() - start
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        _, status = os.waitpid(pid, 0)
        verdict = self._judge(bytes(buf), status, pid, nonce, timed_out)
        verdict["duration"] = round(duration, 6)
        return verdict

    def _judge(self, buf, status, pid, nonce, timed_out):
        if buf[:1] == b"E":
            return {"status": "sandbox_error",
                    "detail": "program set-up failed: " + buf[1:].decode("utf-8", "replace").strip()}
        if buf[:1] == b"R" and buf.endswith(b"\n"):
            try:
                report = json.loads(buf[1:].split(b"\n")[0])
            except ValueError:
                report = None
            if not isinstance(report, dict):
                return {"status": "failed", "detail": "garbled result from the program's process"}
            if report.get("status") in ("failed", "memory"):
                return {"status": report["status"], "detail": str(report.get("detail"))[:DETAIL_MAX]}
            if report.get("pid") == pid and report.get("nonce") == nonce:
                return {"status": "passed", "detail": ""}
            return {"status": "failed", "detail": "forged result"}
        if timed_out:
            return {"status": "timeout", "detail": "timed out after %s s" % self.timeout}
        if not buf:
            code = os.waitstatus_to_exitcode(status)
            return {"status": "sandbox_error",
                    "detail": "program process failed to start (exit status %d)" % code}
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            try:
                name = signal.Signals(sig).name
            except ValueError:
                name = str(sig)
            if sig == signal.SIGXCPU:
                return {"status": "timeout", "detail": "CPU time limit exceeded"}
            if sig == signal.SIGKILL:
                before, self.oom_kills = self.oom_kills, sx.oom_kills()
                if self.oom_kills > before:
                    return {"status": "memory", "detail": "killed by the kernel's OOM killer"}
            return {"status": "failed", "detail": "killed by signal %s before the tests completed" % name}
        return {"status": "failed", "detail": "exited before the tests completed (exit status %d)"
                % os.WEXITSTATUS(status)}


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: sandbox_worker.py CONFIG_JSON\n")
        return 2
    Worker(json.loads(argv[1])).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
