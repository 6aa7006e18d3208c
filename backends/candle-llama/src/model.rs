//! The Llama forward pass in candle, shaped for classification: the tokens of many
//! sequences evaluated as one flat batch over a unified KV cache, and logits computed only
//! for the rows and the candidate tokens asked for (no full-vocabulary projection).
//!
//! Weights are fused at load time where one matrix multiply can replace several: Q, K and V
//! in one, gate and up in one.

use crate::config::LlamaConfig;
use crate::graphs::ForwardGraphs;
use intent_gptq_format::{GptqConfig, PackedTensors, QuantLinear};
use candle_core::{DType, Device, Module, Tensor};
use std::path::Path;

/// Errors of the model code (candle errors, with what was being done).
pub type ModelResult<T> = Result<T, String>;

fn ctx<T>(r: candle_core::Result<T>, what: &str) -> ModelResult<T> {
    r.map_err(|e| format!("{what}: {e}"))
}

/// A linear layer without bias: `y = x W^T`, with `W` dense (`[out, in]`) or 4-bit.
#[derive(Debug, Clone)]
enum Linear {
    Dense(Tensor),
    /// GPTQ 4-bit weights run by our int4 kernels (CUDA, F16).
    #[cfg(feature = "cuda")]
    Int4(std::sync::Arc<crate::int4::Int4Linear>),
    /// Layers that share an input but could not be fused; outputs are concatenated.
    #[cfg_attr(not(feature = "cuda"), allow(dead_code))]
    Split(Vec<Linear>),
}

impl Linear {
    fn bytes(&self) -> u64 {
        match self {
            Linear::Dense(w) => tensor_bytes(w),
            #[cfg(feature = "cuda")]
            Linear::Int4(l) => l.bytes(),
            Linear::Split(parts) => parts.iter().map(Linear::bytes).sum(),
        }
    }
}

impl Module for Linear {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Linear::Dense(w) => x.matmul(&w.t()?),
            #[cfg(feature = "cuda")]
            Linear::Int4(l) => l.forward(x),
            Linear::Split(parts) => {
                let outs = parts.iter().map(|p| p.forward(x)).collect::<candle_core::Result<Vec<_>>>()?;
                Tensor::cat(&outs, 1)
            }
        }
    }
}

fn tensor_bytes(t: &Tensor) -> u64 {
    (t.elem_count() * t.dtype().size_in_bytes()) as u64
}

/// How a model directory stores the weights of its linear layers.
#[derive(Debug, Clone, PartialEq)]
pub enum WeightFormat {
    /// Dense F16, BF16 or F32 tensors (`*.weight`).
    Dense,
    /// GPTQ (`qweight`, `qzeros`, `scales`, `g_idx`) with these settings.
    Gptq(GptqConfig),
}

impl WeightFormat {
    /// The format of a model directory: GPTQ when it has a quantization config.
    pub fn of_dir(dir: &Path) -> ModelResult<WeightFormat> {
        Ok(match GptqConfig::find(dir).map_err(|e| e.message)? {
            Some((_, c)) => WeightFormat::Gptq(c),
            None => WeightFormat::Dense,
        })
    }
}

#[derive(Debug, Clone)]
struct Block {
    input_norm: Tensor,
    qkv: Linear,
    o: Linear,
    post_norm: Tensor,
    gate_up: Linear,
    down: Linear,
}

/// The weights of a Llama model on one device, in one dtype.
#[derive(Debug)]
pub struct Llama {
    /// Shapes and constants.
    pub config: LlamaConfig,
    /// The device the weights live on.
    pub device: Device,
    /// The dtype of weights and activations (softmax runs in F32).
    pub dtype: DType,
    embed: Tensor,
    /// The output layer; the embedding itself when tied.
    lm_head: Tensor,
    blocks: Vec<Block>,
    norm: Tensor,
    /// Bytes of the weights as loaded.
    pub weight_bytes: u64,
    /// Notes from loading (a checkpoint's mislabelled zero points).
    pub warnings: Vec<String>,
    inv_freq: Vec<f64>,
    /// Forward passes share the device's stream: they hold this for reading, and a CUDA
    /// graph capture holds it for writing, so that no other thread's work lands in a graph.
    pub(crate) stream_lock: std::sync::RwLock<()>,
}

/// Where a batch's keys and values go, and what it attends to.
pub struct BatchPlan<'a> {
    /// Token ids, one per batch row.
    pub tokens: &'a [u32],
    /// Positions, one per batch row (for the rotary embedding).
    pub positions: &'a [i32],
    /// The first cache cell of the batch (its rows go to consecutive cells).
    pub first_cell: usize,
    /// Cells attention reads: `0..n_cells`.
    pub n_cells: usize,
    /// Additive attention mask, `tokens.len() x n_cells`, row-major.
    pub mask: &'a [f32],
    /// Rows whose logits are wanted, in order.
    pub outputs: &'a [u32],
    /// Token ids whose logits are wanted.
    pub candidates: &'a [u32],
}

/// The KV cache tensors of one context: per layer `(n_kv_heads, n_cells, head_dim)`.
#[derive(Debug)]
pub struct KvCache {
    k: Vec<Tensor>,
    v: Vec<Tensor>,
    n_cells: usize,
}

impl KvCache {
    /// Bytes a cache of `n_cells` cells takes for a model.
    pub fn bytes_for(config: &LlamaConfig, dtype: DType, n_cells: usize) -> u64 {
        2 * config.num_hidden_layers as u64
            * config.num_key_value_heads as u64
            * config.head_dim as u64
            * n_cells as u64
            * dtype.size_in_bytes() as u64
    }

    /// Number of cells.
    pub fn n_cells(&self) -> usize {
        self.n_cells
    }
}

/// Reads tensors by name from the model's safetensors files.
pub struct WeightSource {
    st: candle_core::safetensors::MmapedSafetensors,
}

impl WeightSource {
    /// Maps the safetensors files (one, or the shards of an index).
    pub fn open(files: &[std::path::PathBuf]) -> ModelResult<WeightSource> {
        // SAFETY: the files are mapped read-only; a file changed while mapped is the
        // caller's responsibility, as with any mmap-based loader.
        let st = unsafe { candle_core::safetensors::MmapedSafetensors::multi(files) }
            .map_err(|e| format!("cannot read the safetensors files: {e}"))?;
        Ok(WeightSource { st })
    }

    fn has(&self, name: &str) -> bool {
        self.st.get(name).is_ok()
    }

    /// The tensor `name`, which must have `shape`.
    fn view(&self, name: &str, shape: &[usize]) -> ModelResult<safetensors::tensor::TensorView<'_>> {
        let view = self.st.get(name).map_err(|_| format!("tensor {name} is missing"))?;
        if view.shape() != shape {
            return Err(format!("tensor {name} has shape {:?}, expected {shape:?}", view.shape()));
        }
        Ok(view)
    }

    /// The elements of a tensor of the expected shape and dtype, converted by `read`.
    fn raw<T>(&self, name: &str, shape: &[usize], dtype: safetensors::Dtype, read: impl Fn(&[u8]) -> T) -> ModelResult<Vec<T>> {
        let view = self.view(name, shape)?;
        if view.dtype() != dtype {
            return Err(format!("tensor {name} is {:?}, expected {dtype:?}", view.dtype()));
        }
        let size = dtype.bitsize() / 8;
        Ok(view.data().chunks_exact(size).map(read).collect())
    }

    /// The GPTQ layer `prefix` (`model.layers.0.mlp.up_proj`) of `k` inputs and `n` outputs.
    fn quant_linear(&self, prefix: &str, k: usize, n: usize, cfg: &GptqConfig, warnings: &mut Vec<String>) -> ModelResult<QuantLinear> {
        if self.has(&format!("{prefix}.bias")) {
            return Err(format!("{prefix}.bias: linear layers with a bias are not supported"));
        }
        let per = 32 / cfg.bits as usize;
        cfg.check_shape(prefix, k, n).map_err(|e| e.message)?;
        let groups = k / cfg.group_size.map_or(k, |g| g as usize);
        let i32s = |b: &[u8]| i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let qweight = self.raw(&format!("{prefix}.qweight"), &[k / per, n], safetensors::Dtype::I32, i32s)?;
        let qzeros = self.raw(&format!("{prefix}.qzeros"), &[groups, n / per], safetensors::Dtype::I32, i32s)?;
        let scales = self.raw(&format!("{prefix}.scales"), &[groups, n], safetensors::Dtype::F16, |b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())?;
        let g_name = format!("{prefix}.g_idx");
        let g_idx = if self.has(&g_name) { Some(self.raw(&g_name, &[k], safetensors::Dtype::I32, i32s)?) } else { None };
        let t = PackedTensors { qweight: &qweight, qzeros: &qzeros, scales: &scales, g_idx: g_idx.as_deref() };
        QuantLinear::from_packed(&t, k, n, cfg, prefix, warnings).map_err(|e| e.message)
    }

    /// A tensor of the expected shape, on `device` in `dtype`.
    fn load(&self, name: &str, shape: &[usize], device: &Device, dtype: DType) -> ModelResult<Tensor> {
        let dt = self.view(name, shape)?.dtype();
        if !matches!(dt, safetensors::Dtype::F16 | safetensors::Dtype::BF16 | safetensors::Dtype::F32) {
            return Err(format!("tensor {name} is {dt:?}; dense weights are read from F16, BF16 and F32"));
        }
        let t = ctx(self.st.load(name, &Device::Cpu), name)?;
        ctx(t.to_dtype(dtype).and_then(|t| t.to_device(device)), name)
    }
}

impl Llama {
    /// Loads a model directory's weights onto `device` as `dtype`. GPTQ layers run in our
    /// int4 kernels on CUDA in F16; elsewhere (the CPU, F32 references, 8-bit) they are
    /// decoded to dense weights.
    pub fn load(config: LlamaConfig, source: &WeightSource, format: &WeightFormat, device: &Device, dtype: DType) -> ModelResult<Llama> {
        let c = &config;
        let (h, f) = (c.hidden_size, c.intermediate_size);
        let (q_out, kv_out) = (c.num_attention_heads * c.head_dim, c.num_key_value_heads * c.head_dim);
        let load = |name: &str, shape: &[usize]| source.load(name, shape, device, dtype);
        let mut warnings = Vec::new();
        #[cfg_attr(not(feature = "cuda"), allow(clippy::let_unit_value))]
        let mut scratch = ScratchSlot::default();
        let max_kn = (h.max(q_out).max(f), (q_out + 2 * kv_out).max(2 * f).max(h));
        // Layers that read the same input, as (name, outputs), fused into one matrix.
        let mut linear = |prefix: &str, parts: &[(&str, usize)], k: usize| -> ModelResult<Linear> {
            match format {
                WeightFormat::Dense => {
                    dense_linear(parts.iter().map(|(p, n)| load(&format!("{prefix}.{p}.weight"), &[*n, k])).collect::<ModelResult<Vec<_>>>()?)
                }
                WeightFormat::Gptq(cfg) => {
                    let q = parts
                        .iter()
                        .map(|(p, n)| source.quant_linear(&format!("{prefix}.{p}"), k, *n, cfg, &mut warnings))
                        .collect::<ModelResult<Vec<_>>>()?;
                    quant_to_linear(&q, device, dtype, max_kn, &mut scratch)
                }
            }
        };
        let embed = load("model.embed_tokens.weight", &[c.vocab_size, h])?;
        let tied = c.tie_word_embeddings || !source.has("lm_head.weight");
        let lm_head = if tied {
            embed.clone()
        } else {
            load("lm_head.weight", &[c.vocab_size, h])?
        };
        let mut blocks = Vec::with_capacity(c.num_hidden_layers);
        for l in 0..c.num_hidden_layers {
            let p = format!("model.layers.{l}");
            let attn = format!("{p}.self_attn");
            let mlp = format!("{p}.mlp");
            blocks.push(Block {
                input_norm: load(&format!("{p}.input_layernorm.weight"), &[h])?,
                qkv: linear(&attn, &[("q_proj", q_out), ("k_proj", kv_out), ("v_proj", kv_out)], h)?,
                o: linear(&attn, &[("o_proj", h)], q_out)?,
                post_norm: load(&format!("{p}.post_attention_layernorm.weight"), &[h])?,
                gate_up: linear(&mlp, &[("gate_proj", f), ("up_proj", f)], h)?,
                down: linear(&mlp, &[("down_proj", h)], f)?,
            });
        }
        let norm = load("model.norm.weight", &[h])?;
        let weight_bytes = tensor_bytes(&embed)
            + if tied { 0 } else { tensor_bytes(&lm_head) }
            + tensor_bytes(&norm)
            + blocks
                .iter()
                .map(|b| tensor_bytes(&b.input_norm) + tensor_bytes(&b.post_norm) + b.qkv.bytes() + b.o.bytes() + b.gate_up.bytes() + b.down.bytes())
                .sum::<u64>();
        let inv_freq = config.rope_inv_freq();
        Ok(Llama {
            config,
            device: device.clone(),
            dtype,
            embed,
            lm_head,
            blocks,
            norm,
            weight_bytes,
            warnings,
            inv_freq,
            stream_lock: std::sync::RwLock::new(()),
        })
    }

    /// Loads the model of a directory (`config.json` and safetensors).
    pub fn load_dir(dir: &Path, device: &Device, dtype: DType) -> ModelResult<Llama> {
        let config = LlamaConfig::from_dir(dir)?;
        let format = WeightFormat::of_dir(dir)?;
        let files = crate::config::weight_files(dir)?;
        let source = WeightSource::open(&files)?;
        Llama::load(config, &source, &format, device, dtype)
    }

    /// A KV cache of `n_cells` cells on the model's device.
    pub fn new_cache(&self, n_cells: usize) -> ModelResult<KvCache> {
        let c = &self.config;
        let shape = (c.num_key_value_heads, n_cells, c.head_dim);
        let mut k = Vec::with_capacity(c.num_hidden_layers);
        let mut v = Vec::with_capacity(c.num_hidden_layers);
        for _ in 0..c.num_hidden_layers {
            k.push(ctx(Tensor::zeros(shape, self.dtype, &self.device), "allocating the KV cache")?);
            v.push(ctx(Tensor::zeros(shape, self.dtype, &self.device), "allocating the KV cache")?);
        }
        Ok(KvCache { k, v, n_cells })
    }

    /// The rotary embedding's cos and sin at `positions`, computed on the host.
    pub(crate) fn rope_tables(&self, positions: &[i32]) -> RopeTables {
        let half = self.inv_freq.len();
        let mut cos = Vec::with_capacity(positions.len() * half);
        let mut sin = Vec::with_capacity(positions.len() * half);
        for &p in positions {
            for &f in &self.inv_freq {
                let a = p as f64 * f;
                cos.push(a.cos() as f32);
                sin.push(a.sin() as f32);
            }
        }
        RopeTables { cos, sin, half }
    }

    /// Evaluates a batch: writes its keys and values into `cache` and returns the logits of
    /// the candidate tokens at the output rows, `(outputs, candidates)` in F32. On CUDA a
    /// batch shape seen before runs as a CUDA graph (see [`ForwardGraphs`]).
    pub fn forward(&self, cache: &mut KvCache, plan: &BatchPlan<'_>, graphs: &mut ForwardGraphs) -> ModelResult<Vec<f32>> {
        let rope = self.rope_tables(plan.positions);
        if let Some(result) = graphs.run(self, cache, plan, &rope) {
            return result;
        }
        let _shared = self.stream_lock.read().unwrap_or_else(|e| e.into_inner());
        let run = || -> candle_core::Result<Vec<f32>> {
            let inputs = DeviceInputs::upload(plan, &rope, &self.device)?;
            match self.layers(cache, plan, &inputs)? {
                Some(logits) => logits.flatten_all()?.to_vec1::<f32>(),
                None => Ok(Vec::new()),
            }
        };
        ctx(run(), "forward pass")
    }

    /// The forward pass over inputs already on the device: the cache writes, and the
    /// candidate logits at the output rows (`None` when no rows or no candidates are asked
    /// for). Only device work: no copies from or to the host, so that it can be captured.
    pub(crate) fn layers(&self, cache: &KvCache, plan: &BatchPlan<'_>, inputs: &DeviceInputs) -> candle_core::Result<Option<Tensor>> {
        let c = &self.config;
        let t = plan.tokens.len();
        let n = plan.n_cells;
        let (nh, nkv, hd) = (c.num_attention_heads, c.num_key_value_heads, c.head_dim);
        let groups = nh / nkv;
        let cos = inputs.cos.to_dtype(self.dtype)?;
        let sin = inputs.sin.to_dtype(self.dtype)?;
        let scale = 1.0 / (hd as f64).sqrt();
        let eps = c.rms_norm_eps as f32;

        let mut x = self.embed.index_select(&inputs.tokens, 0)?;
        for (l, b) in self.blocks.iter().enumerate() {
            let h = candle_nn::ops::rms_norm(&x, &b.input_norm, eps)?;
            let qkv = b.qkv.forward(&h)?;
            let q = qkv.narrow(1, 0, nh * hd)?.contiguous()?.reshape((1, t, nh, hd))?;
            let k = qkv.narrow(1, nh * hd, nkv * hd)?.contiguous()?.reshape((1, t, nkv, hd))?;
            let v = qkv.narrow(1, (nh + nkv) * hd, nkv * hd)?.reshape((t, nkv, hd))?;
            let q = candle_nn::rotary_emb::rope_thd(&q, &cos, &sin)?;
            let k = candle_nn::rotary_emb::rope_thd(&k, &cos, &sin)?;
            cache.k[l].slice_set(&k.reshape((t, nkv, hd))?.transpose(0, 1)?.contiguous()?, 1, plan.first_cell)?;
            cache.v[l].slice_set(&v.transpose(0, 1)?.contiguous()?, 1, plan.first_cell)?;
            let keys = cache.k[l].narrow(1, 0, n)?;
            let values = cache.v[l].narrow(1, 0, n)?;
            // Queries grouped by the KV head they share: (nkv, t * groups, hd).
            let q = q.reshape((t, nkv, groups, hd))?.transpose(0, 1)?.contiguous()?.reshape((nkv, t * groups, hd))?;
            let scores = (q.matmul(&keys.t()?)? * scale)?.to_dtype(DType::F32)?;
            let scores = scores.reshape((nkv, t, groups, n))?.broadcast_add(&inputs.mask)?;
            let probs = candle_nn::ops::softmax_last_dim(&scores)?.to_dtype(self.dtype)?;
            let attn = probs.reshape((nkv, t * groups, n))?.matmul(&values)?;
            let attn = attn.reshape((nkv, t, groups, hd))?.transpose(0, 1)?.contiguous()?.reshape((t, nh * hd))?;
            x = (x + b.o.forward(&attn)?)?;
            let h = candle_nn::ops::rms_norm(&x, &b.post_norm, eps)?;
            let act = candle_nn::ops::swiglu(&b.gate_up.forward(&h)?)?;
            x = (x + b.down.forward(&act)?)?;
        }
        let Some((rows, cand)) = &inputs.rows_candidates else {
            return Ok(None);
        };
        let x = candle_nn::ops::rms_norm(&x.index_select(rows, 0)?, &self.norm, eps)?;
        let head = self.lm_head.index_select(cand, 0)?;
        Ok(Some(x.matmul(&head.t()?)?.to_dtype(DType::F32)?))
    }
}

/// The rotary embedding's cos and sin at a batch's positions, `(t, half)` row-major in F32
/// ([`Llama::rope_tables`]): the one input of a batch the host computes rather than takes
/// from its [`BatchPlan`].
pub(crate) struct RopeTables {
    pub(crate) cos: Vec<f32>,
    pub(crate) sin: Vec<f32>,
    /// `head_dim / 2`.
    pub(crate) half: usize,
}

/// A batch's inputs on the device, the tensors [`Llama::layers`] reads: token ids `(t)`,
/// cos and sin `(t, head_dim / 2)` in F32, the mask `(t, 1, n_cells)`, and the output rows
/// and candidate ids when logits are asked for.
pub(crate) struct DeviceInputs {
    pub(crate) tokens: Tensor,
    pub(crate) cos: Tensor,
    pub(crate) sin: Tensor,
    pub(crate) mask: Tensor,
    pub(crate) rows_candidates: Option<(Tensor, Tensor)>,
}

impl DeviceInputs {
    /// Fresh tensors holding `plan`'s inputs.
    fn upload(plan: &BatchPlan<'_>, rope: &RopeTables, dev: &Device) -> candle_core::Result<DeviceInputs> {
        let t = plan.tokens.len();
        let rows_candidates = if plan.outputs.is_empty() || plan.candidates.is_empty() {
            None
        } else {
            Some((Tensor::from_slice(plan.outputs, plan.outputs.len(), dev)?, Tensor::from_slice(plan.candidates, plan.candidates.len(), dev)?))
        };
        Ok(DeviceInputs {
            tokens: Tensor::from_slice(plan.tokens, t, dev)?,
            cos: Tensor::from_slice(&rope.cos, (t, rope.half), dev)?,
            sin: Tensor::from_slice(&rope.sin, (t, rope.half), dev)?,
            mask: Tensor::from_slice(plan.mask, (t, 1, plan.n_cells), dev)?,
            rows_candidates,
        })
    }

    /// Zeroed tensors of the shapes of `plan`'s inputs, to be written in place.
    #[cfg(feature = "cuda")]
    pub(crate) fn zeros(plan: &BatchPlan<'_>, half: usize, dev: &Device) -> candle_core::Result<DeviceInputs> {
        let t = plan.tokens.len();
        let rows_candidates = if plan.outputs.is_empty() || plan.candidates.is_empty() {
            None
        } else {
            Some((Tensor::zeros(plan.outputs.len(), DType::U32, dev)?, Tensor::zeros(plan.candidates.len(), DType::U32, dev)?))
        };
        Ok(DeviceInputs {
            tokens: Tensor::zeros(t, DType::U32, dev)?,
            cos: Tensor::zeros((t, half), DType::F32, dev)?,
            sin: Tensor::zeros((t, half), DType::F32, dev)?,
            mask: Tensor::zeros((t, 1, plan.n_cells), DType::F32, dev)?,
            rows_candidates,
        })
    }
}

/// The int4 kernels' workspace of a model, made with its first int4 layer.
#[cfg(feature = "cuda")]
type ScratchSlot = Option<std::sync::Arc<crate::int4::Int4Scratch>>;
/// Without CUDA there are no int4 kernels and no workspace.
#[cfg(not(feature = "cuda"))]
type ScratchSlot = ();

/// GPTQ layers sharing one input as one [`Linear`]: int4 on CUDA in F16 (fused when the
/// layers' row orders allow; `scratch` is the model's workspace, for layers of up to
/// `max_kn` inputs and outputs), else decoded to dense weights.
#[cfg_attr(not(feature = "cuda"), allow(unused_variables))]
fn quant_to_linear(layers: &[QuantLinear], device: &Device, dtype: DType, max_kn: (usize, usize), scratch: &mut ScratchSlot) -> ModelResult<Linear> {
    #[cfg(feature = "cuda")]
    if let (Device::Cuda(dev), DType::F16) = (device, dtype) {
        if layers.iter().all(|l| l.bits == 4) {
            let packed = layers.iter().map(|l| l.repack_int4().map_err(|e| e.message)).collect::<ModelResult<Vec<_>>>()?;
            let scratch = match scratch {
                Some(s) => std::sync::Arc::clone(s),
                None => scratch.insert(ctx(crate::int4::Int4Scratch::new(dev, max_kn.0, max_kn.1), "allocating the int4 workspace")?).clone(),
            };
            let upload = |p: &intent_gptq_format::Int4Packed| -> ModelResult<Linear> {
                let l = ctx(crate::int4::Int4Linear::new(p, dev, &scratch), "uploading int4 weights")?;
                Ok(Linear::Int4(std::sync::Arc::new(l)))
            };
            return match intent_gptq_format::Int4Packed::concat(&packed) {
                Some(all) => upload(&all),
                None => Ok(Linear::Split(packed.iter().map(upload).collect::<ModelResult<Vec<_>>>()?)),
            };
        }
    }
    dense_linear(
        layers
            .iter()
            .map(|l| ctx(Tensor::from_vec(l.dense_nk(), (l.n, l.k), &Device::Cpu).and_then(|t| t.to_dtype(dtype)).and_then(|t| t.to_device(device)), "decoding GPTQ weights"))
            .collect::<ModelResult<Vec<_>>>()?,
    )
}

/// Dense layers that read the same input (`[out, in]` each) as one matrix.
fn dense_linear(mut parts: Vec<Tensor>) -> ModelResult<Linear> {
    if parts.len() == 1 {
        return Ok(Linear::Dense(parts.remove(0)));
    }
    Ok(Linear::Dense(ctx(Tensor::cat(&parts, 0), "fusing layers")?))
}

/// Swaps the last dimension's halves with a sign (rotate-half), for tests of the rope layout.
#[cfg(test)]
fn rotate_half(x: &Tensor) -> candle_core::Result<Tensor> {
    use candle_core::D;
    let d = x.dim(D::Minus1)?;
    let a = x.narrow(D::Minus1, 0, d / 2)?;
    let b = x.narrow(D::Minus1, d / 2, d / 2)?;
    Tensor::cat(&[&b.neg()?, &a], D::Minus1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rope_thd_is_the_rotate_half_convention_of_hugging_face_llama() {
        let dev = Device::Cpu;
        let (t, h, d) = (3, 2, 8);
        let x = Tensor::arange(0f32, (t * h * d) as f32, &dev).unwrap().reshape((1, t, h, d)).unwrap();
        let inv: Vec<f64> = (0..d / 2).map(|i| 1.0 / 10000f64.powf((2 * i) as f64 / d as f64)).collect();
        let positions = [0i32, 5, 17];
        let mut cos = vec![];
        let mut sin = vec![];
        for &p in &positions {
            for &f in &inv {
                cos.push((p as f64 * f).cos() as f32);
                sin.push((p as f64 * f).sin() as f32);
            }
        }
        let cos_t = Tensor::from_vec(cos, (t, d / 2), &dev).unwrap();
        let sin_t = Tensor::from_vec(sin, (t, d / 2), &dev).unwrap();
        let got = candle_nn::rotary_emb::rope_thd(&x, &cos_t, &sin_t).unwrap();
        // HF: x * cos_full + rotate_half(x) * sin_full, with cos_full = cat(cos, cos).
        let full = |c: &Tensor| Tensor::cat(&[c, c], 1).unwrap().reshape((1, t, 1, d)).unwrap();
        let want = (x.broadcast_mul(&full(&cos_t)).unwrap() + rotate_half(&x).unwrap().broadcast_mul(&full(&sin_t)).unwrap()).unwrap();
        let diff = (got - want).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(diff < 1e-4, "max difference {diff}");
    }
}
