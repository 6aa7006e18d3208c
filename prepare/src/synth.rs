//! Random-weight models of real shapes, for speed measurements where a trained model of
//! that size is not available. The weights are deterministic for a seed; the tokenizer is a
//! real one (taken from a GGUF, the SmolLM2 base by default). Accuracy is never measured on
//! these models: their answers mean nothing.

use crate::gguf_file::GgufFile;
use crate::gptq::{rtn, GptqParams, QuantizedLinear};
use crate::gptq_model::{config_of, layer_tensors};
use crate::hf::{self, RawTensor};
use intent_core::{Error, Result, Status};
use serde_json::json;
use std::path::Path;

/// A model shape: the numbers of a real model's `config.json`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    /// Name used on the command line.
    pub name: &'static str,
    /// Residual width.
    pub hidden: usize,
    /// Feed-forward width.
    pub intermediate: usize,
    /// Blocks.
    pub layers: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads.
    pub kv_heads: usize,
    /// Vocabulary of the real model (the output layer's rows).
    pub vocab: usize,
    /// RoPE base.
    pub rope_theta: f64,
    /// Whether the model uses Llama 3's RoPE scaling.
    pub llama3_rope: bool,
    /// Trained context.
    pub max_positions: usize,
}

/// The shapes `intent model synth` knows.
pub const SHAPES: &[Shape] = &[
    Shape {
        name: "smollm2-135m",
        hidden: 576,
        intermediate: 1536,
        layers: 30,
        heads: 9,
        kv_heads: 3,
        vocab: 49152,
        rope_theta: 100000.0,
        llama3_rope: false,
        max_positions: 8192,
    },
    Shape {
        name: "llama-3.2-1b",
        hidden: 2048,
        intermediate: 8192,
        layers: 16,
        heads: 32,
        kv_heads: 8,
        vocab: 128256,
        rope_theta: 500000.0,
        llama3_rope: true,
        max_positions: 131072,
    },
];

/// The shape of a name.
pub fn shape(name: &str) -> Result<Shape> {
    SHAPES.iter().copied().find(|s| s.name.eq_ignore_ascii_case(name)).ok_or_else(|| {
        Error::new(
            Status::InvalidArgument,
            format!("unknown shape '{name}' (known: {})", SHAPES.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")),
        )
    })
}

impl Shape {
    /// `config.json` of this shape (tied embeddings, as both real models have).
    pub fn config_json(&self) -> serde_json::Value {
        let mut c = json!({
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "hidden_size": self.hidden,
            "intermediate_size": self.intermediate,
            "num_hidden_layers": self.layers,
            "num_attention_heads": self.heads,
            "num_key_value_heads": self.kv_heads,
            "head_dim": self.hidden / self.heads,
            "max_position_embeddings": self.max_positions,
            "rms_norm_eps": 1e-5,
            "rope_theta": self.rope_theta,
            "vocab_size": self.vocab,
            "tie_word_embeddings": true,
            "hidden_act": "silu",
            "bos_token_id": 1,
            "eos_token_id": 2,
            "torch_dtype": "float16",
        });
        if self.llama3_rope {
            c["rope_scaling"] = json!({
                "rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                "high_freq_factor": 4.0, "original_max_position_embeddings": 8192
            });
        }
        c
    }

    /// Every weight's Hugging Face name and shape.
    pub fn tensors(&self) -> Vec<(String, Vec<usize>)> {
        let (h, f, d) = (self.hidden, self.intermediate, self.hidden / self.heads);
        let (q, kv) = (self.heads * d, self.kv_heads * d);
        let mut out = vec![("model.embed_tokens.weight".to_string(), vec![self.vocab, h]), ("model.norm.weight".to_string(), vec![h])];
        for l in 0..self.layers {
            let p = format!("model.layers.{l}");
            for (name, shape) in [
                ("input_layernorm", vec![h]),
                ("post_attention_layernorm", vec![h]),
                ("self_attn.q_proj", vec![q, h]),
                ("self_attn.k_proj", vec![kv, h]),
                ("self_attn.v_proj", vec![kv, h]),
                ("self_attn.o_proj", vec![h, q]),
                ("mlp.gate_proj", vec![f, h]),
                ("mlp.up_proj", vec![f, h]),
                ("mlp.down_proj", vec![h, f]),
            ] {
                out.push((format!("{p}.{name}.weight"), shape));
            }
        }
        out
    }
}

/// splitmix64: a small, fast, well-mixed generator; the stream is part of the format.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    fn uniform(&mut self) -> f32 {
        ((self.next() >> 40) as f32 / (1u64 << 23) as f32) - 1.0
    }
}

/// The values of one tensor: norms are 1, matrices uniform with the standard deviation
/// of a scaled initialisation (1 / sqrt(fan-in)), so activations stay in F16's range.
fn values(name: &str, shape: &[usize], seed: u64) -> Vec<f32> {
    let n: usize = shape.iter().product();
    if shape.len() == 1 {
        return vec![1.0; n];
    }
    let mut h = seed ^ 0x5EED;
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3);
    }
    let mut rng = SplitMix(h);
    let fan_in = shape[shape.len() - 1] as f32;
    // Uniform on [-a, a) has standard deviation a / sqrt(3).
    let a = 3f32.sqrt() / fan_in.sqrt();
    (0..n).map(|_| rng.uniform() * a).collect()
}

/// The weight formats `intent model synth` writes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SynthFormat {
    /// F16 safetensors in Hugging Face layout.
    F16,
    /// A GPTQ checkpoint (AutoGPTQ / GPTQModel layout, v1 zeros, asymmetric, act-order with
    /// a random row order) of the same random weights, rounded to nearest: 4 bits, groups
    /// of `group_size` rows.
    Gptq {
        /// Rows per group.
        group_size: usize,
    },
}

/// Round-to-nearest quantization of `w` (`[n][k]`) in a random row order, recorded as
/// act-order (`g_idx`), as a GPTQ checkpoint made with `desc_act` stores it.
fn quantize_act_order(w: &[f32], n: usize, k: usize, params: &GptqParams, seed: u64) -> Result<QuantizedLinear> {
    let mut rng = SplitMix(seed);
    let mut order: Vec<usize> = (0..k).collect();
    for i in (1..k).rev() {
        order.swap(i, (rng.next() % (i as u64 + 1)) as usize);
    }
    let mut permuted = vec![0f32; n * k];
    for r in 0..n {
        for (kp, &c) in order.iter().enumerate() {
            permuted[r * k + kp] = w[r * k + c];
        }
    }
    let sorted = rtn(&permuted, n, k, params)?;
    let mut q = vec![0u8; n * k];
    let mut g_idx = vec![0u32; k];
    for (kp, &c) in order.iter().enumerate() {
        g_idx[c] = sorted.g_idx[kp];
        for r in 0..n {
            q[r * k + c] = sorted.q[r * k + kp];
        }
    }
    Ok(QuantizedLinear { q, g_idx, ..sorted })
}

/// Writes a random-weight model of `shape` in Hugging Face layout (F16 safetensors or a
/// GPTQ checkpoint) into `dir`, with the tokenizer of `tokenizer_from` (a GGUF).
pub fn write_hf(shape: &Shape, seed: u64, format: SynthFormat, tokenizer_from: &Path, dir: &Path) -> Result<()> {
    let gguf = GgufFile::read(tokenizer_from)?;
    let tokenizer = hf::tokenizer_json(&gguf)?;
    let n_tokens = tokenizer["model"]["vocab"].as_object().map_or(0, |v| v.len());
    if n_tokens > shape.vocab {
        return Err(Error::new(
            Status::InvalidArgument,
            format!("the tokenizer of {} has {n_tokens} tokens, more than the {} of shape {}", tokenizer_from.display(), shape.vocab, shape.name),
        ));
    }
    let io = |e: std::io::Error| Error::new(Status::Io, format!("cannot write {}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    let pretty = |v: serde_json::Value| serde_json::to_string_pretty(&v).expect("JSON") + "\n";
    let mut config = shape.config_json();
    config["libintent_synthetic"] = json!({ "shape": shape.name, "seed": seed, "note": "random weights: for speed only" });
    let gptq = match format {
        SynthFormat::F16 => None,
        SynthFormat::Gptq { group_size } => {
            let params = GptqParams { bits: 4, group_size, sym: false, act_order: true, ..GptqParams::default() };
            let text = config_of(&params).to_json();
            std::fs::write(dir.join("quantize_config.json"), text.clone() + "\n").map_err(io)?;
            config["quantization_config"] = serde_json::from_str(&text).map_err(|e| Error::new(Status::Internal, e.to_string()))?;
            Some(params)
        }
    };
    std::fs::write(dir.join("config.json"), pretty(config)).map_err(io)?;
    std::fs::write(dir.join("tokenizer.json"), serde_json::to_string(&tokenizer).expect("JSON")).map_err(io)?;
    std::fs::write(dir.join("tokenizer_config.json"), pretty(hf::tokenizer_config_json(&gguf)?)).map_err(io)?;
    let mut tensors: Vec<(String, RawTensor)> = Vec::new();
    for (name, dims) in shape.tensors() {
        let v = values(&name, &dims, seed);
        match (&gptq, name.strip_suffix("_proj.weight")) {
            (Some(params), Some(layer)) => {
                let layer = format!("{layer}_proj");
                let q = quantize_act_order(&v, dims[0], dims[1], params, seed ^ tensors.len() as u64)?;
                tensors.extend(layer_tensors(&layer, &q)?);
            }
            _ => tensors.push((name, RawTensor::f16(&dims, &v))),
        }
    }
    std::fs::write(dir.join("model.safetensors"), hf::safetensors_bytes(&tensors)?).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_have_the_real_models_parameter_counts() {
        let count = |s: &Shape| -> usize { s.tensors().iter().map(|(_, d)| d.iter().product::<usize>()).sum() };
        // SmolLM2-135M: 134,515,008; Llama-3.2-1B: 1,235,814,400 (tied embeddings).
        assert_eq!(count(&shape("smollm2-135m").unwrap()), 134_515_008);
        assert_eq!(count(&shape("llama-3.2-1b").unwrap()), 1_235_814_400);
        assert!(shape("gpt-5").unwrap_err().message.contains("unknown shape 'gpt-5'"));
    }

    #[test]
    fn act_order_quantization_records_each_row_s_group() {
        let (n, k) = (8, 128);
        let w = values("model.layers.0.mlp.up_proj.weight", &[n, k], 3);
        let params = GptqParams { bits: 4, group_size: 32, sym: false, act_order: true, ..GptqParams::default() };
        let q = quantize_act_order(&w, n, k, &params, 5).unwrap();
        assert_ne!(q.g_idx, (0..k as u32).map(|c| c / 32).collect::<Vec<_>>(), "rows are out of order");
        let mut per_group = [0; 4];
        q.g_idx.iter().for_each(|&g| per_group[g as usize] += 1);
        assert_eq!(per_group, [32; 4]);
        // Each weight is within half a step of its group's grid.
        let d = q.dequantize();
        for r in 0..n {
            for c in 0..k {
                let step = q.scales[q.g_idx[c] as usize * n + r];
                assert!((d[r * k + c] - w[r * k + c]).abs() <= step * 0.5 + 1e-6);
            }
        }
    }

    #[test]
    fn weights_are_deterministic_per_seed_and_scaled_by_fan_in() {
        let a = values("model.layers.0.mlp.down_proj.weight", &[64, 1536], 7);
        assert_eq!(a, values("model.layers.0.mlp.down_proj.weight", &[64, 1536], 7));
        assert_ne!(a, values("model.layers.0.mlp.down_proj.weight", &[64, 1536], 8));
        assert_ne!(a[..64], values("model.layers.1.mlp.down_proj.weight", &[64, 1536], 7)[..64]);
        let var = a.iter().map(|x| x * x).sum::<f32>() / a.len() as f32;
        assert!((var * 1536.0 - 1.0).abs() < 0.05, "variance x fan-in = {}", var * 1536.0);
        assert!(values("model.norm.weight", &[576], 7).iter().all(|&x| x == 1.0));
    }
}
