"""The pytest plugin: maps benchmark cases onto the run (infill.run) and nothing more.

`pytest_generate_tests` parametrizes each `@pytest.mark.infill(kind=...)` test function over the run's plan for
that kind (one case per model and sample); the test body calls `infill_run.evaluate(case)`, records the outcome
with `record` (into the case's user_properties, so records reach the controller under pytest-xdist too; fixtures:
infill.pytest_plugin.cases) and concludes: a correct
completion passes, a wrong one is an expected outcome (xfail with the reason), an infrastructure fault is an error.
The controller writes the report at the end (infill.pytest_plugin.collector). Options: infill.pytest_plugin.options.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from infill.errors import InfillUsageError
from infill.grading.execution import printable
from infill.grading.verdict import Verdict
from infill.pytest_plugin.case_logging import CaseLogging, is_benchmark_case
from infill.pytest_plugin.cases import RECORDER, quick_repr_failure, run_fixtures
from infill.pytest_plugin.collector import (
    CASE_PROPERTY,
    GATES,
    STOPPED,
    ReportCollector,
)
from infill.pytest_plugin.kinds import check_test_functions, note_test_function
from infill.pytest_plugin.options import (
    RUN,
    RunHolder,
    add_options,
    project_root,
    report_dir,
    usage_exit,
)
from infill.pytest_plugin.progress import PROGRESS
from infill.pytest_plugin.progress_hooks import start_progress
from infill.run.session import Case

BENCHMARK_STORAGE_DEFAULT = "file://./.benchmarks"      # pytest-benchmark's --benchmark-storage default


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


@pytest.hookimpl(wrapper=True)
def pytest_cmdline_main(config: pytest.Config):
    """Under `-n N` without an explicit --dist, use loadgroup: every case of one model group runs on one worker
    (infill.pytest_plugin.scheduling). (Not in addopts: pytest-benchmark switches itself off whenever --dist is
    set, even without -n.) A wrapper, so that it runs before xdist's own tryfirst hook sets "load": which of two
    tryfirst hooks from entry points runs first depends on the order the plugins were loaded in."""
    if getattr(config.option, "numprocesses", None) and getattr(config.option, "dist", "no") == "no":
        config.option.dist = "loadgroup"
    return (yield)


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    if config.getvalue("dist") != "loadgroup":
        return None
    from infill.pytest_plugin.scheduling import case_model, make_group_scheduler
    run = config.stash[RUN].get()

    def group_of(nodeid: str) -> str | None:
        model = case_model(nodeid, run.sources)
        return f"infill-model-group:{run.worker_group(model)}" if model else None
    return make_group_scheduler(config, log, group_of)


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):      # an xdist worker: its own GPU, before anything initialises CUDA
        from infill.pytest_plugin.devices import pin_worker_to_gpu
        pin_worker_to_gpu(config.workerinput["workerid"])
    config.addinivalue_line("markers", "infill(kind): a benchmark case test, parametrized over models and samples "
                                       "of that benchmark kind")
    config.addinivalue_line("markers", "slow: slow test (runs in CI; deselect with -m 'not slow')")
    config.addinivalue_line("markers", "timing: a pytest-benchmark timing; runs with --infill-timings")
    config.stash[RUN] = RunHolder(config)
    config.pluginmanager.register(run_fixtures(config), "infill-run-fixtures")   # infill_run, record
    config.pluginmanager.register(CaseLogging(config), "infill-case-logging")    # no per-case log capture
    start_progress(config)
    if getattr(config.option, "benchmark_storage", None) == BENCHMARK_STORAGE_DEFAULT:
        # pytest-benchmark makes its folder where pytest was started, even when nothing is timed: the project's
        config.option.benchmark_storage = f"file://{project_root(config) / '.benchmarks'}"
    config.pluginmanager.register(ReportCollector(config), "infill-report-collector")
    if config.pluginmanager.hasplugin("benchmark"):   # pytest-benchmark: GPU/torch fields in its machine_info
        from infill.pytest_plugin import timings
        from infill.pytest_plugin.regressions import RegressionReporter
        config.pluginmanager.register(timings, "infill-timings")
        # --benchmark-compare-fail: one line and exit code 1 instead of pytest-benchmark's traceback
        config.pluginmanager.register(RegressionReporter(config), "infill-benchmark-regressions")


def load_gates_option(given: str | None):
    """--infill-gates, already resolved (relative to where pytest was started; the ini key to the ini file's
    folder: infill.pytest_plugin.options.resolved_path)."""
    from infill.reporting.gates import load_gates
    return load_gates(Path(given)) if given else None


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Validate the options before anything runs: bad input stops the run here with one line and exit code 2. The
    run itself (replay files read, models located) is built when the first benchmark test function is collected,
    so `pytest tests/...` never builds it; under xdist the controller builds it now, before workers start."""
    holder = session.config.stash[RUN]
    parsed = holder.run_config(at_session_start=True)
    if not hasattr(session.config, "workerinput"):      # gates and the report folder: the controller's
        from infill.reporting.report import check_report_dir
        try:
            session.config.stash[GATES] = load_gates_option(parsed.gates)   # cheap, fails fast
            # an unwritable report folder stops the run now, not after hours of generation and grading
            check_report_dir(report_dir(session.config, parsed.report_dir))
        except InfillUsageError as error:
            usage_exit(error, at_session_start=True)
        if getattr(session.config.option, "numprocesses", None):
            holder.get(at_session_start=True)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("infill")
    if marker is None or "case" not in metafunc.fixturenames:
        return
    kind = marker.kwargs.get("kind")
    run = metafunc.config.stash[RUN].get_while_collecting()
    if run is None:                 # a usage error: reported once collection is over
        return
    note_test_function(metafunc.config, kind)
    # No xdist_group marks: where xdist can apply them (pytest < 9.2) they append "@group" to the node id, which
    # infill.pytest_plugin.scheduling, the one place that groups cases by model, would then no longer read.
    params = [pytest.param(Case(model, benchmark, sample.index), id=f"{model}-{sample.sample_id}")
              for model, benchmark, samples in run.plan(kind) for sample in samples]
    metafunc.parametrize("case", params)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run_timings = config.getoption("--infill-timings")
    for item in items:
        if is_benchmark_case(item):
            case = item.callspec.params["case"]
            item.extra_keyword_matches.update({case.benchmark, case.model})  # so -k selects on them
            # every report of the case carries it, so a selected case that produced no record is known
            item.user_properties.append((CASE_PROPERTY, [case.benchmark, case.model, case.index]))
            item.repr_failure = quick_repr_failure(item)
        if item.get_closest_marker("timing") and not run_timings:
            item.add_marker(pytest.mark.skip(reason="timing benchmark: run with --infill-timings"))


def pytest_collection_finish(session: pytest.Session) -> None:
    holder = session.config.stash[RUN]
    holder.stop_if_failed()
    if holder.run is not None:
        check_test_functions(session.config, holder.run)
        try:
            holder.run.select([i.callspec.params["case"] for i in session.items if is_benchmark_case(i)],
                              holder.run_config().allow_partial_replay)
        except InfillUsageError as error:
            usage_exit(error, config=session.config)
        if not session.config.option.collectonly:
            holder.run.start_known_slow()
        if not hasattr(session.config, "workerinput"):
            for warning in holder.run.warnings:         # e.g. a language without its toolchain: said once, now
                session.config.stash[PROGRESS].update(f"warning: {warning}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """What only shows once a case runs (a model out of memory at batch size 1, weights that fail to load) stops
    the run with one line and exit code 2, as at the start, instead of failing every later case the same way;
    the report written at the end says INCOMPLETE and why."""
    item.config.stash[RECORDER].item = item          # whose record `record` adds
    try:
        return (yield)
    except InfillUsageError as error:
        if item.get_closest_marker("infill") is None:      # a unit test's own failure stays a test failure
            raise
        item.config.stash[STOPPED] = str(error)
        usage_exit(error, config=item.config)


def conclude(verdict: Verdict) -> None:
    """Correct: pass. Wrong: xfail with the reason. Infrastructure fault: error, never the model's failure."""
    if verdict.correct:
        return
    if verdict.infrastructure_fault:
        pytest.fail(f"sandbox error (an infrastructure fault, not the model's failure): {verdict.detail}",
                    pytrace=False)
    # printable: a detail quoting a program's output may hold escape sequences, which must not reach the terminal
    reason = printable(f"{verdict.status}: {verdict.detail}" if verdict.detail else verdict.status)
    # pytrace=False: a wrong completion is an outcome, not a bug; no traceback to format (thousands of them)
    raise pytest.xfail.Exception(reason, pytrace=False)
