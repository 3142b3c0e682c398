"""Progress wired into pytest: the Display's turns among pytest's own reports, and under -n the relay between the
workers and the controller (infill.pytest_plugin.relay). Kept apart from infill.pytest_plugin.progress, which the
relay imports, so that neither module imports the other."""

from __future__ import annotations

import pytest

from infill.pytest_plugin.progress import PROGRESS, Display, TerminalProgress
from infill.pytest_plugin.relay import ControllerRelay, worker_sender


class ProgressHooks:
    """The Display's turns: a live line ends before pytest reports a test, waiting lines go at a row's end, what
    is left when the tests are over; under -n the relay from the workers (controller)."""

    def __init__(self, config: pytest.Config, display: Display):
        self.config, self.display, self.relay = config, display, None

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_logreport(self, report):
        self.display.before_report()
        try:
            return (yield)
        finally:
            self.display.at_row_end()

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if getattr(self.config.option, "numprocesses", None):     # before xdist starts the workers (trylast)
            self.relay = ControllerRelay(self.config, self.display)
            self.config.pluginmanager.register(self.relay, "infill-progress-relay")

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.relay is not None:
            self.relay.close()

    @pytest.hookimpl(tryfirst=True)
    def pytest_terminal_summary(self) -> None:
        self.display.flush()


def start_progress(config: pytest.Config) -> TerminalProgress:
    """The run's Progress for this process (kept in config.stash[PROGRESS]): an xdist worker sends, any other
    process shows."""
    if hasattr(config, "workerinput"):
        progress = TerminalProgress(config, send=worker_sender(config))
    else:
        display = Display(config)
        progress = TerminalProgress(config, display=display)
        config.pluginmanager.register(ProgressHooks(config, display), "infill-progress")
    config.stash[PROGRESS] = progress
    return progress
