//! A whole model quantized with GPTQ and written in the GPTQModel / AutoGPTQ layout.
//!
//! Calibration sequences (the token ids the engine evaluates for real queries) run through
//! the model layer by layer, in f32 on the CPU. Each layer's projections are quantized in
//! the order their inputs become known (true-sequential): q, k and v on the attention
//! input; o on the attention output computed with the quantized q, k and v; gate and up on
//! the MLP input; down on the MLP activation computed with the quantized gate and up. The
//! next layer sees the quantized layer's output, so later layers correct for earlier
//! layers' errors. Embeddings, norms and the output head stay in F16.

use crate::gguf_file::GgufFile;
use crate::gptq::{gptq, pack, GptqParams, QuantizedLinear};
use crate::hf::{self, HfWeight, RawTensor};
use crate::llama::{attention, hessian, linear, rms_norm, swiglu, LlamaConfig};
use crate::Progress;
use intent_core::gptq::{GptqConfig, ZeroFormat};
use intent_core::{Error, Result, Status};
use std::collections::HashMap;
use std::path::Path;

/// The `quantize_config.json` description of `params` (checkpoint format "gptq", v1).
pub fn config_of(params: &GptqParams) -> GptqConfig {
    GptqConfig {
        bits: params.bits,
        group_size: Some(params.group_size as u32),
        sym: params.sym,
        desc_act: params.act_order,
        static_groups: false,
        zero_format: ZeroFormat::V1,
        damp_percent: Some(params.damp_percent),
    }
}

/// How well one layer's quantization kept its outputs, for the report.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerReport {
    /// Layer index.
    pub layer: usize,
    /// Relative change of the layer's residual output, ‖quantized − original‖ / ‖original‖,
    /// both computed from the same (already quantized-upstream) inputs.
    pub relative_error: f32,
}

fn take<'a>(weights: &'a HashMap<String, HfWeight>, name: &str) -> Result<&'a HfWeight> {
    weights.get(name).ok_or_else(|| Error::new(Status::InvalidModel, format!("tensor {name} is missing")))
}

/// Quantizes `[out][in]` weights in parallel (one thread each).
fn quantize_all(jobs: &[(&HfWeight, &[f64])], params: &GptqParams) -> Result<Vec<QuantizedLinear>> {
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|(w, h)| s.spawn(move || gptq(&w.values, w.shape[0], w.shape[1], h, params).map_err(|e| Error::new(e.status, format!("{}: {}", w.name, e.message)))))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(Error::new(Status::Internal, "a GPTQ thread panicked")))).collect()
    })
}

fn add(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

fn norm(x: &[f32]) -> f32 {
    x.iter().map(|v| v * v).sum::<f32>().sqrt()
}

/// Attention over each calibration sequence (`lens` tokens each) of the stacked projections.
fn attention_by_sequence(c: &LlamaConfig, lens: &[usize], q: &[f32], k: &[f32], v: &[f32]) -> Vec<f32> {
    let (qw, kw) = (c.n_heads * c.head_dim, c.n_kv_heads * c.head_dim);
    let mut out = Vec::with_capacity(q.len());
    let mut at = 0;
    for &n in lens {
        out.extend(attention(c, &q[at * qw..(at + n) * qw], &k[at * kw..(at + n) * kw], &v[at * kw..(at + n) * kw]));
        at += n;
    }
    out
}

/// Quantizes every projection of `f` (a Llama GGUF, F16 or F32) with GPTQ on the
/// `calibration` token sequences, and returns the checkpoint's tensors under Hugging Face
/// names, with a report per layer.
pub fn quantize_model(
    f: &GgufFile,
    calibration: &[Vec<i32>],
    params: &GptqParams,
    progress: &mut dyn FnMut(Progress),
) -> Result<(Vec<(String, RawTensor)>, Vec<LayerReport>)> {
    let c = LlamaConfig::from_gguf(f)?;
    let weights: HashMap<String, HfWeight> = hf::hf_weights(f)?.into_iter().map(|w| (w.name.clone(), w)).collect();
    let embed = take(&weights, "model.embed_tokens.weight")?;
    let vocab = embed.shape[0];
    let lens: Vec<usize> = calibration.iter().map(Vec::len).filter(|&n| n > 0).collect();
    if lens.is_empty() {
        return Err(Error::new(Status::InvalidArgument, "GPTQ needs calibration text: none was given"));
    }
    let mut x = Vec::with_capacity(lens.iter().sum::<usize>() * c.hidden);
    for &t in calibration.iter().flatten() {
        let row = usize::try_from(t).ok().filter(|&t| t < vocab).ok_or_else(|| Error::new(Status::InvalidArgument, format!("calibration token {t} is not in the vocabulary of {vocab}")))?;
        x.extend_from_slice(&embed.values[row * c.hidden..(row + 1) * c.hidden]);
    }
    let mut tensors = Vec::new();
    let mut reports = Vec::new();
    let mut keep = |name: &str| -> Result<()> {
        let w = take(&weights, name)?;
        tensors.push((w.name.clone(), RawTensor::f16(&w.shape, &w.values)));
        Ok(())
    };
    keep("model.embed_tokens.weight")?;
    keep("model.norm.weight")?;
    if weights.contains_key("lm_head.weight") {
        keep("lm_head.weight")?;
    }
    let mut packed_layers: Vec<(String, QuantizedLinear)> = Vec::new();
    for layer in 0..c.n_layers {
        progress(Progress { step: "GPTQ".into(), done: layer as u64, total: c.n_layers as u64 });
        let name = |part: &str| format!("model.layers.{layer}.{part}");
        let w = |part: &str| take(&weights, &name(part));
        for part in ["input_layernorm.weight", "post_attention_layernorm.weight"] {
            let n = w(part)?;
            tensors.push((n.name.clone(), RawTensor::f16(&n.shape, &n.values)));
        }
        let (wq, wk, wv, wo) = (w("self_attn.q_proj.weight")?, w("self_attn.k_proj.weight")?, w("self_attn.v_proj.weight")?, w("self_attn.o_proj.weight")?);
        let (wg, wu, wd) = (w("mlp.gate_proj.weight")?, w("mlp.up_proj.weight")?, w("mlp.down_proj.weight")?);

        // The layer's output with its original weights, for the report.
        let h = rms_norm(&x, &w("input_layernorm.weight")?.values, c.rms_eps);
        let reference = {
            let attn = attention_by_sequence(&c, &lens, &linear(&h, &wq.values, c.hidden), &linear(&h, &wk.values, c.hidden), &linear(&h, &wv.values, c.hidden));
            let mut x1 = x.clone();
            add(&mut x1, &linear(&attn, &wo.values, c.n_heads * c.head_dim));
            let h2 = rms_norm(&x1, &w("post_attention_layernorm.weight")?.values, c.rms_eps);
            let act = swiglu(&linear(&h2, &wg.values, c.hidden), &linear(&h2, &wu.values, c.hidden));
            add(&mut x1, &linear(&act, &wd.values, c.intermediate));
            x1
        };

        let h_in = hessian(&h, c.hidden);
        let qkv = quantize_all(&[(wq, &h_in), (wk, &h_in), (wv, &h_in)], params)?;
        let [q, k, v] = [0, 1, 2].map(|i| linear(&h, &qkv[i].dequantize(), c.hidden));
        let attn = attention_by_sequence(&c, &lens, &q, &k, &v);
        let o = quantize_all(&[(wo, &hessian(&attn, c.n_heads * c.head_dim))], params)?;
        add(&mut x, &linear(&attn, &o[0].dequantize(), c.n_heads * c.head_dim));
        let h2 = rms_norm(&x, &w("post_attention_layernorm.weight")?.values, c.rms_eps);
        let h_mlp = hessian(&h2, c.hidden);
        let gu = quantize_all(&[(wg, &h_mlp), (wu, &h_mlp)], params)?;
        let act = swiglu(&linear(&h2, &gu[0].dequantize(), c.hidden), &linear(&h2, &gu[1].dequantize(), c.hidden));
        let d = quantize_all(&[(wd, &hessian(&act, c.intermediate))], params)?;
        add(&mut x, &linear(&act, &d[0].dequantize(), c.intermediate));

        let diff: Vec<f32> = x.iter().zip(&reference).map(|(a, b)| a - b).collect();
        reports.push(LayerReport { layer, relative_error: norm(&diff) / norm(&reference).max(f32::MIN_POSITIVE) });
        for (part, l) in ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"].iter().zip(qkv) {
            packed_layers.push((name(part), l));
        }
        packed_layers.push((name("self_attn.o_proj"), o.into_iter().next().expect("one")));
        for (part, l) in ["mlp.gate_proj", "mlp.up_proj"].iter().zip(gu) {
            packed_layers.push((name(part), l));
        }
        packed_layers.push((name("mlp.down_proj"), d.into_iter().next().expect("one")));
    }
    progress(Progress { step: "GPTQ".into(), done: c.n_layers as u64, total: c.n_layers as u64 });
    for (layer, l) in packed_layers {
        tensors.extend(layer_tensors(&layer, &l)?);
    }
    Ok((tensors, reports))
}

/// The four tensors a checkpoint stores for the quantized layer `layer`
/// (`model.layers.0.self_attn.q_proj`): `qweight`, `qzeros`, `scales` and `g_idx`.
pub fn layer_tensors(layer: &str, l: &QuantizedLinear) -> Result<Vec<(String, RawTensor)>> {
    let p = pack(l).map_err(|e| Error::new(e.status, format!("{layer}: {}", e.message)))?;
    let per = (32 / l.bits) as usize;
    let groups = l.n_groups();
    Ok(vec![
        (format!("{layer}.qweight"), RawTensor::i32(&[l.k / per, l.n], &p.qweight)),
        (format!("{layer}.qzeros"), RawTensor::i32(&[groups, l.n / per], &p.qzeros)),
        (format!("{layer}.scales"), RawTensor::f16_bits(&[groups, l.n], &p.scales)),
        (format!("{layer}.g_idx"), RawTensor::i32(&[l.k], &p.g_idx)),
    ])
}

/// Writes a GPTQ checkpoint directory: `config.json` with its `quantization_config`, the
/// tokenizer files, `model.safetensors` and `quantize_config.json`.
pub fn write(f: &GgufFile, dir: &Path, params: &GptqParams, tensors: &[(String, RawTensor)]) -> Result<()> {
    let config = config_of(params).to_json();
    let value: serde_json::Value = serde_json::from_str(&config).map_err(|e| Error::new(Status::Internal, e.to_string()))?;
    hf::write_dir(f, dir, Some(value), tensors)?;
    std::fs::write(dir.join("quantize_config.json"), config + "\n").map_err(|e| Error::new(Status::Io, format!("cannot write {}: {e}", dir.display())))
}
