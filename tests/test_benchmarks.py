import pytest

from infill.benchmarks import BENCHMARKS, load_benchmark, resolve_benchmarks
from infill.errors import InfillUsageError

EXPECTED_SIZES = {"humaneval-single-line": 1033, "humaneval-multi-line": 5815, "humaneval-random-span": 1640,
                  "humaneval-random-span-light": 164, "santacoder-fim-py": 1043, "santacoder-fim-js": 1969,
                  "santacoder-fim-java": 1780,
                  "safim-block": 8781, "safim-control": 8629, "safim-api": 310}     # SAFIM's paper: 17,720 in all


def test_registry_names_and_sizes():
    assert {n: b.size for n, b in BENCHMARKS.items()} == EXPECTED_SIZES


@pytest.mark.parametrize("name", ["humaneval-single-line", "humaneval-random-span-light", "santacoder-fim-py"])
def test_load_keeps_dataset_ids_and_order(name):
    data = load_benchmark(name)
    assert len(data.samples) == EXPECTED_SIZES[name]
    assert [s.index for s in data.samples] == list(range(len(data.samples)))
    assert len(data.sha256) == 64
    assert all(s.sample_id.startswith(BENCHMARKS[name].id_prefix) for s in data.samples)


def test_sample_fields():
    first = load_benchmark("humaneval-single-line").samples[0]
    assert first.sample_id == "SingleLineInfilling/HumanEval/0/L0"
    assert first.canonical == "    for idx, elem in enumerate(numbers):\n"
    assert first.entry_point == "has_close_elements"
    py = load_benchmark("santacoder-fim-py").samples[0]
    assert py.sample_id == "py/75_is_multiply_prime/L24"
    assert py.canonical == "        return False" and py.language == "py"


def test_resolve_groups_and_errors():
    assert resolve_benchmarks("santacoder") == ["santacoder-fim-py", "santacoder-fim-js", "santacoder-fim-java"]
    assert resolve_benchmarks("santacoder-fim-py,humaneval-single-line") == ["humaneval-single-line",
                                                                             "santacoder-fim-py"]
    with pytest.raises(InfillUsageError, match="unknown benchmark 'humaneval-singleline'"):
        resolve_benchmarks("humaneval-singleline")


def test_santacoder_ids_do_not_match_humaneval_keyword():
    # pytest -k is case-insensitive: `-k humaneval` must not select SantaCoder cases
    for name in ("santacoder-fim-py", "santacoder-fim-js", "santacoder-fim-java"):
        assert not any("humaneval" in s.sample_id.lower() for s in load_benchmark(name).samples)
