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
use crate::gptq::{corrected_target, gptq, pack, upstream_correction, GptqParams, QuantizedLinear};
use crate::hf::{self, HfWeight, RawTensor};
use crate::llama::{attention, cross_moment, hessian, linear, rms_norm, swiglu, LlamaConfig};
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
    /// both computed from the same (already quantized-upstream) inputs. With
    /// `correct_upstream` the layer departs from its original weights on purpose, to
    /// cancel the error it receives: this may then grow while the drift falls.
    pub relative_error: f32,
    /// Relative distance of the quantized model's residual stream after this layer from
    /// the unquantized model's, ‖quantized − unquantized‖ / ‖unquantized‖: the error of
    /// every layer so far, as it reaches the next.
    pub drift: f32,
}

fn take<'a>(weights: &'a HashMap<String, HfWeight>, name: &str) -> Result<&'a HfWeight> {
    weights.get(name).ok_or_else(|| Error::new(Status::InvalidModel, format!("tensor {name} is missing")))
}

/// One projection to quantize: its weight, the Hessian of the inputs the quantized model
/// gives it, and (with `correct_upstream`) the correction of its target for the error
/// upstream ([`upstream_correction`], shared by the projections of the same input).
struct Job<'a> {
    weight: &'a HfWeight,
    hessian: &'a [f64],
    correction: Option<&'a [f64]>,
}

/// Quantizes `[out][in]` weights in parallel (one thread each).
fn quantize_all(jobs: &[Job], params: &GptqParams) -> Result<Vec<QuantizedLinear>> {
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|job| {
                s.spawn(move || {
                    let w = job.weight;
                    let (n, k) = (w.shape[0], w.shape[1]);
                    let target = match job.correction {
                        Some(correction) => std::borrow::Cow::Owned(corrected_target(&w.values, n, k, correction)?),
                        None => std::borrow::Cow::Borrowed(&w.values[..]),
                    };
                    gptq(&target, n, k, job.hessian, params)
                })
            })
            .collect();
        handles
            .into_iter()
            .zip(jobs)
            .map(|(h, job)| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::new(Status::Internal, "a GPTQ thread panicked")))
                    .map_err(|e| Error::new(e.status, format!("{}: {}", job.weight.name, e.message)))
            })
            .collect()
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

/// The model's weights under Hugging Face names.
fn weights_by_name(f: &GgufFile) -> Result<HashMap<String, HfWeight>> {
    Ok(hf::hf_weights(f)?.into_iter().map(|w| (w.name.clone(), w)).collect())
}

/// The calibration sequences' token embeddings, stacked, and each sequence's length
/// (`purpose` names what needs them, for the error when there are none).
fn embed_calibration(c: &LlamaConfig, weights: &HashMap<String, HfWeight>, calibration: &[Vec<i32>], purpose: &str) -> Result<(Vec<f32>, Vec<usize>)> {
    let embed = take(weights, "model.embed_tokens.weight")?;
    let vocab = embed.shape[0];
    let lens: Vec<usize> = calibration.iter().map(Vec::len).filter(|&n| n > 0).collect();
    if lens.is_empty() {
        return Err(Error::new(Status::InvalidArgument, format!("{purpose} needs calibration text: none was given")));
    }
    let mut x = Vec::with_capacity(lens.iter().sum::<usize>() * c.hidden);
    for &t in calibration.iter().flatten() {
        let row = usize::try_from(t).ok().filter(|&t| t < vocab).ok_or_else(|| Error::new(Status::InvalidArgument, format!("calibration token {t} is not in the vocabulary of {vocab}")))?;
        x.extend_from_slice(&embed.values[row * c.hidden..(row + 1) * c.hidden]);
    }
    Ok((x, lens))
}

/// One decoder layer run with its own (unquantized) weights: its output and the input
/// each of its projections saw.
struct LayerPass {
    /// The residual stream after the layer.
    out: Vec<f32>,
    /// Input of q, k and v (the normed residual stream).
    attn_in: Vec<f32>,
    /// Input of o (the attention output).
    o_in: Vec<f32>,
    /// Input of gate and up (the normed residual stream after attention).
    mlp_in: Vec<f32>,
    /// Input of down (the SwiGLU activation).
    down_in: Vec<f32>,
}

fn layer_pass(c: &LlamaConfig, lens: &[usize], x: &[f32], weights: &HashMap<String, HfWeight>, layer: usize) -> Result<LayerPass> {
    let w = |part: &str| take(weights, &format!("model.layers.{layer}.{part}"));
    let attn_in = rms_norm(x, &w("input_layernorm.weight")?.values, c.rms_eps);
    let [q, k, v] = ["q", "k", "v"].map(|p| w(&format!("self_attn.{p}_proj.weight")).map(|t| linear(&attn_in, &t.values, c.hidden)));
    let o_in = attention_by_sequence(c, lens, &q?, &k?, &v?);
    let mut out = x.to_vec();
    add(&mut out, &linear(&o_in, &w("self_attn.o_proj.weight")?.values, c.n_heads * c.head_dim));
    let mlp_in = rms_norm(&out, &w("post_attention_layernorm.weight")?.values, c.rms_eps);
    let down_in = swiglu(&linear(&mlp_in, &w("mlp.gate_proj.weight")?.values, c.hidden), &linear(&mlp_in, &w("mlp.up_proj.weight")?.values, c.hidden));
    add(&mut out, &linear(&down_in, &w("mlp.down_proj.weight")?.values, c.intermediate));
    Ok(LayerPass { out, attn_in, o_in, mlp_in, down_in })
}

/// The importance matrix of `f` (a Llama GGUF, F16 or F32) on the `calibration` token
/// sequences, as llama.cpp's quantizer takes it: for each projection, under its GGUF name
/// (`blk.0.attn_q.weight`), the mean square of each input column over every calibration
/// token, computed with the model's own weights. The quantizer weighs each column's
/// rounding error by it, so the columns that carry large activations are kept closest.
pub fn importance_matrix(f: &GgufFile, calibration: &[Vec<i32>], progress: &mut dyn FnMut(Progress)) -> Result<Vec<(String, Vec<f32>)>> {
    let c = LlamaConfig::from_gguf(f)?;
    let weights = weights_by_name(f)?;
    let (mut x, lens) = embed_calibration(&c, &weights, calibration, "an importance matrix")?;
    let tokens = lens.iter().sum::<usize>() as f64;
    let mean_square = |v: &[f32], k: usize| -> Vec<f32> {
        let mut sum = vec![0f64; k];
        for row in v.chunks_exact(k) {
            for (s, &a) in sum.iter_mut().zip(row) {
                *s += f64::from(a) * f64::from(a);
            }
        }
        sum.into_iter().map(|s| (s / tokens) as f32).collect()
    };
    let mut out = Vec::with_capacity(7 * c.n_layers);
    for layer in 0..c.n_layers {
        progress(Progress { step: "importance matrix".into(), done: layer as u64, total: c.n_layers as u64 });
        let pass = layer_pass(&c, &lens, &x, &weights, layer)?;
        let attn = mean_square(&pass.attn_in, c.hidden);
        let mlp = mean_square(&pass.mlp_in, c.hidden);
        let name = |t: &str| format!("blk.{layer}.{t}.weight");
        out.push((name("attn_q"), attn.clone()));
        out.push((name("attn_k"), attn.clone()));
        out.push((name("attn_v"), attn));
        out.push((name("attn_output"), mean_square(&pass.o_in, c.n_heads * c.head_dim)));
        out.push((name("ffn_gate"), mlp.clone()));
        out.push((name("ffn_up"), mlp));
        out.push((name("ffn_down"), mean_square(&pass.down_in, c.intermediate)));
        x = pass.out;
    }
    progress(Progress { step: "importance matrix".into(), done: c.n_layers as u64, total: c.n_layers as u64 });
    Ok(out)
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
    let weights = weights_by_name(f)?;
    let (mut x, lens) = embed_calibration(&c, &weights, calibration, "GPTQ")?;
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
    // The unquantized model's residual stream, beside the quantized one (`x`).
    let mut x_f16 = x.clone();
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

        // The layer's output with its original weights, for the report, and the unquantized
        // model's pass, which is the same one while no quantized layer has written to `x`.
        let pass = layer_pass(&c, &lens, &x, &weights, layer)?;
        let f16_own = if x == x_f16 { None } else { Some(layer_pass(&c, &lens, &x_f16, &weights, layer)?) };
        let f16_pass = f16_own.as_ref().unwrap_or(&pass);
        let (reference, h) = (&pass.out, &pass.attn_in);
        // The correction of the targets of the projections reading `input` (`hessian` its
        // Hessian), when asked for.
        let correction = |f16_input: &[f32], input: &[f32], hessian: &[f64], k: usize| -> Result<Option<Vec<f64>>> {
            params.correct_upstream.then(|| upstream_correction(hessian, &cross_moment(f16_input, input, k), k, params.damp_percent)).transpose()
        };

        let h_in = hessian(h, c.hidden);
        let qkv_correction = correction(&f16_pass.attn_in, h, &h_in, c.hidden)?;
        let qkv = quantize_all(&[wq, wk, wv].map(|weight| Job { weight, hessian: &h_in, correction: qkv_correction.as_deref() }), params)?;
        let [q, k, v] = [0, 1, 2].map(|i| linear(h, &qkv[i].dequantize(), c.hidden));
        let attn = attention_by_sequence(&c, &lens, &q, &k, &v);
        let attn_width = c.n_heads * c.head_dim;
        let h_o = hessian(&attn, attn_width);
        let o_correction = correction(&f16_pass.o_in, &attn, &h_o, attn_width)?;
        let o = quantize_all(&[Job { weight: wo, hessian: &h_o, correction: o_correction.as_deref() }], params)?;
        add(&mut x, &linear(&attn, &o[0].dequantize(), attn_width));
        let h2 = rms_norm(&x, &w("post_attention_layernorm.weight")?.values, c.rms_eps);
        let h_mlp = hessian(&h2, c.hidden);
        let mlp_correction = correction(&f16_pass.mlp_in, &h2, &h_mlp, c.hidden)?;
        let gu = quantize_all(&[wg, wu].map(|weight| Job { weight, hessian: &h_mlp, correction: mlp_correction.as_deref() }), params)?;
        let act = swiglu(&linear(&h2, &gu[0].dequantize(), c.hidden), &linear(&h2, &gu[1].dequantize(), c.hidden));
        let h_down = hessian(&act, c.intermediate);
        let down_correction = correction(&f16_pass.down_in, &act, &h_down, c.intermediate)?;
        let d = quantize_all(&[Job { weight: wd, hessian: &h_down, correction: down_correction.as_deref() }], params)?;
        add(&mut x, &linear(&act, &d[0].dequantize(), c.intermediate));
        // The unquantized stream moves on: its own pass's output, or at layer 0 the shared one.
        x_f16 = match f16_own {
            Some(own) => own.out,
            None => pass.out.clone(),
        };

        let relative = |a: &[f32], b: &[f32]| norm(&a.iter().zip(b).map(|(a, b)| a - b).collect::<Vec<f32>>()) / norm(b).max(f32::MIN_POSITIVE);
        reports.push(LayerReport { layer, relative_error: relative(&x, reference), drift: relative(&x, &x_f16) });
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf_file::{Tensor, Value};
    use crate::quant::GgmlType;

    /// A two-layer Llama of width 8 (MLP 12, two query heads sharing one key/value head),
    /// with weights from a fixed sequence.
    fn tiny_llama() -> GgufFile {
        let mut f = GgufFile { metadata: Vec::new(), tensors: Vec::new() };
        f.set("general.architecture", Value::Str("llama".into()));
        for (key, v) in [("embedding_length", 8), ("feed_forward_length", 12), ("block_count", 2), ("attention.head_count", 2), ("attention.head_count_kv", 1)] {
            f.set(&format!("llama.{key}"), Value::U32(v));
        }
        f.set("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5));
        let mut seed = 0u32;
        let mut tensor = |name: &str, dims: &[u64]| {
            let n = dims.iter().product::<u64>() as usize;
            let values: Vec<f32> = (0..n)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    (seed >> 16) as f32 / 32768.0 - 1.0
                })
                .collect();
            Tensor::from_f32(name, dims, &values, GgmlType::F32)
        };
        f.tensors.push(tensor("token_embd.weight", &[8, 16]));
        f.tensors.push(Tensor::from_f32("output_norm.weight", &[8], &[1.0; 8], GgmlType::F32));
        for layer in 0..2 {
            let name = |t: &str| format!("blk.{layer}.{t}.weight");
            for norm in ["attn_norm", "ffn_norm"] {
                f.tensors.push(Tensor::from_f32(&name(norm), &[8], &[1.0; 8], GgmlType::F32));
            }
            for (t, dims) in [("attn_q", [8, 8]), ("attn_k", [8, 4]), ("attn_v", [8, 4]), ("attn_output", [8, 8]), ("ffn_gate", [8, 12]), ("ffn_up", [8, 12]), ("ffn_down", [12, 8])] {
                f.tensors.push(tensor(&name(t), &dims));
            }
        }
        f
    }

    #[test]
    fn quantizing_the_model_reports_its_drift_and_can_correct_it() {
        let f = tiny_llama();
        let calibration: Vec<Vec<i32>> = (0..12).map(|s| (0..7).map(|i| ((s * 7 + i * 3) % 16) as i32).collect()).collect();
        let plain = GptqParams { bits: 8, group_size: 4, act_order: true, ..GptqParams::default() };
        let corrected = GptqParams { correct_upstream: true, ..plain };
        let (tensors, reports) = quantize_model(&f, &calibration, &plain, &mut |_| {}).unwrap();
        let (corrected_tensors, corrected_reports) = quantize_model(&f, &calibration, &corrected, &mut |_| {}).unwrap();
        assert_eq!(reports.len(), 2);
        for r in reports.iter().chain(&corrected_reports) {
            assert!(r.relative_error.is_finite() && r.drift.is_finite() && r.drift > 0.0, "{r:?}");
        }
        let tensor = |set: &[(String, RawTensor)], name: &str| set.iter().find(|(n, _)| n == name).map(|(_, t)| t.clone()).unwrap();
        // Layer 0's q, k and v read the embeddings in both models: nothing to correct there.
        let q0 = "model.layers.0.self_attn.q_proj.qweight";
        assert_eq!(tensor(&tensors, q0), tensor(&corrected_tensors, q0));
        // Layer 1 reads layer 0's error, and the correction aims at the unquantized outputs.
        let q1 = "model.layers.1.self_attn.q_proj.qweight";
        assert_ne!(tensor(&tensors, q1), tensor(&corrected_tensors, q1));
        assert!(corrected_reports[1].drift < reports[1].drift, "drift {} corrected vs {} plain", corrected_reports[1].drift, reports[1].drift);
        // The plain layer 0 has nothing upstream: its drift is its own error.
        assert!((reports[0].drift - reports[0].relative_error).abs() < 1e-6);
    }

    #[test]
    fn the_importance_matrix_holds_each_projection_s_mean_square_input() {
        let f = tiny_llama();
        let calibration = vec![vec![1, 2, 3], vec![], vec![4, 5]];
        let m = importance_matrix(&f, &calibration, &mut |_| {}).unwrap();
        let names: Vec<&str> = m.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names.len(), 14);
        assert_eq!(&names[..7], ["blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight", "blk.0.attn_output.weight", "blk.0.ffn_gate.weight", "blk.0.ffn_up.weight", "blk.0.ffn_down.weight"]);
        for (name, values) in &m {
            let width = f.tensor(name).unwrap().dims[0] as usize;
            assert_eq!(values.len(), width, "{name}: one value per input column");
            assert!(values.iter().all(|v| v.is_finite() && *v >= 0.0) && values.iter().any(|v| *v > 0.0), "{name}: {values:?}");
        }
        // Layer 0's q, k and v read the normed embeddings of the 5 calibration tokens.
        let embed = f.tensor("token_embd.weight").unwrap().to_f32().unwrap();
        let x: Vec<f32> = [1, 2, 3, 4, 5].iter().flat_map(|&t| embed[t * 8..(t + 1) * 8].to_vec()).collect();
        let normed = rms_norm(&x, &[1.0; 8], 1e-5);
        for col in 0..8 {
            let expected = (0..5).map(|row| f64::from(normed[row * 8 + col]).powi(2)).sum::<f64>() / 5.0;
            assert!((f64::from(m[0].1[col]) - expected).abs() < 1e-6, "column {col}: {} vs {expected}", m[0].1[col]);
        }
        assert_eq!(m[0].1, m[2].1);
        assert_ne!(m[0].1, m[7].1, "layer 1 reads layer 0's output");
        let e = importance_matrix(&f, &[vec![99]], &mut |_| {}).unwrap_err();
        assert!(e.message.contains("token 99"), "{}", e.message);
        let e = importance_matrix(&f, &[], &mut |_| {}).unwrap_err();
        assert!(e.message.contains("an importance matrix needs calibration text"), "{}", e.message);
    }
}
