"""`--benchmark-compare-fail` (pytest-benchmark) failing as one line with exit code 1, not a traceback.

pytest-benchmark finds its regressions when the session finishes (`performance_regressions`, filled by its own
`pytest_sessionfinish` wrapper before the inner hooks run) and, in its terminal summary, logs them and raises
`PerformanceRegression`, which pytest prints as a 70-line internal traceback. It offers no hook for this, so this
plugin takes the list over in `pytest_sessionfinish` (pytest-benchmark then finds nothing to raise about), sets the
exit status to 1 (tests failed) unless the run already failed, and prints one line at the end of the terminal
summary naming each regressed benchmark, the field, the measured change and the threshold.
"""

from __future__ import annotations

import re

import pytest

MESSAGE = "infill-bench: performance regressed against the saved benchmark run (--benchmark-compare-fail): "


def describe(regressions: list[tuple[str, str]]) -> str:
    """One line: `name: Field 'median' has failed PercentageRegressionCheck: 1766.998049506 > 5.000000000` with
    its numbers in 4 significant digits, for each regression, separated by '; '."""
    shorten = lambda match: f"{float(match.group(0)):.4g}"
    parts = [f"{name}: " + re.sub(r"\d+\.\d+", shorten, str(fail)).replace("\n", " ") for name, fail in regressions]
    return MESSAGE + "; ".join(parts)


class RegressionReporter:
    """Registered only when pytest-benchmark is installed (infill.pytest_plugin.plugin)."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.regressions: list[tuple[str, str]] = []

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        benchmarks = getattr(self.config, "_benchmarksession", None)
        found = getattr(benchmarks, "performance_regressions", None)
        if not found:
            return
        self.regressions = list(found)
        found.clear()               # pytest-benchmark would log them and raise PerformanceRegression: said below
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.regressions:
            terminalreporter.write_line(describe(self.regressions), red=True)
