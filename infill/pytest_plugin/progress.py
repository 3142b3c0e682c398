"""Progress on pytest's terminal: the run's readings (infill.run.progress) drawn through pytest's terminal reporter.

Three ways to show them, by what the terminal is:
- live (a terminal, not -q, not -n): one line per stage, redrawn in place (done/total, rate, ETA) and kept when the
  stage ends; it starts on a line of its own;
- lines (output to a file or a pipe, or -n): a line when a stage starts, at most one every LINES_EVERY seconds
  while it runs (with -v every LIVE_EVERY: each test has its line there, no row to cut), and one when it ends;
- quiet (-q): no running stage; what a stage finished and the cache lines only, written when a row of dots has
  ended (`at_row_end`): rows stay whole.
In every mode a line starts on a line of its own: a row of dots under way is ended first (a short row).

Under -n the workers' readings and lines go to the controller, which shows them (infill.pytest_plugin.relay).
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import pytest

from infill.run.progress import CacheCount, CacheLines, Reading

LIVE_EVERY = 0.2            # seconds between two redraws of a live line
LINES_EVERY = 10.0          # seconds between two lines of one running stage (lines mode)
PREFIX = "[infill] "


class Display:
    """Where readings and lines become terminal output: the controller's (or a serial run's) terminal."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.shown: dict[tuple, float] = {}         # stage -> when it was last shown
        self.waiting: dict[object, str] = {}        # lines for the end of the row (a stage's latest only)
        self.live: tuple | None = None              # the stage whose live line is on screen, unfinished
        self.resume: Path | None = None             # the file whose row of dots a line cut short

    @property
    def reporter(self):
        """pytest's terminal reporter (None with -p no:terminal), looked up when needed: it is registered in a
        pytest_configure that may run after ours."""
        return self.config.pluginmanager.getplugin("terminalreporter")

    @property
    def mode(self) -> str:
        xdist = bool(getattr(self.config.option, "numprocesses", None))
        if self.config.get_verbosity() < 0:
            return "quiet"
        return "live" if self.reporter.isatty() and not xdist else "lines"

    def reading(self, reading: Reading) -> None:
        if self.reporter is None:
            return
        now, last = time.monotonic(), self.shown.get(reading.key)
        if self.mode == "quiet" and not reading.finished:
            return
        if self.mode == "live":
            if reading.finished or last is None or now - last >= LIVE_EVERY:
                self.shown[reading.key] = now
                self._draw(reading)
            return
        every = LIVE_EVERY if self.config.get_verbosity() > 0 else LINES_EVERY     # -v: (nearly) every reading
        if reading.finished or last is None or now - last >= every:
            self.shown[reading.key] = now
            self._say(reading.key, PREFIX + reading.line())

    def line(self, text: str) -> None:
        if self.reporter is not None:
            self._say(object(), PREFIX + text)

    def _say(self, key, text: str) -> None:
        self.waiting[key] = text
        self.at_row_end()

    def at_row_end(self) -> None:
        """Write the waiting lines. Under -q only at the start of a line (a row of dots is left whole); otherwise
        a row under way is ended first (it stays short: no line starts inside it)."""
        if not self.waiting or (self.mode == "quiet" and self._width() and self.live is None):
            return
        with self._terminal():
            self._end_live()
            self._start_line()
            for text in self.waiting.values():
                self.reporter.write(text + "\n", flush=True)
        self.waiting.clear()

    def flush(self) -> None:
        """Whatever waits, now (the tests are over: the last row is complete)."""
        if self.reporter is not None and (self.waiting or self.live is not None):
            with self._terminal():
                self._end_live()
                self._start_line()
            self.at_row_end()

    def close_live(self) -> None:
        """A stage left unfinished (an error): its live line ends before pytest writes again."""
        if self.live is not None:
            with self._terminal():
                self._end_live()

    def _draw(self, reading: Reading) -> None:
        with self._terminal():
            if self.live is None:
                self._start_line()
            self.reporter.rewrite(PREFIX + reading.line(), erase=True)
            self.reporter.flush()
            self.live = reading.key
            if reading.finished:
                self._end_live()

    def _start_line(self) -> None:
        if self._width():
            row = self.reporter.currentfspath
            self.reporter.ensure_newline()          # a file's row of dots: the reporter ends it
            if self._width():                       # a row it does not know it is in
                self.reporter.write("\n")
            if isinstance(row, Path):
                self.resume = row

    def before_report(self) -> None:
        """pytest is about to write a test's letter: a live line ends, and a file's row that a line cut short goes
        on under its name again, as the reporter would have it."""
        self.close_live()
        if self.resume is not None and self.reporter is not None and not self._width():
            with self._terminal():
                self.reporter.write(os.path.relpath(self.resume, self.reporter.startpath) + " ")
            self.reporter.currentfspath = self.resume
        self.resume = None

    def _end_live(self) -> None:
        if self.live is not None:
            self.reporter.write("\n", flush=True)
            self.live = None

    def _width(self) -> int:
        return self.reporter._tw.width_of_current_line      # (pytest has no public accessor for it)

    def _terminal(self):
        """Output goes to the terminal even while pytest captures the running test's."""
        capture = self.config.pluginmanager.getplugin("capturemanager")
        return capture.global_and_fixture_disabled() if capture else contextlib.nullcontext()


class TerminalProgress:
    """The run's Progress (infill.run.progress) in a pytest process: shown on this terminal, or, on an xdist worker,
    sent to the controller (`send`: infill.pytest_plugin.relay)."""

    def __init__(self, config: pytest.Config, display: Display | None = None, send=None):
        self.display, self.send = display, send
        self.cache_lines = CacheLines()
        self.sent: dict[tuple, float] = {}

    def update(self, message: str) -> None:
        if self.display is not None:
            self.display.line(message)
        elif self.send is not None:
            self.send({"line": message})

    def advance(self, reading: Reading) -> None:
        if self.display is not None:
            self.display.reading(reading)
        elif self.send is not None:             # a worker sends at most one running reading per LIVE_EVERY
            now, last = time.monotonic(), self.sent.get(reading.key)
            if reading.finished or last is None or now - last >= LIVE_EVERY:
                self.sent[reading.key] = now
                self.send({"reading": reading.as_dict()})

    def from_cache(self, count: CacheCount) -> None:
        self.cache_lines.add(count)

    def group_ready(self, model: str, benchmark: str) -> None:
        for line in self.cache_lines.ready(model, benchmark):
            self.update(line)


def show(display: Display, event: dict) -> None:
    """An event a worker sent (TerminalProgress.send), on the controller's terminal."""
    if "reading" in event:
        display.reading(Reading(**event["reading"]))
    elif "line" in event:
        display.line(event["line"])


PROGRESS = pytest.StashKey[TerminalProgress]()
