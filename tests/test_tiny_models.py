"""Tests of the tiny smoke models shipped in infill/models/tiny."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "infill" / "models" / "tiny"
AR = TINY / "tiny-qwen2-fim"
DIFF = TINY / "tiny-qwen2-diffusion"
SCRIPT = REPO / "scripts" / "train_tiny_models.py"

SPECIALS = {
    "eos": "<|endoftext|>",
    "fim_prefix": "<|fim_prefix|>",
    "fim_middle": "<|fim_middle|>",
    "fim_suffix": "<|fim_suffix|>",
    "fim_pad": "<|fim_pad|>",
    "repo_name": "<|repo_name|>",
    "file_sep": "<|file_sep|>",
    "mask": "<M>",
}
SNIPPET = (
    "import os\n\n\nclass Walker:\n"
    '    """Walk a tree."""\n\n'
    "    def __init__(self, root: str = '.') -> None:\n"
    "        self.root = root\n\n"
    "    def files(self):\n"
    "        for dirpath, _dirs, names in os.walk(self.root):\n"
    "            for name in sorted(names):\n"
    "                if name.endswith(('.py', '.pyi')) and not name.startswith('_'):\n"
    "                    yield os.path.join(dirpath, name)  # caf\u00e9 \u2603\n"
    "\tx = {'a': [1, 2.5e-3, 0x1F], \"b\": f\"{x!r:>10}\"}  \n\n\n"
)


@pytest.fixture(scope="module")
def tokenizers_():
    return {d.name: AutoTokenizer.from_pretrained(d) for d in (AR, DIFF)}


@pytest.fixture(scope="module")
def ar_model():
    return AutoModelForCausalLM.from_pretrained(AR, dtype=torch.float32).eval()


@pytest.fixture(scope="module")
def diff_model():
    return AutoModelForCausalLM.from_pretrained(DIFF, dtype=torch.float32).eval()


def _meta(d: Path) -> dict:
    return json.loads((d / "infill_model.json").read_text())


@torch.no_grad()
def _position0_changes(model, **kw) -> bool:
    a = torch.tensor([[11, 220, 330, 440, 550, 660, 770, 880]])
    b = a.clone()
    b[0, -1] = 1234
    la = model(input_ids=a, **kw).logits[0, 0]
    lb = model(input_ids=b, **kw).logits[0, 0]
    return not torch.equal(la, lb)


def test_directories_are_plain_hf_dirs():
    for d in (AR, DIFF):
        for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "infill_model.json"):
            assert (d / name).is_file(), d / name
        cfg = json.loads((d / "config.json").read_text())
        assert cfg["architectures"] == ["Qwen2ForCausalLM"]
        assert cfg["model_type"] == "qwen2"
        assert cfg["vocab_size"] == 8192
        assert cfg["tie_word_embeddings"] is True
        assert "is_causal" not in cfg  # plain causal config: the caller flips it
    assert (TINY / "README.md").is_file()


def test_models_load_on_cpu(ar_model, diff_model):
    for m in (ar_model, diff_model):
        assert type(m).__name__ == "Qwen2ForCausalLM"
        assert m.config.vocab_size == 8192
        assert next(m.parameters()).device.type == "cpu"
        assert m.get_output_embeddings().weight.data_ptr() == m.get_input_embeddings().weight.data_ptr()
    # default dtype of the shipped weights
    assert AutoModelForCausalLM.from_pretrained(AR).dtype == torch.bfloat16


def test_special_tokens(tokenizers_):
    for name, tok in tokenizers_.items():
        assert len(tok) == 8192, name
        for s in SPECIALS.values():
            tid = tok.convert_tokens_to_ids(s)
            assert isinstance(tid, int) and tid != tok.unk_token_id, s
            assert tok.convert_ids_to_tokens(tid) == s
            assert tok.encode(s, add_special_tokens=False) == [tid]
        assert tok.eos_token == "<|endoftext|>" and tok.pad_token == "<|endoftext|>"
        assert tok.bos_token is None
        assert tok.mask_token == "<M>"
        assert tok.mask_token_id == tok.convert_tokens_to_ids("<M>")
        assert tok.eos_token_id == tok.pad_token_id
        assert tok.model_max_length >= 2048
    a, b = tokenizers_.values()
    assert a.get_vocab() == b.get_vocab()


def test_roundtrip(tokenizers_):
    for tok in tokenizers_.values():
        ids = tok.encode(SNIPPET, add_special_tokens=False)
        assert tok.decode(ids) == SNIPPET
        assert len(ids) < len(SNIPPET)  # real merges, not bytes
        # newline + indentation handled like Qwen2 (indent is its own token run)
        toks = tok.convert_ids_to_tokens(tok.encode("x = 1\n        return x\n", add_special_tokens=False))
        assert any(t.startswith("Ġ") and set(t) == {"Ġ"} for t in toks), toks
        # a literal "<M>" in source can be kept as text
        s = "re.compile(r'(?P<M>[0-5]\\d)')\n"
        ids = tok.encode(s, add_special_tokens=False, split_special_tokens=True)
        assert tok.mask_token_id not in ids and tok.decode(ids) == s


def test_fim_prompt_built_from_special_ids(tokenizers_, ar_model):
    tok = tokenizers_[AR.name]
    prefix, suffix = "def add(a, b):\n", "\n"
    text = f"<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>"
    ids = tok.encode(text, add_special_tokens=False)
    p_id, s_id, m_id = (tok.convert_tokens_to_ids(t) for t in ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"))
    manual = (
        [p_id]
        + tok.encode(prefix, add_special_tokens=False)
        + [s_id]
        + tok.encode(suffix, add_special_tokens=False)
        + [m_id]
    )
    assert ids == manual
    assert ids[0] == p_id and ids[-1] == m_id and ids.count(s_id) == 1
    with torch.no_grad():
        out = ar_model.generate(
            torch.tensor([ids]), max_new_tokens=8, do_sample=False, eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
        )
    assert out.shape[1] > len(ids)


def test_ar_is_causal(ar_model):
    assert not _position0_changes(ar_model)


def test_diffusion_is_bidirectional_with_is_causal_false():
    m = AutoModelForCausalLM.from_pretrained(DIFF, dtype=torch.float32).eval()
    assert not _position0_changes(m)  # loads as a plain causal LM
    m.config.is_causal = False
    assert _position0_changes(m)
    assert _position0_changes(m, is_causal=False)
    # shifted-head convention: row j of shifted logits predicts token j
    x = torch.tensor([[11, 220, 330, 440]])
    with torch.no_grad():
        logits = m(input_ids=x, is_causal=False).logits
    shifted = torch.cat([logits[:, :1], logits[:, :-1]], dim=1)
    assert torch.equal(shifted[:, 2], logits[:, 1])


def test_total_size_under_25mb():
    total = sum(p.stat().st_size for p in TINY.rglob("*") if p.is_file())
    assert total < 25 * 1024 * 1024, total


def test_infill_model_json(tokenizers_):
    ar, diff = _meta(AR), _meta(DIFF)
    assert ar["family"] == "ar-fim" and ar["prompt_format"] == "qwen-fim"
    assert diff["family"] == "diffusion" and diff["prompt_format"] == "diffusion-canvas"
    tok = tokenizers_[DIFF.name]
    assert diff["mask_token"] == "<M>" and diff["mask_token_id"] == tok.mask_token_id
    for meta in (ar, diff):
        assert meta["train_script"] == "scripts/train_tiny_models.py"
        assert (REPO / meta["train_script"]).is_file()
        assert len(meta["stdlib_file_list_sha256"]) == 64
        assert meta["weights_dtype"] == "bfloat16"
        tr = meta["training"]
        for key in ("steps", "seq_len", "seed", "tokens_seen", "final_loss"):
            assert key in tr, key
        assert tr["steps"] > 0 and tr["tokens_seen"] > 0 and tr["final_loss"] > 0
    assert ar["stdlib_file_list_sha256"] == diff["stdlib_file_list_sha256"]
    # the shipped models are the full training run, not --quick
    assert ar["training"]["steps"] >= 100 and diff["training"]["steps"] >= 100


@pytest.mark.slow
def test_train_script_quick(tmp_path):
    out = tmp_path / "tiny"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "[done]" in proc.stdout
    for name in ("tiny-qwen2-fim", "tiny-qwen2-diffusion"):
        d = out / name
        tok = AutoTokenizer.from_pretrained(d)
        assert tok.mask_token_id is not None
        m = AutoModelForCausalLM.from_pretrained(d)
        assert type(m).__name__ == "Qwen2ForCausalLM"
        meta = json.loads((d / "infill_model.json").read_text())
        assert meta["training"]["steps"] > 0
    assert (out / "README.md").is_file()
