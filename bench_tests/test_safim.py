"""SAFIM: one case per (model, task); block and control programs must pass their unit tests, api completions must
match the call syntactically (SAFIM's own rules)."""

import pytest

from infill.pytest_plugin.plugin import conclude


@pytest.mark.infill(kind="safim")
def test_safim(case, infill_run, record):
    outcome = infill_run.evaluate(case)
    record(outcome)
    conclude(outcome.verdict)
