"""The command line: infill-bench's options on pytest's parser, their raw values (command line, then ini key, then
default) parsed once into a RunConfig, the run built from it on first use, and the one-line exit for a usage error
(exit code 2)."""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from infill.config.options import DEFAULT_CACHE_DIR, DEFAULT_REPORT_DIR, OPTIONS, TIMINGS_OPTION
from infill.errors import InfillUsageError


def add_options(parser: pytest.Parser) -> None:
    """The plugin's pytest_addoption: every option, and an ini key of the same name."""
    group = parser.getgroup("infill", "infill-bench")
    for option in OPTIONS:
        if option.kind == "list":
            group.addoption(option.name, dest=option.dest, action="append", default=None, help=option.help,
                            metavar=option.metavar)
            parser.addini(option.dest, option.help, type="linelist")
        elif option.kind == "flag":
            group.addoption(option.name, dest=option.dest, action="store_true", default=None, help=option.help)
            parser.addini(option.dest, option.help, type="bool", default=False)
        else:
            group.addoption(option.name, *option.aliases, dest=option.dest, default=None, help=option.help,
                            metavar=option.metavar)
            parser.addini(option.dest, option.help)
    group.addoption(TIMINGS_OPTION.name, dest=TIMINGS_OPTION.dest, action="store_true", default=False,
                    help=TIMINGS_OPTION.help)


# Options naming a folder or file of the project's: resolved where they were given (resolved_path)
PATH_OPTIONS = ("infill_cache_dir", "infill_report_dir", "infill_gates")


def raw_values(config: pytest.Config) -> dict:
    """Each option's value: command line first, then the ini key (None where neither gives one); the paths of
    PATH_OPTIONS absolute (resolved_path), the cache's default included."""
    values = {}
    for option in OPTIONS:
        value = config.getoption(option.dest)
        values[option.dest] = value if value is not None else (config.getini(option.dest) or None)
    for dest in PATH_OPTIONS:
        values[dest] = resolved_path(config, dest, values[dest])
    values["infill_cache_dir"] = values["infill_cache_dir"] or str(project_root(config) / DEFAULT_CACHE_DIR)
    values[TIMINGS_OPTION.dest] = config.getoption(TIMINGS_OPTION.dest)
    values["keyword"] = config.getoption("keyword", "")      # -k: names a benchmark or group to add (run_config)
    return values


def project_root(config: pytest.Config) -> Path:
    """The project's folder: the ini file's (pyproject.toml, pytest.ini, ...), else pytest's rootdir. Not the
    current folder: `pytest /path/to/bench_tests` run from elsewhere uses the project's cache and reports."""
    return config.inipath.parent if config.inipath else config.rootpath


def resolved_path(config: pytest.Config, dest: str, value: str | None) -> str | None:
    """A path option made absolute: given on the command line, relative to where pytest was started (as a shell
    user means it); given by the ini key, relative to the ini file's folder (as its author means it)."""
    if value is None:
        return None
    path = Path(value).expanduser()
    if path.is_absolute():
        return str(path)
    return str((config.invocation_params.dir if config.getoption(dest) is not None else project_root(config)) / path)


def report_dir(config: pytest.Config, given: str | None, default: str = DEFAULT_REPORT_DIR) -> Path:
    """The report folder: `given` (already resolved by raw_values), else `default` in the project's folder."""
    return Path(given) if given else project_root(config) / default


class UsageExit(pytest.exit.Exception):
    """pytest.exit for a usage error. When it is raised in pytest_sessionstart, pytest itself writes
    `{type(exc).__name__}: {exc.msg}` to stderr; this class's name makes that line `infill-bench: error: ...`, the
    one line a user sees (a plain pytest.exit would add `Exit: ...` beside ours)."""


UsageExit.__name__ = UsageExit.__qualname__ = "infill-bench"
UsageExit.__module__ = "builtins"   # pytest's own `! ... !` line on stdout then reads `infill-bench: error: ...` too


def usage_exit(error: InfillUsageError, at_session_start: bool = False, config: pytest.Config | None = None) -> None:
    """Stop the run: one line `infill-bench: error: ...` on stderr, exit code 2."""
    if not at_session_start:        # later on (a test, collection) pytest writes nothing to stderr: we do
        capture = config.pluginmanager.getplugin("capturemanager") if config else None
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            sys.stderr.write(f"infill-bench: error: {error}\n")
            sys.stderr.flush()
    raise UsageExit(f"error: {error}", returncode=2)


@dataclass
class RunHolder:
    """Parses the options and builds the BenchmarkRun on first use, so that runs without benchmark cases pay
    nothing."""
    config: pytest.Config
    parsed: object = None           # RunConfig
    run: object = None              # BenchmarkRun
    failed: InfillUsageError | None = None    # building the run failed during collection: reported after it

    def run_config(self, at_session_start: bool = False):
        if self.parsed is None:
            from infill.config.run_config import parse_run_config
            from infill.pytest_plugin.devices import gpu_count
            try:
                self.parsed = parse_run_config(raw_values(self.config), gpu=gpu_count() > 0)
            except InfillUsageError as error:
                usage_exit(error, at_session_start)
        return self.parsed

    def get(self, at_session_start: bool = False):
        if self.run is None:
            try:
                self.run = self.build()
            except InfillUsageError as error:
                usage_exit(error, at_session_start, self.config)
        return self.run

    def get_while_collecting(self):
        """The run, or None when building it failed: an error raised inside a module's collection would become a
        collection error of that module, so it is kept and raised once collection is over (`stop_if_failed`)."""
        if self.run is None and self.failed is None:
            try:
                self.run = self.build()
            except InfillUsageError as error:
                self.failed = error
        return self.run

    def stop_if_failed(self) -> None:
        if self.failed is not None:
            usage_exit(self.failed, config=self.config)

    def build(self):
        from infill.pytest_plugin.devices import gpu_count
        from infill.run.build import build_run
        from infill.pytest_plugin.progress import PROGRESS
        return build_run(self.run_config(), self.config.stash[PROGRESS], gpu=gpu_count() > 0)


RUN = pytest.StashKey[RunHolder]()
