"""The paper profiles rerun what was published: Open-dCoder with the re-masking p2 of the recorded rerun (`paper`)
or the original p2 of the Open-dLLM README (`open-dllm-readme`), Qwen2.5-Coder-1.5B-Instruct for the recorded 1.5B
row, AR sampling as `model.generate` resolves it from each model's generation_config.json; recorded and live rows
never share a name; without weights the run stops with one block naming every missing model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infill.config.live_settings import LiveSettings
from infill.config.profiles import PROFILES

ROOT = Path(__file__).resolve().parents[1]
TINY_AR = ROOT / "infill" / "models" / "tiny" / "tiny-qwen2-fim"
PAPER_MODELS = PROFILES["paper"].models


def suite(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "bench_tests", "-q", "-p", "no:cacheprovider", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})


def test_the_two_paper_setups_differ_only_in_open_dcoders_p2():
    paper, readme = LiveSettings.of(PROFILES["paper"]), LiveSettings.of(PROFILES["open-dllm-readme"])
    for benchmark in ("humaneval-single-line", "santacoder-fim-py"):
        assert paper.for_benchmark(benchmark, "diffusion").alg == "p2_remask"
        assert readme.for_benchmark(benchmark, "diffusion").alg == "p2"
        assert paper.for_benchmark(benchmark, "ar-fim") == readme.for_benchmark(benchmark, "ar-fim")
    ar = paper.for_benchmark("humaneval-single-line", "ar-fim")
    # the recorded call: do_sample, temperature 0.6, 512 new tokens; the rest is the model's (None: unset here)
    assert (ar.do_sample, ar.temperature, ar.max_new_tokens, ar.top_k, ar.top_p, ar.repetition_penalty) == \
        (True, 0.6, 512, None, None, None)
    assert "qwen2.5-coder-1.5b-instruct" in PAPER_MODELS
    assert "qwen2.5-coder-1.5b-instruct" in PROFILES["paper"].ensembles[0]


def test_without_weights_every_missing_model_is_named_once(tmp_path):
    done = suite("--infill-profile", "paper", "--collect-only", "--infill-report-dir", str(tmp_path))
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    [first] = [line for line in done.stderr.splitlines() if line.startswith("infill-bench: error:")]
    assert f"{len(PAPER_MODELS)} models have no weights here" in first
    for name in PAPER_MODELS:
        assert f"  {name}: hf download " in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_with_weights_the_paper_run_collects_recorded_and_live_rows_apart(tmp_path):
    paths = []
    for name in PAPER_MODELS:                       # config.json is what the pre-run check looks for
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text("{}")
        paths += ["--infill-model-path", f"{name}={tmp_path / name}"]
    done = suite("--infill-profile", "paper", "--collect-only", "--infill-limit", "1", *paths)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    rows = {line.split("[", 1)[1].split("-SingleLine")[0] for line in done.stdout.splitlines()
            if "test_humaneval_infill[" in line}
    assert {"qwen2.5-coder-1.5b-instruct", "recorded-qwen2.5-coder-1.5b-instruct", "deepseek-coder-1.3b-base",
            "recorded-deepseek-coder-1.3b-base", "open-dcoder-0.5b/oracle", "recorded-open-dcoder-0.5B"} <= rows


@pytest.mark.slow
def test_the_models_generation_config_decides_what_the_profile_leaves_open(tmp_path):
    """A tiny AR model stands in for Qwen2.5-Coder-0.5B under the paper profile: its generation_config.json sets
    top_k, top_p and the repetition penalty; the report says so; a command-line value wins over the file."""
    model = tmp_path / "model"
    shutil.copytree(TINY_AR, model)
    config = json.loads((model / "generation_config.json").read_text())
    config.update(top_k=12, top_p=0.9, repetition_penalty=1.3)
    (model / "generation_config.json").write_text(json.dumps(config))
    common = ("--infill-profile", "paper", "--infill-models", "qwen2.5-coder-0.5b", "--infill-model-path",
              f"qwen2.5-coder-0.5b={model}", "--infill-limit", "3", "--infill-max-new-tokens", "6",
              "--infill-benchmarks", "humaneval-single-line", "--infill-cache-dir", str(tmp_path / "cache"))
    effective = {}
    for label, extra in (("file", ()), ("override", ("--infill-top-k", "5"))):
        done = suite(*common, *extra, "--infill-report-dir", str(tmp_path / label))
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        [source] = json.loads((tmp_path / label / "summary.json").read_text())["sources"]
        effective[label] = source["effective_sampling"]["humaneval-infill"]
    assert effective["file"]["top_k"] == {"value": 12, "origin": "generation_config.json"}
    assert effective["file"]["top_p"] == {"value": 0.9, "origin": "generation_config.json"}
    assert effective["file"]["repetition_penalty"] == {"value": 1.3, "origin": "generation_config.json"}
    assert effective["file"]["temperature"] == {"value": 0.6, "origin": "profile"}
    assert effective["override"]["top_k"] == {"value": 5, "origin": "override"}
    assert "sampling as `generate` resolves it: " in (tmp_path / "file" / "report.md").read_text()


def test_unit_tests_alone_build_no_run_and_need_no_weights(tmp_path):
    """`pytest tests/test_stats.py` on a GPU runner without weights: the run (replays read, models located) is built
    only when benchmark cases are collected, so this runs under the paper profile with no weights anywhere."""
    probe = tmp_path / "built_probe.py"
    probe.write_text("import infill.run.build as b\nseen = []\n_original = b.build_run\n"
                     "def spy(*a, **k):\n    seen.append(1)\n    return _original(*a, **k)\nb.build_run = spy\n"
                     "def pytest_unconfigure(config):\n"
                     f"    open({str(tmp_path / 'built')!r}, 'w').write(str(len(seen)))\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "tests/test_stats.py", "-q", "-p", "no:cacheprovider",
                           "-p", "built_probe", "--infill-profile", "paper"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(tmp_path)})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (tmp_path / "built").read_text() == "0"
