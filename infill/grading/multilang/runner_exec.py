"""Start one command under limits and watch it: stdlib only (and ``sandbox_sys.py``), runs inside the sandbox.

The child gets its own process group, no address-space randomisation, default signal dispositions and an empty signal mask (the worker, being
Python, ignores SIGPIPE and SIGXFSZ: ignored signals would survive exec), the test's input on stdin and pipes for
stdout and stderr, every other descriptor closed, the working directory, the rlimits, its own uid (when the worker
may change it), PR_SET_NO_NEW_PRIVS and the seccomp filter, then ``execve``. A failed exec is reported on a
close-on-exec pipe. The worker feeds stdin, collects both outputs (stdout up to a limit, stderr's first and last
64 KiB), stops the program at the wall-clock limit, and takes its CPU time from ``wait4``.
"""
import os
import resource
import select
import shutil
import signal
import time

import sandbox_sys as sx

RLIMITS = {"core": resource.RLIMIT_CORE, "data": resource.RLIMIT_DATA, "fsize": resource.RLIMIT_FSIZE,
           "sigpending": resource.RLIMIT_SIGPENDING, "rss": resource.RLIMIT_RSS, "nofile": resource.RLIMIT_NOFILE,
           "msgqueue": resource.RLIMIT_MSGQUEUE, "rtprio": resource.RLIMIT_RTPRIO, "stack": resource.RLIMIT_STACK,
           "nproc": resource.RLIMIT_NPROC, "as": resource.RLIMIT_AS,
           "locks": getattr(resource, "RLIMIT_LOCKS", 10)}  # (Python does not name it; 10 on Linux)
STDERR_KEEP = 64 << 10
EXEC_FAILED = 127
_SIGNALS = [s for s in signal.valid_signals() if s not in (signal.SIGKILL, signal.SIGSTOP) and s < signal.SIGRTMIN]


def apply_limits(limits, cpu_seconds, count_processes):
    """setrlimit for each ExecEval limit (-1: unlimited), capped by the hard limits we were given."""
    for name, value in limits.items():
        if name == "nproc" and not count_processes:
            continue  # counted per uid: with the grader's own uid it would count everything it runs
        which = RLIMITS[name]
        _, hard = resource.getrlimit(which)
        want = resource.RLIM_INFINITY if value < 0 else value
        if hard != resource.RLIM_INFINITY and (want == resource.RLIM_INFINITY or want > hard):
            want = hard
        resource.setrlimit(which, (want, want))
    if cpu_seconds:
        resource.setrlimit(resource.RLIMIT_CPU, (int(cpu_seconds), int(cpu_seconds) + 1))


def no_aslr():
    """Turn address-space randomisation off for what we exec (personality ADDR_NO_RANDOMIZE): a program that
    reads uninitialised memory then gets the same verdict on every run (under ExecEval it varied)."""
    libc = sx.libc()
    current = libc.personality(0xFFFFFFFF)
    if current == -1 or libc.personality(current | 0x0040000) == -1:
        raise OSError("personality(ADDR_NO_RANDOMIZE) failed")


def become(uid):
    """Drop to ``uid`` (no groups, no capabilities: setuid from root without KEEPCAPS clears them)."""
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def confine(seccomp, pdeathsig, parent_pid):
    sx.prctl(38, 1)  # PR_SET_NO_NEW_PRIVS
    if seccomp:
        sx.install_seccomp(seccomp)
    if pdeathsig:  # outside a PID namespace nothing else would end us with the worker
        sx.prctl(1, signal.SIGKILL)
        if os.getppid() != parent_pid:
            raise OSError("worker gone")


def _child(spec, fds, report_w):
    """In the forked child: set up, then exec; never returns."""
    try:
        os.setpgid(0, 0)
        for sig in _SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        keep = report_w
        os.closerange(3, keep)
        os.closerange(keep + 1, 1 << 20)
        os.chdir(spec["cwd"])
        no_aslr()
        apply_limits(spec["limits"], spec["cpu_seconds"], spec["uid"] is not None)
        if spec["uid"] is not None:
            become(spec["uid"])
        confine(spec["seccomp"], spec["pdeathsig"], spec["parent"])
        os.execve(spec["path"], spec["argv"], spec["env"])
    except BaseException as exc:
        try:
            os.write(report_w, ("%s: %s" % (type(exc).__name__, exc)).encode()[:2000])
        finally:
            os._exit(EXEC_FAILED)


def spawn(spec, stdin_r, stdout_w, stderr_w):
    """Fork and exec ``spec``; (pid, None) or (None, why it could not start)."""
    report_r, report_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        os.close(report_r)
        _child(spec, (stdin_r, stdout_w, stderr_w), report_w)
    os.close(report_w)
    try:
        failure = b""
        while True:
            chunk = os.read(report_r, 4096)  # EOF at a successful exec
            if not chunk:
                break
            failure += chunk
    finally:
        os.close(report_r)
    if failure:
        os.waitpid(pid, 0)
        return None, failure.decode("utf-8", "replace")
    return pid, None


class _Output:
    """One output pipe's bytes: all of them up to ``limit``, or (stderr) the first and last ``keep``."""

    def __init__(self, limit, keep_tail):
        self.head, self.tail, self.limit, self.keep_tail, self.overflow = bytearray(), bytearray(), limit, keep_tail, False

    def add(self, chunk):
        room = self.limit - len(self.head)
        self.head += chunk[:max(room, 0)]
        if len(chunk) > room:
            self.overflow = True
            if self.keep_tail:
                self.tail = (self.tail + chunk[max(room, 0):])[-self.keep_tail:]

    def value(self):
        return bytes(self.head) + (b"\n...\n" + bytes(self.tail) if self.tail else b"")


def _pump(pid, stdin_data, fds, outputs, deadline):
    """Feed stdin and drain outputs until the program exits or the deadline; True if it exited."""
    stdin_w, out_r, err_r = fds
    pidfd = os.pidfd_open(pid)
    pending = memoryview(stdin_data)
    readers = {out_r: outputs[0], err_r: outputs[1]}
    try:
        if not pending:
            os.close(stdin_w)
            stdin_w = None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            writers = [stdin_w] if stdin_w is not None else []
            ready_r, ready_w, _ = select.select([pidfd, *readers], writers, [], remaining)
            if stdin_w in ready_w:
                try:
                    pending = pending[os.write(stdin_w, pending[:65536]):]
                except BrokenPipeError:  # the program stopped reading: the rest of the input is dropped
                    pending = pending[:0]
                except BlockingIOError:
                    pass
                if not pending:
                    os.close(stdin_w)
                    stdin_w = None
            for fd in [fd for fd in ready_r if fd in readers]:
                chunk = os.read(fd, 1 << 20)
                if chunk:
                    readers[fd].add(chunk)
                else:
                    del readers[fd]
            if pidfd in ready_r:
                return True
    finally:
        os.close(pidfd)
        if stdin_w is not None:
            os.close(stdin_w)


def _drain(fds, outputs):
    """After every process is gone: what is left in the pipes."""
    for fd, output in zip(fds, outputs):
        os.set_blocking(fd, False)
        try:
            while True:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                output.add(chunk)
        except BlockingIOError:
            pass


def run(spec, stdin_data, wall_limit, stdout_limit, kill_leftovers):
    """Run ``spec`` to the end; the facts the host decides a verdict from."""
    spec = dict(spec, path=shutil.which(spec["argv"][0], path=spec["env"].get("PATH")) or spec["argv"][0])
    stdin_r, stdin_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    start = time.monotonic()
    pid, failure = spawn(spec, stdin_r, out_w, err_w)
    for fd in (stdin_r, out_w, err_w):
        os.close(fd)
    outputs = (_Output(stdout_limit, 0), _Output(STDERR_KEEP, STDERR_KEEP))
    if pid is None:
        for fd in (stdin_w, out_r, err_r):
            os.close(fd)
        return {"started": False, "detail": failure}
    os.set_blocking(stdin_w, False)
    exited = _pump(pid, stdin_data, (stdin_w, out_r, err_r), outputs, start + wall_limit)
    wall = time.monotonic() - start
    if not exited:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    _, status, usage = os.wait4(pid, 0)
    kill_leftovers()
    _drain((out_r, err_r), outputs)
    for fd in (out_r, err_r):
        os.close(fd)
    return {"started": True, "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "cpu": usage.ru_utime + usage.ru_stime, "wall": wall, "wall_killed": not exited,
            "stdout": outputs[0].value(), "stdout_overflow": outputs[0].overflow, "stderr": outputs[1].value()}
