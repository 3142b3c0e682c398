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
import select
import signal
import struct
import subprocess
import tempfile
import time
from pathlib import Path

from infill.grading import sandbox_sys
from infill.grading.multilang.sandbox import COMPILE_ENV, INSIDE, bare_command, bwrap_command
from infill.grading.multilang.worker_client import WorkerDied

SOURCE = Path(__file__).resolve().with_name("JavacServer.java")
READY = 0x6A617663
START_TIMEOUT_S = 90.0
SERVER_JVM = ("-Xmx1g", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Dfile.encoding=UTF-8",
              "-Dsun.jnu.encoding=UTF-8")


class _Reader:
    def __init__(self, fd: int):
        self.fd, self.buf = fd, bytearray()

    def exact(self, n: int, deadline: float) -> bytes:
        while len(self.buf) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.fd], [], [], remaining)[0]:
                raise WorkerDied("the javac server did not answer in time")
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                raise WorkerDied("the javac server exited")
            self.buf += chunk
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def int(self, deadline: float) -> int:
        return struct.unpack(">i", self.exact(4, deadline))[0]

    def blob(self, deadline: float) -> bytes:
        return self.exact(self.int(deadline), deadline)


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


class JavacServer:
    """One running server; used by one thread at a time. ``compile`` raises WorkerDied when the server fails."""

    def __init__(self, argv: list[str], tmp_root: str | None):
        self.tmp_root = tmp_root
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                                     cwd="/", close_fds=True, start_new_session=True, env=dict(COMPILE_ENV))
        self._reader = _Reader(self.proc.stdout.fileno())
        try:
            if self._reader.int(time.monotonic() + START_TIMEOUT_S) != READY:
                raise WorkerDied("the javac server sent garbage")
        except WorkerDied as exc:
            message = f"{exc}{self._stderr_tail()}"
            self.kill()
            raise WorkerDied(message) from None

    def _stderr_tail(self) -> str:
        try:
            self._stderr.seek(0)
            lines = self._stderr.read()[-4000:].decode("utf-8", "replace").strip().splitlines()
        except (OSError, ValueError):
            return ""
        return f" ({lines[-1].strip()})" if lines else ""

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
            raise WorkerDied(f"the javac server's pipe is closed{self._stderr_tail()}") from None
        deadline = time.monotonic() + timeout
        code = self._reader.int(deadline)
        diagnostics = self._reader.blob(deadline)
        files = {}
        for _ in range(self._reader.int(deadline)):
            path = self._reader.blob(deadline).decode("utf-8")
            files[path] = self._reader.blob(deadline)
        return code, diagnostics, files

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self._stderr.close()
        if self.tmp_root:
            sandbox_sys.rmtree(self.tmp_root)
