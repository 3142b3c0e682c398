"""SAFIM's verdict for one task, in the order evaluate.py decides it (main loop, lines 67-91 at commit 6081d2e3).

1. No completion for the task: EMPTY, failed.
2. A task with unit tests (block, control): a completion ``==`` the ground truth is PASSED without running
   (`ground_truth_shortcut`); otherwise the program runs against the tests and the result is the list of
   per-test outcomes (ExecEval stops at the first failing test), passed when every one is PASSED.
3. A task without unit tests (api): EXACT_MATCH if `syntax_match`, else WRONG_ANSWER.
4. The EMPTY rule: a failed completion that is blank (``not completion.strip()``) is EMPTY.
5. The Python COMPILATION_ERROR rule: a failed Python completion whose whole program (``eval_prompt`` with the
   completion substituted) has a tree-sitter ERROR node is COMPILATION_ERROR. It comes after rule 4, so it
   overrides EMPTY; SAFIM's condition is ``"unit_tests" in problem`` (the key, present in every row, api
   included), so it applies to the api split too. It changes an outcome column, never the pass rate.

SAFIM's loop reads the previous task's completion in rules 4 and 5 when a task has none (a stale variable; a
NameError when the first task has none); here a missing completion is simply EMPTY.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from infill.benchmarks.safim.grammars import check_language
from infill.benchmarks.safim.matching import ground_truth_shortcut, syntax_match
from infill.benchmarks.safim.program import assemble_program
from infill.benchmarks.safim.syntax_tree import parses_cleanly
from infill.errors import InfillUsageError
from infill.grading.exec_outcomes import EXEC_OUTCOMES

# ExecEval's per-test outcomes (exec_utils.py ExecOutcome), in its order
PASSED, WRONG_ANSWER, TIME_LIMIT_EXCEEDED, RUNTIME_ERROR, COMPILATION_ERROR, MEMORY_LIMIT_EXCEEDED = EXEC_OUTCOMES
EXACT_MATCH = "EXACT_MATCH"
EMPTY = "EMPTY"
MIXED = "MIXED"

RunTests = Callable[[str], Sequence[str]]     # program -> per-test ExecEval outcomes


@dataclass(frozen=True)
class SafimVerdict:
    passed: bool
    result: str | tuple[str, ...]     # one outcome name, or the per-test outcomes of a run


def is_empty_failure(completion: str, passed: bool) -> bool:
    """The EMPTY rule: a blank completion (only whitespace, or nothing) that did not pass."""
    return not completion.strip() and not passed


def is_python_compilation_error(completion: str, passed: bool, *, lang: str, eval_prompt: str) -> bool:
    """The COMPILATION_ERROR rule: a failed Python completion whose program tree-sitter cannot parse cleanly."""
    if check_language(lang) != "python" or passed:
        return False
    return not parses_cleanly(assemble_program(eval_prompt, completion), "python")


def _run(run_tests: RunTests | None, program: str) -> tuple[str, ...]:
    if run_tests is None:
        raise InfillUsageError("this SAFIM task has unit tests: give run_tests to grade a completion that is not "
                               "the ground truth")
    outcomes = tuple(run_tests(program))
    unknown = [o for o in outcomes if o not in EXEC_OUTCOMES]
    if not outcomes or unknown:
        raise InfillUsageError(f"run_tests must return at least one of {', '.join(EXEC_OUTCOMES)} per program; "
                               f"got {list(outcomes)[:5]}")
    return outcomes


def safim_verdict(completion: str | None, *, lang: str, eval_prompt: str, ground_truth: str,
                  has_unit_tests: bool, run_tests: RunTests | None = None) -> SafimVerdict:
    """SAFIM's verdict for one task (rules 1-5 in the module doc). `run_tests` is called only when a program
    must run: a task with unit tests whose completion is not the ground truth."""
    check_language(lang)
    if completion is None:
        return SafimVerdict(False, EMPTY)
    if has_unit_tests:
        if ground_truth_shortcut(completion, ground_truth):
            return SafimVerdict(True, PASSED)
        outcomes = _run(run_tests, assemble_program(eval_prompt, completion))
        passed, result = all(o == PASSED for o in outcomes), outcomes
    else:
        passed = syntax_match(completion, ground_truth, lang)
        result = EXACT_MATCH if passed else WRONG_ANSWER
    if is_empty_failure(completion, passed):
        result = EMPTY
    if is_python_compilation_error(completion, passed, lang=lang, eval_prompt=eval_prompt):
        result = COMPILATION_ERROR
    return SafimVerdict(passed, result)
