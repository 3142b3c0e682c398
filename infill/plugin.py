"""The pytest plugin: options, one parametrized case per (model, sample), result collection, report.

Flow inside pytest: `pytest_generate_tests` parametrizes the suite's test functions over the selected models and
samples; the test body looks its completion up, grades it and records the outcome through `record_property`
(so records reach the controller under pytest-xdist too); `pytest_sessionfinish` on the controller writes the
report. A correct completion passes, a wrong one is an expected outcome (xfail with the reason), an
infrastructure fault is an error.
"""

from __future__ import annotations

import contextlib
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from infill.benchmarks import BenchmarkData, Sample, load_benchmark
from infill.errors import InfillUsageError
from infill.gates import GateSet, evaluate_gates, load_gates, terminal_lines
from infill.grading.grader import Verdict
from infill.records import RECORD_PROPERTY, make_record, record_key, summarize
from infill.report import check_report_dir
from infill.session import InfillSession

CASE_PROPERTY = "infill_case"
DEFAULT_REPORT_DIR = Path("reports") / "latest"
TIMINGS_REPORT_DIR = Path("reports") / "timings"        # default when a run has timings and no benchmark case

OPTIONS = [  # (name, ini/dest, help, default); every option also reads an ini key of the same name
    ("--infill-replay", "infill_replay", "MODEL=PATH (or MODEL:BENCHMARK=PATH): grade recorded generations; "
     "PATH is a generations file or a folder of them; repeatable", None),
    ("--infill-models", "infill_models", "comma-separated models to run: replayed ones, the embedded recorded "
     "ones, or 'canonical' (the ground truth, a grader self-check)", None),
    ("--infill-benchmarks", "infill_benchmarks", "comma-separated benchmarks or groups (humaneval, santacoder, "
     "all); default: what the selected models have", None),
    ("--infill-limit", "infill_limit", "grade only the first N samples of each benchmark", None),
    ("--infill-report-dir", "infill_report_dir", f"where report.md, summary.json, samples.jsonl go "
     f"(default {DEFAULT_REPORT_DIR})", None),
    ("--infill-em-rule", "infill_em_rule", "exact-match rule that decides pass/xfail on SantaCoder-FIM: "
     "first_line or full (both are always reported)", "first_line"),
    ("--infill-timeout", "infill_timeout", "seconds per HumanEval-Infill program (reference: 3.0)", "3.0"),
    ("--infill-workers", "infill_workers", "sandbox worker processes (default: CPU count)", "0"),
    ("--infill-isolation", "infill_isolation", "auto, bwrap or rlimits", "auto"),
    ("--infill-profile", "infill_profile", "paper (published setups, real weights) or tiny (shipped smoke models on "
     "CPU); default: paper with a GPU, tiny without", None),
    ("--infill-temperature", "infill_temperature", "sampling temperature for live models (0: greedy)", None),
    ("--infill-top-p", "infill_top_p", "nucleus sampling threshold for live models", None),
    ("--infill-max-new-tokens", "infill_max_new_tokens", "new tokens per completion for AR models", None),
    ("--infill-seed", "infill_seed", "seed; each sample has its own random stream derived from it", None),
    ("--infill-batch-size", "infill_batch_size", "generation batch size (halved on out-of-memory)", None),
    ("--infill-steps", "infill_steps", "diffusion steps (paper: 64)", None),
    ("--infill-alg", "infill_alg", "diffusion algorithm: p2, p2_remask, maskgit_plus, topk_margin, entropy, origin",
     None),
    ("--infill-alg-temp", "infill_alg_temp", "diffusion selection temperature (Gumbel-top-k when > 0)", None),
    ("--infill-length-policies", "infill_length_policies", "diffusion canvas lengths, comma-separated: oracle, "
     "fixed:N, confidence[:L1,...] (default: oracle,confidence); each is its own MODEL/POLICY row", None),
    ("--infill-postprocess", "infill_postprocess", "none or first_line (overrides the profile)", None),
    ("--infill-dtype", "infill_dtype", "float32, bfloat16 or float16 (default: bf16 on GPU, fp32 on CPU)", None),
    ("--infill-cache-dir", "infill_cache_dir", "generation cache folder (default .infill-cache)", None),
    ("--infill-ensemble", "infill_ensemble", "NAME=MODEL+MODEL[+...]: a perplexity ensemble of these models "
     "(a diffusion member names its length policy, e.g. tiny-qwen2-diffusion/oracle); repeatable", None),
    ("--infill-ensemble-scorer", "infill_ensemble_scorer", "SCORER:MODEL[+SCORER:MODEL]: what ranks the "
     "ensemble's candidates; scorers ar_plain (published), ar_fim, diffusion (default: the profile's)", None),
    ("--infill-ensemble-combine", "infill_ensemble_combine", "how several scorers' perplexities combine: min, "
     "mean, harmonic", "min"),
    ("--infill-ensemble-strategies", "infill_ensemble_strategies", "comma-separated strategies, each its own row "
     "NAME/STRATEGY: lowest-perplexity (published), calibrated, routed, oracle (an upper bound)", None),
    ("--infill-gates", "infill_gates", "TOML file of regression gates (thresholds per benchmark, model and metric; "
     "see infill/gates.py and gates/); checked after the report, a failing gate exits 1", None),
]
FLAGS = [("--infill-no-cache", "infill_no_cache", "generate without reading or writing the cache"),
         ("--infill-refresh-cache", "infill_refresh_cache", "discard this run's cached generations and regenerate"),
         ("--infill-sequential-models", "infill_sequential_models", "hold one model in memory at a time "
          "(generate, free, load the next; for small GPUs)")]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("infill", "infill-bench")
    for name, dest, help_text, _ in OPTIONS:
        if name in ("--infill-replay", "--infill-ensemble"):
            group.addoption(name, dest=dest, action="append", default=None, help=help_text,
                            metavar="MODEL=PATH" if name == "--infill-replay" else "NAME=MODEL+MODEL")
            parser.addini(dest, help_text, type="linelist")
        else:
            group.addoption(name, dest=dest, default=None, help=help_text)
            parser.addini(dest, help_text)
    group.addoption("--infill-model-path", dest="infill_model_path", action="append", default=None,
                    metavar="NAME=DIR", help="load a registered model from this local folder; repeatable")
    parser.addini("infill_model_path", "NAME=DIR lines", type="linelist")
    for name, dest, help_text in FLAGS:
        group.addoption(name, dest=dest, action="store_true", default=None, help=help_text)
        parser.addini(dest, help_text, type="bool", default=False)
    group.addoption("--infill-timings", action="store_true", default=False,
                    help="run the timing benchmarks (pytest-benchmark) in bench_tests")
    group.addoption("--infill-shard", "--shard", dest="infill_shard", default=None, metavar="I/N",
                    help="run only shard I of N: a stable split of the selected samples (after --infill-limit) "
                         "by a hash of benchmark and sample id; merge the N reports with ./infill-bench merge")
    parser.addini("infill_shard", "I/N: run only this shard of the selected samples")


def option(config: pytest.Config, dest: str):
    """Command line first, then the ini key, then the built-in default."""
    value = config.getoption(dest)
    if value is None:
        value = config.getini(dest) or None
    if value is None:
        value = next((default for _, d, _, default in OPTIONS if d == dest), None)
    return value


class UsageExit(pytest.exit.Exception):
    """pytest.exit for a usage error. When it is raised in pytest_sessionstart, pytest itself writes
    `{type(exc).__name__}: {exc.msg}` to stderr; this class's name makes that line `infill-bench: error: ...`, the
    one line a user sees (a plain pytest.exit would add `Exit: ...` beside ours)."""


UsageExit.__name__ = UsageExit.__qualname__ = "infill-bench"
UsageExit.__module__ = "builtins"   # pytest's own `! ... !` line on stdout then reads `infill-bench: error: ...` too


def usage_exit(error: InfillUsageError, at_session_start: bool = False) -> None:
    """Stop the run: one line `infill-bench: error: ...` on stderr, exit code 2."""
    if not at_session_start:        # later on (a test, collection) pytest writes nothing to stderr: we do
        sys.stderr.write(f"infill-bench: error: {error}\n")
        sys.stderr.flush()
    raise UsageExit(f"error: {error}", returncode=2)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """Under `-n N` without an explicit --dist, use loadgroup: every case of one (model, benchmark) runs on one
    worker, so that its prefetch/batching is not repeated on each worker. (Not in addopts: pytest-benchmark
    switches itself off whenever --dist is set, even without -n.)"""
    if getattr(config.option, "numprocesses", None) and getattr(config.option, "dist", "no") == "no":
        config.option.dist = "loadgroup"


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


@dataclass
class SessionHolder:
    """Builds the InfillSession on first use, so that runs without benchmark cases (tests/) pay nothing."""
    config: pytest.Config
    session: InfillSession | None = None

    def get(self, at_session_start: bool = False) -> InfillSession:
        if self.session is None:
            try:
                self.session = InfillSession.from_options(lambda dest: option(self.config, dest),
                                                          self.config.rootpath, progress=self.progress)
            except InfillUsageError as error:
                usage_exit(error, at_session_start)
        return self.session

    def progress(self, message: str) -> None:
        """Generation progress, shown live even while pytest captures the test's output."""
        capture = self.config.pluginmanager.getplugin("capturemanager")
        reporter = self.config.pluginmanager.getplugin("terminalreporter")
        if reporter is None or hasattr(self.config, "workerinput"):
            return
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            reporter.write_line(f"[infill] {message}")


SESSION = pytest.StashKey[SessionHolder]()
GATES = pytest.StashKey["GateSet | None"]()


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


def report_dir(config: pytest.Config, default: Path) -> Path:
    """--infill-report-dir (relative to where pytest was started), else `default`."""
    directory = Path(option(config, "infill_report_dir") or default)
    return directory if directory.is_absolute() else config.invocation_params.dir / directory


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


def xdist_group_for(model: str, session: InfillSession) -> str:
    """The xdist_group (under --dist loadgroup, one worker per group) of a model's cases: its root name, so that
    a diffusion model's MODEL/POLICY rows and all benchmarks of a model run on one worker, which loads it once;
    an ensemble joins its members' group (it needs their completions, so they are generated once, there)."""
    return session.worker_group(model)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("infill")
    if marker is None or "case" not in metafunc.fixturenames:
        return
    family = marker.kwargs["family"]
    session = metafunc.config.stash[SESSION].get()
    params = []
    for model, benchmark, samples in session.plan(family):
        for sample in samples:
            params.append(pytest.param(Case(model, benchmark, sample.index), id=f"{model}-{sample.sample_id}",
                                       marks=pytest.mark.xdist_group(xdist_group_for(model, session))))
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


STOPPED = pytest.StashKey[str]()


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


# ---- controller side: collect records, write the report -------------------------------------------------------

class ReportCollector:
    """Registered on every process; only the controller (no xdist `workerinput`) writes artefacts."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.records: dict[tuple, dict] = {}
        self.expected: set[tuple] = set()
        self.started = time.time()
        self.written: tuple[Path, list[dict]] | None = None
        self.gate_outcomes: list | None = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name == CASE_PROPERTY and report.when == "setup":
                self.expected.add(tuple(value))
            elif name == RECORD_PROPERTY and report.when == "call":
                self.records[record_key(value)] = value

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        from infill.timings import session_timings
        timings = session_timings(self.config)      # pytest-benchmark rows (--infill-timings), own report key
        if hasattr(self.config, "workerinput") or not (self.expected or timings):
            return
        infill = self.config.stash[SESSION].get()
        records = list(self.records.values())
        not_graded = len(self.expected - {record_key(r) for r in records})
        reasons = []
        if self.config.stash.get(STOPPED, None):
            reasons.append(f"the run stopped: {self.config.stash[STOPPED]}")
        elif exitstatus == pytest.ExitCode.INTERRUPTED or session.shouldstop or session.shouldfail:
            reasons.append("the run was stopped before every selected sample was graded")
        if not_graded:
            reasons.append(f"{not_graded} selected samples produced no result (see the errors above)")
        context = infill.report_context(
            records, complete=not reasons, incomplete_reason="; ".join(reasons),
            command=shlex.join(["pytest", *self.config.invocation_params.args]),
            started=self.started, finished=time.time())
        context["timings"] = timings
        if not self.expected:
            context["notes"].append("Timings only: no benchmark case ran in this run (see Timings).")
        gates = self.config.stash.get(GATES, None)
        # Checked before writing, so that report.md and summary.json carry the outcomes (timings alone: nothing to gate)
        if gates is not None and self.expected:
            self.gate_outcomes = evaluate_gates(gates, summarize(records), records)
            context["gates"], context["gates_file"] = self.gate_outcomes, str(gates.path)
        # A run of timings alone does not replace the main job's report in reports/latest
        directory = report_dir(self.config, DEFAULT_REPORT_DIR if self.expected else TIMINGS_REPORT_DIR)
        try:
            results = infill.write(directory, records, context)
        except InfillUsageError as error:
            sys.stderr.write(f"infill-bench: error: {error}\n")
            session.exitstatus = pytest.ExitCode.USAGE_ERROR
            return
        self.written = (directory, results)
        # Only a failing gate turns a finished run red (xfailed samples never do); other failures keep their status.
        if self.gate_outcomes and not all(o.passed for o in self.gate_outcomes) \
                and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter) -> None:
        gates = self.config.stash.get(GATES, None)
        if gates is not None and not self.expected:     # e.g. `pytest tests` with the ini key set, or timings alone
            terminalreporter.write_line(f"infill-bench gates ({gates.path}): not checked, no benchmark case ran")
        if self.written is None:
            return
        directory, results = self.written
        terminalreporter.section("infill-bench")
        width = max([30] + [len(r["model"]) for r in results])
        for r in results:
            terminalreporter.write_line(f"{r['benchmark']:<28} {r['model']:<{width}} {r['metric']:<14} "
                                        f"{r['passed']:>5}/{r['n']:<5} = {100 * r['value']:6.2f}%")
        terminalreporter.write_line(f"report: {directory / 'report.md'}")
        if self.gate_outcomes is not None:
            for line in terminal_lines(self.gate_outcomes, gates.path):
                terminalreporter.write_line(line, red=line.startswith("FAIL"), green=line.startswith("PASS"))
            failed = sum(not o.passed for o in self.gate_outcomes)
            if failed:
                terminalreporter.write_line(f"infill-bench: {failed} of {len(self.gate_outcomes)} gates failed, so "
                                            f"the run fails (see {directory / 'report.md'}, section Gates)", red=True)
