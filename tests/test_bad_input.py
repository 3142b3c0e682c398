"""Every bad input gets a clear answer: a hostile and a careless user's mistakes, run as a user runs the suite.

A usage error is ONE line `infill-bench: error: ...` on stderr naming the problem and the fix, exit code 2, no
traceback, no test run, and a previous complete report in the report folder left as it was. Contradictions that
are harmless (a replay left out by --infill-models, length policies without a diffusion model, no bubblewrap under
--infill-isolation auto) run and say so in the report. An out-of-memory that halving cannot cure stops the run
with one line; finished batches stay in the cache and the report says INCOMPLETE. (Replay lines, gates files,
shard values, merge and compare have their own detailed tests; this file holds one case of each beside the rest.)
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from infill.benchmarks.loading import DATA_DIR

ROOT = Path(__file__).resolve().parents[1]
CHEAP = ("--infill-models", "canonical", "--infill-limit", "5")
H0 = "SingleLineInfilling/HumanEval/0/L0"
PREVIOUS = {"report.md": "# infill-bench report\n\nprevious complete run\n",
            "summary.json": '{"complete": true, "results": []}\n', "samples.jsonl": ""}


def run_suite(report_dir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "bench_tests", "-q", "-p", "no:cacheprovider",
                           "--infill-report-dir", str(report_dir), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})})


def error_lines(done: subprocess.CompletedProcess) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.startswith("infill-bench: error:")]


def assert_one_line_usage_error(done: subprocess.CompletedProcess, pattern: str) -> str:
    output = done.stdout[-3000:] + done.stderr[-3000:]
    assert done.returncode == 2, output
    [line] = error_lines(done)
    assert re.search(pattern, line), line
    assert "Traceback" not in done.stdout + done.stderr and "Exit:" not in done.stderr, output
    assert not re.search(r"\b\d+ (passed|failed|xfailed)", done.stdout), output      # no test ran
    return line


def jsonl(path: Path, *rows) -> Path:
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    return path


# ---- the table: input -> one line naming the problem and the fix ------------------------------------------------

def bad_replay_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    good = {"task_id": H0, "completion": "x\n"}
    (tmp / "no-generations").mkdir()
    (tmp / "no-generations" / "README.txt").write_text("figures only\n")
    whole = gzip.compress((json.dumps(good) + "\n").encode() * 50)
    (tmp / "truncated.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    (tmp / "garbage.bin").write_bytes(bytes(range(256)) * 8)
    return {
        "broken line": (jsonl(tmp / "broken.jsonl", good, '{"task_id": "SingleLine'),
                        r"broken.jsonl:2: not valid JSON"),
        "task_id a list": (jsonl(tmp / "list.jsonl", {"task_id": [H0], "completion": "x"}),
                           r"list.jsonl:1: task_id must be a string or an integer, got list"),
        "completion a number": (jsonl(tmp / "number.jsonl", {"task_id": H0, "completion": 3}),
                                r"number.jsonl:1: completion must be a string, got int"),
        "null completion": (jsonl(tmp / "null.jsonl", {"task_id": H0, "completion": None}),
                            r"null.jsonl:1: completion must be a string, got NoneType"),
        "no task_id": (jsonl(tmp / "no-id.jsonl", {"completion": "x"}), r"no-id.jsonl:1: no task_id field"),
        "no completion": (jsonl(tmp / "no-completion.jsonl", {"task_id": H0}),
                          r"no-completion.jsonl:1: no completion field \(expected one of completion, generated_code\)"),
        "empty file": (jsonl(tmp / "empty.jsonl"), r"empty.jsonl: no generations in the file"),
        "folder without generations": (tmp / "no-generations", r"replay folder .*no-generations holds no "
                                       r"\.jsonl/\.jsonl\.gz/\.json generations file: give a generations file"),
        "truncated gz": (tmp / "truncated.jsonl.gz", r"truncated.jsonl.gz: damaged or truncated gzip file .*copy it "
                                                     r"again"),
        "binary garbage": (tmp / "garbage.bin", r"garbage.bin: not UTF-8 text .*give a JSONL generations file"),
        "no such file": (tmp / "nowhere.jsonl", r"nowhere.jsonl does not exist; give a generations file"),
    }


ENSEMBLE = ("--infill-ensemble", "mine=tiny-qwen2-diffusion/oracle+tiny-qwen2-fim")
OPTION_CASES = {  # id: (arguments, the one line must match)
    "unknown model": (("--infill-models", "gpt-17"), r"unknown model 'gpt-17': choose from canonical, .*"
                                                     r"or give --infill-replay gpt-17=PATH"),
    "unknown benchmark": ((*CHEAP, "--infill-benchmarks", "humaneval-single"),
                          r"unknown benchmark 'humaneval-single' \(did you mean 'humaneval-single-line'\?\): choose from "
                          r"humaneval-single-line, "),
    "unknown profile": (("--infill-models", "tiny-qwen2-fim", "--infill-profile", "huge"),
                        r"unknown profile 'huge': choose from paper, open-dllm-readme, tiny"),
    "unknown scorer": ((*CHEAP, *ENSEMBLE, "--infill-ensemble-scorer", "bleu:tiny-qwen2-fim"),
                       r"unknown scorer 'bleu'; choose from ar_plain, ar_fim, diffusion"),
    "unknown strategy": ((*CHEAP, *ENSEMBLE, "--infill-ensemble-strategies", "lowest-perplexity,best"),
                         r"--infill-ensemble-strategies 'lowest-perplexity,best': choose from lowest-perplexity, "),
    "unknown combine rule": ((*CHEAP, *ENSEMBLE, "--infill-ensemble-combine", "max"),
                             r"--infill-ensemble-combine 'max': choose from min, mean, harmonic"),
    "unknown metric (em rule)": ((*CHEAP, "--infill-em-rule", "fuzzy"), r"--infill-em-rule 'fuzzy': choose from "
                                                                       r"first_line, full"),
    "unknown dtype": ((*CHEAP, "--infill-dtype", "fp8"), r"--infill-dtype 'fp8': choose from float32, bfloat16, "
                                                         r"float16"),
    "unknown isolation": ((*CHEAP, "--infill-isolation", "docker"), r"--infill-isolation 'docker': choose auto, "
                                                                    r"bwrap or rlimits"),
    "limit abc": (("--infill-models", "canonical", "--infill-limit", "abc"),
                  r"--infill-limit 'abc': expected a whole number"),
    "limit 0": (("--infill-models", "canonical", "--infill-limit", "0"), r"--infill-limit '0': must be at least 1"),
    "timeout -1": ((*CHEAP, "--infill-timeout", "-1"), r"--infill-timeout '-1': must be at least 0.1"),
    "top-p 2": ((*CHEAP, "--infill-top-p", "2"), r"--infill-top-p 2.0: must be at most 1.0"),
    "seed -3": ((*CHEAP, "--infill-seed", "-3"), r"--infill-seed '-3': must be at least 0"),
    "shard 3/2": ((*CHEAP, "--shard", "3/2"), r"--shard '3/2': shards are numbered 1 to 2"),
    "no-cache with refresh-cache": ((*CHEAP, "--infill-no-cache", "--infill-refresh-cache"),
                                    r"--infill-no-cache and --infill-refresh-cache contradict each other: .*pass one"),
    "ensemble member not a model": ((*CHEAP, "--infill-ensemble", "mine=gpt-17+tiny-qwen2-fim"),
                                    r"member 'gpt-17' is not a model of this run; a diffusion member names its "
                                    r"length policy"),
    "ensemble diffusion member without policy": ((*CHEAP, "--infill-ensemble", "mine=tiny-qwen2-diffusion+"
                                                  "tiny-qwen2-fim"), r"member 'tiny-qwen2-diffusion' is not a model"),
    "scorer model of the wrong family": ((*CHEAP, *ENSEMBLE, "--infill-ensemble-scorer",
                                          "ar_plain:tiny-qwen2-diffusion"),
                                         r"ar_plain scores with a model of backend ar-fim, tiny-qwen2-diffusion is of backend "
                                         r"diffusion: use diffusion:tiny-qwen2-diffusion, or a model of backend ar-fim"),
}


@pytest.fixture
def previous_report(tmp_path) -> Path:
    """A report folder holding a previous complete run, which a usage error must leave as it was."""
    directory = tmp_path / "report"
    directory.mkdir()
    for name, text in PREVIOUS.items():
        (directory / name).write_text(text)
    return directory


def assert_previous_report_kept(directory: Path) -> None:
    assert sorted(p.name for p in directory.iterdir()) == sorted(PREVIOUS)
    assert all((directory / name).read_text() == text for name, text in PREVIOUS.items())


REPLAY_CASES = ["broken line", "task_id a list", "completion a number", "null completion", "no task_id",
                "no completion", "empty file", "folder without generations", "truncated gz", "binary garbage",
                "no such file"]


@pytest.mark.parametrize("case", REPLAY_CASES)
def test_bad_replay_file(case, tmp_path, previous_report):
    path, pattern = bad_replay_files(tmp_path)[case]
    done = run_suite(previous_report, f"--infill-replay=m={path}")
    assert_one_line_usage_error(done, pattern)
    assert_previous_report_kept(previous_report)


@pytest.mark.parametrize("case", list(OPTION_CASES))
def test_bad_option(case, previous_report):
    args, pattern = OPTION_CASES[case]
    assert_one_line_usage_error(run_suite(previous_report, *args), pattern)
    assert_previous_report_kept(previous_report)


# ---- damaged benchmark data: a copy of the shipped files, the loader pointed at it by a plugin ------------------

DATA_PLUGIN = """
import os
from pathlib import Path
import infill.benchmarks.loading as loading
loading.DATA_DIR = Path(os.environ["INFILL_TEST_DATA_DIR"])   # a damaged copy; the shipped files stay as they are
"""
SINGLE_LINE = "humaneval-infilling/HumanEval-SingleLineInfilling.jsonl.gz"


def damage_truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def damage_bad_line(path: Path) -> None:
    lines = gzip.decompress(path.read_bytes()).split(b"\n")
    lines[7] = lines[7][:40]                                   # a row cut in the middle
    path.write_bytes(gzip.compress(b"\n".join(lines)))


def damage_rows_missing(path: Path) -> None:
    lines = gzip.decompress(path.read_bytes()).split(b"\n")
    path.write_bytes(gzip.compress(b"\n".join(lines[:100]) + b"\n"))


@pytest.mark.parametrize("damage, pattern", [
    (damage_truncate, r"could not be read \(\w+\): it is damaged or truncated; restore it \(git checkout -- "),
    (damage_bad_line, r"could not be read \(\w+\): it is damaged or truncated; restore it"),
    (damage_rows_missing, r"has 100 rows, expected 1033: the file is damaged or not the shipped one; restore it"),
], ids=["truncated gz", "broken row", "rows missing"])
def test_damaged_benchmark_data(damage, pattern, tmp_path, previous_report):
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR / "humaneval-infilling", copy / "humaneval-infilling")
    damage(copy / SINGLE_LINE)
    (tmp_path / "point_data_at_copy.py").write_text(DATA_PLUGIN)
    done = run_suite(previous_report, *CHEAP, "--infill-benchmarks", "humaneval-single-line",
                     "-p", "point_data_at_copy", env={"PYTHONPATH": str(tmp_path), "INFILL_TEST_DATA_DIR": str(copy),
                                                      "HF_DATASETS_CACHE": str(tmp_path / "hf-datasets")})
    line = assert_one_line_usage_error(done, pattern)
    assert str(copy / SINGLE_LINE) in line and "reinstall infill-bench" in line
    assert_previous_report_kept(previous_report)


# ---- the report folder, the sandbox, the gates file -------------------------------------------------------------

def test_an_unwritable_report_folder_fails_before_any_test(tmp_path):
    blocker = tmp_path / "file.txt"          # a folder under a file: cannot be created, not even by root
    blocker.write_text("not a folder\n")
    done = run_suite(blocker / "sub", *CHEAP)
    line = assert_one_line_usage_error(done, r"report directory .*file.txt/sub is not writable \(.*file.txt is not "
                                             r"a folder\): pass --infill-report-dir with a writable folder")
    assert blocker.read_text() == "not a folder\n" and list(tmp_path.iterdir()) == [blocker], line


@pytest.fixture
def path_without_bwrap(tmp_path) -> dict:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("git",):                   # provenance still finds git; bubblewrap is not on PATH
        if shutil.which(tool):
            (bin_dir / tool).symlink_to(shutil.which(tool))
    return {"PATH": str(bin_dir)}


def test_isolation_bwrap_without_bubblewrap_is_a_usage_error(tmp_path, previous_report, path_without_bwrap):
    done = run_suite(previous_report, *CHEAP, "--infill-isolation", "bwrap", env=path_without_bwrap)
    assert_one_line_usage_error(done, r"--infill-isolation bwrap: .*bubblewrap not found: install bubblewrap "
                                      r"\(apt-get install bubblewrap\) or pass --infill-isolation auto")
    assert_previous_report_kept(previous_report)


@pytest.mark.slow
def test_isolation_auto_without_bubblewrap_runs_with_rlimits_and_says_so(tmp_path, path_without_bwrap):
    done = run_suite(tmp_path / "r", *CHEAP, "--infill-benchmarks", "humaneval-single-line", env=path_without_bwrap)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["complete"] is True and summary["results"][0]["passed"] == 5
    assert summary["rules"]["isolation"].startswith("rlimits only (bubblewrap not found): NO filesystem isolation")
    assert "- Isolation: rlimits only (bubblewrap not found)" in (tmp_path / "r" / "report.md").read_text()


def test_a_gates_file_with_an_error(tmp_path, previous_report):
    gates = tmp_path / "gates.toml"
    gates.write_text('[[gate]]\nbenchmark = "humaneval-single-line"\nmodel = "canonical"\nmetric = "pass@1"\n'
                     'at_lest = 0.5\n')
    done = run_suite(previous_report, *CHEAP, "--infill-gates", str(gates))
    assert_one_line_usage_error(done, re.escape(str(gates)) + r".*at_lest")
    assert_previous_report_kept(previous_report)


# ---- contradictions that are fine: the run goes on and the report says so ---------------------------------------

@pytest.mark.slow
def test_a_replay_left_out_by_infill_models_is_checked_not_graded_and_noted(tmp_path):
    """Decision: --infill-models picks which models run among all the known ones (replayed, embedded, registry), as
    it does with the embedded recordings; a replay it leaves out is still read and checked (a broken file still
    stops the run) but not graded, and the report says so."""
    replay = jsonl(tmp_path / "m.jsonl", {"task_id": H0, "completion": "x\n"})
    done = run_suite(tmp_path / "r", *CHEAP, "--infill-benchmarks", "santacoder-fim-py",
                     f"--infill-replay=m={replay}")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["selection"]["models"] == ["canonical"]
    assert "--infill-replay m: checked but not graded, --infill-models canonical leaves it out." in summary["notes"]
    broken = jsonl(tmp_path / "broken.jsonl", '{"task_id"')
    assert_one_line_usage_error(run_suite(tmp_path / "r2", *CHEAP, f"--infill-replay=m={broken}"),
                                r"broken.jsonl:1: not valid JSON")


def test_length_policies_without_a_diffusion_model_are_noted(tmp_path):
    done = run_suite(tmp_path / "r", *CHEAP, "--infill-benchmarks", "santacoder-fim-py",
                     "--infill-length-policies", "oracle,fixed:8")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert "--infill-length-policies has no effect: no diffusion model runs in this run." in summary["notes"]


# ---- out of memory during generation -----------------------------------------------------------------------------

class OutOfMemoryAbove(torch.nn.Module):
    """A model whose forward runs out of (GPU) memory on more than `rows` rows at once."""

    def __init__(self, model, rows: int, error=torch.cuda.OutOfMemoryError):
        super().__init__()
        self.inner, self.rows, self.error, self.calls = model, rows, error, []

    def forward(self, input_ids, **kwargs):
        self.calls.append(input_ids.shape[0])
        if input_ids.shape[0] > self.rows:
            raise self.error("CUDA out of memory. Tried to allocate 20.00 GiB")
        return self.inner(input_ids=input_ids, **kwargs)


@pytest.fixture(scope="module")
def micro():
    from tests.micro_models import micro_qwen2, micro_tokenizer
    tokenizer = micro_tokenizer()
    return micro_qwen2(len(tokenizer)), tokenizer


@pytest.mark.parametrize("error", [torch.cuda.OutOfMemoryError, RuntimeError], ids=["OutOfMemoryError", "RuntimeError"])
def test_out_of_memory_above_two_rows_halves_the_batch_and_finishes(micro, error):
    from infill.generation.ar import ARFimGenerator, Request
    from infill.generation.sampling import SamplingSettings
    from infill.models.prompt_formats import QWEN

    model, tokenizer = micro
    requests = [Request(f"t/{i}", "def f(x):\n" * (1 + i % 3), "\n    return y\n") for i in range(7)]
    settings = SamplingSettings(temperature=0.8, top_p=0.95, seed=3)
    fake = OutOfMemoryAbove(model, 2, error)
    got = ARFimGenerator(fake, tokenizer, QWEN).generate(requests, settings, max_new_tokens=8, batch_size=8)
    assert fake.calls[:2] == [7, 4] and max(fake.calls[2:]) <= 2        # 7 -> 4 -> 2 rows, then on at 2
    assert got == ARFimGenerator(model, tokenizer, QWEN).generate(requests, settings, max_new_tokens=8, batch_size=8)


def test_out_of_memory_at_batch_size_1_raises_with_the_batch_size(micro):
    from infill.generation.ar import ARFimGenerator, Request
    from infill.generation.sampling import SamplingSettings
    from infill.models.prompt_formats import QWEN

    model, tokenizer = micro
    fake = OutOfMemoryAbove(model, 0)
    with pytest.raises(torch.cuda.OutOfMemoryError) as caught:
        ARFimGenerator(fake, tokenizer, QWEN).generate([Request("t/0", "x = ", "\n")] * 3, SamplingSettings(),
                                                        max_new_tokens=4, batch_size=4)
    assert caught.value.batch_size == 1 and fake.calls == [3, 2, 1]


class InnerOutOfMemoryAbove(torch.nn.Module):
    """For the diffusion sampler and the scorers, which call the decoder (`model.model`) and `lm_head` apart."""

    def __init__(self, model, rows: int):
        super().__init__()
        self.model = OutOfMemoryAbove(model.model, rows)
        self.lm_head, self.config = model.lm_head, model.config


def test_diffusion_out_of_memory_halves_the_batch_and_gives_the_same_completions(micro):
    from infill.generation.diffusion import DiffusionInfiller, DiffusionRequest, DiffusionSettings
    from tests.micro_models import micro_qwen2

    _, tokenizer = micro
    model = micro_qwen2(len(tokenizer), seed=5, causal=False)
    requests = [DiffusionRequest(f"t/{i}", "def f(x):\n" * (1 + i % 3), "\n    return y\n", 2 + i % 4)
                for i in range(7)]
    settings = DiffusionSettings(steps=6, temperature=0.8, top_p=0.95, seed=3)
    fake = InnerOutOfMemoryAbove(model, 2)
    texts, confidence = DiffusionInfiller(fake, tokenizer).infill(requests, settings, batch_size=8,
                                                                 with_confidence=True)
    assert fake.model.calls[:2] == [7, 4] and max(fake.model.calls[2:]) <= 2     # 7 -> 4 -> 2 rows, then at 2
    # float32: a row's logits move in the 7th digit with its batch's padding width, never its sampled tokens here
    alone_texts, alone_confidence = DiffusionInfiller(model, tokenizer).infill(requests, settings, batch_size=8,
                                                                               with_confidence=True)
    assert texts == alone_texts and confidence == pytest.approx(alone_confidence, rel=1e-6)
    with pytest.raises(torch.cuda.OutOfMemoryError) as caught:
        DiffusionInfiller(InnerOutOfMemoryAbove(model, 0), tokenizer).infill(requests[:2], settings, batch_size=2)
    assert caught.value.batch_size == 1


@pytest.mark.parametrize("scorer", ["ar_plain", "ar_fim", "diffusion"])
def test_scorer_out_of_memory_halves_the_batch_and_gives_the_same_scores(micro, scorer):
    from infill.models.prompt_formats import QWEN
    from infill.scoring.ar import ar_fim_scores, ar_plain_scores
    from infill.scoring.diffusion import diffusion_scores

    model, tokenizer = micro
    triples = [("def f(x):\n" * (1 + i % 3), f"    y = x + {i}\n", "    return y\n") for i in range(5)]
    score = {"ar_plain": lambda m: ar_plain_scores(m, tokenizer, triples, batch_size=8),
             "ar_fim": lambda m: ar_fim_scores(m, tokenizer, triples, prompt_format=QWEN, batch_size=8),
             "diffusion": lambda m: diffusion_scores(m, tokenizer, triples, batch_size=8)}[scorer]
    fake = InnerOutOfMemoryAbove(model, 2)
    halved, whole = score(fake), score(model)
    assert [s.tokens for s in halved] == [s.tokens for s in whole]      # float32: the 7th digit may move
    assert [s.mean_nll for s in halved] == pytest.approx([s.mean_nll for s in whole], rel=1e-6)
    assert fake.model.calls[0] > 2 and max(fake.model.calls[-3:]) <= 2
    with pytest.raises(torch.cuda.OutOfMemoryError) as caught:
        score(InnerOutOfMemoryAbove(model, 0))
    assert caught.value.batch_size == 1


OOM_PLUGIN = """
import torch
from infill.generation import ar

real, done = ar.ARFimGenerator._generate_batch, []

def out_of_memory_after_two_batches(self, requests, settings, max_new_tokens):
    # more than 2 rows never fit; after two batches of 2 nothing fits any more (not even 1 row)
    if len(requests) > 2 or len(done) >= 2:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
    done.append(len(requests))
    return real(self, requests, settings, max_new_tokens)

ar.ARFimGenerator._generate_batch = out_of_memory_after_two_batches
"""


@pytest.mark.slow
def test_out_of_memory_at_batch_size_1_stops_the_run_with_one_line_and_keeps_finished_batches(tmp_path,
                                                                                               previous_report):
    (tmp_path / "fake_oom.py").write_text(OOM_PLUGIN)
    cache = tmp_path / "cache"
    done = run_suite(previous_report, "--infill-models", "tiny-qwen2-fim", "--infill-benchmarks",
                     "humaneval-single-line", "--infill-limit", "6", "--infill-batch-size", "4",
                     "--infill-max-new-tokens", "8", "--infill-cache-dir", str(cache), "-p", "fake_oom",
                     env={"PYTHONPATH": str(tmp_path)})
    output = done.stdout[-3000:] + done.stderr[-3000:]
    assert done.returncode == 2, output
    [line] = error_lines(done)
    assert line == ("infill-bench: error: model tiny-qwen2-fim ran out of memory generating humaneval-single-line at "
                    "batch size 1 (--infill-batch-size 4, halved on each out-of-memory); the 4 of 6 completions done "
                    "are in the cache: rerun with a smaller --infill-batch-size, --infill-sequential-models (one "
                    "model in memory at a time) or --infill-dtype bfloat16"), output
    assert "Traceback" not in done.stdout + done.stderr, output
    [cache_file] = cache.glob("*.jsonl")                              # the first batch (4 = 2 + 2 rows) is kept
    assert len(cache_file.read_text().splitlines()) == 1 + 4
    summary = json.loads((previous_report / "summary.json").read_text())   # replaced, and says it is incomplete
    assert summary["complete"] is False and "ran out of memory" in summary["incomplete_reason"]
    assert "**INCOMPLETE RUN**: the run stopped: model tiny-qwen2-fim ran out of memory" in \
        (previous_report / "report.md").read_text()


# ---- merge and compare: a folder that is not a run ----------------------------------------------------------------

@pytest.mark.parametrize("tool, args, pattern", [
    ("infill.reporting.merge", ["{d}", "{d}2", "-o", "{o}"], r"^infill-bench merge: error: .*not-a-run: no summary.json: not a "
                                                   r"report folder"),
    ("infill.reporting.compare", ["{d}", "{d}2"], r"^infill-bench compare: error: .*not-a-run: no summary.json in this "
                                        r"directory: pass a report directory"),
], ids=["merge", "compare"])
def test_merge_and_compare_of_a_folder_that_is_not_a_run(tool, args, pattern, tmp_path):
    for name in ("not-a-run", "not-a-run2"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "notes.txt").write_text("hello\n")
    argv = [a.format(d=tmp_path / "not-a-run", o=tmp_path / "out") for a in args]
    done = subprocess.run([sys.executable, "-m", tool, *argv], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done.stderr
    assert re.search(pattern, done.stderr) and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "out").exists()


def test_the_out_of_memory_message_names_what_ran_out_what_is_kept_and_the_fix():
    from infill.generation.memory import out_of_memory_error

    assert out_of_memory_error(RuntimeError("shape mismatch"), "x", 0, 1, "scores", True) is None
    error = torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    error.batch_size = 1
    usage = out_of_memory_error(error, "scorer ar_plain:qwen ran out of memory scoring humaneval-single-line", 128,
                                2066, "scores", True)
    assert str(usage) == ("scorer ar_plain:qwen ran out of memory scoring humaneval-single-line at batch size 1; the "
                          "128 of 2066 scores done are in the cache: rerun with --infill-sequential-models (one model "
                          "in memory at a time) or --infill-dtype bfloat16")
    assert "(--infill-no-cache: not kept)" in str(out_of_memory_error(error, "m", 3, 9, "completions", False))


# ---- round two (issue 16 item 1, 7 and 8): hostile replays, oversized and special-file inputs --------------------

def hostile_inputs(tmp: Path) -> dict[str, tuple[tuple[str, ...], str]]:
    os.mkfifo(tmp / "fifo.jsonl")
    os.mkfifo(tmp / "gates-fifo.toml")
    deep = tmp / "deep.jsonl"
    deep.write_text("[" * 200000 + "\n")
    deep_json = tmp / "deep.json"
    deep_json.write_text("[" * 200000)
    huge = jsonl(tmp / "huge.jsonl", '{"task_id": ' + "9" * 5000 + ', "completion": "x"}')
    huge_toml = tmp / "huge.toml"
    huge_toml.write_text('[[gate]]\nbenchmark = "humaneval-single-line"\nmodel = "m"\nmetric = "pass@1"\n'
                         f"at_least = {'9' * 5000}\n")
    deep_toml = tmp / "deep.toml"
    deep_toml.write_text("x = " + "[" * 100000 + "]" * 100000 + "\n")
    return {
        "JSONL nested 200000 deep": ((f"--infill-replay=m={deep}",), r"deep.jsonl:1: JSON nested too deeply"),
        "JSON nested 200000 deep": ((f"--infill-replay=m={deep_json}",), r"deep.json: JSON nested too deeply"),
        "a 5000-digit integer": ((f"--infill-replay=m={huge}",), r"huge.jsonl:1: unreadable JSON"),
        "a FIFO as the replay": ((f"--infill-replay=m={tmp / 'fifo.jsonl'}",), r"fifo.jsonl: not a regular file"),
        "/dev/zero as the replay": (("--infill-replay=m=/dev/zero",), r"/dev/zero: not a regular file"),
        "a FIFO as the gates": ((*CHEAP, "--infill-gates", str(tmp / "gates-fifo.toml")), r"is not a regular file"),
        "a 5000-digit integer in the gates": ((*CHEAP, "--infill-gates", str(huge_toml)), r"huge.toml: unreadable TOML"),
        "gates nested 100000 deep": ((*CHEAP, "--infill-gates", str(deep_toml)), r"deep.toml: TOML nested too deeply"),
        "timeout nan": ((*CHEAP, "--infill-timeout", "nan"), r"--infill-timeout 'nan': expected a finite number"),
        "timeout inf": ((*CHEAP, "--infill-timeout", "inf"), r"--infill-timeout 'inf': expected a finite number"),
        "100000 workers": ((*CHEAP, "--infill-workers", "100000"), r"--infill-workers '100000': must be at most 256"),
    }


HOSTILE = ["JSONL nested 200000 deep", "JSON nested 200000 deep", "a 5000-digit integer", "a FIFO as the replay",
           "/dev/zero as the replay", "a FIFO as the gates", "a 5000-digit integer in the gates",
           "gates nested 100000 deep", "timeout nan", "timeout inf", "100000 workers"]


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_input_is_one_line(case, tmp_path, previous_report):
    args, pattern = hostile_inputs(tmp_path)[case]
    assert_one_line_usage_error(run_suite(previous_report, *args), pattern)
    assert_previous_report_kept(previous_report)


def test_a_report_folder_of_other_files_is_refused(tmp_path):
    done = run_suite(Path("/"), *CHEAP)
    assert_one_line_usage_error(done, r"report directory / holds other files and no infill-bench report")


def test_a_lone_surrogate_in_a_completion_costs_nothing_but_that_sample(tmp_path):
    from infill.benchmarks import load_benchmark
    rows = load_benchmark("humaneval-single-line").samples[:3]
    indent = [s.canonical[:len(s.canonical) - len(s.canonical.lstrip())] for s in rows]
    # block-opening lines (the canonical L0 and L1 open a loop) whose header raises, so the program runs into it
    raising = "if (_ for _ in ()).throw({}):\n"
    completions = [indent[0] + raising.format("AssertionError('bad \\ud800')"),
                   indent[1] + raising.format("ValueError('\\u001b[31mred\\u001b]0;title\\u0007')"), "bad \udc00"]
    samples = [json.dumps({"task_id": s.sample_id, "completion": c}) for s, c in zip(rows, completions)]
    replay = jsonl(tmp_path / "s.jsonl", *samples)
    args = (f"--infill-replay=m={replay}", "--infill-limit", "3", "-rx", "--infill-cache-dir", str(tmp_path / "c"))
    for _ in range(2):                                   # the second run reads the verdict cache
        done = run_suite(tmp_path / "report", *args)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert "\x1b" not in done.stdout + done.stderr and "\x07" not in done.stdout
        records = [json.loads(line) for line in (tmp_path / "report" / "samples.jsonl").read_text().splitlines()]
        assert [r["completion"] for r in records][2] == "bad \udc00"        # the text read back as written
        assert len(records) == 3 and all(not r["correct"] for r in records)
        assert "\\x1b[31mred" in records[1]["detail"] and "AssertionError: bad \\ud800" in records[0]["detail"]
