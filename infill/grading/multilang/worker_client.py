"""The pool's handle on one sandbox worker process (``runner_worker.py``): start, ask, kill."""
from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time

from infill.grading import sandbox_sys
from infill.grading.multilang import frames
from infill.grading.multilang.sandbox import WORKER_ENV

START_TIMEOUT_S = 60.0  # a worker must greet within this (a loaded machine starts bubblewrap slowly)


class WorkerDied(Exception):
    """The worker exited, stopped answering or answered garbage: an infrastructure fault, not a verdict."""


def kill_uid(uid: int) -> None:
    """SIGKILL every process whose real uid is ``uid`` (what a dead bare worker's programs left)."""
    for _ in range(200):
        found = False
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/status") as f:
                    real = int(next(line for line in f if line.startswith("Uid:")).split()[1])
                if real == uid:
                    found = True
                    os.kill(int(entry), signal.SIGKILL)
            except (OSError, StopIteration, ValueError):
                pass
        if not found:
            return
        time.sleep(0.01)


class WorkerClient:
    """One worker and the pipes to it; used by one thread at a time."""

    def __init__(self, argv: list[str], tmp_root: str | None = None, uids: tuple[int, ...] = ()):
        self.tmp_root, self.uids = tmp_root, uids
        self._stderr = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                                         env=dict(WORKER_ENV), cwd="/", close_fds=True, start_new_session=True)
        except OSError as exc:
            self._stderr.close()
            raise WorkerDied(f"cannot start the worker: {exc}") from None
        self._reader = frames.FrameReader(self.proc.stdout.fileno())
        try:
            hello, _ = self._reader.read(time.monotonic() + START_TIMEOUT_S)
            if not hello.get("ready"):
                raise frames.FrameError(f"unexpected greeting {hello!r}")
        except frames.FrameError as exc:
            message = f"the worker failed to start: {exc}{self.stderr_tail()}"
            self.kill()
            raise WorkerDied(message) from None
        self.info = hello

    def stderr_tail(self) -> str:
        try:
            self._stderr.seek(0)
            lines = self._stderr.read()[-4000:].decode("utf-8", "replace").strip().splitlines()
        except (OSError, ValueError):
            return ""
        return f" ({lines[-1].strip()})" if lines else ""

    def request(self, header: dict, blobs=(), timeout: float = 120.0) -> tuple[dict, list[bytes]]:
        try:
            frames.write_all(self.proc.stdin.fileno(), frames.encode(header, blobs))
        except OSError:
            raise WorkerDied(f"the worker's pipe is closed{self.stderr_tail()}") from None
        try:
            reply, out = self._reader.read(time.monotonic() + timeout)
        except frames.FrameError as exc:
            raise WorkerDied(f"the worker failed: {exc}{self.stderr_tail()}") from None
        if "error" in reply:
            raise WorkerDied(f"the worker failed: {reply['error']}")
        return reply, out

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # bwrap and a bare worker lead their session
        except OSError:
            pass
        self.proc.kill()
        self.proc.wait()
        if not self.info_pidns():
            for uid in self.uids:  # what a bare worker's programs and compilers left behind
                kill_uid(uid)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self._stderr.close()
        if self.tmp_root:
            sandbox_sys.rmtree(self.tmp_root)

    def info_pidns(self) -> bool:
        return bool(getattr(self, "info", {}).get("pidns"))
