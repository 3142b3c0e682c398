"""ExecEval's output comparison (``execution_engine.py: init_validate_outputs`` and ``unittest.py``), exactly.

A test's expected outputs (CRLF turned into LF, as ``ExtendedUnittest`` does) accept the program's stdout (decoded
as UTF-8 dropping undecodable bytes, then stripped) when any one of them validates against it:

1. line rule: both texts stripped and split on ``"\\n"`` give as many lines, equal once each line is stripped;
2. else the token rule: both split on whitespace give as many tokens, and each pair is equal as numbers
   (``gmpy2.mpfr(t, 129)``, ``abs(a - b) <= 1e-12`` rounded as gmpy2 does: see ``mpfr.py``) or, when either is no
   number, as strings after lowercasing the tokens yes/no/true/false.

Python's ``str.strip``/``str.split`` decide what whitespace is, as in ExecEval (itself Python).
"""
from __future__ import annotations

from infill.grading.multilang import mpfr

COMPARE_RULE_VERSION = "execeval-validate-outputs-1 (gmpy2 2.1.5 numbers)"
CASE_FREE_TOKENS = frozenset({"yes", "no", "true", "false"})


def crlf_to_lf(text: str) -> str:
    """ExecEval's ``convert_crlf_to_lf``, applied to sources, inputs and expected outputs."""
    return text.replace("\r\n", "\n")


def decode_stdout(stdout: bytes) -> str:
    """What ExecEval compares: ``outs.decode(errors="ignore").strip()``."""
    return stdout.decode("utf-8", errors="ignore").strip()


def lines_match(expected: str, actual: str) -> bool:
    """The line rule: same number of lines, each equal once stripped."""
    left, right = expected.strip().split("\n"), actual.strip().split("\n")
    return len(left) == len(right) and all(a.strip() == b.strip() for a, b in zip(left, right))


def tokens_match(expected: str, actual: str) -> bool:
    """The token rule: same number of whitespace-separated tokens, each pair equal as numbers or as words."""
    left, right = expected.strip().split(), actual.strip().split()
    if len(left) != len(right):
        return False
    for a, b in zip(left, right):
        x, y = mpfr.parse(a), mpfr.parse(b)
        if x is not None and y is not None:
            if mpfr.differ(x, y):
                return False
            continue
        a = a.lower() if a.lower() in CASE_FREE_TOKENS else a
        b = b.lower() if b.lower() in CASE_FREE_TOKENS else b
        if a != b:
            return False
    return True


def validate_outputs(expected: str, actual: str) -> bool:
    """ExecEval's ``validate_outputs(output1=expected, output2=actual)``."""
    return lines_match(expected, actual) or tokens_match(expected, actual)


def output_accepted(expected_outputs: list[str], stdout: bytes) -> bool:
    """Whether any expected output of a unit test accepts the program's raw stdout."""
    actual = decode_stdout(stdout)
    return any(validate_outputs(crlf_to_lf(expected), actual) for expected in expected_outputs)
