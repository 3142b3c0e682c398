"""Regression gates (infill/gates/): the file's validation, the evaluation on hand-made results, and one run of
the benchmark suite with --infill-gates on the recorded replays (exit 0 / 1 / 2)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from infill.errors import InfillUsageError
from infill.reporting.gates import GateSet, evaluate_gates, load_gates, markdown_lines, outcomes_json, terminal_lines

ROOT = Path(__file__).resolve().parents[1]

GATE = """
[[gate]]
benchmark = "humaneval-single-line"
model = "recorded-open-dcoder-0.5B"
metric = "pass@1"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gates.toml"
    path.write_text(text)
    return path


def usage_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(InfillUsageError) as caught:
        load_gates(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    return message


# ---- the gates file -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["recorded.toml", "tiny-ci.toml", "paper-gpu.example.toml"])
def test_shipped_gate_files_are_valid(name):
    gates = load_gates(ROOT / "gates" / name)
    assert len(gates) > 0
    assert all(g.n for g in gates.gates if g.metric == "pass@1")   # every score gate says what n it was written for


def test_a_valid_file_reads_defaults_fractions_and_must_pass(tmp_path):
    gates = load_gates(write(tmp_path, '[defaults]\ntolerance = 0.01\nn = 1033\n' + GATE + 'at_least = "790/1033"\n'
                                       + GATE + 'at_least = 0.5\ntolerance = 0.0\nn = 64\nname = "mine"\n'
                                       '[[must_pass]]\nbenchmark = "santacoder-fim-py"\nmodel = "m"\nmetric = "em_full"\n'
                                       'samples = ["py/8_sum_product/L13"]\n'))
    first, second = gates.gates
    assert (first.threshold, first.tolerance, first.n, first.name) == \
        (790 / 1033, 0.01, 1033, "humaneval-single-line / recorded-open-dcoder-0.5B / pass@1")
    assert (second.threshold, second.tolerance, second.n, second.name) == (0.5, 0.0, 64, "mine")
    assert gates.must_pass[0].samples == ("py/8_sum_product/L13",)


@pytest.mark.parametrize("text, expected", [
    (GATE + "at_least = 0.5\nmodel2 = 1\n", "gate 1 (humaneval-single-line / recorded-open-dcoder-0.5B / pass@1): unknown key "
                                            "'model2'"),
    (GATE + "at_leest = 0.5\n", "unknown key 'at_leest' (did you mean 'at_least'?)"),
    ("[gates]\nx = 1\n", "unknown top-level key 'gates' (did you mean 'gate'?)"),
    ("gate = 1\n", "'gate' must be an array of tables: write [[gate]]"),
    (GATE, "no threshold: add at_least"),
    (GATE + "at_least = 0.5\nat_most = 0.9\n", "both at_least and at_most"),
    (GATE + 'at_least = "high"\n', "neither a number nor a fraction"),
    (GATE + "at_least = 78\n", "outside [0, 1]: pass@1 is a fraction (a percentage? write 0.78)"),
    (GATE + 'at_least = 0.5\ntolerance = "0.1"\n', "tolerance = '0.1' is not a number"),
    (GATE + "at_least = 0.5\ntolerance = 2\n", "the gate could never fail"),
    (GATE + "at_least = 0.5\nn = 10.5\n", "n = 10.5 is not a positive whole number"),
    (GATE + "at_least = 0.5\nn = 5000\n", "n = 5000 is more than humaneval-single-line's 1033 samples"),
    (GATE + 'at_least = 0.5\noptional = "yes"\n', "optional = 'yes' is not a boolean"),
    (GATE.replace('"humaneval-single-line"', '"humaneval"') + "at_least = 0.5\n", "unknown benchmark 'humaneval'"),
    (GATE.replace('"pass@1"', '"em_full"') + "at_least = 0.5\n",
     "unknown metric 'em_full' for humaneval-single-line: choose from pass@1, pass@10, pass@100, timeout"),
    (GATE.replace('metric = "pass@1"\n', "") + "at_least = 0.5\n", "missing 'metric'"),
    (GATE.replace('"pass@1"', '"timeout"') + "at_most = 0.5\n", "timeout is a count of samples"),
    ('[defaults]\ntolerance = -1\n' + GATE + "at_least = 0.5\n", "[defaults]: tolerance = -1 is negative"),
    ('[[must_pass]]\nbenchmark = "humaneval-single-line"\nmodel = "m"\nsamples = "x"\n',
     "must_pass 1 (humaneval-single-line / m): 'samples' must be a non-empty list"),
    ('[[must_pass]]\nbenchmark = "humaneval-single-line"\nmodel = "m"\n'
     'samples = ["SingleLineInfilling/HumanEval/0/L99"]\n', "is not a sample id of humaneval-single-line"),
    ("# nothing here\n", "defines no gate"),
])
def test_gate_file_mistakes_are_one_line_usage_errors(tmp_path, text, expected):
    assert expected in usage_error(tmp_path, text)


def test_toml_syntax_error_names_the_line(tmp_path):
    message = usage_error(tmp_path, GATE + 'at_least = 0.5\nname = "unterminated\n')
    assert "not valid TOML" in message and "line 7" in message and "fix the syntax" in message


def test_missing_file(tmp_path):
    with pytest.raises(InfillUsageError, match="not found: pass --infill-gates with an existing TOML file"):
        load_gates(tmp_path / "nope.toml")


# ---- evaluation -----------------------------------------------------------------------------------------------

def result(benchmark: str, model: str, metric: str, passed: int, n: int, size: int = 1033, **counts) -> dict:
    return {"benchmark": benchmark, "model": model, "metric": metric, "passed": passed, "n": n,
            "value": passed / n, "dataset_size": size,
            **{k: counts.get(k, 0) for k in ("timeout", "memory", "missing", "sandbox_error")}}


RESULTS = [result("humaneval-single-line", "recorded-open-dcoder-0.5B", "pass@1", 790, 1033, timeout=3),
           result("santacoder-fim-py", "recorded-open-dcoder-0.5B", "em_first_line", 584, 1043, size=1043),
           result("santacoder-fim-py", "recorded-open-dcoder-0.5B", "em_full", 500, 1043, size=1043)]


def check(tmp_path: Path, text: str, results=RESULTS, records=()):
    return evaluate_gates(load_gates(write(tmp_path, text)), list(results), list(records))


def test_a_gate_below_the_figure_passes_and_the_exact_figure_holds(tmp_path):
    outcomes = check(tmp_path, GATE + "at_least = 0.75\nn = 1033\n" + GATE + 'at_least = "790/1033"\n'
                     + GATE + "at_least = 0.78\ntolerance = 0.02\n")
    assert [o.status for o in outcomes] == ["pass"] * 3 and all(o.passed for o in outcomes)
    assert outcomes[0].measured == pytest.approx(0.764763, abs=1e-6) and outcomes[0].threshold == 0.75


def test_a_gate_above_the_figure_fails_naming_gate_measured_and_threshold(tmp_path):
    [outcome] = check(tmp_path, GATE + 'at_least = 0.78\nname = "open-dcoder HE"\n')
    assert outcome.status == "fail" and not outcome.passed
    assert outcome.message == "gate 'open-dcoder HE' FAILED: measured 76.48% (790/1033), needs >= 78.00%"
    [outcome] = check(tmp_path, GATE + "at_least = 0.80\ntolerance = 0.02\n")
    assert "measured 76.48% (790/1033), needs >= 78.00% (80.00% minus 2.00 pp tolerance)" in outcome.message


def test_lower_is_better_gates_on_counts(tmp_path):
    gate = GATE.replace('"pass@1"', '"timeout"')
    assert [o.status for o in check(tmp_path, gate + "at_most = 3\n" + gate + "at_most = 2\n")] == ["pass", "fail"]
    [outcome] = check(tmp_path, gate + "at_most = 0\ntolerance = 1\n")
    assert outcome.message.endswith("measured 3 of 1033, needs <= 1 (0 + 1)")


def test_a_different_n_fails_and_says_what_to_do(tmp_path):
    subset = [result("humaneval-single-line", "recorded-open-dcoder-0.5B", "pass@1", 60, 64)]
    [outcome] = check(tmp_path, GATE + "at_least = 0.5\nn = 1033\n", results=subset)
    assert outcome.status == "fail"       # even though 60/64 is far above the threshold
    assert "not comparable: measured 93.75% (60/64) on n = 64 samples, but the gate was written for n = 1033 " \
           "(the full benchmark of 1033): run it whole (no --infill-limit, no -k), or use a gates file written " \
           "for n = 64" in outcome.message
    [outcome] = check(tmp_path, GATE + "at_least = 0.5\nn = 256\n", results=subset)
    assert "(the first 256 of 1033): run with --infill-limit 256" in outcome.message


def test_a_gate_without_a_result_fails_unless_optional(tmp_path):
    missing = GATE.replace("recorded-open-dcoder-0.5B", "ens/lowest-perplexity") + "at_least = 0.5\n"
    [outcome] = check(tmp_path, missing)
    assert outcome.status == "fail"
    assert "cannot be checked: no humaneval-single-line / ens/lowest-perplexity / pass@1 result in this run " \
           "(models with humaneval-single-line results: recorded-open-dcoder-0.5B)" in outcome.message
    [outcome] = check(tmp_path, missing + "optional = true\n")
    assert outcome.status == "skip" and outcome.passed


def test_must_pass_names_the_failing_samples(tmp_path):
    def record(sample_id, correct, status, detail=""):
        return {"benchmark": "humaneval-single-line", "model": "recorded-open-dcoder-0.5B", "sample_id": sample_id,
                "correct": correct, "status": status, "detail": detail}
    records = [record("SingleLineInfilling/HumanEval/0/L0", True, "passed"),
               record("SingleLineInfilling/HumanEval/0/L2", False, "failed", "AssertionError")]
    text = ('[[must_pass]]\nbenchmark = "humaneval-single-line"\nmodel = "recorded-open-dcoder-0.5B"\nsamples = ['
            '"SingleLineInfilling/HumanEval/0/L0", "SingleLineInfilling/HumanEval/0/L2", '
            '"SingleLineInfilling/HumanEval/0/L3"]\nname = "easy cases"\n')
    [outcome] = check(tmp_path, text, records=records)
    assert outcome.status == "fail" and outcome.shown == "1/3 pass"
    assert outcome.failing_samples == ["SingleLineInfilling/HumanEval/0/L2", "SingleLineInfilling/HumanEval/0/L3"]
    assert outcome.message == ("gate 'easy cases' FAILED: 2 of 3 samples that must pass did not: "
                               "SingleLineInfilling/HumanEval/0/L2 (failed: AssertionError); "
                               "SingleLineInfilling/HumanEval/0/L3 (not graded in this run: outside --infill-limit or -k)")
    [outcome] = check(tmp_path, text.replace(', "SingleLineInfilling/HumanEval/0/L2", '
                                             '"SingleLineInfilling/HumanEval/0/L3"', ""), records=records)
    assert outcome.status == "pass"


def test_renderers(tmp_path):
    outcomes = check(tmp_path, GATE + "at_least = 0.75\n" + GATE + "at_least = 0.9\n")
    lines = terminal_lines(outcomes, "g.toml")
    assert lines[0] == "gates (g.toml): 1 passed, 1 failed"
    assert lines[1].startswith("PASS  gate ") and lines[2].startswith("FAIL  gate ")
    markdown = "\n".join(markdown_lines(outcomes, "g.toml"))
    assert markdown.startswith("## Gates\n\n1 passed, 1 failed (gates file `g.toml`).")
    assert "| humaneval-single-line / recorded-open-dcoder-0.5B / pass@1 | humaneval-single-line | recorded-open-dcoder-0.5B | pass@1 " \
           "| 1033 | 76.48% (790/1033) | >= 90.00% | **FAIL** |" in markdown
    assert "Failed gates:" in markdown
    entries = json.loads(json.dumps(outcomes_json(outcomes)))
    assert [(e["status"], e["passed"], e["threshold"]) for e in entries] == [("pass", True, 0.75), ("fail", False, 0.9)]
    assert markdown_lines([], None) == [] and len(GateSet(Path("x"))) == 0


# ---- through pytest: one run of the suite on the recorded replays ---------------------------------------------

def run_suite(report_dir: Path, gates: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "bench_tests", "-q", "-p", "no:cacheprovider",
                           "--infill-models", "recorded-open-dcoder-0.5B", "--infill-benchmarks", "humaneval-single-line",
                           "--infill-limit", "64", "--infill-report-dir", str(report_dir), "--infill-gates", str(gates)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_gates_decide_the_exit_status_of_a_suite_run(tmp_path):
    # 54/64 = 84.38% on the first 64 single-line samples of the recorded open-dcoder generations
    below = tmp_path / "below.toml"
    below.write_text(GATE + "at_least = 0.80\nn = 64\n")
    done = run_suite(tmp_path / "below", below)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "PASS  gate 'humaneval-single-line / recorded-open-dcoder-0.5B / pass@1' holds: measured 84.38% (54/64)" in done.stdout
    assert json.loads((tmp_path / "below" / "summary.json").read_text())["gates"][0]["passed"] is True

    above = tmp_path / "above.toml"
    above.write_text(GATE + 'at_least = 0.90\nn = 64\nname = "too high"\n')
    done = run_suite(tmp_path / "above", above)
    message = "gate 'too high' FAILED: measured 84.38% (54/64), needs >= 90.00%"
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"FAIL  {message}" in done.stdout and "1 of 1 gates failed" in done.stdout
    assert " failed" not in done.stdout.splitlines()[-1]    # pytest's own tally: no test failed, only the gate
    report = (tmp_path / "above" / "report.md").read_text()
    assert "## Gates" in report and f"- {message}" in report and "| 64 | 84.38% (54/64) | >= 90.00% | **FAIL** |" in report
    [entry] = json.loads((tmp_path / "above" / "summary.json").read_text())["gates"]
    assert (entry["name"], entry["measured"], entry["threshold"], entry["passed"]) == ("too high", 54 / 64, 0.9, False)

    broken = tmp_path / "broken.toml"
    broken.write_text(GATE + "at_least = 0.5\nmetric = 1\n")
    done = run_suite(tmp_path / "broken", broken)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("infill-bench: error:")]
    assert errors == [f"infill-bench: error: {broken}: not valid TOML: Cannot overwrite a value (at line 7, column 11): "
                      f"fix the syntax there"]
    assert "Traceback" not in done.stdout + done.stderr and "passed" not in done.stdout
    assert not (tmp_path / "broken").exists()       # no test ran, no report was written
