"""The analyses behind the report: statistics against known values, multi-model agreement and the oracle,
ensemble analyses on hand-made ensemble records, figures, the per-sample ensemble file and the report section."""

import json
import math

import numpy as np
import pytest

from infill.common.jsonable import perplexity_value, to_jsonable
from infill.common.statistics import bootstrap_auc_interval, mcnemar_exact, pearson, roc_auc
from infill.reporting.analysis import ANALYSIS_VERSION, compute_analyses, render_analyses, write_analyses
from infill.reporting.analysis.agreement import multi_model_analysis, pair_overlap
from infill.reporting.analysis.ensemble import ensemble_analysis
from infill.reporting.analysis.published import ensemble_files, published_pair, sanitize

BENCH = "humaneval-single-line"
DIFF, AR = "tiny-qwen2-diffusion/oracle", "tiny-qwen2-fim"


def record(model, i, correct, benchmark=BENCH, task_type="single-line", **extra):
    return {"benchmark": benchmark, "model": model, "source": "replay", "sample_id": f"SingleLineInfilling/{i}",
            "index": i, "task_type": task_type, "completion": f"c{i}", "correct": bool(correct),
            "status": "passed" if correct else "failed", "data_sha256": "0" * 64, "benchmark_version": "1", **extra}


def ensemble_record(i, diff_ppl, diff_ok, ar_ppl, ar_ok, strategy="lowest-perplexity", task_type="single-line",
                    model=None):
    """An ensemble row's record in the schema the ensemble writes; lowest-perplexity keeps the lower perplexity,
    the oracle the first correct candidate."""
    candidates = {DIFF: {"completion": f"d{i}", "perplexity": diff_ppl, "correct": diff_ok,
                         "status": "passed" if diff_ok else "failed"},
                  AR: {"completion": f"a{i}", "perplexity": ar_ppl, "correct": ar_ok,
                       "status": "passed" if ar_ok else "failed"}}
    value = lambda p: math.inf if p in (None, "inf") else p
    lowest = DIFF if value(diff_ppl) <= value(ar_ppl) else AR
    oracle = DIFF if diff_ok else (AR if ar_ok else lowest)
    choices = {"lowest-perplexity": lowest, "oracle": oracle}
    winner = choices[strategy]
    details = {"strategy": strategy, "strategy_version": "v1", "scorer": "ar_plain:tiny-qwen2-fim",
               "scorer_version": "ar-plain-v1", "members": [DIFF, AR], "winner": winner,
               "candidates": candidates, "choices": choices, "oracle": strategy == "oracle"}
    return record(model or f"ensemble/{strategy}", i, candidates[winner]["correct"], task_type=task_type,
                  completion=candidates[winner]["completion"], ensemble=details)


# (diffusion ppl, diffusion correct, AR ppl, AR correct, task type)
ENSEMBLE_DATA = [
    (2.0, True, 5.0, False, "single-line"),      # keeps diffusion, correct
    (9.0, False, 3.0, True, "single-line"),      # keeps AR, correct
    (1.5, False, 4.0, True, "multi-line"),       # keeps diffusion, wrong (AR would have been right)
    (8.0, True, 2.0, False, "multi-line"),       # keeps AR, wrong
    (None, False, 2.5, True, "multi-line"),      # diffusion unscorable: keeps AR, correct
    (3.0, False, 6.0, False, ""),                # nobody right
]


def ensemble_records(strategies=("lowest-perplexity",)):
    return [ensemble_record(i, d, dk, a, ak, strategy=s, task_type=t)
            for s in strategies for i, (d, dk, a, ak, t) in enumerate(ENSEMBLE_DATA)]


def member_records():
    """The members' own rows (their verdicts as graded by their own tests)."""
    return [record(DIFF, i, d[1]) for i, d in enumerate(ENSEMBLE_DATA)] + \
        [record(AR, i, d[3]) for i, d in enumerate(ENSEMBLE_DATA)]


# statistics -----------------------------------------------------------------------------------------------------

def test_mcnemar_exact_matches_the_binomial_tail():
    assert mcnemar_exact(1, 9) == pytest.approx(0.021484375, abs=1e-15)      # 2 * P(X <= 1), X ~ Bin(10, 1/2)
    assert mcnemar_exact(9, 1) == mcnemar_exact(1, 9)
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 5) == 1.0                                        # capped at 1
    from scipy.stats import binomtest
    assert mcnemar_exact(30, 52) == pytest.approx(binomtest(30, 82, 0.5).pvalue, rel=1e-12)
    assert 0 < mcnemar_exact(2000, 2300) < 1                                 # large n stays exact and finite


def test_roc_auc_known_values():
    labels = [True, True, False, False]
    assert roc_auc([4, 3, 2, 1], labels) == 1.0
    assert roc_auc([1, 2, 3, 4], labels) == 0.0
    assert roc_auc([1, 1, 1, 1], labels) == 0.5
    assert roc_auc([3, -math.inf, 2, -math.inf], labels) == pytest.approx(0.625)   # -inf ranks lowest, ties 1/2
    assert roc_auc([1, 2], [True, True]) is None and roc_auc([], []) is None


def test_pearson_matches_numpy_and_is_none_when_undefined():
    x, y = [0.1, 0.5, 0.9, 1.7, 2.2], [1, 1, 0, 1, 0]
    assert pearson(x, y)["r"] == pytest.approx(np.corrcoef(x, y)[0, 1], abs=1e-12)
    assert 0 < pearson(x, y)["p_value"] < 1
    assert pearson([1, 2, 3], [1, 1, 1])["r"] is None
    assert pearson([1, 2], [0, 1])["r"] is None


def test_bootstrap_interval_is_deterministic_and_brackets_the_auc():
    rng = np.random.default_rng(0)
    labels = rng.random(200) < 0.4
    scores = labels * 0.8 + rng.normal(size=200)
    first, second = bootstrap_auc_interval(scores, labels), bootstrap_auc_interval(scores, labels)
    assert first == second and first["resamples_used"] == 1000
    assert first["low"] < roc_auc(scores, labels) < first["high"]
    # the vectorised AUC of a resample equals the direct one
    picks = np.random.default_rng(1).integers(0, 200, 200)
    one = bootstrap_auc_interval(scores[picks], labels[picks], resamples=1)
    assert one["low"] is not None
    assert bootstrap_auc_interval([1.0, 2.0], [True, True])["low"] is None       # one class: undefined
    perfect = bootstrap_auc_interval([2.0, 1.0, 2.0, 1.0], [True, False, True, False])
    assert perfect["low"] == perfect["high"] == 1.0


def test_jsonable_rounds_and_removes_non_finite_numbers():
    assert to_jsonable({"a": 1 / 3, "b": math.inf, "c": float("nan"), "d": [np.float64(0.5), True]}) == \
        {"a": 0.333333, "b": None, "c": None, "d": [0.5, True]}
    assert perplexity_value(None) == perplexity_value("inf") == perplexity_value(float("nan")) == math.inf
    assert perplexity_value(3) == 3.0


def test_a_tiny_p_value_is_never_written_or_shown_as_zero():
    from infill.common.statistics import mcnemar_exact
    from infill.reporting.analysis.render import pvalue

    p = mcnemar_exact(1, 772)                 # deepseek vs the tiny ensemble on HumanEval: 1 against 772
    assert 0 < p < 1e-200
    stored = to_jsonable({"p": p})["p"]
    assert stored > 0 and abs(stored - p) / p < 1e-5 and pvalue(stored).endswith(("e-229", "e-230", "e-228"))
    assert to_jsonable(0.0012345678) == 0.001235 and to_jsonable(-2.5e-7) == -2.5e-07
    assert pvalue(mcnemar_exact(0, 2000)) == "< 1e-300"     # below the smallest float: said so, not "0"


# multi-model analyses -------------------------------------------------------------------------------------------

def test_multi_model_oracle_complementarity_and_overlap():
    a = [1, 1, 0, 0, 1]
    b = [1, 0, 1, 0, 0]
    records = [record("model-a", i, v) for i, v in enumerate(a)] + \
              [record("model-b", i, v) for i, v in enumerate(b)] + \
              [record("model-b", 9, 1)] + [record("canonical", i, 1) for i in range(5)]
    result = multi_model_analysis(records)
    assert result["models"] == ["model-a", "model-b"] and result["excluded"] == ["canonical"]
    assert result["shared_samples"] == 5 and result["samples_per_model"] == {"model-a": 5, "model-b": 6}
    assert result["oracle"]["passed"] == 4 and "ORACLE" in result["oracle"]["label"]
    assert result["solved_only_by"] == {"model-a": 2, "model-b": 1}
    assert result["solved_by_none"] == 1
    assert result["best_single"] == {"models": ["model-a"], "passed": 3, "rate": 0.6}
    assert result["oracle_gain"] == {"samples": 1, "rate": 0.2}
    assert result["per_model"]["model-b"]["all_samples"]["passed"] == 3       # includes the unshared sample
    assert result["per_model"]["model-b"]["shared_samples"]["passed"] == 2
    pair = result["pairs"][0]
    assert (pair["both_right"], pair["only_a_wrong"], pair["only_b_wrong"], pair["both_wrong"]) == (1, 1, 2, 1)
    assert pair["mcnemar_p"] == pytest.approx(mcnemar_exact(2, 1))


def test_an_oracle_ensemble_row_is_compared_but_not_part_of_the_oracle():
    records = ensemble_records(("lowest-perplexity", "oracle")) + member_records()
    result = multi_model_analysis(records)
    assert result["oracle_rows"] == ["ensemble/oracle"]
    assert "ensemble/oracle" not in result["solved_only_by"] and result["best_single"]["models"] == [
        "ensemble/lowest-perplexity", AR]
    assert result["oracle"]["passed"] == 5 and len(result["pairs"]) == 6


def test_multi_model_degenerate_inputs():
    assert multi_model_analysis([])["shared_samples"] == 0
    single = multi_model_analysis([record("m", 0, True)])
    assert single["oracle"]["passed"] == 1 and single["pairs"] == []
    assert pair_overlap([], [])["mcnemar_p"] == 1.0


# ensemble analyses ----------------------------------------------------------------------------------------------

def test_ensemble_selection_and_winner_correctness():
    result = ensemble_analysis(ensemble_records(("lowest-perplexity", "oracle")))
    assert result["members"] == [DIFF, AR] and result["n"] == 6
    row = result["rows"]["ensemble/lowest-perplexity"]
    assert row["passed"] == 3 and not row["oracle"] and row["verdict_mismatches"] == 0
    overall = row["selection"]["overall"]
    assert overall[DIFF]["count"] == 3 and overall[AR]["count"] == 3       # rows 0, 2, 5 / 1, 3, 4
    assert overall[DIFF]["share"] == 0.5
    multi = row["selection"]["by_task_type"]["multi-line"]
    assert multi["n"] == 3 and multi["members"][AR]["count"] == 2
    assert "(none)" in row["selection"]["by_task_type"]                       # an empty task type is labelled
    assert row["winner_correct"][DIFF] == {"chosen": 3, "correct": 1, "rate": pytest.approx(1 / 3)}
    assert row["winner_correct"][AR] == {"chosen": 3, "correct": 2, "rate": pytest.approx(2 / 3)}
    versus_ar = row["vs_members"][AR]
    assert versus_ar["ensemble_solves_member_fails"] == 1 and versus_ar["member_solves_ensemble_fails"] == 1
    assert result["rows"]["ensemble/oracle"]["oracle"] and result["rows"]["ensemble/oracle"]["passed"] == 5


def test_ensemble_member_statistics_and_strategy_table():
    result = ensemble_analysis(ensemble_records(("lowest-perplexity", "oracle")))
    diffusion = result["per_member"][DIFF]
    assert diffusion["perplexity"]["inf"] == 1 and diffusion["perplexity"]["finite"] == 5
    assert diffusion["perplexity"]["median"] == 3.0
    assert diffusion["candidates"]["passed"] == 2
    auc = diffusion["predicts_correctness"]["roc_auc_neg_perplexity"]
    # correct candidates have ppl 2 and 8; incorrect 9, 1.5, inf, 3: 2 beats 9, inf, 3 and 8 beats 9, inf
    assert auc["auc"] == pytest.approx(5 / 8) and auc["resamples"] == 1000
    pearson_r = diffusion["predicts_correctness"]["pearson_log_perplexity"]
    logs = [math.log(p) for p in (2.0, 9.0, 1.5, 8.0, 3.0)]
    assert pearson_r["n"] == 5 and pearson_r["r"] == pytest.approx(np.corrcoef(logs, [1, 0, 0, 1, 0])[0, 1])
    table = {s["strategy"]: s for s in result["strategies"]}
    assert table["lowest-perplexity"]["passed"] == 3 and table["oracle"]["passed"] == 5
    assert table["oracle"]["oracle"] and "ORACLE" in table["oracle"]["label"]
    assert table[f"always {AR}"]["passed"] == 3 and table[f"always {DIFF}"]["passed"] == 2
    assert result["complementarity"]["solved_by_any"] == 5 and result["complementarity"]["oracle_gain"]["samples"] == 2
    pair = result["member_pairs"][0]
    assert (pair["both_right"], pair["both_wrong"]) == (0, 1)


@pytest.mark.parametrize("case", ["all-correct", "all-wrong", "single", "all-inf"])
def test_ensemble_degenerate_data(case, tmp_path):
    data = {"all-correct": [(2.0, True, 3.0, True)] * 3, "all-wrong": [(2.0, False, 3.0, False)] * 3,
            "single": [(2.0, True, 3.0, False)], "all-inf": [(None, True, "inf", False)] * 3}[case]
    records = [ensemble_record(i, *row) for i, row in enumerate(data)]
    records += [record(DIFF, i, d[1]) for i, d in enumerate(data)] + [record(AR, i, d[3]) for i, d in enumerate(data)]
    analyses = write_analyses(tmp_path, records)
    assert "error" not in analyses and analyses["errors"] == []
    json.dumps(analyses, allow_nan=False)
    assert len(analyses["plots"]) == 3 and all((tmp_path / p["file"]).exists() for p in analyses["plots"])
    assert "## Analyses" in "\n".join(render_analyses(analyses))


# figures and files ----------------------------------------------------------------------------------------------

def test_plots_are_png_and_byte_identical_across_writes(tmp_path):
    records = ensemble_records() + member_records()[len(ENSEMBLE_DATA):]
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir(), second.mkdir()
    analyses = write_analyses(first, records)
    assert write_analyses(second, records) == analyses
    kinds = {p["kind"] for p in analyses["plots"]}
    assert kinds == {"pass-rates", "perplexity", "selection"}
    for plot in analyses["plots"]:
        data = (first / plot["file"]).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        assert data == (second / plot["file"]).read_bytes()
        assert b"matplotlib" not in data.lower()                   # no software tag in the metadata
    assert "analysis-humaneval-single-line-ensemble-perplexity.png" in {p["file"] for p in analyses["plots"]}


def test_published_ensemble_file():
    records = ensemble_records(("lowest-perplexity", "oracle"))
    files = ensemble_files(list(reversed(records)))
    assert sorted(files) == ["ensemble-ensemble_lowest-perplexity.jsonl", "ensemble-ensemble_oracle.jsonl"]
    lines = [json.loads(line) for line in files["ensemble-ensemble_lowest-perplexity.jsonl"].splitlines()]
    assert [line["index"] for line in lines] == list(range(6))
    first = lines[0]
    assert first["task_id"] == "SingleLineInfilling/0" and first["winner"] == "dllm"
    assert first["dllm_output"] == "d0" and first["qwen_output"] == "a0" and first["completion"] == "d0"
    assert first["dllm_perplexity"] == 2.0 and first["qwen_perplexity"] == 5.0
    assert first["candidates"][AR] == {"correct": False, "status": "failed", "perplexity": 5.0}
    assert first["scorer"] == "ar_plain:tiny-qwen2-fim" and first["strategy"] == "lowest-perplexity"
    assert lines[1]["winner"] == "qwen" and lines[4]["dllm_perplexity"] is None
    assert published_pair(["a", "b"], {"b": "diffusion", "a": "ar-fim"}) == ("b", "a")
    assert sanitize("ensemble/lowest-perplexity") == "ensemble_lowest-perplexity"


def test_summary_dict_is_strict_json_with_rounded_floats():
    analyses = to_jsonable(compute_analyses(ensemble_records()))
    text = json.dumps(analyses, allow_nan=False)
    assert analyses["version"] == ANALYSIS_VERSION
    assert all(len(part.split(".")[1]) <= 6 for part in text.replace(",", " ").replace("]", " ").replace("}", " ")
               .split() if part.replace(".", "", 1).replace("-", "", 1).isdigit() and "." in part)


# report integration ---------------------------------------------------------------------------------------------

def context():
    return {"complete": True, "incomplete_reason": "", "notes": [],
            "selection": {"models": [DIFF, AR, "ensemble/lowest-perplexity"], "profile": "test",
                          "benchmarks": [BENCH], "limit": None, "data_sha256": {BENCH: "0" * 64}},
            "rules": {"execution": "exec-v1", "timeout_s": 5, "memory_mb": 512, "isolation": "none",
                      "em_rules": {"first_line": "v1"}, "em_rule_deciding_tests": "first_line",
                      "edit_similarity": "v1", "postprocessing": "none"},
            "sources": [{"model": DIFF, "kind": "replay"}, {"model": AR, "kind": "replay"}],
            "provenance": {"git": {"commit": "abc", "dirty": False}, "packages": {},
                           "machine": {"platform": "linux", "cpu_count": 2, "python": "3.11", "gpu": []}},
            "run": {"command": "pytest", "started": "t0", "finished": "t1", "seconds": 1.0}}


def test_write_report_adds_the_analyses(tmp_path):
    from infill.reporting.report import write_report
    from infill.reporting.summary import summarize
    records = ensemble_records() + member_records()
    write_report(tmp_path, records, summarize(records), context())
    report = (tmp_path / "report.md").read_text()
    assert "## Analyses" in report and report.index("## Results") < report.index("## Analyses")
    assert "ORACLE best-of-N" in report and "McNemar" in report
    links = [line.split("](")[1].rstrip(")") for line in report.splitlines() if line.startswith("![")]
    assert len(links) == 3 and all((tmp_path / link).read_bytes().startswith(b"\x89PNG") for link in links)
    summary = json.loads((tmp_path / "summary.json").read_text())
    analyses = summary["analyses"]
    assert analyses["version"] == ANALYSIS_VERSION and analyses["errors"] == []
    assert analyses["benchmarks"][BENCH]["models"]["shared_samples"] == 6
    assert analyses["benchmarks"][BENCH]["ensembles"]["ensemble"]["rows"]["ensemble/lowest-perplexity"]["passed"] == 3
    assert (tmp_path / "ensemble-ensemble_lowest-perplexity.jsonl").exists()
    assert "ensemble-ensemble_lowest-perplexity.jsonl" in report
