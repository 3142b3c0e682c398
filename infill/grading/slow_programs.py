"""Programs that timed out in an earlier run, remembered only to start them first in the next one.

A timeout is never a cached verdict (it depends on how loaded the machine was: infill.grading.verdict_cache), so a
rerun executes every such program again and waits its whole timeout. On a cached rerun of the main job that wait
was the largest piece after pytest's own per-case cost: 31 programs x 3 s on two sandbox workers, met one
group at a time as pytest reached them. Here each one is written down (its benchmark, sample id and program
text) when it times out, and as soon as the run knows which samples it will grade, the remembered programs of
those samples are submitted to the sandbox before anything else, so their timeouts run while pytest walks the
cases. Their verdicts are still this run's own: nothing here is ever served as a verdict, only the order in which
programs start changes.

Kept beside the verdict cache and keyed like it (execution rule, sandbox limits, isolation, Python version): a
program slow under other limits says nothing here. Writes are rare (timeouts), so each is appended at once.
"""

from __future__ import annotations

import json
from pathlib import Path

from infill.generation.cache import GenerationCache
from infill.grading.verdict_cache import program_key

SLOW_PROGRAMS_VERSION = "slow-programs-v1"


class SlowPrograms:
    def __init__(self, directory: Path, verdict_components: dict, enabled: bool = True):
        self.store = GenerationCache(Path(directory) / "slow-programs",
                                     {**verdict_components, "kind": "slow-programs", "verdicts": SLOW_PROGRAMS_VERSION},
                                     enabled)
        self.known: dict[str, tuple[str, str, str]] = {}       # program key -> (benchmark, sample id, program)
        for key, value in self.store.load().items():
            try:
                benchmark, sample_id, program = json.loads(value)
            except (ValueError, TypeError):
                continue
            if isinstance(program, str) and program_key(program) == key:
                self.known[key] = (str(benchmark), str(sample_id), program)

    def note(self, benchmark: str, sample_id: str, program: str) -> None:
        key = program_key(program)
        if key not in self.known:
            self.known[key] = (benchmark, sample_id, program)
            self.store.append({key: json.dumps([benchmark, sample_id, program])})

    def of_samples(self, samples: set[tuple[str, str]]) -> list[str]:
        """The remembered programs of these (benchmark, sample id) pairs."""
        return [program for benchmark, sample_id, program in self.known.values() if (benchmark, sample_id) in samples]
