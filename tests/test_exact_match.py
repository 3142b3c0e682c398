import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infill.grading.exact_match import (
    EM_RULES,
    edit_similarity,
    first_line_exact_match,
    first_line_of_completion,
    full_exact_match,
    levenshtein,
    levenshtein_reference,
)

REPO = Path(__file__).resolve().parent.parent

CANONICAL = "        return False"


@pytest.mark.parametrize("completion, first_line, full", [
    ("        return False", True, True),
    ("return False", True, True),                                 # both rules strip
    ("\n        return False", True, True),                       # leading newline skipped / stripped
    (" \n        return False", True, True),                      # the " \n" variant of the first-line rule
    ("\n        return False\n\n\nprint(is_multiply_prime(30))", True, False),   # real deepseek output, task 0
    ("        return False\n    return True", True, False),
    ("  \n        return False", False, True),                    # only "\n" and " \n" are skipped
    ("\n\n        return False", False, True),                    # two blank lines: first line is empty
    ("", False, False),
    ("        return True", False, False),
])
def test_rules_disagree_where_documented(completion, first_line, full):
    assert first_line_exact_match(completion, CANONICAL) is first_line
    assert full_exact_match(completion, CANONICAL) is full


def test_first_line_of_completion():
    assert first_line_of_completion("a\nb") == "a"
    assert first_line_of_completion("\na\nb") == "a"
    assert first_line_of_completion(" \na") == "a"
    assert first_line_of_completion("\n") == ""


def test_levenshtein_and_edit_similarity():
    assert levenshtein("kitten", "sitting") == 3
    assert levenshtein("", "abc") == 3
    assert edit_similarity("x = 1", "x = 1") == 1.0
    assert edit_similarity("", "") == 1.0
    assert edit_similarity("", "abcd") == 0.0
    assert edit_similarity("abcd", "abce") == pytest.approx(0.75)
    # measured on the first-line line, like the EM rule
    assert edit_similarity("\nx = 1\nmore", "x = 1") == 1.0


def test_rules_are_registered_with_versions():
    assert set(EM_RULES) == {"first_line", "full"}
    assert all(rule.version.endswith("-v1") for rule in EM_RULES.values())
    assert EM_RULES["first_line"].function is first_line_exact_match


def _reference_similarity(completion: str, canonical: str) -> float:
    a, b = first_line_of_completion(completion).strip(), canonical.strip()
    longest = max(len(a), len(b))
    return 1.0 if longest == 0 else 1.0 - levenshtein_reference(a, b) / longest


def test_rapidfuzz_gives_the_reference_values_on_recorded_completions():
    """A sample (every 9th row of each recorded SantaCoder file) against the pure-Python dynamic programme:
    the very same floats, so edit-sim-v1 still names the values. (All 3129 rows were checked once.)"""
    paths = sorted(REPO.glob("infill/recorded/*/santacoder-fim_results.jsonl"))
    assert len(paths) >= 3
    checked = 0
    for path in paths:
        for row in [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()][::9]:
            completion = row.get("generated_code", row.get("completion"))
            canonical = row.get("canonical_solution", row.get("ground_truth_middle"))
            assert edit_similarity(completion, canonical) == _reference_similarity(completion, canonical), row
            checked += 1
    assert checked > 300


@pytest.mark.parametrize("a, b", [("kitten", "sitting"), ("", "abc"), ("\U0001f600x", "x\U0001f600"),
                                  ("bad \ud800", "bad \udc00"), ("é" * 70, "e" * 70), ("a" * 130, "b" * 65 + "a" * 65)])
def test_levenshtein_matches_the_reference(a, b):
    assert levenshtein(a, b) == levenshtein_reference(a, b)      # code points, astral and lone surrogates too


def test_a_50_mb_completion_is_graded_in_seconds():
    """The O(n*m) pure-Python programme would take hours on this; run in a child so a regression times out."""
    code = ("import time\nfrom infill.benchmarks import load_benchmark\nfrom infill.grading.match import ExactMatchGrader\n"
            "from infill.grading.exact_match import EM_RULES\n"
            "sample = load_benchmark('santacoder-fim-py').samples[0]\n"
            "completion = ('x = ' + 'y' * (50 << 20)) + '\\nmore'\n"
            "start = time.perf_counter()\nverdict = ExactMatchGrader(EM_RULES['first_line']).grade(sample, completion)\n"
            "print(time.perf_counter() - start, verdict.status, verdict.metrics['edit_similarity'])\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env,
                             cwd=REPO, check=True).stdout.split()
    except subprocess.TimeoutExpired:
        pytest.fail("grading a 50 MB completion took over 60 s")
    seconds, status, similarity = float(out[0]), out[1], float(out[2])
    assert seconds < 10 and status == "mismatch" and similarity == 0.0, out   # 1 - ~50e6/50e6, rounded to 6 places
