"""What a live model runs with on a benchmark: its kind's settings under the run's profile, with the command line's
overrides (infill.config.settings)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from infill.benchmarks import KINDS, kind_of
from infill.errors import InfillUsageError


@dataclass(frozen=True)
class LiveSettings:
    profile: str
    overrides: tuple[tuple[str, object], ...] = ()

    def for_benchmark(self, benchmark: str, backend: str):
        kind = kind_of(benchmark)
        if self.profile not in kind.settings:
            raise InfillUsageError(f"benchmark {benchmark} (kind {kind.name}) has no generation settings for profile "
                                   f"{self.profile!r}: add them to the kind's `settings`, or run it with replayed "
                                   f"models only")
        return kind.settings[self.profile].for_backend(backend, dict(self.overrides))

    def per_kind(self, backend: str) -> dict[str, dict]:
        """Every kind's settings under this profile (for the report), in registry order."""
        return {name: dataclasses.asdict(kind.settings[self.profile].for_backend(backend, dict(self.overrides)))
                for name, kind in KINDS.items() if self.profile in kind.settings}
