"""The controller side of a run: collect every case's record (from xdist workers too), write the report, check the
gates, print the summary. Registered on every process; only the controller (no xdist `workerinput`) writes."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

import pytest

from infill.config.options import DEFAULT_REPORT_DIR, TIMINGS_REPORT_DIR
from infill.errors import InfillUsageError
from infill.pytest_plugin.options import RUN, report_dir
from infill.reporting.context import report_context, worker_view
from infill.reporting.gates import evaluate_gates, terminal_lines
from infill.reporting.records import RECORD_PROPERTY, record_key
from infill.reporting.report import prepare_report_dir, write_report
from infill.reporting.summary import summarize
from infill.run.shard import EMPTY_SHARD_NOTE

CASE_PROPERTY = "infill_case"          # (benchmark, model, index): each case adds it at setup, so "not graded" is known
GATES = pytest.StashKey["GateSet | None"]()    # --infill-gates, read at session start (infill.pytest_plugin.plugin)
STOPPED = pytest.StashKey[str]()               # why a case stopped the run (a usage error met mid-run)
WORKER_PROVENANCE = "infill_provenance"     # key in an xdist worker's workeroutput


def counted(result: dict) -> str:
    """What the figure counts: passed/n tasks, or with n samples per task the passing samples of all of them (pass@1,
    EM) or the tasks with at least one pass (pass@k)."""
    n_samples = result.get("n_samples", 1)
    if n_samples == 1:
        return f"{result['passed']:>5}/{result['n']:<5}"
    if result["metric"].startswith("pass@") and result["metric"] != "pass@1":
        return f"{result['passed']}/{result['n']} any"
    return f"{result['passed']}/{result['n']}x{n_samples}"


class ReportCollector:
    """Registered on every process; only the controller (no xdist `workerinput`) writes artefacts."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.records: dict[tuple, dict] = {}
        self.expected: set[tuple] = set()
        self.started = time.time()
        self.written: tuple[Path, list[dict]] | None = None
        self.gate_outcomes: list | None = None
        self.workers: list[dict] = []           # under xdist: each worker's infill.reporting.context.worker_view

    @pytest.hookimpl(trylast=True)
    def pytest_keyboard_interrupt(self, excinfo) -> None:
        """A usage error is already one line on stderr: keep pytest's terminal reporter from repeating it on stdout.
        The reporter shows every exit as an interruption through a private method, so that method is silenced on
        this reporter instance, for this exit only."""
        from infill.pytest_plugin.options import UsageExit
        reporter = self.config.pluginmanager.getplugin("terminalreporter")
        if isinstance(excinfo.value, UsageExit) and hasattr(reporter, "_report_keyboardinterrupt"):
            reporter._report_keyboardinterrupt = lambda: None

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error) -> None:
        info = getattr(node, "workeroutput", {}).get(WORKER_PROVENANCE)
        if info:
            self.workers.append({**info, "worker": getattr(node, "workerinput", {}).get("workerid", "")})

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name == CASE_PROPERTY and report.when == "setup":
                self.expected.add(tuple(value))
            elif name == RECORD_PROPERTY and report.when == "call":
                self.records[record_key(value)] = value

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        from infill.pytest_plugin.timings import session_timings
        timings = session_timings(self.config)      # pytest-benchmark rows (--infill-timings), own report key
        holder = self.config.stash[RUN]
        if hasattr(self.config, "workerinput"):
            if holder.run is not None and self.expected:    # what the controller cannot know: send it
                self.config.workeroutput[WORKER_PROVENANCE] = worker_view(holder.run)
            return
        # a shard whose stable split left it no sample still reports (empty), so that the merge finds all N
        empty_shard = holder.parsed is not None and holder.parsed.shard is not None and session.testscollected
        if not (self.expected or timings or empty_shard):
            return
        run = holder.get()
        records = list(self.records.values())
        not_graded = len(self.expected - {record_key(r) for r in records})
        reasons = []
        if self.config.stash.get(STOPPED, None):
            reasons.append(f"the run stopped: {self.config.stash[STOPPED]}")
        elif exitstatus == pytest.ExitCode.INTERRUPTED or session.shouldstop or session.shouldfail:
            reasons.append("the run was stopped before every selected sample was graded")
        if not_graded:
            reasons.append(f"{not_graded} selected samples produced no result (see the errors above)")
        context = report_context(
            run, self.config.rootpath, records, complete=not reasons, incomplete_reason="; ".join(reasons),
            command=shlex.join(["pytest", *self.config.invocation_params.args]),
            started=self.started, finished=time.time(), workers=self.workers)
        context["timings"] = timings
        if not self.expected:
            context["notes"].append(EMPTY_SHARD_NOTE if empty_shard else
                                    "Timings only: no benchmark case ran in this run (see Timings).")
        gates = self.config.stash.get(GATES, None)
        # Checked before writing, so that report.md and summary.json carry the outcomes (timings alone: nothing to gate)
        if gates is not None and self.expected:
            self.gate_outcomes = evaluate_gates(gates, summarize(records), records)
            context["gates"], context["gates_file"] = self.gate_outcomes, str(gates.path)
        # A run of timings alone does not replace the main job's report in reports/latest
        directory = report_dir(self.config, holder.parsed.report_dir,
                               DEFAULT_REPORT_DIR if self.expected else TIMINGS_REPORT_DIR)
        try:
            results = summarize(records)
            write_report(prepare_report_dir(directory), records, results, context)
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
                                        f"{counted(r)} = {100 * r['value']:6.2f}%")
        terminalreporter.write_line(f"report: {directory / 'report.md'}")
        if self.gate_outcomes is not None:
            for line in terminal_lines(self.gate_outcomes, gates.path):
                terminalreporter.write_line(line, red=line.startswith("FAIL"), green=line.startswith("PASS"))
            failed = sum(not o.passed for o in self.gate_outcomes)
            if failed:
                terminalreporter.write_line(f"infill-bench: {failed} of {len(self.gate_outcomes)} gates failed, so "
                                            f"the run fails (see {directory / 'report.md'}, section Gates)", red=True)
