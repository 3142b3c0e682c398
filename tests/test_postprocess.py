from infill.generation.postprocess import POSTPROCESS, keep_first_line, keep_verbatim


def test_first_line_keeps_through_the_newline_and_guarantees_it():
    assert keep_first_line("    return x\n    more\n") == "    return x\n"
    assert keep_first_line("    return x") == "    return x\n"
    assert keep_first_line("\nx") == "\n"
    assert keep_first_line("") == "\n"


def test_none_is_verbatim():
    assert keep_verbatim(" a\n\nb ") == " a\n\nb "


def test_registry_versions():
    assert {p: POSTPROCESS[p].version for p in POSTPROCESS} == {
        "none": "none-v1", "first_line": "first-line-v1",
        "safim_syntax": "safim-syntax-v1 (safim-truncate-block-v1, safim-truncate-control-v1, safim-truncate-api-v1)"}
