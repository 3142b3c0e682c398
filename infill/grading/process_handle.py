"""A helper process the grader talks to through pipes, seen from the grader: the Python sandbox's worker
(``worker_process.Worker``), the multi-language runner worker (``multilang.worker_client.WorkerClient``) and the
warm javac (``multilang.javac_server.JavacServer``). Each is started in a session of its own with its stderr kept
in a file (the last line says why it failed), and killed with everything it started and the files it left."""
from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time

from infill.grading import sandbox_sys


def kill_uid(uid: int, rounds: int = 200) -> None:
    """SIGKILL every process whose real uid is ``uid`` (what a dead bare worker's programs left), looking again
    until none is left or ``rounds`` passes over /proc are done."""
    for _ in range(rounds):
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


class PipedProcess:
    """One helper process and the pipes to it; a subclass calls ``_spawn`` and then waits for its greeting."""

    TAIL_BYTES = 4000  # the end of stderr in which ``stderr_tail`` looks for the last line
    KILL_UID_ROUNDS = 200  # kill_uid's passes over /proc for each of ``leftover_uids``
    tmp_root: str | None = None  # a private directory of the process's, removed by ``kill``

    def _spawn(self, argv: list[str], env: dict, pass_fds: tuple[int, ...] = ()) -> None:
        """Start ``argv`` with stdin and stdout piped, stderr to a temporary file, in / and a session of its own.
        OSError when it cannot be started (then nothing is left open)."""
        self._stderr = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                                         env=dict(env), cwd="/", pass_fds=pass_fds, close_fds=True,
                                         start_new_session=True)
        except OSError:
            self._stderr.close()
            raise

    def _abandon(self, error: type[Exception], message: str) -> Exception:
        """Kill a process that failed to start: ``error`` with ``message`` and the last line of its stderr."""
        message = f"{message}{self.stderr_tail()}"
        self.kill()
        return error(message)

    def stderr_tail(self) -> str:
        """' (the last line the process wrote to stderr)', or '' when it wrote none."""
        try:
            self._stderr.seek(0)
            lines = self._stderr.read()[-self.TAIL_BYTES:].decode("utf-8", "replace").strip().splitlines()
        except (OSError, ValueError):
            return ""
        return f" ({lines[-1].strip()})" if lines else ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def leftover_uids(self) -> tuple[int, ...]:
        """The uids whose every process dies with this one (a bare worker's programs): none unless said."""
        return ()

    def _remove_tmp(self) -> None:
        sandbox_sys.rmtree(self.tmp_root)

    def kill(self) -> None:
        """Kill the process, its session and the processes of ``leftover_uids``, close the pipes and remove
        ``tmp_root``."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # bwrap and a bare worker lead their session
        except OSError:
            pass
        self.proc.kill()
        self.proc.wait()
        for uid in self.leftover_uids():
            kill_uid(uid, self.KILL_UID_ROUNDS)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self._stderr.close()
        if self.tmp_root:
            self._remove_tmp()
