"""One sandbox worker process seen from the grader: starting it, talking to it, killing it and removing what
it leaves. Used by ``execution.SandboxPool``, one dispatcher thread per worker."""
from __future__ import annotations

import json
import os
import select
import subprocess
import time

from infill.grading.process_handle import PipedProcess

START_TIMEOUT_S = 30.0  # a worker must say "ready" within this
GRACE_S = 20.0  # beyond the program timeout, for the worker's own clean-up
ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8",
       "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}


class WorkerDied(Exception):
    pass


class WorkerStartError(Exception):
    pass


class ProtocolError(Exception):
    pass


def source_fds(paths: dict[str, str]) -> dict[str, int]:
    """A memory file holding each file's text (name -> fd), for bwrap to copy into the sandbox."""
    fds: dict[str, int] = {}
    try:
        for name, path in paths.items():
            fd = os.memfd_create(name)
            fds[name] = fd
            with open(path, "rb") as f:
                data = f.read()
            while data:
                data = data[os.write(fd, data):]
            os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        for fd in fds.values():
            os.close(fd)
        raise
    return fds


class Worker(PipedProcess):
    """One worker process and the pipes to it; used by a single dispatcher thread."""

    TAIL_BYTES = 2000
    KILL_UID_ROUNDS = 50

    def __init__(self, argv: list[str], tmp_dir: str | None, pass_fds: tuple[int, ...] = ()):
        self.tmp_root = tmp_dir
        self._buf = b""
        try:
            self._spawn(argv, ENV, pass_fds)
        except OSError as exc:
            raise WorkerStartError(f"cannot start the sandbox worker: {exc}") from None
        try:
            hello = self._read_line(time.monotonic() + START_TIMEOUT_S)
            if not (isinstance(hello, dict) and hello.get("ready")):
                raise WorkerDied(f"unexpected greeting {hello!r}")
        except (WorkerDied, ProtocolError) as exc:
            raise self._abandon(WorkerStartError, f"sandbox worker failed to start: {exc}") from None
        self.info = hello

    def _read_line(self, deadline: float):
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise WorkerDied("worker stopped responding")
            chunk = os.read(fd, 65536)
            if not chunk:
                try:
                    code = self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    code = None
                raise WorkerDied(f"worker exited with status {code}")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        try:
            return json.loads(line)
        except ValueError:
            raise ProtocolError(f"garbled reply from the sandbox worker: {line[:200]!r}") from None

    def run(self, program: str, timeout_s: float, statuses) -> dict:
        data = program.encode("utf-8", "surrogatepass")
        try:
            self.proc.stdin.write(b"%d\n" % len(data) + data)
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            raise WorkerDied("worker pipe closed") from None
        reply = self._read_line(time.monotonic() + timeout_s + GRACE_S)
        if not isinstance(reply, dict) or reply.get("status") not in statuses:
            raise ProtocolError(f"unexpected reply from the sandbox worker: {reply!r}"[:500])
        return reply

    def leftover_uids(self) -> tuple[int, ...]:
        info = getattr(self, "info", {})
        return (int(info["uid"]),) if info.get("uid") and not info.get("pidns") else ()

    def _remove_tmp(self) -> None:
        try:
            super()._remove_tmp()
        except Exception:  # (what no removal can handle stays: the next start uses a new directory)
            pass
