"""A warm javac (``JavacServer.java``) in a sandbox of its own, and the pool's handle on it.

Why: javac's own start (a JVM, then the compiler's classes warming up) costs about a second per program, several
times the compilation itself. The server calls the compiler's entry point with the command's arguments
(``languages.JAVA_COMPILE_FLAGS``, ``-d`` its fresh directory) once per request, so the class files and the exit
status are those of the command. It never runs the programs: they go to the runner worker. Its sandbox is
separate (own PID namespace) so that the runner's clean-up after each program, which kills every process in its
namespace, leaves it alone, and no program can reach it. Java sources are read as UTF-8 (see languages.py).
"""
from __future__ import annotations

import json
import os
import struct
import time
from pathlib import Path

from infill.grading.multilang import frames
from infill.grading.multilang.sandbox import COMPILE_ENV, INSIDE, bare_command, bwrap_command
from infill.grading.multilang.worker_client import WorkerDied
from infill.grading.process_handle import PipedProcess

SOURCE = Path(__file__).resolve().with_name("JavacServer.java")
READY = 0x6A617663
START_TIMEOUT_S = 90.0
SERVER_JVM = ("-Xmx1g", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Dfile.encoding=UTF-8",
              "-Dsun.jnu.encoding=UTF-8")


class _Reader(frames.FrameReader):
    """The server's replies: big-endian ints and byte strings that follow their length."""

    error, no_answer, closed = WorkerDied, "the javac server did not answer in time", "the javac server exited"

    def int(self, deadline: float) -> int:
        return struct.unpack(">i", self.take(4, deadline))[0]

    def blob(self, deadline: float) -> bytes:
        return self.take(self.int(deadline), deadline)


def server_command(bwrap: str | None, root: bool, uid: int | None, seccomp: str | None) -> tuple[list[str], str | None]:
    """(argv, private directory or None) of a javac server, in bubblewrap when ``bwrap`` is given."""
    config = {"uid": uid, "seccomp": seccomp, "limits": {"core": 0}, "env": COMPILE_ENV}
    java = ["java", *SERVER_JVM]
    if bwrap:
        config.update(workdir="/tmp/javac", pidns=True)
        payload = ["exec-as", json.dumps(config), *java, f"{INSIDE}/JavacServer.java"]
        return bwrap_command(bwrap, root, payload, [(str(SOURCE), f"{INSIDE}/JavacServer.java")]), None
    argv, tmp_root = bare_command([])
    os.chmod(tmp_root, 0o711)
    config.update(workdir=os.path.join(tmp_root, "javac"), pidns=False)
    return argv + ["exec-as", json.dumps(config), *java, str(SOURCE)], tmp_root


class JavacServer(PipedProcess):
    """One running server; used by one thread at a time. ``compile`` raises WorkerDied when the server fails."""

    def __init__(self, argv: list[str], tmp_root: str | None):
        self.tmp_root = tmp_root
        self._spawn(argv, COMPILE_ENV)
        self._reader = _Reader(self.proc.stdout.fileno())
        try:
            if self._reader.int(time.monotonic() + START_TIMEOUT_S) != READY:
                raise WorkerDied("the javac server sent garbage")
        except WorkerDied as exc:
            raise self._abandon(WorkerDied, str(exc)) from None

    def compile(self, args: list[str], name: str, source: bytes, timeout: float) -> tuple[int, bytes, dict[str, bytes]]:
        """(exit status, diagnostics, {relative path: bytes} of what the compiler wrote)."""
        parts = [struct.pack(">i", len(args))]
        for item in [*args, name]:
            data = item.encode("utf-8")
            parts += [struct.pack(">i", len(data)), data]
        parts += [struct.pack(">i", len(source)), source]
        try:
            self.proc.stdin.write(b"".join(parts))
            self.proc.stdin.flush()
        except OSError:
            raise WorkerDied(f"the javac server's pipe is closed{self.stderr_tail()}") from None
        deadline = time.monotonic() + timeout
        code = self._reader.int(deadline)
        diagnostics = self._reader.blob(deadline)
        files = {}
        for _ in range(self._reader.int(deadline)):
            path = self._reader.blob(deadline).decode("utf-8")
            files[path] = self._reader.blob(deadline)
        return code, diagnostics, files
