"""Extending the suite without touching it: a new AR model with CodeLlama's FIM format (one prompt format and one
registry entry, examples/codellama) and a new benchmark kind with its own grader (one definition module and one test
function, examples/toy_benchmark), each run end to end through pytest."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
CODELLAMA_SPECIALS = ["<s>", "<PRE>", "<SUF>", "<MID>", "<EOT>"]


def pytest_in(cwd: Path, *args: str, pythonpath: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(pythonpath), str(ROOT)])}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600, env=env)


def codellama_tokenizer():
    from tests.micro_models import micro_tokenizer
    tokenizer = micro_tokenizer()
    tokenizer.add_special_tokens({"bos_token": "<s>", "additional_special_tokens": CODELLAMA_SPECIALS[1:]})
    return tokenizer


def test_the_codellama_format_puts_bos_and_spaces_where_codellama_has_them():
    done = subprocess.run([sys.executable, "-c", (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
        "import codellama_fim\n"
        "from infill.models.prompt_formats import PROMPT_FORMATS\n"
        "from infill.models.registry import MODELS\n"
        "from tests.test_extending import codellama_tokenizer\n"
        "fmt, tok = PROMPT_FORMATS[MODELS['codellama-7b'].prompt_format], codellama_tokenizer()\n"
        "ids = fmt.encode(tok, 'def f(x):', 'return x')\n"
        "v = tok.get_vocab()\n"
        "text = lambda s: tok.encode(s, add_special_tokens=False)\n"
        "assert ids == [v['<s>'], v['<PRE>']] + text(' def f(x): ') + [v['<SUF>']] + text('return x ') + [v['<MID>']]\n"
        "assert fmt.render('def f(x):', 'return x') == '<PRE> def f(x): <SUF>return x <MID>'\n"
        "assert v['<EOT>'] in fmt.stop_ids(tok)\n"
        "print('ok')\n"), str(EXAMPLES / "codellama"), str(ROOT)], cwd=ROOT, capture_output=True, text=True,
        timeout=300)
    assert done.stdout.strip() == "ok", done.stderr


@pytest.mark.slow
def test_a_codellama_model_runs_live_through_the_suite(tmp_path):
    """A random-weight micro Llama saved with a CodeLlama-style tokenizer stands in for the real weights."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = codellama_tokenizer()
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                         max_position_embeddings=512, bos_token_id=tokenizer.bos_token_id,
                                         eos_token_id=tokenizer.eos_token_id))
    model.save_pretrained(tmp_path / "codellama")
    tokenizer.save_pretrained(tmp_path / "codellama")
    done = pytest_in(ROOT, "bench_tests", "-q", "-p", "codellama_fim", "--infill-models", "codellama-7b",
                     "--infill-model-path", f"codellama-7b={tmp_path / 'codellama'}", "--infill-limit", "3",
                     "--infill-max-new-tokens", "4", "--infill-cache-dir", str(tmp_path / "cache"),
                     "--infill-report-dir", str(tmp_path / "report"), pythonpath=EXAMPLES / "codellama")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = (tmp_path / "report" / "summary.json").read_text()
    assert '"model": "codellama-7b"' in summary and '"codellama-fim"' in summary


@pytest.fixture
def suite_with_toy(tmp_path) -> Path:
    """A copy of bench_tests with the toy kind's test function added, as a user's project would hold it."""
    shutil.copytree(ROOT / "bench_tests", tmp_path / "bench_tests", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(EXAMPLES / "toy_benchmark" / "test_toy.py", tmp_path / "bench_tests")
    (tmp_path / "conftest.py").write_text((ROOT / "conftest.py").read_text())
    return tmp_path


def test_a_new_benchmark_kind_is_collected_and_graded(suite_with_toy):
    collected = pytest_in(suite_with_toy, "bench_tests", "--collect-only", "-q", "-p", "toy_kind",
                          "--infill-benchmarks", "toy", "--infill-models", "canonical",
                          pythonpath=EXAMPLES / "toy_benchmark")
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-3000:]
    assert [line for line in collected.stdout.splitlines() if "test_toy[" in line] == [
        f"bench_tests/test_toy.py::test_toy[canonical-toy/{i}]" for i in range(3)]
    graded = pytest_in(suite_with_toy, "bench_tests", "-q", "-p", "toy_kind", "--infill-benchmarks", "toy",
                       "--infill-models", "canonical", "--infill-report-dir", str(suite_with_toy / "report"),
                       pythonpath=EXAMPLES / "toy_benchmark")
    assert graded.returncode == 0 and "3 passed" in graded.stdout, graded.stdout[-3000:]
    assert "toy-casefold-v1" in (suite_with_toy / "report" / "summary.json").read_text()


def test_a_benchmark_without_a_test_function_of_its_kind_is_a_usage_error(tmp_path):
    done = pytest_in(ROOT, "bench_tests", "-q", "-p", "toy_kind", "--infill-benchmarks", "toy",
                     "--infill-models", "canonical", "--infill-report-dir", str(tmp_path),
                     pythonpath=EXAMPLES / "toy_benchmark")
    assert done.returncode == 2
    [line] = [line for line in done.stderr.splitlines() if line.startswith("infill-bench: error:")]
    assert "no collected test function of kind toy" in line
