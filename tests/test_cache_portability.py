"""The generation, score and verdict caches name what was computed, never where it lay: a cache copied into a second
clone of the project at another path serves every entry there (nothing regenerated, rescored or regraded)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN = ("--infill-models", "tiny-qwen2-fim,tiny-qwen2-diffusion,ensemble", "--infill-length-policies", "oracle",
       "--infill-limit", "4", "-p", "no:cacheprovider", "-q")


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix != ".lock"}


def run_in(clone: Path, cache: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(clone)}          # the clone's own code and shipped models
    done = subprocess.run([sys.executable, "-m", "pytest", "bench_tests", *RUN, "--infill-cache-dir", str(cache),
                           "--infill-report-dir", str(clone / "report")], cwd=clone, capture_output=True, text=True,
                          timeout=1200, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.mark.slow
def test_a_cache_copied_to_a_clone_at_another_path_regenerates_nothing(tmp_path):
    clones = []
    for name in ("first", "elsewhere/second"):
        target = tmp_path / name
        subprocess.run(["git", "clone", "-q", str(ROOT), str(target)], check=True, timeout=300)
        for changed in subprocess.run(["git", "diff", "--name-only", "HEAD"], cwd=ROOT, capture_output=True,
                                      text=True, check=True).stdout.split():
            if (ROOT / changed).is_file():                  # uncommitted work under test travels with the clone
                shutil.copy(ROOT / changed, target / changed)
        clones.append(target)
    run_in(clones[0], clones[0] / ".infill-cache")
    shutil.copytree(clones[0] / ".infill-cache", clones[1] / ".infill-cache")
    before = snapshot(clones[1] / ".infill-cache")
    run_in(clones[1], clones[1] / ".infill-cache")
    assert snapshot(clones[1] / ".infill-cache") == before   # not one entry appended: everything was served
    completions = [[json.loads(line)["completion"] for line in (clone / "report" / "samples.jsonl").open()]
                   for clone in clones]
    assert completions[0] and completions[0] == completions[1]


def test_a_fully_cached_source_loads_no_model_and_keys_as_a_loaded_one(tmp_path):
    """A rerun whose generations are all cached reads them without loading the weights (infill.generation.pool:
    `identity` from the model's files), under the same cache key as the run that loaded the model."""
    from infill.benchmarks import load_benchmark
    from infill.config.live_settings import LiveSettings
    from infill.generation.backends import make_backend
    from infill.generation.length import parse_length_policy
    from infill.generation.pool import ModelPool
    from infill.models.registry import MODELS
    from infill.run.progress import SilentProgress
    from infill.sources.live import CacheOptions, LiveSource

    samples = list(load_benchmark("humaneval-single-line").samples[:3])
    runs = []
    for _ in range(2):
        pool = ModelPool()
        for name, policy in (("tiny-qwen2-fim", None), ("tiny-qwen2-diffusion", parse_length_policy("oracle"))):
            spec = MODELS[name]
            source = LiveSource(spec, make_backend(spec, policy), LiveSettings("tiny"), pool,
                                CacheOptions(tmp_path), SilentProgress(), policy)
            source.prepare("humaneval-single-line", samples)
            runs.append((pool.loads, source.cache_for("humaneval-single-line").key,
                         [source.completion(s) for s in samples], source.provenance()))
    first, second = runs[:2], runs[2:]
    assert [r[0] for r in first] == [1, 2] and [r[0] for r in second] == [0, 0]      # models loaded: none again
    assert [r[1:] for r in first] == [r[1:] for r in second]        # same keys, completions, provenance
