"""One pool slot: a warm runner worker (and, for Java, a warm javac server), each in its own sandbox, used by
one dispatcher thread. It compiles a program (or takes it from the compile cache), installs it once, and runs
every unit test in a fresh process of that one sandbox, stopping at the first test that does not pass.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

from infill.grading.multilang import pch
from infill.grading.multilang.cache import CompiledProgram, compile_key
from infill.grading.multilang.compare import crlf_to_lf
from infill.grading.multilang.javac_server import JavacServer, server_command
from infill.grading.multilang.languages import COMPILE_TIMEOUT_S, JAVA_COMPILE_FLAGS, Language
from infill.grading.multilang.sandbox import PCH_INSIDE, bare_command, bwrap_command
from infill.grading.multilang.verdicts import (
    COMPILATION_ERROR,
    OUTPUT_LIMIT,
    PASSED,
    RUNTIME_ERROR,
    RunFacts,
    run_verdict,
    wall_backstop,
)
from infill.grading.multilang.worker_client import WorkerClient, WorkerDied

COMPILE_LIMITS = {"core": 0, "data": 8 << 30, "fsize": 256 << 20, "nproc": 64}
COMPILE_CPU_S = 120  # per compiler process; the 60 s wall clock is ExecEval's limit
UID_SPAN = 4  # per slot: programs, compilers, the javac server


class SandboxFailure(Exception):
    """The sandbox could not grade a job (an infrastructure fault, never a verdict)."""


@dataclass(frozen=True)
class Outcome:
    verdict: str  # one of verdicts.VERDICTS
    detail: str  # one line ("" when PASSED)
    tests_run: int
    seconds: float  # the whole job: compilation (or cache look-up) and every test run
    compile_seconds: float = 0.0
    compile_cached: bool = False


def _message(stdout: bytes, stderr: bytes) -> str:
    return (stderr + stdout).decode("utf-8", "replace")


def _first_error(message: str) -> str:
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    chosen = next((line for line in lines if "error" in line.lower()), lines[0] if lines else "")
    return " ".join(chosen.split())[:200]


class Slot:
    def __init__(self, pool, index: int):
        self.pool, self.index = pool, index
        self.uid_base = 2_000_000_000 + UID_SPAN * (int.from_bytes(os.urandom(4), "little") % 25_000_000)
        self.worker: WorkerClient | None = None
        self.javac: JavacServer | None = None
        self.javac_failure = ""
        self.installed: str | None = None  # cache key of the program in the worker's directory
        self.running = False  # a program is running (a worker dying now may be its doing)

    # ---- processes ------------------------------------------------------------------------------
    def _worker(self) -> WorkerClient:
        if self.worker is not None and self.worker.alive():
            return self.worker
        self.close_worker()
        config = self.pool.worker_config(self.uid_base)
        try:
            if self.pool.bwrap:
                argv = bwrap_command(self.pool.bwrap, self.pool.root, ["serve", config("/tmp", True)],
                                     [(str(self.pool.pch_root), PCH_INSIDE)])
                self.worker = WorkerClient(argv)
            else:
                argv, tmp_root = bare_command([])
                uids = (self.uid_base, self.uid_base + 1) if self.pool.root else ()
                self.worker = WorkerClient(argv + ["serve", config(os.path.join(tmp_root, "work"), False)],
                                           tmp_root, uids)
        except WorkerDied as exc:  # not the program's doing
            raise SandboxFailure(str(exc)) from None
        self.installed = None
        return self.worker

    def close_worker(self) -> None:
        if self.worker is not None:
            self.worker.kill()
            self.worker = None
            self.installed = None

    def _javac(self) -> JavacServer | None:
        if not self.pool.config.javac_server or self.javac_failure:
            return None
        if self.javac is None or not self.javac.alive():
            self.close_javac()
            uid = self.uid_base + 2 if self.pool.root else None
            try:
                self.javac = JavacServer(*server_command(self.pool.bwrap, self.pool.root, uid, self.pool.seccomp))
            except (WorkerDied, OSError) as exc:
                self.javac_failure = str(exc)  # compile with the javac command from now on
                return None
        return self.javac

    def close_javac(self) -> None:
        if self.javac is not None:
            self.javac.kill()
            self.javac = None

    def close(self) -> None:
        self.close_worker()
        self.close_javac()

    # ---- one job ------------------------------------------------------------------------------------
    def grade(self, language: Language, source: str, tests: list[dict]) -> Outcome:
        """Compile (or take from the cache), then run the tests; a dead worker is replaced and the job rerun
        once: a program that kills its worker twice gets RUNTIME_ERROR."""
        start = time.monotonic()
        for attempt in (1, 2):
            self.running = False
            try:
                return self._grade(language, crlf_to_lf(source), tests, start)
            except WorkerDied as exc:
                self.close_worker()
                if attempt == 2:
                    if not self.running:  # it died compiling or installing: ours, not the program's
                        raise SandboxFailure(f"the sandbox worker died twice: {exc}") from None
                    return Outcome(RUNTIME_ERROR, f"killed the sandbox worker twice ({exc})"[:300], 0,
                                   time.monotonic() - start)
        raise AssertionError("unreachable")

    def _grade(self, language: Language, source: str, tests: list[dict], start: float) -> Outcome:
        name = language.source_name(source)
        if name is None:
            return Outcome(COMPILATION_ERROR, "no public class found to name the file (ExecEval's rule)", 0,
                           time.monotonic() - start)
        compile_start = time.monotonic()
        program, key, cached = self._compiled(language, name, source)
        compile_seconds = time.monotonic() - compile_start
        if not program.ok:
            return Outcome(COMPILATION_ERROR, _first_error(program.message), 0, time.monotonic() - start,
                           compile_seconds, cached)
        if self.installed != key:
            self._install(name, source, program, key)
        verdict, detail, ran = self._run_tests(language, name, tests)
        return Outcome(verdict, detail, ran, time.monotonic() - start, compile_seconds, cached)

    def _run_tests(self, language: Language, name: str, tests: list[dict]) -> tuple[str, str, int]:
        limit = language.time_limit_s
        request = {"op": "run", "argv": language.run_argv(name, self._program_dir()), "limits": language.limits,
                   "cpu_seconds": limit, "wall_limit": wall_backstop(limit), "stdout_limit": OUTPUT_LIMIT}
        for number, test in enumerate(tests, 1):
            stdin = crlf_to_lf(test["input"]).encode("utf-8")
            worker = self._worker()
            self.running = True
            reply, (stdout, stderr) = worker.request(request, [stdin], wall_backstop(limit) + 60)
            self.running = False
            if not reply["started"]:
                raise SandboxFailure(f"the program could not be started: {reply['detail']}")
            facts = RunFacts(reply["exit"], reply["signal"], reply["cpu"], reply["wall"], reply["wall_killed"],
                             stdout, stderr, reply["stdout_overflow"])
            verdict, detail = run_verdict(facts, list(test["output"]), limit)
            if verdict != PASSED:
                return verdict, f"test {number}: {detail}", number
        return PASSED, "", len(tests)

    def _program_dir(self) -> str:
        return os.path.join(self._worker().info.get("tmp_root") or "/tmp", "program")

    def _install(self, name: str, source: str, program: CompiledProgram, key: str) -> None:
        names = [name, *program.files]
        blobs = [source.encode("utf-8", "surrogatepass"), *program.files.values()]
        executable = [n for n in program.files if n.endswith(".out")]
        self._worker().request({"op": "install", "files": names, "executable": executable}, blobs)
        self.installed = key

    # ---- compilation ------------------------------------------------------------------------------
    def _compile_argv(self, language: Language, name: str, source: str) -> list[str]:
        header = None
        if language.key == "cpp" and self.pool.pch_dir() is not None and pch.eligible(source):
            header = f"{PCH_INSIDE}/{self.pool.pch_dir().name}/{pch.HEADER}" if self.pool.bwrap else \
                str(self.pool.pch_dir() / pch.HEADER)
        return language.compile_argv(name, self._program_dir(), header)

    def _compiled(self, language: Language, name: str, source: str) -> tuple[CompiledProgram, str, bool]:
        """(program, cache key, from the cache?)."""
        plain = language.compile_argv(name, "{dir}")  # the key names ExecEval's command, whichever way we run it
        key = compile_key(language.key, self.pool.toolchain(language.key).identity, plain, name, source)
        program = self.pool.cache.get(key)
        if program is not None:
            return program, key, True
        program, timed_out = None, False
        if language.key == "java":
            program, timed_out = self._compile_javac_server(name, source)
        if program is None and not timed_out:
            program, timed_out = self._compile_in_worker(language, name, source)
            self.installed = key if program.ok else None
        if not timed_out:
            self.pool.cache.put(key, program)
        return program, key, False

    def _compile_in_worker(self, language: Language, name: str, source: str) -> tuple[CompiledProgram, bool]:
        worker = self._worker()
        worker.request({"op": "install", "files": [name]}, [source.encode("utf-8", "surrogatepass")])
        self.installed = None
        exact = [os.path.splitext(name)[0] + ext for ext in (".out", ".exe")]
        request = {"op": "compile", "argv": self._compile_argv(language, name, source), "source": name,
                   "limits": COMPILE_LIMITS, "cpu_seconds": COMPILE_CPU_S, "timeout": COMPILE_TIMEOUT_S,
                   "keep_exact": [p for p in exact if language.keeps(name, p)],
                   "keep_suffix": [".class"] if language.key == "java" else []}
        reply, blobs = worker.request(request, (), COMPILE_TIMEOUT_S + 120)
        if not reply["started"]:
            raise SandboxFailure(f"the compiler could not be started: {reply['detail']}")
        message = _message(blobs[0], blobs[1])
        if reply["wall_killed"]:
            return CompiledProgram(False, f"compilation timed out after {COMPILE_TIMEOUT_S:g} s"), True
        files = dict(zip(reply["files"], blobs[2:]))
        return CompiledProgram(reply["exit"] == 0, message, files if reply["exit"] == 0 else {}), False

    def _compile_javac_server(self, name: str, source: str) -> tuple[CompiledProgram | None, bool]:
        """Through the warm javac; (None, False) when it is not available (the caller runs javac instead)."""
        server = self._javac()
        if server is None:
            return None, False
        args = [*JAVA_COMPILE_FLAGS, "-d", "{dir}"]
        start = time.monotonic()
        try:
            code, diagnostics, files = server.compile(args, name, source.encode("utf-8", "surrogatepass"),
                                                      COMPILE_TIMEOUT_S)
        except WorkerDied:
            self.close_javac()
            if time.monotonic() - start >= COMPILE_TIMEOUT_S:
                return CompiledProgram(False, f"compilation timed out after {COMPILE_TIMEOUT_S:g} s"), True
            return None, False  # it crashed: this one compiles with the javac command
        kept = {path: data for path, data in files.items() if path.endswith(".class")}
        return CompiledProgram(code == 0, diagnostics.decode("utf-8", "replace"), kept if code == 0 else {}), False
