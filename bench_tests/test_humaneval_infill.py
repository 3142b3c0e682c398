"""HumanEval-Infill: one case per (model, sample); the completion's program must pass the sample's tests."""

import pytest

from infill.plugin import conclude


@pytest.mark.infill(family="humaneval-infill")
def test_humaneval_infill(case, completions, grader, record):
    completion = completions.lookup(case)
    verdict = grader.grade(case, completion)
    record(case, completion, verdict)
    conclude(verdict)
