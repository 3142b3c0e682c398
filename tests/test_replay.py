import json
from dataclasses import astuple

import pytest

from infill.errors import InfillUsageError
from infill.config.run_config import parse_replay
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
    assert completions[first] == "\n        return False\n\n\nprint(is_multiply_prime(30))"


def test_human_eval_samples_format(tmp_path):
    f = write_jsonl(tmp_path / "samples.jsonl", [
        {"task_id": "SingleLineInfilling/HumanEval/0/L0", "completion": "x\n"},
        {"task_id": "SingleLineInfilling/HumanEval/0/L1", "completion": "y\n"}])
    files = load_replay("m", f)
    assert list(files) == ["humaneval-single-line"]
    assert files["humaneval-single-line"].completions == {"SingleLineInfilling/HumanEval/0/L0": "x\n",
                                                          "SingleLineInfilling/HumanEval/0/L1": "y\n"}


def test_bigcode_generations_json(tmp_path):
    f = tmp_path / "generations.json"
    f.write_text(json.dumps([["a", "b"]] + [["c"]] * 163))
    files = load_replay("m", f)
    replay = files["humaneval-random-span-light"]                 # matched by size: 164 rows
    assert replay.completions["RandomSpanInfillingLight/HumanEval/0/1"] == "a"
    assert "first is graded" in replay.notes[0]


@pytest.mark.parametrize("rows, message", [
    (['{"task_id": "SingleLineInfilling/HumanEval/0/L0", "completion": "x"', ], r"s\.jsonl:1: not valid JSON"),
    ([{"task_id": "SingleLineInfilling/HumanEval/0/L0"}], r":1: no completion field"),
    ([{"completion": "x"}], r":1: no task_id field"),
    ([{"task_id": "SingleLineInfilling/HumanEval/0/L0", "completion": 5}], r":1: completion must be a string"),
    ([{"task_id": "SingleLineInfilling/HumanEval/0/L0", "completion": "x"},
      {"task_id": "SingleLineInfilling/HumanEval/0/L0", "completion": "y"}], r":2: duplicate task_id .*line 1"),
    ([{"task_id": "SingleLineInfilling/HumanEval/0/L0", "completion": "x"},
      {"task_id": "SingleLineInfilling/HumanEval/999/L0", "completion": "y"}], r":2: unknown task_id"),
    ([{"task_id": "Nope/0", "completion": "x"}], r":1: unknown task_id 'Nope/0': matches no benchmark"),
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
