"""ExecEval's comparison and verdict rules (infill/grading/multilang: compare.py, mpfr.py, verdicts.py, pch.py).

No sandbox here: the rules are pure functions. The number rule is checked against vectors recorded from gmpy2 2.1.5
(scripts/record_mpfr_vectors.py), the library ExecEval's image installed.
"""
from __future__ import annotations

import gzip
import json
import signal
from pathlib import Path

import pytest

from infill.grading.multilang import compare, mpfr, pch, verdicts
from infill.grading.multilang.languages import languages
from infill.grading.multilang.verdicts import (
    MEMORY_LIMIT_EXCEEDED,
    PASSED,
    RUNTIME_ERROR,
    TIME_LIMIT_EXCEEDED,
    WRONG_ANSWER,
    RunFacts,
    run_verdict,
)

VECTORS = Path(__file__).resolve().parent / "data" / "multilang" / "mpfr_vectors.json.gz"


@pytest.fixture(scope="module")
def vectors() -> dict:
    with gzip.open(VECTORS, "rt", encoding="utf-8") as f:
        return json.load(f)


# ---- numbers as gmpy2 2.1.5 reads them ------------------------------------------------------------
def test_vectors_come_from_gmpy2_2_1_5(vectors):
    assert vectors["gmpy2"] == "2.1.5" and len(vectors["parse"]) > 3000 and len(vectors["differ"]) > 4000


def test_parsing_matches_gmpy2(vectors):
    wrong = [(token, want, mpfr.canonical_form(mpfr.parse(token))) for token, want in vectors["parse"]
             if mpfr.canonical_form(mpfr.parse(token)) != want]
    assert not wrong, wrong[:10]


def test_differences_match_gmpy2(vectors):
    def emulated(a, b):
        x, y = mpfr.parse(a), mpfr.parse(b)
        return None if x is None or y is None else mpfr.differ(x, y)

    wrong = [(a, b, want) for a, b, want in vectors["differ"] if emulated(a, b) != want]
    assert not wrong, wrong[:10]


@pytest.mark.parametrize("token,number", [("1_000", 1000), ("_", 0), ("0x10", 16), ("0b101", 5), ("1e5", 1e5),
                                          ("0xa@2", 2560), ("-.5", -0.5)])
def test_gmpy2_quirks_read_as_numbers(token, number):
    value = mpfr.parse(token)
    assert value is not None and value.kind == "finite" and value.sign * value.m * 2.0 ** value.e == number


@pytest.mark.parametrize("token", ["0X10", "-0x10", "1e", "1,5", "5 ", "yes", "١", "nan(a-b)", "0x", "1e5e5"])
def test_not_numbers(token):
    assert mpfr.parse(token) is None


# ---- the line and token rules ------------------------------------------------------------------------
@pytest.mark.parametrize("expected,actual,accepted", [
    ("3", "3", True),
    ("1 2\n3 4", "1 2  \r\n 3 4", True),  # lines stripped (the \r with them)
    ("1 2\n3 4", "1 2 3 4", True),  # different lines, same tokens
    ("YES", "yes", True),
    ("Yes", "YES", True),
    ("True", "TRUE", True),
    ("Alice", "alice", False),  # only yes/no/true/false are case-free
    ("0.5", "0.500000000000", True),
    ("0.5", "0.5000000000009", True),
    ("0.5", "0.500000000001", True),  # 1e-12 away in decimal, not quite in binary
    ("0.5", "0.5000000000011", False),
    ("100000000000000000000", "1e20", True),
    ("nan", "5", True),  # a NaN difference compares false: ExecEval accepts it
    ("inf", "inf", True),  # inf - inf is NaN
    ("inf", "1e999999999999", True),  # gmpy2 reads an overflowing exponent as inf
    ("-inf", "inf", False),
    ("1 2", "1 2 3", False),
    ("", "", True),
    ("0", "_", True),  # gmpy2 drops underscores: "_" is 0
    ("16", "0x10", True),
    ("12345678901234567890123456789012345678901", "12345678901234567890123456789012345678900", True),  # 129 bits
    ("123456789012345678901234567", "123456789012345678901234568", False),
])
def test_validate_outputs(expected, actual, accepted):
    assert compare.validate_outputs(expected, actual) is accepted


def test_any_expected_output_accepts_and_crlf_is_converted():
    assert compare.output_accepted(["no", "1\r\n2"], b"1\n2\n")
    assert not compare.output_accepted(["no"], b"1\n2\n")


def test_stdout_is_decoded_dropping_bad_bytes_and_stripped():
    assert compare.output_accepted(["ab"], b"\n a\xffb \n")


# ---- the verdict of one run ----------------------------------------------------------------------------
def facts(exit_code=0, sig=None, cpu=0.1, wall=0.2, wall_killed=False, stdout=b"3\n", stderr=b"", overflow=False):
    return RunFacts(exit_code, sig, cpu, wall, wall_killed, stdout, stderr, overflow)


@pytest.mark.parametrize("run,verdict", [
    (facts(), PASSED),
    (facts(stdout=b"4"), WRONG_ANSWER),
    (facts(cpu=2.01), TIME_LIMIT_EXCEEDED),  # the right answer, too late
    (facts(sig=signal.SIGXCPU, exit_code=None), TIME_LIMIT_EXCEEDED),
    (facts(wall_killed=True, cpu=0.0), TIME_LIMIT_EXCEEDED),
    (facts(exit_code=1, stderr=b"Traceback ...\nZeroDivisionError: division by zero\n"), RUNTIME_ERROR),
    (facts(exit_code=1, stdout=b"3", stderr=b"x"), RUNTIME_ERROR),  # a right answer does not pass a crash
    (facts(exit_code=None, sig=signal.SIGABRT, stderr=b"terminate called after throwing an instance of "
                                                       b"'std::bad_alloc'"), MEMORY_LIMIT_EXCEEDED),
    (facts(exit_code=1, stderr=b'Exception in thread "main" java.lang.OutOfMemoryError: Java heap space'),
     MEMORY_LIMIT_EXCEEDED),
    (facts(exit_code=1, stderr=b"MemoryError\n"), MEMORY_LIMIT_EXCEEDED),
    (facts(exit_code=1, stderr=b"System.OutOfMemoryException: Insufficient memory"), MEMORY_LIMIT_EXCEEDED),
    (facts(exit_code=None, sig=signal.SIGSEGV), MEMORY_LIMIT_EXCEEDED),  # ExecEval: a silent crash
    (facts(exit_code=3), MEMORY_LIMIT_EXCEEDED),
    (facts(overflow=True), WRONG_ANSWER),
])
def test_verdict_rule(run, verdict):
    got, detail = run_verdict(run, ["3"], 2)
    assert got == verdict
    assert "\n" not in detail and (detail == "") == (verdict == PASSED)


def test_wall_backstop_is_longer_than_the_limit():
    assert verdicts.wall_backstop(2) > 2 and verdicts.wall_backstop(6) > 6


# ---- languages (ExecEval's facts) -----------------------------------------------------------------------
def test_limits_and_commands_follow_execeval():
    langs = languages()
    assert {k: v.time_limit_s for k, v in langs.items()} == {"cpp": 2, "java": 6, "csharp": 6, "python": 6}
    assert languages("pypy3")["python"].time_limit_s == 4
    assert langs["cpp"].limits["nofile"] == 0 and langs["java"].limits["nproc"] == 23
    assert langs["cpp"].compile_argv("test.cpp", "/d") == [
        "g++", "-fstack-protector-strong", "-D_FORTIFY_SOURCE=2", "-fstack-clash-protection", "-fcf-protection",
        "-std=c++17", "-s", "-x", "c++", "-O2", "-w", "-DONLINE_JUDGE", "-include", "limits.h", "-include",
        "math.h", "-static", "-lm", "test.cpp", "-o", "test.out"]
    assert langs["java"].run_argv("Main.java", "/d") == ["java", "-Xmx2147483648", "-cp", "/d", "Main"]
    assert langs["python"].run_argv("test.py", "/d") == ["python3", "-W", "ignore", "-OO", "-s", "-S", "/d/test.py"]


@pytest.mark.parametrize("source,name", [
    ("import java.util.*;\npublic class Main {\n}\n", "Main.java"),
    ("class A {}\npublic final class Solution extends A {\n}\n", "Solution.java"),
    ("public class Outer { public static class In {} }", "In.java"),  # greedy: the line's last class
    ("public class Outer {\n public static class In {} }", "Outer.java"),
    ("class Main { public static void main(String[] a) {} }", None),  # no 'public ... class X' then '{'
])
def test_java_file_is_named_by_execeval_regex(source, name):
    assert languages()["java"].source_name(source) == name


# ---- when the precompiled header may be used ----------------------------------------------------------
@pytest.mark.parametrize("source,ok", [
    ("#include <bits/stdc++.h>\nint main(){}", True),
    ("#include<bits/stdc++.h>\r\nint main(){}".replace("\r\n", "\n"), True),
    ("// a comment\n/* another\n */\n\n  #  include \"bits/stdc++.h\" // why\nint main(){}", True),
    ("#define int long long\n#include <bits/stdc++.h>\n", False),
    ("#pragma GCC optimize(\"O3\")\n#include <bits/stdc++.h>\n", False),
    ("#include <iostream>\n#include <bits/stdc++.h>\n", False),
    ("// comment continued \\\n#include <bits/stdc++.h>\n", False),
    ("\ufeff#include <bits/stdc++.h>\n", False),
    ("#include <bits/stdc++.h> /* x */\n", False),
    ("#import <bits/stdc++.h>\n", False),
])
def test_precompiled_header_eligibility(source, ok):
    assert pch.eligible(source) is ok
