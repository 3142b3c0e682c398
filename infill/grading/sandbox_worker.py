"""Sandbox worker for the execution grader: stdlib only (and the ``sandbox_*.py`` modules beside it),
no imports from ``infill``.

Started once per pool slot (inside bubblewrap, or bare in the rlimits fallback) as
``python -s -S sandbox_worker.py CONFIG_JSON`` (``python -I -S`` works too), it runs
programs one at a time, each in a freshly forked child (``sandbox_child.py``).

Protocol (the worker moves its stdin/stdout to private fds at start-up):
  parent -> worker: ``b"<n>\\n"`` followed by n bytes of UTF-8 program text.
  worker -> parent: one JSON object per line. First ``{"ready": true, ...}``, then one
  ``{"status", "detail", "duration", "cacheable"[, "retire"]}`` per program, written only after every
  process the program left behind has been killed and reaped and its directory removed. ``retire``
  says why this worker could not clean up after the program and exits: the pool starts another.

The child's messages and what they prove are in ``sandbox_child.py``; watching and judging the
program in ``sandbox_judge.py``. The serve loop is a chain of C-level iterators (``serve``), so that
the Python frames under a running program are this loop's and hold nothing that can claim a pass.
After each program (rlimits fallback as root only): files its uid left in world-writable
directories (``clean_dirs``) are removed.
"""
import collections
import json
import operator
import os
import signal
import socket
import sys
import time

import sandbox_child as child  # beside this script (sys.path[0]), inside the sandbox too
import sandbox_judge
import sandbox_sys as sx

# Bound before any program runs, so a program that monkeypatches ``os`` or ``json``
# cannot make the reporting code lie (it can only break it, which is a failure).
_read, _write, _exit, _getpid, _dumps = os.read, os.write, os._exit, os.getpid, json.dumps

# Imported once in the worker so each forked program finds them loaded (importing
# typing alone costs ~10 ms). Programs see the same modules as with a cold import.
# random (which reseeds itself from the OS after a fork) is seeded with 0 in each
# program's process, and PYTHONHASHSEED=0: a verdict does not depend on the run.
PRELOAD = ("typing", "math", "cmath", "re", "collections", "itertools", "functools", "operator",
           "string", "heapq", "bisect", "copy", "random", "hashlib", "fractions", "decimal",
           "statistics", "datetime", "json", "array", "dataclasses", "enum")
ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0",
       "PYTHONDONTWRITEBYTECODE": "1"}


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
        self.child_fd = -1
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
        try:  # each step's result is called from C: a no-op in the worker, the program in the child
            collections.deque(map(operator.call, iter(self.step, None)), maxlen=0)
        except BaseException as exc:
            if _getpid() != self.self_pid:  # out of the program (or a fork of it): never back to the loop
                child.report_failure(self.child_fd, exc)
            raise

    def step(self):
        """One program: None when the pool has closed the pipe or this worker must retire."""
        if _getpid() != self.self_pid:
            return None  # a program calling into the loop
        program = self.receive()
        if program is None:
            return None
        try:
            result = self.run(program)
        except Exception as exc:  # a fault of ours, never to be blamed on the program
            self.send({"status": "sandbox_error", "detail": "worker error: " + child.exception_line(exc)})
            raise
        if callable(result):
            return result  # in the child: the sealed run of the program
        self.send(result)
        return None if result.get("retire") else int

    # ---- one program -------------------------------------------------------------------
    def run(self, program):
        """In the worker: the program's verdict, once it is over and cleaned up after. In the forked child:
        the sealed run of the program (``sandbox_child.sealed_run``), for the serve loop to call."""
        self.count += 1
        workdir = os.path.join(self.tmp_root, "run%d" % self.count)
        os.mkdir(workdir, 0o700)
        if self.uid is not None:
            os.chown(workdir, self.uid, self.uid)
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        mine.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        non_r, non_w = os.pipe()
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            return self._child(program, workdir, mine, theirs, non_r, non_w)
        theirs.close()
        os.close(non_r)
        try:
            nonce = os.urandom(16).hex().encode()  # made after the fork: never in the child's memory before
            _write(non_w, nonce)
            os.close(non_w)
            seen = sandbox_judge.watch(pid, mine, start, self)
            _, status = os.waitpid(pid, 0)
            verdict = sandbox_judge.judge(seen, status, nonce, self)
            verdict["duration"] = round(seen.duration, 6)
        finally:
            mine.close()
        problem = self._clean_up(workdir)
        if problem:
            verdict["retire"] = problem  # the verdict stands; this worker is replaced
        return verdict

    def _child(self, program, workdir, mine, theirs, non_r, non_w):
        res_fd = theirs.detach()
        self.child_fd = res_fd  # (for serve's failure report: not a secret)
        try:
            mine.close()
            os.close(non_w)
            child.set_up(self, workdir, res_fd, non_r)
            _write(res_fd, b"R")
            return child.sealed_run(program, res_fd, non_r)
        except BaseException as exc:
            try:
                _write(res_fd, ("E%s" % child.exception_line(exc)).encode())
            finally:
                _exit(child.SETUP_FAILED)

    def _clean_up(self, workdir):
        """Kill what the program left and remove its files; why this worker must be replaced, if it must."""
        try:
            if not sx.kill_leftovers(self.self_pid, self.pidns):
                return "a process of the program survived"
            sx.rmtree(workdir)
            for path in self.clean_dirs:
                sx.remove_owned(path, self.uid, 2)
        except Exception as exc:  # RecursionError and MemoryError included: whatever the program made
            return "clean-up failed: " + child.exception_line(exc)
        return None


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: sandbox_worker.py CONFIG_JSON\n")
        return 2
    Worker(json.loads(argv[1])).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
