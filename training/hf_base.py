"""Turns a Llama-family GGUF (the engine's base model) into Hugging Face pieces:
a `LlamaConfig`-style dict, a state dict of float32 arrays, and a `tokenizers`
tokenizer rebuilt from the GGUF's own vocabulary.

Mind llama.cpp's Q/K row permutation: its converter interleaves the rows of q_proj and
k_proj for its RoPE; Hugging Face uses rotate-half, so the permutation is undone here.
"""

from __future__ import annotations

import json

import numpy as np

from gguf_reader import GgufFile

# GGUF tensor name (after `blk.N.`) -> Hugging Face name (after `model.layers.N.`).
LAYER_TENSORS = {
    "attn_norm.weight": "input_layernorm.weight",
    "attn_q.weight": "self_attn.q_proj.weight",
    "attn_k.weight": "self_attn.k_proj.weight",
    "attn_v.weight": "self_attn.v_proj.weight",
    "attn_output.weight": "self_attn.o_proj.weight",
    "ffn_norm.weight": "post_attention_layernorm.weight",
    "ffn_gate.weight": "mlp.gate_proj.weight",
    "ffn_up.weight": "mlp.up_proj.weight",
    "ffn_down.weight": "mlp.down_proj.weight",
}

# Token types of GGUF vocabularies.
TOKEN_CONTROL, TOKEN_USER_DEFINED = 3, 4


def unpermute_rows(w: np.ndarray, n_head: int) -> np.ndarray:
    """Undoes llama.cpp's interleaving of q/k rows: (n_head, hd/2, 2, in) -> (n_head, 2, hd/2, in)."""
    out_features, in_features = w.shape
    head_dim = out_features // n_head
    return w.reshape(n_head, head_dim // 2, 2, in_features).swapaxes(1, 2).reshape(out_features, in_features)


def config_from_gguf(g: GgufFile) -> dict:
    """A Hugging Face `config.json` for the GGUF's Llama model."""
    md = g.metadata
    arch = md.get("general.architecture")
    if arch != "llama":
        raise ValueError(f"{g.path}: architecture '{arch}' is not a Llama-family model")
    p = f"{arch}."
    n_embd = int(md[p + "embedding_length"])
    n_head = int(md[p + "attention.head_count"])
    tied = "output.weight" not in g.tensors
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": n_embd,
        "intermediate_size": int(md[p + "feed_forward_length"]),
        "num_hidden_layers": int(md[p + "block_count"]),
        "num_attention_heads": n_head,
        "num_key_value_heads": int(md.get(p + "attention.head_count_kv", n_head)),
        "head_dim": int(md.get(p + "rope.dimension_count", n_embd // n_head)),
        "max_position_embeddings": int(md[p + "context_length"]),
        "rms_norm_eps": float(md[p + "attention.layer_norm_rms_epsilon"]),
        "rope_theta": float(md.get(p + "rope.freq_base", 10000.0)),
        "vocab_size": len(md["tokenizer.ggml.tokens"]),
        "tie_word_embeddings": tied,
        "bos_token_id": int(md.get("tokenizer.ggml.bos_token_id", 1)),
        "eos_token_id": int(md.get("tokenizer.ggml.eos_token_id", 2)),
        "pad_token_id": int(md.get("tokenizer.ggml.padding_token_id", md.get("tokenizer.ggml.eos_token_id", 2))),
        "hidden_act": "silu",
        "attention_bias": False,
        "mlp_bias": False,
        "torch_dtype": "float16",
    }


def state_dict_from_gguf(g: GgufFile, config: dict) -> dict[str, np.ndarray]:
    """Every weight of the model, dequantized to float32, under Hugging Face names."""
    out: dict[str, np.ndarray] = {}
    out["model.embed_tokens.weight"] = g.tensor("token_embd.weight")
    out["model.norm.weight"] = g.tensor("output_norm.weight")
    if not config["tie_word_embeddings"]:
        out["lm_head.weight"] = g.tensor("output.weight")
    for layer in range(config["num_hidden_layers"]):
        for src, dst in LAYER_TENSORS.items():
            name = f"blk.{layer}.{src}"
            if name not in g.tensors:
                raise ValueError(f"{g.path}: tensor {name} is missing")
            w = g.tensor(name)
            if src == "attn_q.weight":
                w = unpermute_rows(w, config["num_attention_heads"])
            elif src == "attn_k.weight":
                w = unpermute_rows(w, config["num_key_value_heads"])
            out[f"model.layers.{layer}.{dst}"] = w
    return out


def tokenizer_json_from_gguf(g: GgufFile) -> str:
    """A `tokenizer.json` (Hugging Face tokenizers) rebuilt from the GGUF vocabulary.

    Supports GPT-2 style byte-level BPE (`tokenizer.ggml.model == "gpt2"`) with the
    pre-tokenizers the engine's models use; anything else is refused by name.
    """
    md = g.metadata
    model = md.get("tokenizer.ggml.model")
    if model != "gpt2":
        raise ValueError(f"{g.path}: tokenizer model '{model}' is not supported (only gpt2 byte-level BPE)")
    pre = md.get("tokenizer.ggml.pre", "default")
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    if pre == "smollm":
        pre_tokenizer = {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True}, byte_level]}
    elif pre in ("default", "gpt2"):
        pre_tokenizer = byte_level
    else:
        raise ValueError(f"{g.path}: pre-tokenizer '{pre}' is not supported (smollm, gpt2)")
    tokens = md["tokenizer.ggml.tokens"]
    types = md.get("tokenizer.ggml.token_type", [1] * len(tokens))
    added = [
        {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": True}
        for i, (t, ty) in enumerate(zip(tokens, types)) if ty in (TOKEN_CONTROL, TOKEN_USER_DEFINED)
    ]
    tokenizer = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
            "vocab": {t: i for i, t in enumerate(tokens)},
            "merges": [m.split(" ", 1) for m in md["tokenizer.ggml.merges"]],
        },
    }
    return json.dumps(tokenizer, ensure_ascii=False)
