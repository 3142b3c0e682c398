"""Where progress lines go: the pytest plugin shows them on the terminal; scripts and tests may stay silent. Built
first and handed to what generates, scores and grades (an observer, not a way back up)."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def update(self, message: str) -> None: ...


class SilentProgress:
    def update(self, message: str) -> None:
        """Nothing shown."""
