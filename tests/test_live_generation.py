"""Live generation on the shipped tiny AR model: batch-invariant seeded sampling, resume after a kill, clear
errors for missing weights."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from infill.benchmarks import load_benchmark
from infill.errors import InfillUsageError
from infill.models.registry import MODELS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny():
    from infill.generation.loading import load_model
    return load_model(MODELS["tiny-qwen2-fim"])


def test_same_seed_same_completions_for_batch_sizes_1_8_32_in_any_order(tiny):
    from infill.generation.ar import ARFimGenerator, Request
    from infill.generation.sampling import SamplingSettings
    from infill.models.prompt_formats import QWEN

    generator = ARFimGenerator(tiny.model, tiny.tokenizer, QWEN)
    samples = load_benchmark("humaneval-single-line").samples[:32]
    requests = [Request(s.sample_id, s.prefix, s.suffix) for s in samples]
    settings = SamplingSettings(temperature=0.6, top_p=0.95, seed=0)
    by_one = generator.generate(requests, settings, max_new_tokens=16, batch_size=1)
    by_eight_shuffled = dict(zip([r.sample_id for r in requests[::-1]],
                                 generator.generate(requests[::-1], settings, max_new_tokens=16, batch_size=8)))
    sorted_by_length = sorted(requests, key=lambda r: generator.prompt_length(r.prefix, r.suffix))
    by_32 = dict(zip([r.sample_id for r in sorted_by_length],
                     generator.generate(sorted_by_length, settings, max_new_tokens=16, batch_size=32)))
    assert [by_eight_shuffled[r.sample_id] for r in requests] == by_one
    assert [by_32[r.sample_id] for r in requests] == by_one
    assert len(set(by_one)) > 16                                   # real, varied text


def test_missing_weights_stop_with_one_clear_line(tmp_path, monkeypatch):
    from infill.generation.loading import check_available, load_model
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InfillUsageError, match=r"model qwen2.5-coder-0.5b \(Qwen/Qwen2.5-Coder-0.5B\): no weights"
                                               r".*--infill-model-path qwen2.5-coder-0.5b=DIR"):
        check_available(MODELS["qwen2.5-coder-0.5b"])
    with pytest.raises(InfillUsageError, match="no weights found"):
        load_model(MODELS["qwen2.5-coder-0.5b"])
    with pytest.raises(InfillUsageError, match="has no config.json"):
        check_available(MODELS["qwen2.5-coder-0.5b"], str(tmp_path))


def suite(cache: Path, report: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "bench_tests", "-q", "-p", "no:cacheprovider",
            "--infill-models", "tiny-qwen2-fim", "--infill-benchmarks", "humaneval-single-line",
            "--infill-limit", "64", "--infill-batch-size", "4", "--infill-postprocess", "none",
            "--infill-max-new-tokens", "24", "--infill-cache-dir", str(cache), "--infill-report-dir", str(report),
            *extra]


def cached_lines(cache: Path) -> list[dict]:
    files = list(cache.glob("*.jsonl"))
    if not files:
        return []
    return [json.loads(line) for line in files[0].read_text().splitlines()[1:] if line.endswith("}")]


def interrupt_after(command: list[str], cache: Path, lines: int, sig: int) -> int:
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.time() + 300
    while len(cached_lines(cache)) < lines and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "the run finished before it could be interrupted"
    os.killpg(process.pid, sig)
    return process.wait(timeout=120)


def samples_without_timing(report: Path) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k != "grade_seconds"}
            for line in (report / "samples.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_a_killed_run_resumes_without_regenerating_and_gives_the_same_samples(tmp_path):
    reference = subprocess.run(suite(tmp_path / "cache-ref", tmp_path / "ref"), cwd=ROOT, capture_output=True,
                               text=True, timeout=600)
    assert reference.returncode == 0, reference.stdout[-2000:]
    cache = tmp_path / "cache"
    interrupt_after(suite(cache, tmp_path / "r1"), cache, 8, signal.SIGKILL)
    after_kill = len(cached_lines(cache))
    assert 8 <= after_kill < 64
    status = interrupt_after(suite(cache, tmp_path / "r2"), cache, after_kill + 8, signal.SIGINT)
    assert status == 2                                             # pytest: interrupted
    report = (tmp_path / "r2" / "report.md")
    assert not report.exists() or "INCOMPLETE RUN" in report.read_text()
    final = subprocess.run(suite(cache, tmp_path / "r3"), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stdout[-2000:]
    ids = [row["sample_id"] for row in cached_lines(cache)]
    assert len(ids) == 64 and len(set(ids)) == 64                   # no batch was generated twice
    assert samples_without_timing(tmp_path / "r3") == samples_without_timing(tmp_path / "ref")
