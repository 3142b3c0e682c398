"""Benchmark cases run without pytest's per-phase log capture, unless the user asked to see logs.

pytest's logging plugin wraps the setup, call and teardown of every test in two `catching_logs` blocks, and each
block attaches and detaches its handler on the root logger and on every non-propagating logger (58 of them once
torch and transformers are imported, found by walking all 387 loggers): six walks per case, about a millisecond,
which on a cached rerun of the main job (24,927 cases whose own work is a dictionary read) is a large part of the
run. What that capture buys is a "Captured log" section in the report of a failing test. A benchmark case fails
only on an infrastructure fault, whose message says what broke; the library loggers that matter (transformers,
which writes to its own stderr handler) stay in the case's captured stderr, and `--log-file` still receives every
record (its handler is attached once around the whole loop, not per case).

So while benchmark cases run, the logging plugin is unregistered, and it is registered again before any other test
(a unit test's `caplog` needs it) and when the loop ends (for the session-finish logging). The plugin stays in place
for the whole run when the user asked for logs: `--log-cli-level` / `log_cli`, or `--log-level`.
"""

from __future__ import annotations

import pytest

from infill.run.session import Case

LOGGING_PLUGIN = "logging-plugin"          # the name pytest registers its LoggingPlugin instance under


def is_benchmark_case(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    return callspec is not None and isinstance(callspec.params.get("case"), Case)


class CaseLogging:
    def __init__(self, config: pytest.Config):
        self.config = config
        self.held: object | None = None       # the logging plugin while benchmark cases run without it

    def wanted(self) -> bool:
        """Did the user ask to see logs (so the plugin stays for every test)?"""
        option = self.config.option
        return bool(getattr(option, "log_cli_level", None) or getattr(option, "log_level", None)
                    or self.config.getini("log_cli") or self.config.getini("log_level"))

    def hold(self) -> None:
        plugin = self.config.pluginmanager.get_plugin(LOGGING_PLUGIN)
        if plugin is not None and self.held is None and not self.wanted():
            self.config.pluginmanager.unregister(plugin)
            self.held = plugin

    def release(self) -> None:
        if self.held is not None:
            plugin, self.held = self.held, None
            self.config.pluginmanager.register(plugin, LOGGING_PLUGIN)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem) -> None:
        if is_benchmark_case(item):
            self.hold()
        else:
            self.release()

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session):
        try:
            return (yield)
        finally:
            self.release()
