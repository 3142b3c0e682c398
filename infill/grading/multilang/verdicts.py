"""ExecEval's verdicts and its rule for one unit test's outcome (``execution_engine.py: check_output_match``).

The rule, in ExecEval's order, for a program run on one test's input:

1. over the time limit: TIME_LIMIT_EXCEEDED (output ignored);
2. exit status 0: PASSED if an expected output accepts stdout (``compare.py``), else WRONG_ANSWER;
3. a non-zero exit (or a signal) with something on stderr: RUNTIME_ERROR, or MEMORY_LIMIT_EXCEEDED when stderr
   mentions "out of memory", "bad_alloc", "bad alloc" or "memoryerror" (any case);
4. a non-zero exit with nothing on stderr: MEMORY_LIMIT_EXCEEDED (ExecEval's choice: e.g. a segfault).

Where we differ, and why:
- The time limit is on CPU time (the process's own and that of children it waited for), not wall time: ExecEval
  used ``communicate(timeout=limit)``, whose wall clock depends on how loaded the machine is, so a verdict would
  depend on the programs running beside it. A wall-clock backstop (``wall_backstop``) still ends a program that
  sleeps or blocks; it is longer than the limit, so an idle program that ExecEval would stop at the limit but
  that finishes before the backstop is graded on its output.
- Mono's out-of-memory message ("System.OutOfMemoryException: Insufficient memory ...") contains none of
  ExecEval's markers, so "outofmemoryexception" is one more marker: an unbounded C# allocation is
  MEMORY_LIMIT_EXCEEDED like the same program in C++, Java ("OutOfMemoryError") or Python ("MemoryError").
- Output beyond ``OUTPUT_LIMIT`` bytes is not kept (ExecEval keeps everything): such a run is WRONG_ANSWER.
"""
from __future__ import annotations

import signal
from dataclasses import dataclass

from infill.grading.exec_outcomes import (  # the verdict names, ExecEval's
    COMPILATION_ERROR,  # noqa: F401
    EXEC_OUTCOMES,
    MEMORY_LIMIT_EXCEEDED,
    PASSED,
    RUNTIME_ERROR,
    TIME_LIMIT_EXCEEDED,
    WRONG_ANSWER,
)
from infill.grading.multilang.compare import COMPARE_RULE_VERSION, decode_stdout, output_accepted

VERDICTS = EXEC_OUTCOMES

MEMORY_MARKERS = ("out of memory", "bad_alloc", "bad alloc", "memoryerror", "outofmemoryexception")
OUTPUT_LIMIT = 64 << 20
VERDICT_RULE_VERSION = ("execeval-outcome-1 (cpu-time limit, wall backstop 3x+2 s, +outofmemoryexception, "
                        f"64 MiB output; {COMPARE_RULE_VERSION})")


def wall_backstop(time_limit_s: float) -> float:
    """How long a program may take on the wall clock before it is stopped whatever its CPU time."""
    return 3 * time_limit_s + 2


@dataclass(frozen=True)
class RunFacts:
    """What the sandbox observed of one run: the verdict is decided from this alone."""
    exit_code: int | None  # None when a signal ended the program
    signal: int | None
    cpu_seconds: float
    wall_seconds: float
    wall_killed: bool  # stopped by the wall-clock backstop
    stdout: bytes
    stderr: bytes  # the first and last 64 KiB when longer
    stdout_overflow: bool  # more than OUTPUT_LIMIT bytes were written


def _one_line(text: str, limit: int = 160) -> str:
    return " ".join(text.split())[:limit]


def _stderr_line(stderr: bytes) -> str:
    lines = [line for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    return _one_line(lines[-1] if lines else "")


def _ended(facts: RunFacts) -> str:
    if facts.signal is not None:
        try:
            return f"killed by {signal.Signals(facts.signal).name}"
        except ValueError:
            return f"killed by signal {facts.signal}"
    return f"exit status {facts.exit_code}"


def run_verdict(facts: RunFacts, expected_outputs: list[str], time_limit_s: float) -> tuple[str, str]:
    """(verdict, one-line detail) of one run against one unit test's expected outputs."""
    if facts.wall_killed or facts.signal == signal.SIGXCPU or facts.cpu_seconds > time_limit_s:
        how = "stopped on the wall clock" if facts.wall_killed else "over the CPU limit"
        return TIME_LIMIT_EXCEEDED, f"{facts.cpu_seconds:.2f} s CPU, {facts.wall_seconds:.2f} s wall ({how}: {time_limit_s:g} s)"
    if facts.exit_code == 0:
        if facts.stdout_overflow:
            return WRONG_ANSWER, f"more than {OUTPUT_LIMIT >> 20} MiB of output"
        if output_accepted(expected_outputs, facts.stdout):
            return PASSED, ""
        got = _one_line(decode_stdout(facts.stdout), 80)
        want = _one_line(expected_outputs[0] if expected_outputs else "", 80)
        return WRONG_ANSWER, f"expected {want!r}, got {got!r}"
    if facts.stderr:
        lowered = facts.stderr.decode("utf-8", "ignore").lower()
        verdict = MEMORY_LIMIT_EXCEEDED if any(m in lowered for m in MEMORY_MARKERS) else RUNTIME_ERROR
        return verdict, f"{_ended(facts)}: {_stderr_line(facts.stderr)}"
    return MEMORY_LIMIT_EXCEEDED, f"{_ended(facts)} with nothing on stderr (ExecEval's rule)"
