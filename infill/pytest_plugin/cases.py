"""What pytest does for every benchmark case, kept cheap: a cached rerun of the main job is tens of thousands of
cases whose own work is a dictionary read, so pytest's per-case machinery is the run's cost.

- A wrong completion ends its case with `pytest.xfail(reason)` raised without a traceback (`pytrace=False`), which
  pytest reports in its "value" style: the exception's message and nothing of the traceback. pytest still filters
  the whole traceback first (a path lookup per frame, milliseconds per case); `quick_repr_failure` asks for the same
  "value" report without that filtering, so the report is the same.
- The fixtures a case asks for take no argument (`run_fixtures`): pytest resolves a fixture's own arguments for
  every case even when its value is cached, and a `request` argument costs a signature inspection each time.
  `record` is one session-wide function that adds the record to the running case's properties (`Recorder`), not a
  function-scoped fixture built, set up and torn down for every case.
"""

from __future__ import annotations

import types

import pytest

from infill.reporting.records import RECORD_PROPERTY


def quick_repr_failure(item: pytest.Item):
    """`item.repr_failure`, with the traceback filter skipped where pytest shows none of the traceback."""
    original = item.repr_failure

    def repr_failure(excinfo, *args, **kwargs):
        value = excinfo.value
        if isinstance(value, pytest.fail.Exception) and not value.pytrace \
                and not item.config.getoption("fulltrace", False):
            return excinfo.getrepr(style="value", tbfilter=False)
        return original(excinfo, *args, **kwargs)
    return repr_failure


class Recorder:
    """record(outcome): the running case's record, sent to the controller with its reports (user_properties)."""

    def __init__(self):
        self.item: pytest.Item | None = None

    def __call__(self, outcome) -> None:
        self.item.user_properties.append((RECORD_PROPERTY, outcome.record))


RECORDER = pytest.StashKey[Recorder]()


def run_fixtures(config: pytest.Config) -> types.ModuleType:
    """The fixtures of benchmark cases, bound to this run's config (registered as a plugin of their own)."""
    from infill.pytest_plugin.options import RUN
    fixtures = types.ModuleType("infill_run_fixtures")
    recorder = config.stash.setdefault(RECORDER, Recorder())

    def infill_run():
        """The run (infill.run.session.BenchmarkRun), built on first use; closed at the end of the session."""
        run = config.stash[RUN].get()
        yield run
        run.close()

    def record():
        """record(outcome): the running case's record, sent to the controller with the test's report."""
        return recorder
    fixtures.infill_run = pytest.fixture(scope="session", name="infill_run")(infill_run)
    fixtures.record = pytest.fixture(scope="session", name="record")(record)
    return fixtures
