"""The grader checked against the datasets themselves: every canonical solution passes, and completions that
break the program or leave before the tests finish never do. Single-line runs in every test run; the three
larger splits are marked slow (CI runs them)."""

import json

import pytest

from infill.benchmarks import load_benchmark
from infill.benchmarks.humaneval import humaneval_program
from infill.grading.execution import PASSED, SandboxConfig, SandboxPool
from infill.sources.replay.files import RECORDED_DIR


@pytest.fixture(scope="module")
def pool():
    with SandboxPool(SandboxConfig()) as pool:
        yield pool


def passing(pool, benchmark, completion_of) -> set[str]:
    samples = load_benchmark(benchmark).samples
    results = pool.run_many([humaneval_program(s.prefix, completion_of(s), s.suffix, s.test, s.entry_point)
                             for s in samples])
    sandbox_errors = [r for r in results if r.status == "sandbox_error"]
    assert not sandbox_errors, sandbox_errors[:3]
    return {s.sample_id for s, r in zip(samples, results) if r.status == PASSED}


def indentation(sample) -> str:
    return sample.canonical[: len(sample.canonical) - len(sample.canonical.lstrip())]


def test_single_line_canonical_solutions_all_pass(pool):
    assert len(passing(pool, "humaneval-single-line", lambda s: s.canonical)) == 1033


@pytest.mark.slow
@pytest.mark.parametrize("split, size", [("humaneval-multi-line", 5815), ("humaneval-random-span", 1640),
                                             ("humaneval-random-span-light", 164)])
def test_other_splits_canonical_solutions_all_pass(pool, split, size):
    assert len(passing(pool, split, lambda s: s.canonical)) == size


def test_missing_trailing_newline_breaks_most_single_line_programs(pool):
    # Documented figure (shared/docs/evaluation-rules.md): 460/1033 pass without the trailing "\n".
    assert len(passing(pool, "humaneval-single-line", lambda s: s.canonical.rstrip("\n"))) == 460


def test_empty_completions_fail_except_where_the_line_is_redundant(pool):
    empty = passing(pool, "humaneval-single-line", lambda s: "")
    # A line whose removal leaves a correct program (e.g. a redundant assignment) may pass empty; such lines are
    # few. Measured here: 27 of 1033.
    assert len(empty) == 27


def test_exit_before_tests_complete_never_passes(pool):
    """Replace the hole's line with an exit. It may pass only where the line is never executed by the tests,
    which is exactly where an `assert False` in its place passes too."""
    def replaced_by(statement):
        return lambda s: indentation(s) + statement + "\n"
    unreachable = passing(pool, "humaneval-single-line", replaced_by("raise AssertionError('reached')"))
    assert len(unreachable) == 16                                   # measured
    for statement in ("import os; os._exit(0)", "import sys; sys.exit(0)", "raise SystemExit",
                      "import os, signal; os.kill(os.getppid(), signal.SIGKILL)"):
        exits = passing(pool, "humaneval-single-line", replaced_by(statement))
        assert exits <= unreachable, (statement, sorted(exits - unreachable)[:5])
    # os._exit cannot be caught: it passes only on lines that are really unreachable (13); SystemExit can be
    # caught by a bare `except:` in the program (HumanEval/124), which is the program's own behaviour.
    assert len(passing(pool, "humaneval-single-line", replaced_by("import os; os._exit(0)"))) == 13


def test_verdicts_agree_with_the_recorded_harness(pool):
    """The open-dcoder recording carries the original harness's verdict per task."""
    rows = [json.loads(line) for line in open(RECORDED_DIR / "open-dcoder-0.5B" / "humaneval_infill_results.jsonl")]
    recorded = {r["task_id"]: r["passed"] for r in rows}
    completion = {r["task_id"]: r["completion"] for r in rows}
    ours = passing(pool, "humaneval-single-line", lambda s: completion[s.sample_id])
    disagreements = sorted(t for t, passed in recorded.items() if passed != (t in ours))
    assert disagreements == []
    assert len(ours) == 790
