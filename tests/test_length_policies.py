import pytest

from infill.errors import InfillUsageError
from infill.generation.length import DEFAULT_CANDIDATES, choose_by_confidence, parse_length_policy


def test_parse():
    assert parse_length_policy("oracle").uses_ground_truth
    assert parse_length_policy("fixed:16").lengths == (16,)
    assert parse_length_policy("fixed:16").label == "fixed16"
    assert parse_length_policy("confidence").lengths == DEFAULT_CANDIDATES
    assert parse_length_policy("confidence:16,4,4").lengths == (4, 16)
    assert parse_length_policy("confidence:4,8").label == "confidence"
    for bad in ("oracle:3", "fixed", "fixed:0", "fixed:a", "confidence:2,-1", "guess"):
        with pytest.raises(InfillUsageError, match="length policy"):
            parse_length_policy(bad)


def test_choose_by_confidence_prefers_likely_then_short():
    assert choose_by_confidence([(4, "a", -2.0), (8, "b", -1.0), (16, "c", -3.0)]) == "b"
    assert choose_by_confidence([(8, "long", -1.0), (4, "short", -1.0)]) == "short"
