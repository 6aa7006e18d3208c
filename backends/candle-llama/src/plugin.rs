//! The plugin side shared by `fp16-cuda` and `gptq-cuda`: a model directory opened on a
//! device ([`HfModel`]) and an evaluation context over a unified KV cache ([`HfContext`]).
//! A plugin crate picks its weight format with a [`PluginKind`] and exports
//! `HfModel<ItsKind>` with `intent_plugin_abi::export_plugin!`.
//!
//! The plugins are thin like every backend: they tokenize, evaluate batches of tokens over
//! the sequences of one unified KV cache (a prefix cached once is shared by copy, as
//! metadata), and return only the logits of the candidate tokens the host asks for. The
//! classification logic is in the host.
//!
//! Device `-1` runs the same model code on candle's CPU device in F32: the reference the
//! GPU results are checked against, and what CI runs on machines without a GPU. A build
//! without the `cuda` feature has only that device.

use candle_core::{DType, Device};
use crate::cells::{Cells, Slot};
use crate::config::{self, TokenizerConfig};
use crate::graphs::{ForwardGraphs, GraphStats};
use crate::model::{self, BatchPlan, KvCache, Llama, WeightFormat};
use intent_plugin_abi::{
    status, BackendContext, BackendModel, BatchView, ContextParams, ModelFacts, ModelInfo, ModelParams,
    PluginError,
};
use std::ffi::CString;
use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;

/// The device index that selects candle's CPU device (F32) instead of a GPU.
pub const CPU_DEVICE: i32 = -1;

/// The device and dtype a device index selects.
pub fn select_device(index: i32) -> Result<(Device, DType), PluginError> {
    if index == CPU_DEVICE {
        return Ok((Device::Cpu, DType::F32));
    }
    if index < 0 {
        return Err(PluginError::invalid(format!("device {index}: use a GPU index (0, 1, ...) or {CPU_DEVICE} for the CPU")));
    }
    cuda_device(index as usize).map(|d| (d, DType::F16))
}

#[cfg(feature = "cuda")]
fn cuda_device(index: usize) -> Result<Device, PluginError> {
    let count = cuda_device_count()?;
    if index >= count {
        return Err(PluginError::new(
            status::UNAVAILABLE,
            format!("no CUDA device {index}: this machine has {count} (indices 0..{count})"),
        ));
    }
    let device = candle_core::CudaDevice::new_with_stream(index).map_err(|e| PluginError::new(status::UNAVAILABLE, format!("CUDA device {index}: {e}")))?;
    // Everything of this device runs on its one stream, so cudarc's cross-stream events
    // (two created per allocation, waited on and recorded around every launch) only cost
    // host time, and a wait on an event recorded before a CUDA graph capture would break it.
    // SAFETY: no buffer of this device is used on another stream.
    unsafe { device.disable_event_tracking() };
    Ok(Device::Cuda(device))
}

#[cfg(feature = "cuda")]
fn cuda_device_count() -> Result<usize, PluginError> {
    use candle_core::cuda_backend::cudarc::driver::{result, CudaContext};
    result::init().map_err(|e| PluginError::new(status::UNAVAILABLE, format!("no CUDA device: the driver did not start ({e})")))?;
    let n = CudaContext::device_count()
        .map_err(|e| PluginError::new(status::UNAVAILABLE, format!("no CUDA device: {e}")))?;
    if n <= 0 {
        return Err(PluginError::new(status::UNAVAILABLE, "no CUDA device on this machine"));
    }
    Ok(n as usize)
}

#[cfg(not(feature = "cuda"))]
fn cuda_device(index: usize) -> Result<Device, PluginError> {
    Err(PluginError::new(
        status::UNAVAILABLE,
        format!("CUDA device {index}: this build has no CUDA support (built without the `cuda` feature); device {CPU_DEVICE} is the CPU"),
    ))
}

/// Free and total memory of the device, in bytes (None on the CPU).
fn device_memory(device: &Device) -> Option<(u64, u64)> {
    #[cfg(feature = "cuda")]
    if let Device::Cuda(d) = device {
        use candle_core::cuda_backend::cudarc::driver::result;
        let stream = d.cuda_stream();
        stream.context().bind_to_thread().ok()?;
        return result::mem_get_info().ok().map(|(free, total)| (free as u64, total as u64));
    }
    let _ = device;
    None
}

/// Refuses an allocation the device cannot hold, with a message saying how much is missing.
fn check_memory(device: &Device, need: u64, what: &str) -> Result<(), PluginError> {
    if let Some((free, total)) = device_memory(device) {
        // Leave room for activations and cuBLAS workspaces.
        let margin = 256 << 20;
        if need + margin > free {
            return Err(PluginError::new(
                status::OUT_OF_MEMORY,
                format!(
                    "{what} needs {} MiB (plus {} MiB of working memory) but the GPU has {} MiB free of {} MiB",
                    need >> 20,
                    margin >> 20,
                    free >> 20,
                    total >> 20
                ),
            ));
        }
    }
    Ok(())
}

/// Maps a model-code error to a plugin error: `OUT_OF_MEMORY` when CUDA's text says the
/// device ran out of memory, else `otherwise`.
fn model_error(e: String, otherwise: i32) -> PluginError {
    let oom = e.contains("OUT_OF_MEMORY") || e.contains("out of memory");
    PluginError::new(if oom { status::OUT_OF_MEMORY } else { otherwise }, e)
}

/// What distinguishes the plugins built on this crate.
pub trait PluginKind: Send + Sync + 'static {
    /// The plugin's name, for messages.
    const NAME: &'static str;
    /// Whether the plugin loads GPTQ checkpoints (else dense F16/BF16/F32 weights).
    const GPTQ: bool;
}

/// A model directory loaded onto a device, by the plugin `K`.
pub struct HfModel<K: PluginKind> {
    llama: Arc<Llama>,
    /// Special tokens written in text become special tokens.
    tokenizer_special: tokenizers::Tokenizer,
    /// Special tokens written in text stay text (user input).
    tokenizer_plain: tokenizers::Tokenizer,
    facts: ModelFacts,
    kind: PhantomData<K>,
}

fn load_error(message: impl Into<String>) -> PluginError {
    PluginError::new(status::MODEL_LOAD, message)
}

/// A failure to open a model: `UNSUPPORTED` for a valid setting this code does not run,
/// `OUT_OF_MEMORY` when the device ran out, else a load error.
fn open_error(e: String) -> PluginError {
    if e.contains("not supported") {
        PluginError::new(status::UNSUPPORTED, e)
    } else {
        model_error(e, status::MODEL_LOAD)
    }
}

impl<K: PluginKind> HfModel<K> {
    fn read_tokenizer(dir: &Path) -> Result<(tokenizers::Tokenizer, TokenizerConfig), PluginError> {
        let path = dir.join("tokenizer.json");
        if !path.is_file() {
            return Err(load_error(format!("{}: tokenizer.json is missing", dir.display())));
        }
        let tokenizer = tokenizers::Tokenizer::from_file(&path).map_err(|e| load_error(format!("{}: {e}", path.display())))?;
        let cfg_path = dir.join("tokenizer_config.json");
        let cfg = match std::fs::read_to_string(&cfg_path) {
            Ok(text) => TokenizerConfig::from_json(&text, &cfg_path.display().to_string()).map_err(load_error)?,
            Err(_) => TokenizerConfig::default(),
        };
        Ok((tokenizer, cfg))
    }
}

fn token_id(tokenizer: &tokenizers::Tokenizer, text: Option<&str>) -> Option<u32> {
    text.and_then(|t| tokenizer.token_to_id(t))
}

impl<K: PluginKind> BackendModel for HfModel<K> {
    type Context = HfContext;

    fn probe() -> Result<(), PluginError> {
        #[cfg(feature = "cuda")]
        {
            cuda_device_count().map(|_| ())
        }
        #[cfg(not(feature = "cuda"))]
        {
            Ok(())
        }
    }

    fn open(path: &str, params: &ModelParams) -> Result<Self, PluginError> {
        let dir = Path::new(path);
        if !dir.is_dir() {
            return Err(load_error(format!("{path}: {} loads a model directory (config.json, tokenizer.json, safetensors)", K::NAME)));
        }
        let (device, dtype) = select_device(params.device)?;
        let config = config::LlamaConfig::from_dir(dir).map_err(open_error)?;
        let format = WeightFormat::of_dir(dir).map_err(open_error)?;
        match (&format, K::GPTQ) {
            (WeightFormat::Dense, true) => {
                return Err(PluginError::new(
                    status::UNSUPPORTED,
                    format!("{path}: no GPTQ quantization config (quantize_config.json): {} loads GPTQ checkpoints; fp16-cuda loads this model", K::NAME),
                ))
            }
            (WeightFormat::Gptq(_), false) => {
                return Err(PluginError::new(
                    status::UNSUPPORTED,
                    format!("{path}: a GPTQ checkpoint: {} loads dense weights; gptq-cuda loads this model", K::NAME),
                ))
            }
            _ => {}
        }
        let (tokenizer_special, tk) = Self::read_tokenizer(dir)?;
        if tokenizer_special.get_vocab_size(true) > config.vocab_size {
            return Err(load_error(format!(
                "{path}: the tokenizer has {} tokens but the model's vocab_size is {}",
                tokenizer_special.get_vocab_size(true),
                config.vocab_size
            )));
        }
        let mut tokenizer_plain = tokenizer_special.clone();
        tokenizer_plain.set_encode_special_tokens(true);
        let files = config::weight_files(dir).map_err(load_error)?;
        let need = match &format {
            WeightFormat::Dense => config.weight_bytes(dtype.size_in_bytes()),
            // Packed weights take on the GPU about what they take on disk.
            WeightFormat::Gptq(_) => files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum(),
        };
        check_memory(&device, need, "the model's weights")?;
        let source = model::WeightSource::open(&files).map_err(load_error)?;
        let llama = Llama::load(config, &source, &format, &device, dtype).map_err(|e| open_error(format!("{path}: {e}")))?;
        for w in &llama.warnings {
            eprintln!("libintent {}: warning: {w}", K::NAME);
        }
        let c = &llama.config;
        let bos = token_id(&tokenizer_special, tk.bos_token.as_deref()).or(c.bos_token_id);
        let eos = c.eos_token_id.or_else(|| token_id(&tokenizer_special, tk.eos_token.as_deref()));
        let eot = tokenizer_special.token_to_id("<|im_end|>").or_else(|| tokenizer_special.token_to_id("<|eot_id|>")).or(eos);
        let text_of = |id: Option<u32>| id.and_then(|i| tokenizer_special.id_to_token(i)).and_then(|t| CString::new(t).ok());
        let name = dir.file_name().map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned());
        let where_ = match &device {
            Device::Cpu => "CPU, F32 (reference)".to_string(),
            _ => format!("CUDA device {}, F16", params.device),
        };
        let weights = match &format {
            WeightFormat::Dense => String::new(),
            WeightFormat::Gptq(q) => {
                let group = q.group_size.map_or("per column".to_string(), |g| format!("g{g}"));
                let order = if q.desc_act { " act-order" } else { "" };
                let run = if matches!(device, Device::Cpu) || q.bits != 4 { "decoded" } else { "int4 kernels" };
                format!("GPTQ {}-bit {group}{order}, {run}, ", q.bits)
            }
        };
        let notes = if llama.warnings.is_empty() { String::new() } else { format!("; {} load warning(s): {}", llama.warnings.len(), llama.warnings[0]) };
        let description = format!(
            "{name} (llama, {:.1}M params, {:.1} MB, {weights}{where_}, candle{notes})",
            c.n_params() as f64 / 1e6,
            llama.weight_bytes as f64 / 1e6
        );
        let opt = |t: Option<u32>| t.map_or(-1, |t| t as i32);
        let facts = ModelFacts {
            n_vocab: c.vocab_size as i32,
            n_ctx_train: u32::try_from(c.max_position_embeddings).unwrap_or(u32::MAX),
            bos: opt(bos),
            eos: opt(eos),
            eot: opt(eot),
            add_bos: tk.add_bos_token,
            n_params: c.n_params(),
            size_bytes: llama.weight_bytes,
            architecture: CString::new("llama").unwrap_or_default(),
            description: CString::new(description).unwrap_or_default(),
            chat_template: tk.chat_template.as_deref().and_then(|t| CString::new(t).ok()),
            bos_text: tk.bos_token.as_deref().and_then(|t| CString::new(t).ok()).or_else(|| text_of(bos)),
            eos_text: text_of(eos),
        };
        Ok(HfModel { llama: Arc::new(llama), tokenizer_special, tokenizer_plain, facts, kind: PhantomData })
    }

    fn info(&self) -> ModelInfo {
        self.facts.info()
    }

    fn tokenize(&self, text: &str, parse_special: bool) -> Result<Vec<i32>, PluginError> {
        let tokenizer = if parse_special { &self.tokenizer_special } else { &self.tokenizer_plain };
        let enc = tokenizer.encode(text, false).map_err(|e| PluginError::backend(format!("tokenizer: {e}")))?;
        Ok(enc.get_ids().iter().map(|&i| i as i32).collect())
    }

    fn new_context(&self, params: &ContextParams) -> Result<HfContext, PluginError> {
        if params.n_ctx == 0 || params.n_batch == 0 || params.n_seq_max == 0 {
            return Err(PluginError::invalid("n_ctx, n_batch and n_seq_max must be > 0"));
        }
        HfContext::new(Arc::clone(&self.llama), params.n_ctx as usize, params.n_seq_max as usize, params.n_batch as usize)
    }
}

/// An evaluation context: a unified KV cache, its cell bookkeeping and the CUDA graphs of
/// the batch shapes it has seen.
pub struct HfContext {
    llama: Arc<Llama>,
    cells: Cells,
    graphs: ForwardGraphs,
    cache: KvCache,
    n_batch: usize,
}

impl HfContext {
    /// A context of `n_ctx` cache cells for up to `n_seq` sequences and batches of up to
    /// `n_batch` tokens, over weights loaded in any dtype (tests and checks use F32 on
    /// the GPU as a reference).
    pub fn new(llama: Arc<Llama>, n_ctx: usize, n_seq: usize, n_batch: usize) -> Result<HfContext, PluginError> {
        let cells = Cells::new(n_ctx, n_seq).map_err(PluginError::invalid)?;
        let bytes = KvCache::bytes_for(&llama.config, llama.dtype, n_ctx);
        check_memory(&llama.device, bytes, &format!("a KV cache of {n_ctx} positions"))?;
        let cache = llama.new_cache(n_ctx).map_err(|e| model_error(e, status::BACKEND))?;
        let graphs = ForwardGraphs::for_model(&llama);
        Ok(HfContext { llama, cells, graphs, cache, n_batch })
    }

    /// Turns CUDA graphs off for this context (checks compare the two ways).
    pub fn disable_graphs(&mut self) {
        self.graphs = ForwardGraphs::off();
    }

    /// What this context's CUDA graphs did, and why they are off if a capture failed.
    pub fn graph_stats(&self) -> (GraphStats, Option<&str>) {
        (self.graphs.stats(), self.graphs.failure())
    }

    /// Evaluates a batch given as plain slices (what [`BackendContext::eval`] does after
    /// checking the ABI view); returns `n_outputs x candidates` logits.
    pub fn eval_tokens(
        &mut self,
        tokens: &[i32],
        positions: &[i32],
        seq_ids: &[i32],
        output: &[u8],
        candidates: &[i32],
    ) -> Result<Vec<f32>, PluginError> {
        let n = tokens.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        if n > self.n_batch {
            return Err(PluginError::invalid(format!("batch of {n} tokens exceeds n_batch {}", self.n_batch)));
        }
        let vocab = self.llama.config.vocab_size as i32;
        if let Some(&t) = tokens.iter().find(|&&t| t < 0 || t >= vocab) {
            return Err(PluginError::invalid(format!("token {t} is outside the vocabulary")));
        }
        if let Some(&c) = candidates.iter().find(|&&c| c < 0 || c >= vocab) {
            return Err(PluginError::invalid(format!("candidate token {c} is outside the vocabulary")));
        }
        let slots: Vec<Slot> = seq_ids.iter().zip(positions).map(|(&seq, &pos)| Slot { seq, pos }).collect();
        let first_cell = self.cells.place(&slots).map_err(|e| {
            let full = e.contains("free cells");
            PluginError::new(if full { status::CONTEXT_FULL } else { status::INVALID_ARGUMENT }, e)
        })?;
        let mask = self.cells.mask(&slots);
        let ids: Vec<u32> = tokens.iter().map(|&t| t as u32).collect();
        let outputs: Vec<u32> = output.iter().enumerate().filter(|(_, &o)| o != 0).map(|(i, _)| i as u32).collect();
        let cands: Vec<u32> = candidates.iter().map(|&c| c as u32).collect();
        let plan = BatchPlan {
            tokens: &ids,
            positions,
            first_cell,
            n_cells: self.cells.used(),
            mask: &mask,
            outputs: &outputs,
            candidates: &cands,
        };
        self.llama.forward(&mut self.cache, &plan, &mut self.graphs).map_err(|e| {
            // The batch's cells hold no valid keys: forget them so the context stays usable.
            for s in &slots {
                let _ = self.cells.remove(s.seq, s.pos, s.pos + 1);
            }
            model_error(e, status::BACKEND)
        })
    }
}

impl BackendContext for HfContext {
    fn eval(&mut self, b: &BatchView<'_>, out: &mut [f32]) -> Result<(), PluginError> {
        let logits = self.eval_tokens(b.tokens, b.positions, b.seq_ids, b.output, b.candidates)?;
        if logits.len() != out.len() {
            return Err(PluginError::backend(format!("{} logits computed for {} expected", logits.len(), out.len())));
        }
        out.copy_from_slice(&logits);
        Ok(())
    }

    fn seq_copy(&mut self, src: i32, dst: i32, p0: i32, p1: i32) -> Result<(), PluginError> {
        self.cells.copy(src, dst, p0, p1).map_err(PluginError::invalid)
    }

    fn seq_remove(&mut self, seq: i32, p0: i32, p1: i32) -> Result<(), PluginError> {
        self.cells.remove(seq, p0, p1).map_err(PluginError::invalid)
    }
}
