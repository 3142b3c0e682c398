"""Which xdist worker runs which cases: every case of one model group on one worker (`-n N`).

A model group is a model's root name (all benchmarks and every MODEL/POLICY row of a diffusion model) joined with
any ensemble built on it (InfillSession.worker_group), so that each model is loaded once, on one worker, and its
samples are generated in batches there rather than a handful per worker.

pytest-xdist's own `--dist loadgroup` reads a group from an `@group` suffix that its worker adds to each test's
node id; with pytest 9.2 that suffix is never added (pytest keeps node ids in `_id`, xdist 3.8 writes
`_nodeid`), so every case would be scheduled on its own. This scheduler instead derives the group on the
controller from the case's parameter id (`MODEL-SAMPLE_ID`) and the session's model names, whatever the
versions (so the cases carry no xdist_group mark: where xdist applies one, the suffix would hide the case id);
tests that are not benchmark cases keep one scope each.
"""

from __future__ import annotations

from typing import Callable, Iterable


def case_model(nodeid: str, models: Iterable[str]) -> str | None:
    """The model of a benchmark case's node id (`...::test_x[MODEL-SAMPLE_ID]`), or None for any other test.
    Model names may contain '-' and '/': the longest name followed by '-' wins."""
    if not nodeid.endswith("]") or "[" not in nodeid:
        return None
    param = nodeid[nodeid.index("[") + 1:-1]
    matches = [m for m in models if param.startswith(m + "-")]
    return max(matches, key=len) if matches else None


def make_group_scheduler(config, log, group_of: Callable[[str], str | None]):
    """An xdist LoadScopeScheduling whose scope of a node id is `group_of(nodeid)`, else the node id itself."""
    from xdist.scheduler import LoadScopeScheduling

    class ModelGroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid) or nodeid

    return ModelGroupScheduling(config, log)
