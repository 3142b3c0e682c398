"""SantaCoder-FIM: one case per (model, sample); the completion must match the canonical middle exactly."""

import pytest

from infill.plugin import conclude


@pytest.mark.infill(family="santacoder-fim")
def test_santacoder_fim(case, completions, grader, record):
    completion = completions.lookup(case)
    verdict = grader.grade(case, completion)
    record(case, completion, verdict)
    conclude(verdict)
