"""The pool's handle on one sandbox worker process (``runner_worker.py``): start, ask, kill."""
from __future__ import annotations

import time

from infill.grading.multilang import frames
from infill.grading.multilang.sandbox import WORKER_ENV
from infill.grading.process_handle import PipedProcess

START_TIMEOUT_S = 60.0  # a worker must greet within this (a loaded machine starts bubblewrap slowly)


class WorkerDied(Exception):
    """The worker exited, stopped answering or answered garbage: an infrastructure fault, not a verdict."""


class WorkerClient(PipedProcess):
    """One worker and the pipes to it; used by one thread at a time."""

    def __init__(self, argv: list[str], tmp_root: str | None = None, uids: tuple[int, ...] = ()):
        self.tmp_root, self.uids = tmp_root, uids
        try:
            self._spawn(argv, WORKER_ENV)
        except OSError as exc:
            raise WorkerDied(f"cannot start the worker: {exc}") from None
        self._reader = frames.FrameReader(self.proc.stdout.fileno())
        try:
            hello, _ = self._reader.read(time.monotonic() + START_TIMEOUT_S)
            if not hello.get("ready"):
                raise frames.FrameError(f"unexpected greeting {hello!r}")
        except frames.FrameError as exc:
            raise self._abandon(WorkerDied, f"the worker failed to start: {exc}") from None
        self.info = hello

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

    def leftover_uids(self) -> tuple[int, ...]:
        """What a bare worker's programs and compilers left behind (a worker in its own PID namespace leaves none)."""
        return () if getattr(self, "info", {}).get("pidns") else self.uids
