"""The ensemble as a user runs it: tiny live members and replayed real recordings, `-k ensemble`, and the
sequential low-memory mode, all through pytest on the benchmark suite."""

import json
import math

import pytest

from tests.test_suite_end_to_end import run_suite

LIMIT = "10"
ENSEMBLES = ["--infill-models", "ensemble", "--infill-ensemble", "rec=recorded-open-dcoder-0.5B+recorded-qwen2.5-coder-1.5b-instruct",
             "--infill-limit", LIMIT]


def records(report_dir):
    return [json.loads(line) for line in (report_dir / "samples.jsonl").read_text().splitlines()]


def results(report_dir):
    summary = json.loads((report_dir / "summary.json").read_text())
    return {(r["benchmark"], r["model"], r["metric"]): r["passed"] for r in summary["results"]}, summary


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    report_dir = tmp_path_factory.mktemp("ensemble")
    cache = tmp_path_factory.mktemp("cache")
    done = run_suite(report_dir, *ENSEMBLES, "--infill-cache-dir", str(cache))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return report_dir, cache


@pytest.mark.slow
def test_ensemble_rows_carry_candidates_and_choose_consistently(full_run):
    report_dir, _ = full_run
    rows = records(report_dir)
    by_key = {(r["benchmark"], r["model"], r["sample_id"]): r for r in rows}
    models = {r["model"] for r in rows}
    assert {"ensemble/lowest-perplexity", "ensemble/calibrated", "ensemble/routed", "rec/lowest-perplexity",
            "tiny-qwen2-fim", "tiny-qwen2-diffusion/oracle", "recorded-open-dcoder-0.5B"} <= models
    ensemble_rows = [r for r in rows if "ensemble" in r]
    assert ensemble_rows and all(r["source"] == "ensemble" for r in ensemble_rows)
    for r in ensemble_rows:
        e = r["ensemble"]
        assert r["completion"] == e["candidates"][e["winner"]]["completion"]
        if e["strategy"] == "lowest-perplexity":
            ppl = [math.inf if c["perplexity"] is None else c["perplexity"] for c in e["candidates"].values()]
            assert (math.inf if e["candidates"][e["winner"]]["perplexity"] is None
                    else e["candidates"][e["winner"]]["perplexity"]) == min(ppl)
        for member, candidate in e["candidates"].items():
            own = by_key[(r["benchmark"], member, r["sample_id"])]          # the member's own test case
            assert candidate["completion"] == own["completion"]
            assert candidate["correct"] == own["correct"], (member, r["sample_id"])
        assert r["correct"] == e["candidates"][e["winner"]]["correct"]
        oracle_correct = e["candidates"][e["choices"]["oracle"]]["correct"]
        assert oracle_correct == any(c["correct"] for c in e["candidates"].values())


@pytest.mark.slow
def test_k_ensemble_runs_only_the_ensemble_cases_with_the_same_figures(full_run, tmp_path):
    report_dir, cache = full_run
    done = run_suite(tmp_path, *ENSEMBLES, "--infill-cache-dir", str(cache), "-k", "ensemble")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    selected, _ = results(tmp_path)
    full, _ = results(report_dir)
    assert selected and all("ensemble" in model for _, model, _ in selected)
    assert selected == {k: v for k, v in full.items() if "ensemble" in k[1]}


@pytest.mark.slow
def test_sequential_models_give_the_same_results_with_one_model_in_memory(full_run, tmp_path):
    report_dir, _ = full_run
    done = run_suite(tmp_path, "--infill-models", "ensemble", "--infill-limit", LIMIT, "--infill-sequential-models",
                     "--infill-cache-dir", str(tmp_path / "cache"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    sequential, summary = results(tmp_path)
    full, full_summary = results(report_dir)
    assert sequential == {k: v for k, v in full.items() if not k[1].startswith(("rec", "open-dcoder", "qwen2.5"))}
    memory = summary["provenance"]["models_in_memory"]
    together = full_summary["provenance"]["models_in_memory"]
    assert memory["mode"] == "sequential" and together["mode"] == "together"
    assert memory["peak_held_bytes"] == max(memory["weights_bytes"].values())
    assert together["peak_held_bytes"] == sum(together["weights_bytes"].values())
