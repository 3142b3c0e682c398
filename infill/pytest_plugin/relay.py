"""Progress under -n: xdist workers send their readings and lines to the controller, which shows them.

xdist has no channel for a plugin's own messages, and a worker that generates for minutes sends no test report in
between. So each worker appends its events (JSON lines) to a file of its own in a folder the controller made
(passed in the worker's `workerinput`); a thread on the controller reads the files and wakes the controller's main
loop with an event of ours, whose handler shows them. Only that main thread writes to the terminal, as it does the
test reports, so lines never interleave with a report's output. (The wake-up puts `("infill_progress", {})` on
xdist's DSession queue, whose loop calls `worker_<name>` on the DSession: the one xdist internal relied on; without
it the events are shown at the next test report.)
"""

from __future__ import annotations

import json
import queue
import shutil
import tempfile
import threading
from pathlib import Path

import pytest

from infill.pytest_plugin.progress import Display, show

WORKER_KEY = "infill_progress_dir"      # in an xdist worker's workerinput
POLL_SECONDS = 0.25


class WorkerSender:
    """On a worker: append one event to this worker's file."""

    def __init__(self, directory: str, worker_id: str):
        self.path = Path(directory) / f"{worker_id}.jsonl"

    def __call__(self, event: dict) -> None:
        with open(self.path, "a", encoding="utf-8") as file:    # one write per event: never half a line read
            file.write(json.dumps(event) + "\n")


def worker_sender(config: pytest.Config) -> WorkerSender | None:
    directory = getattr(config, "workerinput", {}).get(WORKER_KEY)
    return WorkerSender(directory, config.workerinput["workerid"]) if directory else None


class ControllerRelay:
    """On the controller: read the workers' files, show their events on the main thread."""

    def __init__(self, config: pytest.Config, display: Display):
        self.config, self.display = config, display
        self.directory = Path(tempfile.mkdtemp(prefix="infill-progress-"))
        self.events: queue.SimpleQueue = queue.SimpleQueue()
        self.offsets: dict[Path, int] = {}
        self.partial: dict[Path, bytes] = {}
        self.stopping = threading.Event()
        self.dsession = config.pluginmanager.getplugin("dsession")
        if self.dsession is not None and hasattr(self.dsession, "queue"):
            self.dsession.worker_infill_progress = self.pump
        self.thread = threading.Thread(target=self._watch, name="infill-progress", daemon=True)
        self.thread.start()

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node) -> None:
        node.workerinput[WORKER_KEY] = str(self.directory)

    def pytest_runtest_logreport(self, report) -> None:
        self.pump()

    def _watch(self) -> None:
        while not self.stopping.wait(POLL_SECONDS):
            # the main loop takes events once it runs the tests (xdist's scheduler exists from then on)
            if self._read() and getattr(self.dsession, "sched", None) is not None:
                self.dsession.queue.put(("infill_progress", {}))

    def _read(self) -> int:
        read = 0
        for path in sorted(self.directory.glob("*.jsonl")):
            with open(path, "rb") as file:
                file.seek(self.offsets.get(path, 0))
                data = file.read()
            self.offsets[path] = self.offsets.get(path, 0) + len(data)
            *lines, rest = (self.partial.pop(path, b"") + data).split(b"\n")
            if rest:
                self.partial[path] = rest
            for line in filter(None, lines):
                self.events.put(json.loads(line))
                read += 1
        return read

    def pump(self, **_) -> None:
        """Show what the workers sent (the controller's main thread only)."""
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return
            show(self.display, event)

    def close(self) -> None:
        self.stopping.set()
        self.thread.join()
        self._read()
        self.pump()
        shutil.rmtree(self.directory, ignore_errors=True)
