"""HumanEval-Infilling: one case per (model, sample); the assembled program must pass its tests."""

import pytest

from infill.pytest_plugin.plugin import conclude


@pytest.mark.infill(kind="humaneval-infill")
def test_humaneval_infill(case, infill_run, record):
    outcome = infill_run.evaluate(case)
    record(outcome)
    conclude(outcome.verdict)
