"""SAFIM canonical self-check, a stratified subset (scripts/safim_canonical.py runs every task).

Every split (block, control) and language (C++, Java, Python, C#): the ground truth substituted must pass, unless the
task is in infill/grading/multilang/known_failures.json with that verdict (and the reason); a listed task of the
subset that now passes, or fails otherwise, makes the list stale and fails too. A language whose toolchain is
missing is not graded: the test says so by skipping after checking the others.
"""
from __future__ import annotations

import pytest

from infill.grading.multilang import PASSED, ExecPool, PoolConfig, safim_tasks

PER_STRATUM = 8  # 64 programs: about a minute or two on 2 cores with an empty compile cache


@pytest.mark.slow
def test_canonical_subset_passes_or_is_a_known_failure(tmp_path):
    known = safim_tasks.known_failures()
    tasks = safim_tasks.stratified(safim_tasks.load(), PER_STRATUM)
    assert {(t.split, t.language) for t in tasks} == {(s, lang) for s in safim_tasks.SPLITS
                                                       for lang in safim_tasks.LANGUAGES}
    with ExecPool(PoolConfig(workers=2, cache_dir=str(tmp_path))) as pool:
        missing = {k: t.reason for k, t in pool.toolchains().items() if not t.available}
        graded = [t for t in tasks if t.language not in missing]
        outcomes = [f.result(timeout=1800) for f in [pool.submit(t.job) for t in graded]]
    unexpected, stale = [], []
    for task, outcome in zip(graded, outcomes):
        listed = known.get(task.task_id)
        if outcome.verdict != PASSED and (listed is None or listed["verdict"] != outcome.verdict):
            unexpected.append((task.task_id, task.language, outcome.verdict, outcome.detail))
        elif outcome.verdict == PASSED and listed is not None:
            stale.append((task.task_id, task.language, "listed", listed["verdict"], "now PASSED"))
    assert not unexpected, unexpected
    assert not stale, stale
    if missing:
        pytest.skip(f"not graded (toolchain missing): {missing}")


def test_known_failures_are_well_formed():
    known = safim_tasks.known_failures()
    tasks = {t.task_id: t for t in safim_tasks.load()}
    for task_id, entry in known.items():
        assert task_id in tasks and tasks[task_id].language == entry["language"], entry
        assert entry["verdict"] != PASSED and entry["reason"].strip(), entry
