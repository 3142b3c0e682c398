"""The pytest plugin: one parametrized case per (model, sample), its fixtures and its outcome.

Options and the session built from them: `infill.options`; records, report and gates: `infill.collector`.

Flow inside pytest: `pytest_generate_tests` parametrizes the suite's test functions over the selected models and
samples; the test body looks its completion up, grades it and records the outcome through `record_property`
(so records reach the controller under pytest-xdist too); `pytest_sessionfinish` on the controller writes the
report. A correct completion passes, a wrong one is an expected outcome (xfail with the reason), an
infrastructure fault is an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from infill.benchmarks import BenchmarkData, Sample, load_benchmark
from infill.collector import CASE_PROPERTY, GATES, STOPPED, ReportCollector
from infill.errors import InfillUsageError
from infill.gates import GateSet, load_gates
from infill.grading.grader import Verdict
from infill.options import (DEFAULT_REPORT_DIR, SESSION, SessionHolder, add_options, report_dir,
                            usage_exit)
from infill.records import RECORD_PROPERTY, make_record
from infill.report import check_report_dir
from infill.session import InfillSession


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """Under `-n N` without an explicit --dist, use loadgroup: every case of one (model, benchmark) runs on one
    worker, so that its prefetch/batching is not repeated on each worker. (Not in addopts: pytest-benchmark
    switches itself off whenever --dist is set, even without -n.)"""
    if getattr(config.option, "numprocesses", None) and getattr(config.option, "dist", "no") == "no":
        config.option.dist = "loadgroup"


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Under loadgroup (our default with -n), one worker per model group (see infill.scheduling)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from infill.scheduling import case_model, make_group_scheduler
    session = config.stash[SESSION].get()

    def group_of(nodeid: str) -> str | None:
        model = case_model(nodeid, session.sources)
        return f"infill-model-group:{session.worker_group(model)}" if model else None
    return make_group_scheduler(config, log, group_of)


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):      # an xdist worker: its own GPU, before anything initialises CUDA
        from infill.devices import pin_worker_to_gpu
        pin_worker_to_gpu(config.workerinput["workerid"])
    config.addinivalue_line("markers", "infill(family): a benchmark case test, parametrized over models and samples "
                                       "of that benchmark family")
    config.addinivalue_line("markers", "slow: slow test (runs in CI; deselect with -m 'not slow')")
    config.addinivalue_line("markers", "timing: a pytest-benchmark timing; runs with --infill-timings")
    config.stash[SESSION] = SessionHolder(config)
    config.pluginmanager.register(ReportCollector(config), "infill-report-collector")
    if config.pluginmanager.hasplugin("benchmark"):   # pytest-benchmark: GPU/torch fields in its machine_info
        from infill import timings
        config.pluginmanager.register(timings, "infill-timings")


def load_gates_option(config: pytest.Config) -> GateSet | None:
    """--infill-gates is relative to where pytest was started; the ini key to the ini file's folder."""
    value, base = config.getoption("infill_gates"), config.invocation_params.dir
    if value is None:
        value = config.getini("infill_gates") or None
        base = config.inipath.parent if config.inipath else config.rootpath
    if not value:
        return None
    path = Path(value)
    return load_gates(path if path.is_absolute() else base / path)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Validate the options and read replay files before anything runs: bad input stops the run here with one
    line and exit code 2, not as a collection error per test module."""
    if not hasattr(session.config, "workerinput"):      # gates and the report folder: the controller's
        try:
            session.config.stash[GATES] = load_gates_option(session.config)   # first: cheap, fails fast
            # an unwritable report folder stops the run now, not after hours of generation and grading
            check_report_dir(report_dir(session.config, DEFAULT_REPORT_DIR))
        except InfillUsageError as error:
            usage_exit(error, at_session_start=True)
    session.config.stash[SESSION].get(at_session_start=True)


@dataclass(frozen=True)
class Case:
    model: str
    benchmark: str
    index: int


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("infill")
    if marker is None or "case" not in metafunc.fixturenames:
        return
    family = marker.kwargs["family"]
    session = metafunc.config.stash[SESSION].get()
    # No xdist_group marks: where xdist can apply them (pytest < 9.2) they append "@group" to the node id, which
    # infill.scheduling, the one place that groups cases by model, would then no longer read.
    params = []
    for model, benchmark, samples in session.plan(family):
        for sample in samples:
            params.append(pytest.param(Case(model, benchmark, sample.index), id=f"{model}-{sample.sample_id}"))
    metafunc.parametrize("case", params, indirect=True)  # the `case` fixture turns it into a CaseView


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run_timings = config.getoption("--infill-timings")
    for item in items:
        case = getattr(item, "callspec", None) and item.callspec.params.get("case")
        if isinstance(case, Case):
            item.extra_keyword_matches.update({case.benchmark, case.model})  # so -k selects on them
        if item.get_closest_marker("timing") and not run_timings:
            item.add_marker(pytest.mark.skip(reason="timing benchmark: run with --infill-timings"))


def pytest_collection_finish(session: pytest.Session) -> None:
    holder = session.config.stash[SESSION]
    if holder.session is not None:
        holder.session.selected_cases = [i.callspec.params["case"] for i in session.items
                                         if isinstance(getattr(i, "callspec", None) and
                                                       i.callspec.params.get("case"), Case)]


@dataclass(repr=False)
class CaseView:
    """What a test body sees: the sample and the model, plus the group key used for prefetching."""
    model: str
    sample: Sample
    data: BenchmarkData

    def __repr__(self) -> str:
        return f"CaseView({self.model!r}, {self.sample.sample_id!r})"

    @property
    def group(self) -> tuple[str, str]:
        return self.model, self.sample.benchmark


@pytest.fixture
def case(request: pytest.FixtureRequest) -> CaseView:
    raw: Case = request.param
    data = load_benchmark(raw.benchmark)
    request.node.user_properties.append((CASE_PROPERTY, [raw.benchmark, raw.model, raw.index]))
    return CaseView(raw.model, data.samples[raw.index], data)


@pytest.fixture(scope="session")
def infill_session(request: pytest.FixtureRequest) -> InfillSession:
    session = request.config.stash[SESSION].get()
    yield session
    session.close()


@pytest.fixture
def completions(infill_session: InfillSession):
    return infill_session.completions


@pytest.fixture
def grader(infill_session: InfillSession):
    return infill_session.grading


@pytest.fixture
def record(request: pytest.FixtureRequest, infill_session: InfillSession):
    def record_outcome(case: CaseView, completion: str | None, verdict: Verdict) -> None:
        source = infill_session.sources[case.model]
        entry = make_record(case.model, source.kind, case.sample, case.data.sha256, completion, verdict)
        entry.update(source.record_extras(case.sample))
        request.node.user_properties.append((RECORD_PROPERTY, entry))
    return record_outcome


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """What only shows once a case runs (a model out of memory at batch size 1, weights that fail to load) stops
    the run with one line and exit code 2, as at the start, instead of failing every later case the same way;
    the report written at the end says INCOMPLETE and why."""
    try:
        return (yield)
    except InfillUsageError as error:
        if item.get_closest_marker("infill") is None:      # a unit test's own failure stays a test failure
            raise
        item.config.stash[STOPPED] = str(error)
        usage_exit(error)


def conclude(verdict: Verdict) -> None:
    """Correct: pass. Wrong: xfail with the reason. Infrastructure fault: error, never the model's failure."""
    if verdict.correct:
        return
    if verdict.infrastructure_fault:
        pytest.fail(f"sandbox error (an infrastructure fault, not the model's failure): {verdict.detail}",
                    pytrace=False)
    reason = f"{verdict.status}: {verdict.detail}" if verdict.detail else verdict.status
    # pytrace=False: a wrong completion is an outcome, not a bug; no traceback to format (thousands of them)
    raise pytest.xfail.Exception(reason, pytrace=False)
