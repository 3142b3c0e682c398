"""Watching one program run and judging what it did (the sandbox worker's side; stdlib only, no imports from
``infill``; runs inside the sandbox).

``watch`` waits for the program's process to exit, to send its last message, to overrun its time, or to hold
more memory than allowed in all its processes together (``sandbox_memory``). Only messages that the kernel says
come from the program's own process count (SCM_CREDENTIALS on the result socket). ``judge`` turns that into a
verdict: ``{"status", "detail", "cacheable"}``. A verdict is cacheable only when the program alone decided it: it
passed, or raised, or exited by itself; not when it ran out of time (that depends on the machine's load), was
killed by a signal (the kernel's OOM killer or anyone else may have sent it: a SIGKILL carries no sender), or was
stopped by the memory watchdog (which samples: how much it sees depends on timing).
"""
import json
import os
import select
import signal
import socket
import struct
import time

import sandbox_memory
import sandbox_sys as sx

DETAIL_MAX = 500
MAX_MESSAGE = 1 << 16
_CREDS = struct.Struct("3i")  # struct ucred: pid, uid, gid


class Seen:
    """What the worker saw of one program."""

    def __init__(self):
        self.ready = False  # the child said "R": set-up done, the program starts
        self.closed = False  # the program closed the last copy of the result socket
        self.setup_error = None  # the child's "E" line
        self.final = None  # the child's last message (P or F)
        self.exited = self.timed_out = False
        self.memory = None  # bytes held when the watchdog stopped it
        self.duration = 0.0


def _receive(sock, pid, seen):
    """Read what is waiting on the socket (a bounded batch: forks flooding it do not keep the worker from its
    deadline); True once the child's final word (or EOF) is in."""
    for _ in range(64):
        try:
            data, ancdata, flags, _ = sock.recvmsg(MAX_MESSAGE, socket.CMSG_SPACE(_CREDS.size), socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        sender = None
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS and len(payload) >= _CREDS.size:
                sender = _CREDS.unpack(payload[:_CREDS.size])[0]
        if not data and sender is None:
            seen.closed = True  # every writer is gone: wait for the exit alone
            return False
        if sender != pid:
            continue  # a fork of the program: it does not speak for the program
        if flags & socket.MSG_TRUNC:
            data = b"Xtruncated"
        if not seen.ready:
            if data == b"R":
                seen.ready = True
                continue
            seen.setup_error = data[1:].decode("utf-8", "replace") if data[:1] == b"E" else repr(data[:100])
            return True
        seen.final = data
        return True
    return False


def watch(pid, sock, start, w):
    """Wait for the program ``pid`` (``w``: the Worker: its limits); then kill its process group."""
    seen, deadline = Seen(), start + w.timeout
    poll = 0.01 if w.pidns else 0.05  # the watchdog's sampling period (bare: it reads the whole /proc)
    next_sample = start + poll
    pidfd = os.pidfd_open(pid)
    try:
        while True:
            now = time.monotonic()
            if now >= deadline:
                seen.timed_out = True
                break
            fds = [pidfd] if seen.closed else [pidfd, sock]
            ready = select.select(fds, [], [], max(0.0, min(deadline, next_sample) - now))[0]
            if sock in ready and _receive(sock, pid, seen):
                break
            if pidfd in ready:
                seen.exited = True
                _receive(sock, pid, seen)  # what it wrote just before it exited
                break
            if w.memory > 0 and time.monotonic() >= next_sample:
                seen.memory = sandbox_memory.total_if_over(sx.program_pids(w.self_pid, w.pidns), w.memory,
                                                           w.tmp_root if w.pidns else None)
                if seen.memory is not None:
                    break
                next_sample = time.monotonic() + poll
    finally:
        os.close(pidfd)
    seen.duration = time.monotonic() - start
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    return seen


def _claim(final, nonce):
    """The verdict of the program's last message."""
    if final == b"P" + nonce:
        return {"status": "passed", "detail": "", "cacheable": True}
    if final[:1] == b"F":
        try:
            report = json.loads(final[1:])
        except ValueError:
            report = None
        if isinstance(report, dict) and report.get("status") in ("failed", "memory"):
            return {"status": report["status"], "detail": str(report.get("detail"))[:DETAIL_MAX], "cacheable": True}
        return {"status": "failed", "detail": "garbled result from the program's process", "cacheable": True}
    return {"status": "failed", "detail": "forged result", "cacheable": True}


def judge(seen, status, nonce, w):
    """The verdict, from what was seen and the child's wait ``status``."""
    if seen.setup_error is not None:
        return {"status": "sandbox_error", "detail": "program set-up failed: " + seen.setup_error.strip()}
    if seen.final is not None:
        return _claim(seen.final, nonce)
    if seen.memory is not None:
        return {"status": "memory", "detail": "its processes held %d MB together (limit %d MB)"
                % (seen.memory >> 20, w.memory >> 20)}
    if seen.timed_out:
        return {"status": "timeout", "detail": "timed out after %s s" % w.timeout}
    if not seen.ready:
        return {"status": "sandbox_error", "detail": "program process failed to start (exit status %d)"
                % os.waitstatus_to_exitcode(status)}
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        if sig == signal.SIGXCPU:
            return {"status": "timeout", "detail": "CPU time limit exceeded"}
        if sig == signal.SIGKILL:
            before, w.oom_kills = w.oom_kills, sx.oom_kills()
            if w.oom_kills > before:
                return {"status": "memory", "detail": "killed by the kernel's OOM killer"}
        return {"status": "failed", "detail": "killed by signal %s before the tests completed" % name}
    return {"status": "failed", "detail": "exited before the tests completed (exit status %d)"
            % os.WEXITSTATUS(status), "cacheable": True}
