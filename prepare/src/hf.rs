//! The Hugging Face layout of a Llama-family GGUF: `config.json`, `tokenizer.json`,
//! `tokenizer_config.json` and `model.safetensors` (F16), as the CUDA backends and
//! PyTorch read it.
//!
//! The tokenizer is rebuilt from the GGUF's own vocabulary and merges (GPT-2 style
//! byte-level BPE; SmolLM2's `smollm` pre-tokenizer also splits digits one by one), and
//! llama.cpp's interleaving of the q/k rows is undone.

use crate::gguf_file::{GgufFile, Value};
use crate::lora::{gguf_row_of_hf_row, PROJECTIONS};
use intent_core::{Error, Result, Status};
use serde_json::{json, Map};
use std::borrow::Cow;
use std::path::Path;

/// Hugging Face norm name (after `model.layers.N.`) -> GGUF name (after `blk.N.`); the
/// projections are [`PROJECTIONS`].
const NORMS: &[(&str, &str)] = &[("input_layernorm", "attn_norm"), ("post_attention_layernorm", "ffn_norm")];
/// GGUF token types that are special (control and user-defined tokens).
const TOKEN_CONTROL: u64 = 3;
const TOKEN_USER_DEFINED: u64 = 4;

fn bad(m: impl Into<String>) -> Error {
    Error::new(Status::InvalidModel, m.into())
}

fn f64_of(f: &GgufFile, key: &str) -> Option<f64> {
    match f.get(key)? {
        Value::F32(v) => Some(f64::from(*v)),
        Value::F64(v) => Some(*v),
        _ => None,
    }
}

fn strings<'a>(f: &'a GgufFile, key: &str) -> Result<Vec<&'a str>> {
    match f.get(key) {
        Some(Value::Array(_, items)) => items.iter().map(|v| v.as_str().ok_or_else(|| bad(format!("'{key}' holds a non-string")))).collect(),
        _ => Err(bad(format!("the model has no tokenizer ('{key}' missing)"))),
    }
}

/// `config.json` for the model.
pub fn config_json(f: &GgufFile) -> Result<serde_json::Value> {
    let n_embd = f.require_u64("llama.embedding_length")?;
    let n_head = f.require_u64("llama.attention.head_count")?;
    let n_vocab = strings(f, "tokenizer.ggml.tokens")?.len();
    Ok(json!({
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": n_embd,
        "intermediate_size": f.require_u64("llama.feed_forward_length")?,
        "num_hidden_layers": f.require_u64("llama.block_count")?,
        "num_attention_heads": n_head,
        "num_key_value_heads": f.get("llama.attention.head_count_kv").and_then(Value::as_u64).unwrap_or(n_head),
        "head_dim": f.get("llama.rope.dimension_count").and_then(Value::as_u64).unwrap_or(n_embd / n_head),
        "max_position_embeddings": f.require_u64("llama.context_length")?,
        "rms_norm_eps": f64_of(f, "llama.attention.layer_norm_rms_epsilon").ok_or_else(|| bad("no rms_norm_eps"))?,
        "rope_theta": f64_of(f, "llama.rope.freq_base").unwrap_or(10000.0),
        "vocab_size": n_vocab,
        "tie_word_embeddings": f.tensor("output.weight").is_none(),
        "bos_token_id": f.get("tokenizer.ggml.bos_token_id").and_then(Value::as_u64),
        "eos_token_id": f.get("tokenizer.ggml.eos_token_id").and_then(Value::as_u64),
        "pad_token_id": f.get("tokenizer.ggml.padding_token_id").and_then(Value::as_u64),
        "hidden_act": "silu",
        "attention_bias": false,
        "mlp_bias": false,
        "torch_dtype": "float16",
    }))
}

/// `tokenizer.json` (Hugging Face tokenizers) rebuilt from the GGUF vocabulary.
pub fn tokenizer_json(f: &GgufFile) -> Result<serde_json::Value> {
    let model = f.get("tokenizer.ggml.model").and_then(Value::as_str).unwrap_or("");
    if model != "gpt2" {
        return Err(Error::new(Status::UnsupportedModel, format!("tokenizer model '{model}' is not supported (only gpt2 byte-level BPE)")));
    }
    let byte_level = json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true});
    let pre = f.get("tokenizer.ggml.pre").and_then(Value::as_str).unwrap_or("default");
    let pre_tokenizer = match pre {
        "smollm" => json!({"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": true}, byte_level]}),
        "default" | "gpt2" => byte_level,
        other => return Err(Error::new(Status::UnsupportedModel, format!("pre-tokenizer '{other}' is not supported (smollm, gpt2)"))),
    };
    let tokens = strings(f, "tokenizer.ggml.tokens")?;
    let types: Vec<u64> = match f.get("tokenizer.ggml.token_type") {
        Some(Value::Array(_, items)) => items.iter().map(|v| v.as_u64().unwrap_or(1)).collect(),
        _ => vec![1; tokens.len()],
    };
    let merges: Vec<serde_json::Value> = strings(f, "tokenizer.ggml.merges")?
        .into_iter()
        .map(|m| {
            let (a, b) = m.split_once(' ').ok_or_else(|| bad(format!("merge '{m}' is not two tokens")))?;
            Ok(json!([a, b]))
        })
        .collect::<Result<_>>()?;
    let added: Vec<serde_json::Value> = tokens
        .iter()
        .zip(&types)
        .enumerate()
        .filter(|(_, (_, &t))| t == TOKEN_CONTROL || t == TOKEN_USER_DEFINED)
        .map(|(id, (content, _))| {
            json!({"id": id, "content": content, "single_word": false, "lstrip": false, "rstrip": false,
                   "normalized": false, "special": true})
        })
        .collect();
    let vocab: Map<String, serde_json::Value> = tokens.iter().enumerate().map(|(i, t)| (t.to_string(), json!(i))).collect();
    Ok(json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": null,
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                  "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                  "vocab": vocab, "merges": merges},
    }))
}

/// `tokenizer_config.json`: special tokens and the chat template.
pub fn tokenizer_config_json(f: &GgufFile) -> Result<serde_json::Value> {
    let tokens = strings(f, "tokenizer.ggml.tokens")?;
    let token = |key: &str| f.get(key).and_then(Value::as_u64).and_then(|i| tokens.get(i as usize)).map(|s| s.to_string());
    Ok(json!({
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": token("tokenizer.ggml.bos_token_id"),
        "eos_token": token("tokenizer.ggml.eos_token_id"),
        "pad_token": token("tokenizer.ggml.padding_token_id"),
        "unk_token": token("tokenizer.ggml.unknown_token_id"),
        "add_bos_token": matches!(f.get("tokenizer.ggml.add_bos_token"), Some(Value::Bool(true))),
        "chat_template": f.get("tokenizer.chat_template").and_then(Value::as_str),
        "model_max_length": f.require_u64("llama.context_length")?,
    }))
}

/// A tensor ready to be written to safetensors: type, shape and little-endian bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct RawTensor {
    /// Element type.
    pub dtype: safetensors::Dtype,
    /// Shape, outermost first.
    pub shape: Vec<usize>,
    /// The elements' bytes.
    pub data: Vec<u8>,
}

impl RawTensor {
    /// F16 elements from f32 values.
    pub fn f16(shape: &[usize], values: &[f32]) -> RawTensor {
        RawTensor { dtype: safetensors::Dtype::F16, shape: shape.to_vec(), data: to_f16_bytes(values) }
    }

    /// F16 elements from their bits.
    pub fn f16_bits(shape: &[usize], bits: &[u16]) -> RawTensor {
        RawTensor { dtype: safetensors::Dtype::F16, shape: shape.to_vec(), data: bits.iter().flat_map(|b| b.to_le_bytes()).collect() }
    }

    /// F32 elements.
    pub fn f32(shape: &[usize], values: &[f32]) -> RawTensor {
        RawTensor { dtype: safetensors::Dtype::F32, shape: shape.to_vec(), data: values.iter().flat_map(|v| v.to_le_bytes()).collect() }
    }

    /// I32 elements.
    pub fn i32(shape: &[usize], values: &[i32]) -> RawTensor {
        RawTensor { dtype: safetensors::Dtype::I32, shape: shape.to_vec(), data: values.iter().flat_map(|v| v.to_le_bytes()).collect() }
    }
}

/// `tensors` as safetensors bytes, with the `format: pt` metadata transformers expects.
pub fn safetensors_bytes(tensors: &[(String, RawTensor)]) -> Result<Vec<u8>> {
    let views: Vec<(&str, &RawTensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let meta = std::collections::HashMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::tensor::serialize(views, Some(meta)).map_err(|e| Error::new(Status::Internal, format!("safetensors: {e}")))
}

impl safetensors::tensor::View for &RawTensor {
    fn dtype(&self) -> safetensors::Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

fn to_f16_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| half::f16::from_f32(*v).to_le_bytes()).collect()
}

/// One weight under its Hugging Face name: shape (outermost first) and f32 values, q/k
/// rows in rotate-half order.
#[derive(Debug, Clone)]
pub struct HfWeight {
    /// `model.layers.3.self_attn.q_proj.weight`, ...
    pub name: String,
    /// Shape, outermost first (`[out, in]` for a projection).
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub values: Vec<f32>,
}

/// Every weight of `f` under Hugging Face names, in f32 and Hugging Face row order.
pub fn hf_weights(f: &GgufFile) -> Result<Vec<HfWeight>> {
    let n_layers = f.require_u64("llama.block_count")? as usize;
    let mut out = Vec::new();
    let mut put = |gguf: &str, hf: String| -> Result<()> {
        let t = f.tensor(gguf).ok_or_else(|| bad(format!("tensor {gguf} is missing")))?;
        let heads = f.permuted_heads(gguf)?;
        let values = t.to_f32()?;
        let shape: Vec<usize> = t.dims.iter().rev().map(|&d| d as usize).collect();
        let values = match heads {
            Some(h) => {
                let (rows, cols) = (shape[0], shape[1]);
                let mut v = vec![0f32; values.len()];
                for hf_row in 0..rows {
                    let g = gguf_row_of_hf_row(hf_row, rows, h);
                    v[hf_row * cols..(hf_row + 1) * cols].copy_from_slice(&values[g * cols..(g + 1) * cols]);
                }
                v
            }
            None => values,
        };
        out.push(HfWeight { name: hf, shape, values });
        Ok(())
    };
    put("token_embd.weight", "model.embed_tokens.weight".into())?;
    put("output_norm.weight", "model.norm.weight".into())?;
    if f.tensor("output.weight").is_some() {
        put("output.weight", "lm_head.weight".into())?;
    }
    for layer in 0..n_layers {
        for (hf, gguf) in NORMS.iter().chain(PROJECTIONS) {
            put(&format!("blk.{layer}.{gguf}.weight"), format!("model.layers.{layer}.{hf}.weight"))?;
        }
    }
    Ok(out)
}

/// Writes `config.json` (with `quantization_config` when given), `tokenizer.json` and
/// `tokenizer_config.json` of `f` into `dir`, and `model.safetensors` from `tensors`.
pub fn write_dir(f: &GgufFile, dir: &Path, quantization: Option<serde_json::Value>, tensors: &[(String, RawTensor)]) -> Result<()> {
    let io = |e: std::io::Error| Error::new(Status::Io, format!("cannot write {}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    let pretty = |v: serde_json::Value| serde_json::to_string_pretty(&v).expect("JSON") + "\n";
    let mut config = config_json(f)?;
    if let Some(q) = quantization {
        config["quantization_config"] = q;
    }
    std::fs::write(dir.join("config.json"), pretty(config)).map_err(io)?;
    std::fs::write(dir.join("tokenizer.json"), serde_json::to_string(&tokenizer_json(f)?).expect("JSON")).map_err(io)?;
    std::fs::write(dir.join("tokenizer_config.json"), pretty(tokenizer_config_json(f)?)).map_err(io)?;
    std::fs::write(dir.join("model.safetensors"), safetensors_bytes(tensors)?).map_err(io)
}

/// Writes the Hugging Face layout of `f` (F16 weights) into `dir`.
pub fn write(f: &GgufFile, dir: &Path) -> Result<()> {
    let tensors: Vec<(String, RawTensor)> = hf_weights(f)?.into_iter().map(|w| (w.name, RawTensor::f16(&w.shape, &w.values))).collect();
    write_dir(f, dir, None, &tensors)
}
