//! PEFT LoRA adapters for Llama-family models: reading, checking, merging into GGUF
//! weights (`W' = W + scale · B·A`, scale = alpha / r, or alpha / √r with rsLoRA), and
//! writing them as a llama.cpp LoRA GGUF applied to the unchanged base at run time.

use crate::gguf_file::{GgufFile, Tensor, Value};
use crate::quant::GgmlType;
use intent_core::{Error, Result, Status};
pub use intent_plugin_abi::GGUF_LORA_BASE_KEY;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Hugging Face projection name -> GGUF tensor name (after `blk.N.`).
pub const PROJECTIONS: &[(&str, &str)] = &[
    ("self_attn.q_proj", "attn_q"),
    ("self_attn.k_proj", "attn_k"),
    ("self_attn.v_proj", "attn_v"),
    ("self_attn.o_proj", "attn_output"),
    ("mlp.gate_proj", "ffn_gate"),
    ("mlp.up_proj", "ffn_up"),
    ("mlp.down_proj", "ffn_down"),
];

/// The fields of `adapter_config.json` that decide how an adapter merges.
#[derive(Debug, Clone, Deserialize)]
pub struct AdapterConfig {
    /// Must be `LORA`.
    pub peft_type: String,
    /// Rank.
    pub r: usize,
    /// Scaling numerator.
    pub lora_alpha: f32,
    /// Modules the adapter targets.
    #[serde(default)]
    pub target_modules: serde_json::Value,
    /// rsLoRA scaling (alpha / sqrt(r)).
    #[serde(default)]
    pub use_rslora: bool,
    /// DoRA adapters are not plain low-rank updates.
    #[serde(default)]
    pub use_dora: bool,
    /// Weights stored transposed (GPT-2 Conv1D).
    #[serde(default)]
    pub fan_in_fan_out: bool,
    /// Per-module ranks.
    #[serde(default)]
    pub rank_pattern: BTreeMap<String, serde_json::Value>,
    /// Per-module alphas.
    #[serde(default)]
    pub alpha_pattern: BTreeMap<String, serde_json::Value>,
    /// Trained biases.
    #[serde(default)]
    pub bias: Option<String>,
}

/// One low-rank update: `delta = scale · B·A`, A is `[r, in]`, B is `[out, r]`.
#[derive(Debug, Clone)]
pub struct LoraPair {
    /// Rank.
    pub r: usize,
    /// Input features.
    pub n_in: usize,
    /// Output features.
    pub n_out: usize,
    /// `[r][in]`, row-major.
    pub a: Vec<f32>,
    /// `[out][r]`, row-major.
    pub b: Vec<f32>,
}

/// A loaded adapter: updates keyed by GGUF tensor name (`blk.3.attn_q.weight`).
#[derive(Debug, Clone)]
pub struct Adapter {
    /// The adapter's settings.
    pub config: AdapterConfig,
    /// Merge scale.
    pub scale: f32,
    /// The updates.
    pub updates: BTreeMap<String, LoraPair>,
}

fn bad(path: &Path, m: impl std::fmt::Display) -> Error {
    Error::new(Status::InvalidModel, format!("adapter {}: {m}", path.display()))
}

fn tensor_f32(view: &safetensors::tensor::TensorView<'_>) -> std::result::Result<Vec<f32>, String> {
    use safetensors::Dtype;
    let d = view.data();
    Ok(match view.dtype() {
        Dtype::F32 => d.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
        Dtype::F16 => d.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
        Dtype::BF16 => d.chunks_exact(2).map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
        other => return Err(format!("dtype {other:?} (F32, F16 or BF16 expected)")),
    })
}

/// Maps `base_model.model.model.layers.N.<projection>.lora_X.weight` to
/// (`blk.N.<gguf>.weight`, is_a).
fn gguf_target(name: &str) -> Option<(String, bool)> {
    let rest = name.strip_prefix("base_model.model.model.layers.")?;
    let (layer, rest) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let (module, which) = rest.strip_suffix(".weight")?.rsplit_once('.')?;
    let is_a = match which {
        "lora_A" => true,
        "lora_B" => false,
        _ => return None,
    };
    let gguf = PROJECTIONS.iter().find(|(hf, _)| *hf == module)?.1;
    Some((format!("blk.{layer}.{gguf}.weight"), is_a))
}

impl Adapter {
    /// Reads `adapter_config.json` and `adapter_model.safetensors` from a directory.
    pub fn read(dir: &Path) -> Result<Adapter> {
        let cfg_path = dir.join("adapter_config.json");
        let text = std::fs::read_to_string(&cfg_path).map_err(|e| bad(dir, format!("cannot read adapter_config.json: {e}")))?;
        let st_path = dir.join("adapter_model.safetensors");
        let bytes = std::fs::read(&st_path).map_err(|e| bad(dir, format!("cannot read adapter_model.safetensors: {e}")))?;
        Adapter::from_bytes(&text, &bytes, dir)
    }

    /// Parses an adapter from `text`, its `adapter_config.json`, and `bytes`, its
    /// `adapter_model.safetensors`; `dir` only names it in messages.
    pub fn from_bytes(text: &str, bytes: &[u8], dir: &Path) -> Result<Adapter> {
        let config: AdapterConfig = serde_json::from_str(text).map_err(|e| bad(dir, format!("adapter_config.json: {e}")))?;
        if config.peft_type != "LORA" {
            return Err(bad(dir, format!("peft_type '{}' is not LORA", config.peft_type)));
        }
        if config.use_dora || config.fan_in_fan_out {
            return Err(bad(dir, "DoRA and fan_in_fan_out adapters are not supported"));
        }
        if !config.rank_pattern.is_empty() || !config.alpha_pattern.is_empty() {
            return Err(bad(dir, "per-module rank_pattern/alpha_pattern is not supported"));
        }
        if config.bias.as_deref().is_some_and(|b| b != "none") {
            return Err(bad(dir, format!("trained biases (bias = '{}') are not supported", config.bias.as_deref().unwrap_or(""))));
        }
        if config.r == 0 {
            return Err(bad(dir, "rank r is 0"));
        }
        let scale = if config.use_rslora { config.lora_alpha / (config.r as f32).sqrt() } else { config.lora_alpha / config.r as f32 };
        let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| bad(dir, format!("adapter_model.safetensors: {e}")))?;
        let mut halves: BTreeMap<String, (Option<(Vec<usize>, Vec<f32>)>, Option<(Vec<usize>, Vec<f32>)>)> = BTreeMap::new();
        for (name, view) in st.tensors() {
            let Some((target, is_a)) = gguf_target(&name) else {
                return Err(bad(dir, format!("tensor '{name}' is not a LoRA update of a Llama projection (another architecture?)")));
            };
            let values = tensor_f32(&view).map_err(|m| bad(dir, format!("{name}: {m}")))?;
            let entry = halves.entry(target).or_default();
            let slot = if is_a { &mut entry.0 } else { &mut entry.1 };
            *slot = Some((view.shape().to_vec(), values));
        }
        let mut updates = BTreeMap::new();
        for (target, (a, b)) in halves {
            let (Some((sa, a)), Some((sb, b))) = (a, b) else {
                return Err(bad(dir, format!("{target}: lora_A or lora_B is missing")));
            };
            if sa.len() != 2 || sb.len() != 2 || sa[0] != config.r || sb[1] != config.r {
                return Err(bad(dir, format!("{target}: shapes A {sa:?} and B {sb:?} do not fit rank {}", config.r)));
            }
            updates.insert(target, LoraPair { r: config.r, n_in: sa[1], n_out: sb[0], a, b });
        }
        if updates.is_empty() {
            return Err(bad(dir, "no LoRA tensors"));
        }
        Ok(Adapter { config, scale, updates })
    }
}

impl Adapter {
    /// Checks that every update targets a matrix of `base` with the same shape.
    pub fn check_fits(&self, base: &GgufFile) -> Result<()> {
        let n_layers = base.require_u64("llama.block_count")?;
        for (target, pair) in &self.updates {
            let Some(t) = base.tensor(target) else {
                return Err(Error::new(
                    Status::InvalidModel,
                    format!("adapter updates {target}, which the base does not have (the base has {n_layers} layers): adapter made for another model?"),
                ));
            };
            if t.dims.len() != 2 || t.dims[0] as usize != pair.n_in || t.dims[1] as usize != pair.n_out {
                return Err(Error::new(
                    Status::InvalidModel,
                    format!("adapter update of {target} is {}x{} (out x in), the base weight is {:?} (in, out): shape mismatch", pair.n_out, pair.n_in, t.dims),
                ));
            }
        }
        Ok(())
    }

    /// The adapter as a llama.cpp LoRA GGUF (`general.type = adapter`), to be applied to
    /// the unchanged `base` at run time: for each target, `<target>.lora_a` with ggml dims
    /// `[in, r]` and `<target>.lora_b` with `[r, out]`, F16 (as PEFT stores them), the
    /// rows of q/k updates permuted as llama.cpp stores the base; `adapter.lora.alpha` is scale · r, so that
    /// llama.cpp's alpha / r is the merge scale. `base_ref` (the base's file name beside
    /// the adapter) is written under [`GGUF_LORA_BASE_KEY`].
    pub fn to_runtime_gguf(&self, base: &GgufFile, base_ref: &str) -> Result<GgufFile> {
        self.check_fits(base)?;
        if self.scale == 0.0 {
            // llama.cpp reads alpha 0 as "no alpha" and would apply the update at scale 1.
            return Err(Error::new(Status::InvalidModel, "the adapter's lora_alpha is 0: its update is zero, nothing to apply"));
        }
        let mut out = GgufFile { metadata: Vec::new(), tensors: Vec::with_capacity(2 * self.updates.len()) };
        let architecture = base.get("general.architecture").cloned().unwrap_or(Value::Str("llama".into()));
        out.set("general.architecture", architecture);
        out.set("general.type", Value::Str("adapter".into()));
        if let Some(name) = base.get("general.name").and_then(Value::as_str) {
            out.set("general.name", Value::Str(format!("{name} LoRA")));
        }
        out.set("adapter.type", Value::Str("lora".into()));
        out.set("adapter.lora.alpha", Value::F32(self.scale * self.config.r as f32));
        out.set(GGUF_LORA_BASE_KEY, Value::Str(base_ref.to_string()));
        for (target, pair) in &self.updates {
            let b = rows_in_gguf_order(&pair.b, pair.n_out, base.permuted_heads(target)?);
            let (r, n_in, n_out) = (pair.r as u64, pair.n_in as u64, pair.n_out as u64);
            out.tensors.push(Tensor::from_f32(&format!("{target}.lora_a"), &[n_in, r], &pair.a, GgmlType::F16));
            out.tensors.push(Tensor::from_f32(&format!("{target}.lora_b"), &[r, n_out], &b, GgmlType::F16));
        }
        Ok(out)
    }
}

impl LoraPair {
    /// `scale · B·A` as `[out][in]`, rows in Hugging Face order.
    pub fn delta(&self, scale: f32) -> Vec<f32> {
        let mut d = vec![0f32; self.n_out * self.n_in];
        for o in 0..self.n_out {
            let row = &mut d[o * self.n_in..(o + 1) * self.n_in];
            for k in 0..self.r {
                let w = scale * self.b[o * self.r + k];
                if w != 0.0 {
                    let a = &self.a[k * self.n_in..(k + 1) * self.n_in];
                    for (x, &y) in row.iter_mut().zip(a) {
                        *x += w * y;
                    }
                }
            }
        }
        d
    }
}

/// The GGUF row that holds Hugging Face row `row` of a q/k projection with `n_head` heads:
/// llama.cpp's converter interleaves the two rotary halves of every head.
pub fn gguf_row_of_hf_row(row: usize, n_rows: usize, n_head: usize) -> usize {
    let head_dim = n_rows / n_head;
    let half = head_dim / 2;
    let (h, within) = (row / head_dim, row % head_dim);
    let (s, j) = (within / half, within % half);
    h * head_dim + j * 2 + s
}

/// The rows of a `[n_rows][cols]` matrix (`values`) put from Hugging Face order into
/// llama.cpp's: rows interleaved per head for a q/k projection with `heads` heads (see
/// [`gguf_row_of_hf_row`]), unchanged for `None`.
pub fn rows_in_gguf_order(values: &[f32], n_rows: usize, heads: Option<usize>) -> Vec<f32> {
    let Some(h) = heads else { return values.to_vec() };
    let cols = values.len() / n_rows.max(1);
    let mut out = vec![0f32; values.len()];
    for hf_row in 0..n_rows {
        let row = gguf_row_of_hf_row(hf_row, n_rows, h);
        out[row * cols..(row + 1) * cols].copy_from_slice(&values[hf_row * cols..(hf_row + 1) * cols]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_interleaves_the_rotary_halves() {
        // One head of dim 4: HF rows [a0 a1 | b0 b1] -> GGUF rows [a0 b0 a1 b1].
        let rows: Vec<usize> = (0..4).map(|r| gguf_row_of_hf_row(r, 4, 1)).collect();
        assert_eq!(rows, vec![0, 2, 1, 3]);
        // Two heads keep their blocks.
        assert_eq!(gguf_row_of_hf_row(4, 8, 2), 4);
        assert_eq!(gguf_row_of_hf_row(6, 8, 2), 5);
        // Whole rows move (two columns each); without heads nothing does.
        let hf: Vec<f32> = (0..8).map(|v| v as f32).collect();
        assert_eq!(rows_in_gguf_order(&hf, 4, Some(1)), vec![0.0, 1.0, 4.0, 5.0, 2.0, 3.0, 6.0, 7.0]);
        assert_eq!(rows_in_gguf_order(&hf, 4, None), hf);
    }

    #[test]
    fn names_map_to_gguf_tensors() {
        assert_eq!(
            gguf_target("base_model.model.model.layers.12.self_attn.k_proj.lora_B.weight"),
            Some(("blk.12.attn_k.weight".into(), false))
        );
        assert_eq!(gguf_target("base_model.model.model.layers.0.mlp.down_proj.lora_A.weight"), Some(("blk.0.ffn_down.weight".into(), true)));
        assert_eq!(gguf_target("base_model.model.transformer.h.0.attn.c_attn.lora_A.weight"), None);
    }

    #[test]
    fn delta_is_scaled_b_times_a() {
        let p = LoraPair { r: 1, n_in: 2, n_out: 2, a: vec![1.0, 2.0], b: vec![3.0, -1.0] };
        assert_eq!(p.delta(0.5), vec![1.5, 3.0, -0.5, -1.0]);
    }
}
