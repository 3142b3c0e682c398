"""SantaCoder-FIM: one case per (model, sample); the completion must match the canonical middle exactly."""

import pytest

from infill.pytest_plugin.plugin import conclude


@pytest.mark.infill(kind="santacoder-fim")
def test_santacoder_fim(case, infill_run, record):
    outcome = infill_run.evaluate(case)
    record(outcome)
    conclude(outcome.verdict)
