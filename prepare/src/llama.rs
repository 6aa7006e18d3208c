//! The pieces of a Llama forward pass in f32 on the CPU, over Hugging Face-layout weights
//! (q/k rows in rotate-half order): enough to run calibration text through a model layer
//! by layer while its layers are being quantized. Not an inference engine: no KV cache,
//! every sequence is evaluated whole.

use crate::gguf_file::{GgufFile, Value};
use intent_core::{Error, Result, Status};

/// The shapes and constants of a Llama-family model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LlamaConfig {
    /// Width of the residual stream.
    pub hidden: usize,
    /// Width of the MLP.
    pub intermediate: usize,
    /// Decoder layers.
    pub n_layers: usize,
    /// Query heads.
    pub n_heads: usize,
    /// Key/value heads (grouped-query attention).
    pub n_kv_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// RMSNorm epsilon.
    pub rms_eps: f32,
    /// RoPE base frequency.
    pub rope_theta: f32,
}

impl LlamaConfig {
    /// Reads the shapes from a Llama GGUF's metadata.
    pub fn from_gguf(f: &GgufFile) -> Result<LlamaConfig> {
        let float = |key: &str| match f.get(key) {
            Some(Value::F32(v)) => Some(*v),
            Some(Value::F64(v)) => Some(*v as f32),
            _ => None,
        };
        let hidden = f.require_u64("llama.embedding_length")? as usize;
        let n_heads = f.require_u64("llama.attention.head_count")? as usize;
        let config = LlamaConfig {
            hidden,
            intermediate: f.require_u64("llama.feed_forward_length")? as usize,
            n_layers: f.require_u64("llama.block_count")? as usize,
            n_heads,
            n_kv_heads: f.get("llama.attention.head_count_kv").and_then(Value::as_u64).map_or(n_heads, |v| v as usize),
            head_dim: f.get("llama.rope.dimension_count").and_then(Value::as_u64).map_or(hidden / n_heads.max(1), |v| v as usize),
            rms_eps: float("llama.attention.layer_norm_rms_epsilon").ok_or_else(|| Error::new(Status::InvalidModel, "no RMS norm epsilon"))?,
            rope_theta: float("llama.rope.freq_base").unwrap_or(10000.0),
        };
        if config.n_heads == 0 || config.n_kv_heads == 0 || config.n_heads % config.n_kv_heads != 0 || config.head_dim % 2 != 0 {
            return Err(Error::new(Status::UnsupportedModel, format!("attention shape {config:?} is not supported")));
        }
        Ok(config)
    }
}

/// `x · wᵀ` for `x` of `t` rows of `k` and `w` of `n` rows of `k` (an `nn.Linear` weight):
/// `t` rows of `n`.
pub fn linear(x: &[f32], w: &[f32], k: usize) -> Vec<f32> {
    let t = x.len() / k;
    let n = w.len() / k;
    let mut out = vec![0f32; t * n];
    if t == 0 || n == 0 {
        return out;
    }
    // SAFETY: the strides describe x as [t][k], wᵀ as [k][n] and out as [t][n], all in bounds.
    unsafe {
        matrixmultiply::sgemm(t, k, n, 1.0, x.as_ptr(), k as isize, 1, w.as_ptr(), 1, k as isize, 0.0, out.as_mut_ptr(), n as isize, 1);
    }
    out
}

/// `2 Xᵀ X / t` of the `t` rows of `x` (each of `k`): the GPTQ Hessian of a layer's inputs.
pub fn hessian(x: &[f32], k: usize) -> Vec<f64> {
    cross_moment(x, x, k)
}

/// `2 Aᵀ B / t` of the `t` rows of `a` and of `b` (each of `k`, row `i` of both from the
/// same token): `[k][k]`, row index from `a`.
pub fn cross_moment(a: &[f32], b: &[f32], k: usize) -> Vec<f64> {
    let t = a.len() / k;
    assert_eq!(a.len(), b.len(), "cross_moment: the two inputs hold different tokens");
    let mut h = vec![0f32; k * k];
    if t > 0 {
        let alpha = 2.0 / t as f32;
        // SAFETY: aᵀ is [k][t] through strides, b is [t][k], h is [k][k].
        unsafe {
            matrixmultiply::sgemm(k, t, k, alpha, a.as_ptr(), 1, k as isize, b.as_ptr(), k as isize, 1, 0.0, h.as_mut_ptr(), k as isize, 1);
        }
    }
    h.into_iter().map(f64::from).collect()
}

/// RMSNorm of each row of `x`, times `weight`.
pub fn rms_norm(x: &[f32], weight: &[f32], eps: f32) -> Vec<f32> {
    let k = weight.len();
    let mut out = vec![0f32; x.len()];
    for (row, o) in x.chunks_exact(k).zip(out.chunks_exact_mut(k)) {
        let mean = row.iter().map(|v| v * v).sum::<f32>() / k as f32;
        let inv = 1.0 / (mean + eps).sqrt();
        for ((o, v), w) in o.iter_mut().zip(row).zip(weight) {
            *o = v * inv * w;
        }
    }
    out
}

/// SiLU(gate) · up, elementwise.
pub fn swiglu(gate: &[f32], up: &[f32]) -> Vec<f32> {
    gate.iter().zip(up).map(|(&g, &u)| g / (1.0 + (-g).exp()) * u).collect()
}

/// Causal self-attention of one sequence after its projections: `q` (`[t][n_heads·d]`),
/// `k` and `v` (`[t][n_kv_heads·d]`) at positions 0..t, RoPE in rotate-half form.
/// Returns `[t][n_heads·d]`, the input of the output projection.
pub fn attention(c: &LlamaConfig, q: &[f32], k: &[f32], v: &[f32]) -> Vec<f32> {
    let d = c.head_dim;
    let (qw, kw) = (c.n_heads * d, c.n_kv_heads * d);
    let t = q.len() / qw;
    let half = d / 2;
    let inv_freq: Vec<f32> = (0..half).map(|i| c.rope_theta.powf(-2.0 * i as f32 / d as f32)).collect();
    let rope = |x: &mut [f32], width: usize| {
        for (pos, row) in x.chunks_exact_mut(width).enumerate() {
            for head in row.chunks_exact_mut(d) {
                for i in 0..half {
                    let (sin, cos) = (pos as f32 * inv_freq[i]).sin_cos();
                    let (a, b) = (head[i], head[i + half]);
                    head[i] = a * cos - b * sin;
                    head[i + half] = b * cos + a * sin;
                }
            }
        }
    };
    let (mut q, mut k) = (q.to_vec(), k.to_vec());
    rope(&mut q, qw);
    rope(&mut k, kw);
    let scale = 1.0 / (d as f32).sqrt();
    let group = c.n_heads / c.n_kv_heads;
    let mut out = vec![0f32; t * qw];
    let mut scores = vec![0f32; t];
    for h in 0..c.n_heads {
        let kvh = h / group;
        for i in 0..t {
            let qi = &q[i * qw + h * d..i * qw + (h + 1) * d];
            let mut max = f32::NEG_INFINITY;
            for j in 0..=i {
                let kj = &k[j * kw + kvh * d..j * kw + (kvh + 1) * d];
                scores[j] = qi.iter().zip(kj).map(|(a, b)| a * b).sum::<f32>() * scale;
                max = max.max(scores[j]);
            }
            let mut sum = 0f32;
            for s in &mut scores[..=i] {
                *s = (*s - max).exp();
                sum += *s;
            }
            let o = &mut out[i * qw + h * d..i * qw + (h + 1) * d];
            for j in 0..=i {
                let p = scores[j] / sum;
                for (o, vv) in o.iter_mut().zip(&v[j * kw + kvh * d..j * kw + (kvh + 1) * d]) {
                    *o += p * vv;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_and_hessian_match_plain_loops() {
        let (t, k, n) = (5, 7, 3);
        let x: Vec<f32> = (0..t * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let w: Vec<f32> = (0..n * k).map(|i| (i as f32 * 0.11).cos()).collect();
        let y = linear(&x, &w, k);
        for r in 0..t {
            for c in 0..n {
                let want: f32 = (0..k).map(|m| x[r * k + m] * w[c * k + m]).sum();
                assert!((y[r * n + c] - want).abs() < 1e-5);
            }
        }
        let h = hessian(&x, k);
        for a in 0..k {
            for b in 0..k {
                let want: f64 = (0..t).map(|r| 2.0 * f64::from(x[r * k + a]) * f64::from(x[r * k + b])).sum::<f64>() / t as f64;
                assert!((h[a * k + b] - want).abs() < 1e-5, "h[{a}][{b}]");
            }
        }
    }

    #[test]
    fn attention_is_causal_and_the_first_position_sees_only_itself() {
        let c = LlamaConfig { hidden: 8, intermediate: 16, n_layers: 1, n_heads: 2, n_kv_heads: 1, head_dim: 4, rms_eps: 1e-5, rope_theta: 10000.0 };
        let t = 3;
        let q: Vec<f32> = (0..t * 8).map(|i| (i as f32 * 0.3).sin()).collect();
        let k: Vec<f32> = (0..t * 4).map(|i| (i as f32 * 0.7).cos()).collect();
        let v: Vec<f32> = (0..t * 4).map(|i| i as f32).collect();
        let out = attention(&c, &q, &k, &v);
        // Position 0 attends only to itself: both heads output v[0].
        assert_eq!(&out[0..4], &v[0..4]);
        assert_eq!(&out[4..8], &v[0..4]);
        // Changing the last position's key and value leaves earlier positions unchanged.
        let mut k2 = k.clone();
        let mut v2 = v.clone();
        k2[8] += 5.0;
        v2[8] += 5.0;
        let out2 = attention(&c, &q, &k2, &v2);
        assert_eq!(&out[..16], &out2[..16]);
        assert_ne!(&out[16..], &out2[16..]);
    }
}
