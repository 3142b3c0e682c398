"""One sandbox worker process seen from the grader: starting it, talking to it, killing it and removing what
it leaves. Used by ``execution.SandboxPool``, one dispatcher thread per worker."""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import tempfile
import time

from infill.grading import sandbox_sys

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


class Worker:
    """One worker process and the pipes to it; used by a single dispatcher thread."""

    def __init__(self, argv: list[str], tmp_dir: str | None, pass_fds: tuple[int, ...] = ()):
        self._tmp_dir = tmp_dir
        self._stderr = tempfile.TemporaryFile()
        self._buf = b""
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=self._stderr, env=dict(ENV), cwd="/", pass_fds=pass_fds,
                                         close_fds=True, start_new_session=True)
        except OSError as exc:
            self._stderr.close()
            raise WorkerStartError(f"cannot start the sandbox worker: {exc}") from None
        try:
            hello = self._read_line(time.monotonic() + START_TIMEOUT_S)
            if not (isinstance(hello, dict) and hello.get("ready")):
                raise WorkerDied(f"unexpected greeting {hello!r}")
        except (WorkerDied, ProtocolError) as exc:
            message = f"sandbox worker failed to start: {exc}{self._stderr_tail()}"
            self.kill()
            raise WorkerStartError(message) from None
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

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """Kill the worker and everything it started, and remove its files; never raises."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # bwrap and a bare worker lead their session
        except OSError:
            pass
        self.proc.kill()
        self.proc.wait()
        info = getattr(self, "info", {})
        if info.get("uid") and not info.get("pidns"):
            kill_uid(int(info["uid"]))  # what a bare worker's programs left behind
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self._stderr.close()
        if self._tmp_dir:
            try:
                sandbox_sys.rmtree(self._tmp_dir)
            except Exception:  # (what no removal can handle stays: the next start uses a new directory)
                pass


def kill_uid(uid: int) -> None:
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
