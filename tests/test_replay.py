import json
from dataclasses import astuple

import pytest

from infill.config.run_config import parse_replay
from infill.errors import InfillUsageError
from infill.sources.replay.files import RECORDED_DIR, embedded_replays, load_replay


def write_jsonl(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_embedded_recordings_cover_both_benchmarks():
    models = dict(embedded_replays())
    assert set(models) == {"recorded-open-dcoder-0.5B", "recorded-deepseek-coder-1.3b-base", "recorded-qwen2.5-coder-1.5b-instruct"}
    for model, folder in models.items():
        files = load_replay(model, folder)
        assert set(files) == {"humaneval-single-line", "santacoder-fim-py"}
        assert len(files["humaneval-single-line"].completions) == 1033
        assert len(files["santacoder-fim-py"].completions) == 1043


def test_integer_task_ids_index_santacoder_py_rows():
    files = load_replay("ds", RECORDED_DIR / "deepseek-coder-1.3b-base")
    completions = files["santacoder-fim-py"].completions
    first = "py/75_is_multiply_prime/L24"
    assert completions[first] == ["\n        return False\n\n\nprint(is_multiply_prime(30))"]


def test_human_eval_samples_format(tmp_path):
    f = write_jsonl(tmp_path / "samples.jsonl", [
        {"task_id": "SingleLineInfilling/HumanEval/0/L0", "completion": "x\n"},
        {"task_id": "SingleLineInfilling/HumanEval/0/L1", "completion": "y\n"}])
    files = load_replay("m", f)
    assert list(files) == ["humaneval-single-line"]
    assert files["humaneval-single-line"].completions == {"SingleLineInfilling/HumanEval/0/L0": ["x\n"],
                                                          "SingleLineInfilling/HumanEval/0/L1": ["y\n"]}


def test_bigcode_generations_json(tmp_path):
    f = tmp_path / "generations.json"
    f.write_text(json.dumps([["a", "b"]] + [["c", "d"]] * 163))
    files = load_replay("m", f)
    replay = files["humaneval-random-span-light"]                 # matched by size: 164 rows
    assert replay.completions["RandomSpanInfillingLight/HumanEval/0/1"] == ["a", "b"]
    assert replay.samples_per_task == 2 and "2 candidates per task" in replay.notes[0]


@pytest.mark.parametrize("rows, message", [
    (['{"task_id": "SingleLineInfilling/HumanEval/0/L0", "completion": "x"', ], r"s\.jsonl:1: not valid JSON"),
    ([{"task_id": "SingleLineInfilling/HumanEval/0/L0"}], r":1: no completion field"),
    ([{"completion": "x"}], r":1: no task_id field"),
    ([{"task_id": "SingleLineInfilling/HumanEval/0/L0", "completion": 5}], r":1: completion must be a string"),
    ([{"task_id": "SingleLineInfilling/HumanEval/0/L0", "completion": "x"},
      {"task_id": "SingleLineInfilling/HumanEval/0/L0", "completion": "y"},
      {"task_id": "SingleLineInfilling/HumanEval/0/L1", "completion": "y"}],
     r"task SingleLineInfilling/HumanEval/0/L1 has 1 candidates and task SingleLineInfilling/HumanEval/0/L0 has 2: "
     r"every task of a file needs the same number"),
    ([{"task_id": "SingleLineInfilling/HumanEval/0/L0", "completion": "x"},
      {"task_id": "SingleLineInfilling/HumanEval/0/L9", "completion": "y"}],
     r":2: unknown task_id 'SingleLineInfilling/HumanEval/0/L9': not a sample of humaneval-single-line; did you mean "
     r"'SingleLineInfilling/HumanEval/\d+/L\d'\? its ids look like 'SingleLineInfilling/HumanEval/0/L0'"),
    ([{"task_id": "Nope/0", "completion": "x"}], r":1: unknown task_id 'Nope/0': matches no benchmark; task ids "
                                                 r"look like SingleLineInfilling/HumanEval/0/L0 \(humaneval-single-line\)"
                                                 r".*py/75_is_multiply_prime/L24 \(santacoder-fim-py\)"),
    ([{"task_id": 3, "completion": "x"}], r":1: integer task_id but the file name names no benchmark"),
    (["[1, 2]"], r":1: expected a JSON object"),
])
def test_bad_lines_name_file_and_line(tmp_path, rows, message):
    f = write_jsonl(tmp_path / "s.jsonl", rows)
    with pytest.raises(InfillUsageError, match=message):
        load_replay("m", f)


def test_recorded_prompt_must_match_the_row(tmp_path):
    rows = [json.loads(line) for line in open(RECORDED_DIR / "open-dcoder-0.5B" / "santacoder-fim_results.jsonl")]
    rows[0], rows[1] = rows[1], dict(rows[0])
    rows[0]["task_id"], rows[1]["task_id"] = 0, 1                 # row order broken: prompts no longer match
    f = write_jsonl(tmp_path / "santacoder-fim_results.jsonl", rows)
    with pytest.raises(InfillUsageError, match=r":1: the recorded prompt differs"):
        load_replay("m", f)


def test_option_parsing(tmp_path):
    assert astuple(parse_replay(f"m={tmp_path}"))[1:] == ("m", None, tmp_path)
    assert astuple(parse_replay(f"m:santacoder-fim-js={tmp_path}"))[1:] == ("m", "santacoder-fim-js", tmp_path)
    with pytest.raises(InfillUsageError, match="expected MODEL=PATH"):
        parse_replay("just-a-path")
    with pytest.raises(InfillUsageError, match="does not exist"):
        parse_replay(f"m={tmp_path / 'nope'}")
    with pytest.raises(InfillUsageError, match="unknown benchmark"):
        parse_replay(f"m:nope={tmp_path}")


def test_an_explicit_benchmark_wins_over_the_ids(tmp_path):
    f = write_jsonl(tmp_path / "s.jsonl", [{"task_id": "SingleLineInfilling/HumanEval/0/L0", "completion": "x"}])
    with pytest.raises(InfillUsageError, match=r"not a sample of humaneval-multi-line; .*its ids look like "
                                               r"'MultiLineInfilling/HumanEval/0/L0_L0'"):
        load_replay("m", f, "humaneval-multi-line")


def santacoder_rows():
    from infill.benchmarks.loading import DATA_DIR, read_rows
    return read_rows(DATA_DIR / "santacoder-fim" / "santacoder-fim-task.all.jsonl.gz")


def test_bigcodes_mixed_santacoder_fim_output_reads_as_its_three_benchmarks(tmp_path):
    rows = santacoder_rows()
    f = tmp_path / "generations_santacoder_fim.json"
    f.write_text(json.dumps([[row["canonical_solution"]] for row in rows]))     # the exact reference answers
    files = load_replay("m", f)
    assert {b: len(r.completions) for b, r in files.items()} == {
        "santacoder-fim-py": 1043, "santacoder-fim-js": 1969, "santacoder-fim-java": 1780}
    from infill.benchmarks import load_benchmark
    for benchmark, replay in files.items():
        assert all(replay.completions[s.sample_id] == [s.canonical] for s in load_benchmark(benchmark).samples)


def test_bigcodes_limited_output_is_the_first_rows_of_the_file(tmp_path):
    rows = santacoder_rows()[:40]
    f = tmp_path / "generations.json"
    f.write_text(json.dumps([[row["canonical_solution"]] for row in rows]))
    files = load_replay("m", f, "santacoder-fim-py")         # 40 entries: named, not guessed by size
    from infill.benchmarks import load_benchmark
    by_id = load_benchmark("santacoder-fim-py").by_id()
    assert len(files["santacoder-fim-py"].completions) == sum(r["language"] == "py" for r in rows)
    assert all(by_id[s].canonical == c[0] for s, c in files["santacoder-fim-py"].completions.items())
