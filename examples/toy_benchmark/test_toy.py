import pytest

from infill.pytest_plugin.plugin import conclude


@pytest.mark.infill(kind="toy")
def test_toy(case, infill_run, record):
    outcome = infill_run.evaluate(case)
    record(outcome)
    conclude(outcome.verdict)
