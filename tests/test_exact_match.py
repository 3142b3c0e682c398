import pytest

from infill.grading.exact_match import (EM_RULES, edit_similarity, first_line_exact_match,
                                        first_line_of_completion, full_exact_match, levenshtein)

CANONICAL = "        return False"


@pytest.mark.parametrize("completion, first_line, full", [
    ("        return False", True, True),
    ("return False", True, True),                                 # both rules strip
    ("\n        return False", True, True),                       # leading newline skipped / stripped
    (" \n        return False", True, True),                      # the " \n" variant of the first-line rule
    ("\n        return False\n\n\nprint(is_multiply_prime(30))", True, False),   # real deepseek output, task 0
    ("        return False\n    return True", True, False),
    ("  \n        return False", False, True),                    # only "\n" and " \n" are skipped
    ("\n\n        return False", False, True),                    # two blank lines: first line is empty
    ("", False, False),
    ("        return True", False, False),
])
def test_rules_disagree_where_documented(completion, first_line, full):
    assert first_line_exact_match(completion, CANONICAL) is first_line
    assert full_exact_match(completion, CANONICAL) is full


def test_first_line_of_completion():
    assert first_line_of_completion("a\nb") == "a"
    assert first_line_of_completion("\na\nb") == "a"
    assert first_line_of_completion(" \na") == "a"
    assert first_line_of_completion("\n") == ""


def test_levenshtein_and_edit_similarity():
    assert levenshtein("kitten", "sitting") == 3
    assert levenshtein("", "abc") == 3
    assert edit_similarity("x = 1", "x = 1") == 1.0
    assert edit_similarity("", "") == 1.0
    assert edit_similarity("", "abcd") == 0.0
    assert edit_similarity("abcd", "abce") == pytest.approx(0.75)
    # measured on the first-line line, like the EM rule
    assert edit_similarity("\nx = 1\nmore", "x = 1") == 1.0


def test_rules_are_registered_with_versions():
    assert set(EM_RULES) == {"first_line", "full"}
    assert all(rule.version.endswith("-v1") for rule in EM_RULES.values())
    assert EM_RULES["first_line"].function is first_line_exact_match
