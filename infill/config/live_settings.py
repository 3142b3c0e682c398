"""What a live model runs with on a benchmark: its kind's settings under the run's profile, with the command line's
overrides (infill.config.settings)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from infill.benchmarks import KINDS, kind_of
from infill.errors import InfillUsageError


@dataclass(frozen=True)
class LiveSettings:
    profile: str                                        # whose settings the kinds give (Profile.settings_name)
    profile_overrides: tuple[tuple[str, object], ...] = ()   # the profile's own changes to them
    overrides: tuple[tuple[str, object], ...] = ()      # the command line's, which win

    @classmethod
    def of(cls, profile, overrides: tuple = ()) -> "LiveSettings":
        return cls(profile.settings_name, tuple(profile.overrides), tuple(overrides))

    @property
    def command_line(self) -> dict:
        return dict(self.overrides)

    def for_benchmark(self, benchmark: str, backend: str):
        kind = kind_of(benchmark)
        if self.profile not in kind.settings:
            raise InfillUsageError(f"benchmark {benchmark} (kind {kind.name}) has no generation settings for profile "
                                   f"{self.profile!r}: add them to the kind's `settings`, or run it with replayed "
                                   f"models only")
        return kind.settings[self.profile].for_backend(backend, {**dict(self.profile_overrides), **dict(self.overrides)})

    def per_kind(self, backend: str) -> dict[str, dict]:
        """Every kind's settings under this profile (for the report), in registry order."""
        merged = {**dict(self.profile_overrides), **dict(self.overrides)}
        return {name: dataclasses.asdict(kind.settings[self.profile].for_backend(backend, merged))
                for name, kind in KINDS.items() if self.profile in kind.settings}
