"""Comparison of runs (infill/compare/): statistics, a planted regression in hand-built run directories, an
insignificant change, rows in one run only, timings, and bad input (exit 2, one line)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from infill.common.statistics import mcnemar_exact, paired_interval, two_proportion_p, unpaired_interval
from infill.reporting.compare import main
from infill.reporting.summary import summarize

ROOT = Path(__file__).resolve().parents[1]
BENCH = "humaneval-single-line"
SHA = "1277073e7ddce163ef68598c2bca777f688a53df99422f097e37362090f88e1f"
IDS = [f"SingleLineInfilling/HumanEval/{i // 10}/L{i % 10}" for i in range(1033)]   # ids need not be real here


# ---- statistics -----------------------------------------------------------------------------------------------

def test_unpaired_interval_matches_newcombe_worked_example():
    # Newcombe (1998), independent proportions 56/70 vs 48/80, method 10: 0.0524 to 0.3339
    low, high = unpaired_interval(48, 80, 56, 70)
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)


def test_mcnemar_exact():
    assert mcnemar_exact(0, 0) == 1.0 and mcnemar_exact(4, 4) == 1.0
    assert mcnemar_exact(0, 5) == mcnemar_exact(5, 0) == 2 / 32
    assert mcnemar_exact(1, 9) == pytest.approx(2 * 11 / 1024)
    assert mcnemar_exact(3000, 3100) > 0.1 and mcnemar_exact(0, 40) < 1e-11


def test_paired_interval_properties():
    low, high = paired_interval(both=10, gains=5, losses=15, neither=20)     # delta = -10/50
    assert low < -0.2 < high < 0
    # no correlation (phi = 0): the paired interval is the hybrid-score interval of the two margins
    both, gains, losses, neither = 25, 25, 25, 25
    assert paired_interval(both, gains, losses, neither) == pytest.approx(unpaired_interval(50, 100, 50, 100))
    # the same samples graded twice are correlated: the paired interval is much narrower than the unpaired one
    paired = paired_interval(both=780, gains=2, losses=10, neither=241)
    unpaired = unpaired_interval(790, 1033, 782, 1033)
    assert paired[1] - paired[0] < (unpaired[1] - unpaired[0]) / 3


def test_two_proportion_p():
    assert two_proportion_p(10, 10, 10, 10) == 1.0
    assert two_proportion_p(500, 1000, 500, 1000) == pytest.approx(1.0)
    assert two_proportion_p(790, 1033, 700, 1033) < 1e-4


# ---- hand-built runs ------------------------------------------------------------------------------------------

def records_for(model: str, passing: set[int], n: int = 1033, sha: str = SHA) -> list[dict]:
    return [{"benchmark": BENCH, "benchmark_version": "1", "data_sha256": sha, "model": model, "source": "replay",
             "sample_id": IDS[i], "index": i, "correct": i in passing, "status": "passed" if i in passing else "failed",
             "detail": "" if i in passing else "AssertionError", "completion": "x"} for i in range(n)]


def write_run(directory: Path, records: list[dict], samples: bool = True, commit: str = "a" * 40,
              timings: list[dict] | None = None) -> Path:
    directory.mkdir(parents=True)
    summary = {"schema_version": 1, "complete": True, "results": summarize(records),
               "selection": {"benchmarks": [BENCH], "limit": None,
                             "data_sha256": {BENCH: records[0]["data_sha256"]}},
               "rules": {"execution": "exec-v1", "timeout_s": 3.0},
               "provenance": {"git": {"commit": commit, "dirty": False}},
               "run": {"command": "pytest bench_tests --infill-models m", "started": "2026-01-02T03:04:05+00:00"}}
    if timings is not None:
        summary["timings"] = timings
    (directory / "summary.json").write_text(json.dumps(summary))
    if samples:
        (directory / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return directory


BASE_PASSING = set(range(790))                       # 790/1033, like open-dcoder's published figure


def compare(tmp_path, *args: str, capsys) -> tuple[int, str, str]:
    code = main([*args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_planted_regression_is_flagged_with_its_flipped_samples(tmp_path, capsys):
    base = write_run(tmp_path / "base", records_for("m", BASE_PASSING), commit="1" * 40)
    worse = BASE_PASSING - set(range(100, 140))       # 40 samples flip from pass to fail
    run = write_run(tmp_path / "run", records_for("m", worse | {900}), commit="2" * 40)   # and one the other way
    out_file = tmp_path / "diff.md"
    code, out, err = compare(tmp_path, str(base), str(run / "summary.json"), "-o", str(out_file),
                             "--fail-on-regression", capsys=capsys)
    assert code == 1 and err == ""
    assert out == f"wrote {out_file}: 1 significant drop, 0 significant gains against baseline A\n"
    diff = out_file.read_text()
    assert diff.startswith("# infill-bench comparison\n")
    assert f"| A | `{base / 'summary.json'}` | `111111111111` | 2026-01-02T03:04:05+00:00 | yes |  " \
           f"| `pytest bench_tests --infill-models m` |" in diff
    assert "| benchmark | model | metric | A | B | Δ pp [95% CI] | test | p | verdict |" in diff
    [row] = [line for line in diff.splitlines() if line.startswith(f"| {BENCH} | m | pass@1 |")]
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert cells[3:5] == ["76.48% (790/1033)", "72.70% (751/1033)"]
    assert cells[5].startswith("-3.78 [") and cells[6] == "paired, 1033" and cells[8] == "**significantly worse**"
    assert float(cells[7]) < 1e-9          # McNemar: 40 against 1
    assert "- humaneval-single-line / m / pass@1: 40 passed → failed, 1 failed → passed" in diff
    assert "`SingleLineInfilling/HumanEval/10/L0` (failed: AssertionError)" in diff
    assert ", … and 20 more" in diff       # 20 ids listed by default, the count always
    assert "  - failed → passed: `SingleLineInfilling/HumanEval/90/L0`" in diff
    # without --fail-on-regression the drop is reported but the exit status is 0
    assert compare(tmp_path, str(base), str(run), "--max-flips", "5", capsys=capsys)[0] == 0


def test_an_insignificant_change_is_not_flagged(tmp_path, capsys):
    base = write_run(tmp_path / "base", records_for("m", BASE_PASSING))
    noisy = (BASE_PASSING - {1, 2, 3}) | {800, 801}
    run = write_run(tmp_path / "run", records_for("m", noisy))
    code, diff, _ = compare(tmp_path, str(base), str(run), "--fail-on-regression", capsys=capsys)
    assert code == 0
    assert "0 significant drops, 0 significant gains, 1 not significant" in diff
    [row] = [line for line in diff.splitlines() if line.startswith(f"| {BENCH} | m | pass@1 |")]
    assert row.endswith("| paired, 1033 | 1.000 | not significant |")
    assert "3 passed → failed, 2 failed → passed" in diff


def test_unpaired_rows_only_in_one_run_and_three_runs(tmp_path, capsys):
    base = write_run(tmp_path / "base", records_for("m", BASE_PASSING), samples=False)
    run = write_run(tmp_path / "run", records_for("m", set(range(700))) + records_for("extra", {1}))
    third = write_run(tmp_path / "third", records_for("m", BASE_PASSING))
    code, diff, _ = compare(tmp_path, str(base), str(run), str(third), "--fail-on-regression", capsys=capsys)
    assert code == 1
    assert "## B vs A (baseline)" in diff and "## C vs A (baseline)" in diff
    assert "> A has no samples.jsonl: its rows are compared unpaired and no flips are listed." in diff
    [row, _] = [line for line in diff.splitlines() if line.startswith(f"| {BENCH} | m | pass@1 |")]
    assert "| unpaired |" in row and row.endswith("| **significantly worse** |")
    assert "Only in B:\n\n| benchmark | model | metric | value |\n|---|---|---|---|\n" \
           f"| {BENCH} | extra | pass@1 | 0.10% (1/1033) |" in diff
    assert "Flipped samples" not in diff          # nothing paired


def test_timings_are_compared_when_present(tmp_path, capsys):
    timing = lambda median: [{"name": "test_sandbox_pool_throughput", "median_s": median, "rounds": 1}]
    base = write_run(tmp_path / "base", records_for("m", BASE_PASSING), timings=timing(2.0))
    run = write_run(tmp_path / "run", records_for("m", BASE_PASSING), timings=timing(3.0))
    _, diff, _ = compare(tmp_path, str(base), str(run), capsys=capsys)
    assert "| test_sandbox_pool_throughput | 2.000 s | 3.000 s | 1.50× |" in diff
    assert "No sample changed its outcome." in diff
    plain = write_run(tmp_path / "plain", records_for("m", BASE_PASSING))
    _, diff, _ = compare(tmp_path, str(base), str(plain), capsys=capsys)
    assert "Run B has no timings" in diff


# ---- bad input ------------------------------------------------------------------------------------------------

def bad_inputs(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    good = write_run(tmp_path / "good", records_for("m", BASE_PASSING))
    other_data = write_run(tmp_path / "other", records_for("m", BASE_PASSING, sha="f" * 64))
    (tmp_path / "empty").mkdir()
    (tmp_path / "notjson.json").write_text("{oops")
    (tmp_path / "foreign.json").write_text(json.dumps({"benchmarks": []}))
    return {
        "missing": ([str(good), str(tmp_path / "nope")], f"{tmp_path / 'nope'}: no such file or directory"),
        "no summary": ([str(good), str(tmp_path / "empty")], "no summary.json in this directory"),
        "not json": ([str(good), str(tmp_path / "notjson.json")], "not JSON (line 1): pass an infill-bench summary.json"),
        "not a summary": ([str(good), str(tmp_path / "foreign.json")], "not an infill-bench summary.json"),
        "other data": ([str(good), str(other_data)], "the runs graded different data, so comparing them is not like "
                                                     "with like"),
        "one run": ([str(good)], "give at least two runs"),
        "bad option": ([str(good), str(good), "--frobnicate"], "unrecognized arguments: --frobnicate"),
    }


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    for name, (args, expected) in bad_inputs(tmp_path).items():
        code, out, err = compare(tmp_path, *args, capsys=capsys)
        assert code == 2 and out == "", name
        assert err.count("\n") == 1 and err.startswith("infill-bench compare: error: ") and expected in err, (name, err)


def test_the_command_line_entry_point(tmp_path):
    cases = bad_inputs(tmp_path)
    args, expected = cases["other data"]
    done = subprocess.run([sys.executable, "-m", "infill.reporting.compare", *args], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and done.stdout == "" and len(done.stderr.splitlines()) == 1
    assert expected in done.stderr and "Traceback" not in done.stderr
    same = subprocess.run([sys.executable, "-m", "infill.reporting.compare", args[0], args[0]], cwd=ROOT, capture_output=True,
                          text=True)
    assert same.returncode == 0 and same.stdout.startswith("# infill-bench comparison")
