"""Independent checks of `intent model prepare` (Rust) against the Python reference that
training uses: the merged F16 GGUF must hold base + (alpha/r)·B·A in llama.cpp's row
order, and the answer words must start with distinct tokens.

Needs the base model (scripts/setup.sh), the committed adapter, and the prepared F16
model (scripts/build.sh writes it).
"""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "training"))

from answers import choose_answers  # noqa: E402
from gguf_reader import GgufFile  # noqa: E402
from hf_base import config_from_gguf, unpermute_rows  # noqa: E402
import safetensors_file  # noqa: E402

BASE = ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"
ADAPTER = ROOT / "models" / "smollm2-135m-ecommerce-v1-lora"
F16 = ROOT / "models" / "SmolLM2-135M-intent.F16.gguf"


def read_safetensors(path: Path) -> dict:
    """Every tensor of a safetensors file, as float32."""
    return {name: t.astype(np.float32) for name, t in safetensors_file.read(path).items()}


@pytest.fixture(scope="module")
def models():
    for p in (BASE, F16):
        assert p.exists(), f"{p} is missing: run scripts/setup.sh and scripts/build.sh"
    return GgufFile(BASE), GgufFile(F16)


@pytest.mark.parametrize("layer,hf,gguf", [(0, "self_attn.q_proj", "attn_q"), (17, "self_attn.k_proj", "attn_k"),
                                          (29, "mlp.down_proj", "ffn_down"), (5, "self_attn.v_proj", "attn_v")])
def test_rust_merge_matches_the_python_reference(models, layer, hf, gguf):
    base, merged = models
    config = config_from_gguf(base)
    adapter_cfg = json.loads((ADAPTER / "adapter_config.json").read_text())
    lora = read_safetensors(ADAPTER / "adapter_model.safetensors")
    prefix = f"base_model.model.model.layers.{layer}.{hf}"
    a, b = lora[f"{prefix}.lora_A.weight"], lora[f"{prefix}.lora_B.weight"]
    scale = adapter_cfg["lora_alpha"] / adapter_cfg["r"]
    heads = {"attn_q": config["num_attention_heads"], "attn_k": config["num_key_value_heads"]}.get(gguf)
    name = f"blk.{layer}.{gguf}.weight"
    w = base.tensor(name)
    want = (unpermute_rows(w, heads) if heads else w) + scale * (b @ a)
    got = merged.tensor(name)
    assert merged.tensors[name].type_name == "F16"
    got = unpermute_rows(got, heads) if heads else got
    err = np.abs(got - want).max()
    assert err < 2e-3 * max(1.0, np.abs(want).max()), f"{name}: max abs error {err}"
    # The update is not negligible: the check would see a merge that was left out.
    assert np.abs(scale * (b @ a)).max() > 10 * err


def test_norms_stay_f32_and_metadata_is_kept(models):
    base, merged = models
    assert merged.tensors["blk.0.attn_norm.weight"].type_name == "F32"
    assert merged.metadata["general.file_type"] == 1
    for key in ("tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.chat_template", "llama.rope.freq_base"):
        assert merged.metadata[key] == base.metadata[key], key


def test_answer_words_get_distinct_first_tokens():
    labels = ["track_order", "track_refund", "get_refund", "check_refund_policy", "review"]
    vocab = {}

    def first(word):  # a stand-in tokenizer: the first three letters are one token
        return vocab.setdefault(word[:3], len(vocab))

    answers = choose_answers(labels, first, lambda w: 1 + (len(w) > 3))
    assert set(answers) == set(labels)
    assert len({first(a) for a in answers.values()}) == len(labels)
    assert all(a.lower() in label.split("_") for label, a in answers.items())


def test_the_committed_manifest_matches_the_adapter():
    manifest = json.loads((ADAPTER / "intent.json").read_text())
    assert manifest["prompt_format"] == "libintent-finetuned-v2"
    assert manifest["taxonomy"] == "ecommerce-v1"
    assert len(manifest["answers"]) == 34
    assert len(set(manifest["answers"].values())) == 34
