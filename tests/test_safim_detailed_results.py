"""SAFIM's summary line (show_detailed_results.py) and the figures published in it, checked against the shipped
splits."""

from __future__ import annotations

import pytest

from infill.benchmarks.safim import (
    FAILURE_COLUMNS,
    PUBLISHED_ROWS,
    RATE_COLUMNS,
    SafimVerdict,
    detailed_results_row,
    failure_category,
)
from infill.benchmarks.safim.outcomes import EMPTY, EXACT_MATCH, MIXED, PASSED, RUNTIME_ERROR, WRONG_ANSWER
from infill.errors import InfillUsageError
from tests.safim_data import language_counts


def test_failure_category():
    assert failure_category(SafimVerdict(True, PASSED)) is None
    assert failure_category(SafimVerdict(False, EMPTY)) == EMPTY
    assert failure_category(SafimVerdict(False, (PASSED, WRONG_ANSWER, WRONG_ANSWER))) == WRONG_ANSWER
    assert failure_category(SafimVerdict(False, (RUNTIME_ERROR, WRONG_ANSWER))) == MIXED
    with pytest.raises(InfillUsageError):
        failure_category(SafimVerdict(False, (PASSED,)))


def _published_counts(row, split):
    counts = language_counts(split)
    passed = {}
    for column, rate in row.rates().items():
        total = sum(counts.values()) if column == "all" else counts[column]
        exact = rate * total / 100
        assert abs(exact - round(exact)) < 1e-4, (column, exact)     # a whole number of tasks on our data
        passed[column] = round(exact)
    return counts, passed


@pytest.mark.parametrize("published", PUBLISHED_ROWS, ids=lambda r: r.split)
def test_published_figures_fit_the_shipped_splits(published):
    counts, passed = _published_counts(published, published.split)
    assert sum(passed[lang] for lang in counts) == passed["all"]
    assert sum(published.failures().values()) == sum(counts.values()) - passed["all"]


@pytest.mark.parametrize("published", PUBLISHED_ROWS, ids=lambda r: r.split)
def test_detailed_results_row_reproduces_the_published_line(published):
    counts, passed = _published_counts(published, published.split)
    failures = [column for column, n in published.failures().items() for _ in range(n)]
    verdicts = []
    for lang in RATE_COLUMNS[:-1]:
        verdicts += [(lang, SafimVerdict(True, PASSED))] * passed[lang]
        for _ in range(counts[lang] - passed[lang]):
            column = failures.pop()
            result = (WRONG_ANSWER, RUNTIME_ERROR) if column == MIXED else column
            verdicts.append((lang, SafimVerdict(False, result)))
    name = published.line.split(",")[0]
    assert ",".join(detailed_results_row(name, verdicts)) == published.line
    assert len(FAILURE_COLUMNS) == 7


def test_detailed_results_row_without_a_language():
    row = detailed_results_row("x", [("python", SafimVerdict(True, EXACT_MATCH))])
    assert row == ["x", "n/a", "n/a", "100.000000", "n/a", "100.000000", "0", "0", "0", "0", "0", "0", "0"]
