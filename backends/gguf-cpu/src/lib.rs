//! libintent backend plugin `gguf-cpu`: GGUF models of the Llama family on CPU,
//! through llama.cpp (the `llama-cpp-2` crate).
//!
//! The plugin is thin: it tokenizes, evaluates batches of tokens over several
//! sequences of one unified KV cache (so a prefix cached in one sequence is
//! shared by copy, without recomputation), and returns the logits of the
//! candidate tokens the host asks for. All classification logic is in the host.

#![deny(missing_docs)]

use intent_plugin_abi::{
    export_plugin, status, BackendContext, BackendModel, BatchView, ContextParams, Importance,
    ModelFacts, ModelInfo, ModelParams, PluginError, GGUF_LORA_BASE_KEY,
};
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::gguf::GgufContext as GgufMetadata;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaLoraAdapter, LlamaModel};
use llama_cpp_2::token::LlamaToken;
use std::ffi::{c_char, c_void, CStr, CString};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// Architectures of the Llama family this plugin accepts (GGUF `general.architecture`).
pub const SUPPORTED_ARCHITECTURES: &[&str] = &["llama"];

/// Weight formats the quantizer writes, by llama.cpp's names.
pub const QUANT_KINDS: &[(&str, llama_cpp_sys_2::llama_ftype)] = &[
    ("F16", llama_cpp_sys_2::LLAMA_FTYPE_MOSTLY_F16),
    ("Q8_0", llama_cpp_sys_2::LLAMA_FTYPE_MOSTLY_Q8_0),
    ("Q6_K", llama_cpp_sys_2::LLAMA_FTYPE_MOSTLY_Q6_K),
    ("Q5_K_M", llama_cpp_sys_2::LLAMA_FTYPE_MOSTLY_Q5_K_M),
    ("Q4_K_M", llama_cpp_sys_2::LLAMA_FTYPE_MOSTLY_Q4_K_M),
    ("Q4_0", llama_cpp_sys_2::LLAMA_FTYPE_MOSTLY_Q4_0),
    ("Q4_1", llama_cpp_sys_2::LLAMA_FTYPE_MOSTLY_Q4_1),
];

/// Largest micro-batch llama.cpp computes at once: bounds the attention scratch memory.
const MAX_UBATCH: u32 = 512;

static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
/// The last warning or error line llama.cpp logged, to enrich our error messages.
static LAST_LLAMA_LOG: Mutex<String> = Mutex::new(String::new());
/// llama.cpp's context creation mutates shared model state: create contexts one at a time.
static CONTEXT_CREATION: Mutex<()> = Mutex::new(());

unsafe extern "C" fn log_callback(level: llama_cpp_sys_2::ggml_log_level, text: *const c_char, _: *mut c_void) {
    if text.is_null() {
        return;
    }
    let line = CStr::from_ptr(text).to_string_lossy();
    if std::env::var_os("INTENT_LLAMA_LOG").is_some() {
        eprint!("{line}");
    }
    if level == llama_cpp_sys_2::GGML_LOG_LEVEL_ERROR || level == llama_cpp_sys_2::GGML_LOG_LEVEL_WARN {
        if let Ok(mut last) = LAST_LLAMA_LOG.lock() {
            *last = line.trim().to_string();
        }
    }
}

fn backend() -> Result<&'static LlamaBackend, PluginError> {
    BACKEND
        .get_or_init(|| {
            // SAFETY: installs a plain function as llama.cpp's log sink.
            unsafe { llama_cpp_sys_2::llama_log_set(Some(log_callback), std::ptr::null_mut()) };
            LlamaBackend::init().map_err(|e| format!("llama.cpp backend init failed: {e}"))
        })
        .as_ref()
        .map_err(|e| PluginError::new(status::UNAVAILABLE, e.clone()))
}

fn last_llama_log() -> String {
    LAST_LLAMA_LOG.lock().map(|l| l.clone()).unwrap_or_default()
}

/// The CPU features ggml was built with and uses, as llama.cpp reports them.
pub fn system_info() -> String {
    // SAFETY: returns a pointer to a static, NUL-terminated string.
    unsafe { CStr::from_ptr(llama_cpp_sys_2::llama_print_system_info()) }
        .to_string_lossy()
        .trim()
        .to_string()
}

/// What the GGUF metadata says before llama.cpp builds anything.
struct Header {
    /// `general.architecture`.
    architecture: String,
    /// For a run-time LoRA adapter (`general.type = adapter`), the base it applies to.
    lora_base: Option<PathBuf>,
}

/// Reads the GGUF metadata only (no tensors are loaded), so that an unsupported model is
/// refused before llama.cpp builds anything for it.
fn read_header(path: &str) -> Result<Header, PluginError> {
    let meta = GgufMetadata::from_file(Path::new(path)).ok_or_else(|| {
        PluginError::new(status::MODEL_LOAD, format!("{path} is not a readable GGUF file ({})", last_llama_log()))
    })?;
    let string = |key: &str| -> Result<Option<String>, PluginError> {
        let k = meta.find_key(key);
        if k < 0 {
            return Ok(None);
        }
        // llama.cpp aborts the process when a value of another type is read as a string.
        if meta.kv_type(k) != llama_cpp_sys_2::GGUF_TYPE_STRING {
            return Err(PluginError::new(status::MODEL_LOAD, format!("{path}: {key} is not a string")));
        }
        meta.val_str(k)
            .map(|v| Some(v.to_string()))
            .ok_or_else(|| PluginError::new(status::MODEL_LOAD, format!("{path}: {key} is not a string")))
    };
    let architecture = string("general.architecture")?
        .ok_or_else(|| PluginError::new(status::MODEL_LOAD, format!("{path}: GGUF metadata has no general.architecture")))?;
    let lora_base = match string("general.type")?.as_deref() {
        Some("adapter") => {
            let Some(base) = string(GGUF_LORA_BASE_KEY)? else {
                return Err(PluginError::new(
                    status::UNSUPPORTED,
                    format!(
                        "{path} is a LoRA adapter without {GGUF_LORA_BASE_KEY}: it does not say which base it applies to \
                         (write it with `intent model prepare --formats LORA`, or merge it into the base)"
                    ),
                ));
            };
            if !intent_plugin_abi::is_plain_file_name(&base) {
                return Err(PluginError::new(
                    status::MODEL_LOAD,
                    format!("{path}: {GGUF_LORA_BASE_KEY} is '{base}', not a plain file name in the adapter's folder"),
                ));
            }
            let dir = Path::new(path).parent().unwrap_or(Path::new("."));
            Some(dir.join(base))
        }
        _ => None,
    };
    Ok(Header { architecture, lora_base })
}

/// The names among `names` that no tensor of the GGUF file `c_path` (`path` in messages)
/// has; reads the header only.
fn tensors_missing_from<'a>(c_path: &CStr, path: &str, names: &'a [CString]) -> Result<Vec<&'a CString>, PluginError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let params = llama_cpp_sys_2::gguf_init_params { no_alloc: true, ctx: std::ptr::null_mut() };
    // SAFETY: a NUL-terminated path; with no_alloc no tensor data is read.
    let ctx = unsafe { llama_cpp_sys_2::gguf_init_from_file(c_path.as_ptr(), params) };
    if ctx.is_null() {
        return Err(PluginError::new(status::MODEL_LOAD, format!("{path} is not a readable GGUF file ({})", last_llama_log())));
    }
    // SAFETY: ctx is live until gguf_free below; the names are NUL-terminated.
    let missing = names.iter().filter(|n| unsafe { llama_cpp_sys_2::gguf_find_tensor(ctx, n.as_ptr()) } < 0).collect();
    // SAFETY: ctx came from gguf_init_from_file and is not used after this.
    unsafe { llama_cpp_sys_2::gguf_free(ctx) };
    Ok(missing)
}

/// Checks that `path` is a GGUF file of a supported architecture; returns its header.
fn check_model_file(path: &str) -> Result<Header, PluginError> {
    if !Path::new(path).is_file() {
        return Err(PluginError::new(status::MODEL_LOAD, format!("model file not found: {path}")));
    }
    let header = read_header(path)?;
    if !SUPPORTED_ARCHITECTURES.contains(&header.architecture.as_str()) {
        return Err(PluginError::new(
            status::UNSUPPORTED,
            format!(
                "{path}: architecture '{}' is not supported by gguf-cpu (supported: {})",
                header.architecture,
                SUPPORTED_ARCHITECTURES.join(", ")
            ),
        ));
    }
    Ok(header)
}

/// For a run-time LoRA adapter at `path`, its base: a plain GGUF model that exists.
fn check_lora_base(path: &str, base: &Path) -> Result<String, PluginError> {
    let base = base.to_str().ok_or_else(|| PluginError::invalid(format!("{path}: the base path is not UTF-8")))?;
    let header = check_model_file(base).map_err(|e| PluginError::new(e.status, format!("the base of the LoRA adapter {path}: {}", e.message)))?;
    if header.lora_base.is_some() {
        return Err(PluginError::new(status::UNSUPPORTED, format!("the base of the LoRA adapter {path}, {base}, is itself an adapter")));
    }
    Ok(base.to_string())
}

/// A GGUF model loaded by llama.cpp.
pub struct GgufModel {
    /// A run-time LoRA adapter applied in every context (owned by the model in llama.cpp;
    /// the lock only serialises setting it on new contexts). Declared before the model,
    /// so dropped before it.
    lora: Option<Mutex<LlamaLoraAdapter>>,
    model: Arc<LlamaModel>,
    facts: ModelFacts,
}

fn token_text(model: &LlamaModel, token: LlamaToken) -> Option<CString> {
    if token.0 < 0 {
        return None;
    }
    let bytes = model.vocab().token_to_piece(token, true, None);
    CString::new(bytes).ok()
}

fn opt_token(t: LlamaToken) -> i32 {
    if t.0 < 0 { -1 } else { t.0 }
}

impl BackendModel for GgufModel {
    type Context = GgufContext;

    fn probe() -> Result<(), PluginError> {
        backend().map(|_| ())
    }

    fn open(path: &str, params: &ModelParams) -> Result<Self, PluginError> {
        let backend = backend()?;
        let header = check_model_file(path)?;
        let architecture = header.architecture;
        let weights = match &header.lora_base {
            Some(base) => check_lora_base(path, base)?,
            None => path.to_string(),
        };
        let model_params = LlamaModelParams::default().with_use_mmap(params.use_mmap != 0);
        let mut model = LlamaModel::load_from_file(backend, &weights, &model_params).map_err(|e| {
            PluginError::new(
                status::MODEL_LOAD,
                format!("llama.cpp could not load {weights}: {e} ({})", last_llama_log()),
            )
        })?;
        let lora = match header.lora_base {
            Some(_) => Some(Mutex::new(model.lora_adapter_init(path).map_err(|e| {
                PluginError::new(
                    status::MODEL_LOAD,
                    format!("llama.cpp could not load the LoRA adapter {path} for {weights}: {e} ({})", last_llama_log()),
                )
            })?)),
            None => None,
        };
        let vocab = model.vocab();
        let (bos, eos, eot) = (vocab.bos(), vocab.eos(), vocab.eot());
        let name = model.meta_val_str("general.name").unwrap_or_else(|_| "unnamed".into());
        let lora_note = match &lora {
            Some(_) => format!(" + run-time LoRA {}", Path::new(path).file_name().map(|n| n.to_string_lossy()).unwrap_or_default()),
            None => String::new(),
        };
        let description = format!(
            "{name}{lora_note} ({architecture}, {:.1}M params, {:.1} MB, {}) [{}]",
            model.n_params() as f64 / 1e6,
            model.size() as f64 / 1e6,
            if params.use_mmap != 0 { "mmap" } else { "loaded in memory" },
            system_info()
        );
        let chat_template = model
            .meta_val_str("tokenizer.chat_template")
            .ok()
            .and_then(|t| CString::new(t).ok());
        let facts = ModelFacts {
            n_vocab: model.n_vocab(),
            n_ctx_train: model.n_ctx_train(),
            bos: opt_token(bos),
            eos: opt_token(eos),
            eot: opt_token(eot),
            add_bos: vocab.should_add_bos(),
            n_params: model.n_params(),
            size_bytes: model.size(),
            architecture: CString::new(architecture).unwrap_or_default(),
            description: CString::new(description).unwrap_or_default(),
            chat_template,
            bos_text: token_text(&model, bos),
            eos_text: token_text(&model, eos),
        };
        Ok(GgufModel { model: Arc::new(model), lora, facts })
    }

    fn info(&self) -> ModelInfo {
        self.facts.info()
    }

    fn tokenize(&self, text: &str, parse_special: bool) -> Result<Vec<i32>, PluginError> {
        let ids = self.model.vocab().tokenize(text.as_bytes(), false, parse_special);
        Ok(ids.into_iter().map(|t| t.0).collect())
    }

    fn quantize(input: &str, output: &str, kind: &str, n_threads: i32, importance: &[Importance<'_>]) -> Result<(), PluginError> {
        backend()?;
        let Some(&(_, ftype)) = QUANT_KINDS.iter().find(|(name, _)| name.eq_ignore_ascii_case(kind)) else {
            return Err(PluginError::new(
                status::UNSUPPORTED,
                format!(
                    "weight format '{kind}' is not one gguf-cpu writes (known: {})",
                    QUANT_KINDS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                ),
            ));
        };
        if check_model_file(input)?.lora_base.is_some() {
            return Err(PluginError::new(status::UNSUPPORTED, format!("{input} is a LoRA adapter, not a model to quantize")));
        }
        let c_input = CString::new(input).map_err(|_| PluginError::invalid("input path contains a NUL byte"))?;
        let c_output = CString::new(output).map_err(|_| PluginError::invalid("output path contains a NUL byte"))?;
        // llama.cpp reads the importance matrix as an array ended by an entry without a name.
        let names = importance
            .iter()
            .map(|i| CString::new(i.name).map_err(|_| PluginError::invalid(format!("importance tensor name {:?} contains a NUL byte", i.name))))
            .collect::<Result<Vec<_>, _>>()?;
        // llama.cpp passes over an entry whose tensor the model lacks: a misspelt name would
        // quantize without the weights it was meant to give.
        let missing = tensors_missing_from(&c_input, input, &names)?;
        if !missing.is_empty() {
            return Err(PluginError::invalid(format!(
                "importance matrix: {input} has no tensor named {}",
                missing.iter().map(|n| n.to_string_lossy()).collect::<Vec<_>>().join(", ")
            )));
        }
        let mut entries: Vec<llama_cpp_sys_2::llama_model_imatrix_data> = importance
            .iter()
            .zip(&names)
            .map(|(i, name)| llama_cpp_sys_2::llama_model_imatrix_data { name: name.as_ptr(), data: i.values.as_ptr(), size: i.values.len() })
            .collect();
        entries.push(llama_cpp_sys_2::llama_model_imatrix_data { name: std::ptr::null(), data: std::ptr::null(), size: 0 });
        // SAFETY: plain-data defaults from llama.cpp; the paths, names and values outlive the call.
        let code = unsafe {
            let mut params = llama_cpp_sys_2::llama_model_quantize_default_params();
            params.ftype = ftype;
            params.nthread = n_threads.max(0);
            // The source is usually already quantized (the shipped base is Q4_1): allow it.
            params.allow_requantize = true;
            if !importance.is_empty() {
                params.imatrix = entries.as_ptr();
            }
            llama_cpp_sys_2::llama_model_quantize(c_input.as_ptr(), c_output.as_ptr(), &params)
        };
        if code != 0 {
            return Err(PluginError::backend(format!("llama.cpp could not quantize {input} to {kind} ({})", last_llama_log())));
        }
        Ok(())
    }

    fn new_context(&self, params: &ContextParams) -> Result<GgufContext, PluginError> {
        let backend = backend()?;
        let n_ctx = NonZeroU32::new(params.n_ctx).ok_or_else(|| PluginError::invalid("n_ctx must be > 0"))?;
        if params.n_batch == 0 || params.n_seq_max == 0 {
            return Err(PluginError::invalid("n_batch and n_seq_max must be > 0"));
        }
        let threads = if params.n_threads > 0 {
            params.n_threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get() as i32)
        };
        let ctx_params = LlamaContextParams::default()
            .with_n_ctx(Some(n_ctx))
            .with_n_batch(params.n_batch)
            .with_n_ubatch(params.n_batch.min(MAX_UBATCH))
            // Flash attention is slower on CPU for the short batches of classification
            // (measured with `intent bench`, see benches/results).
            .with_flash_attention_policy(llama_cpp_sys_2::LLAMA_FLASH_ATTN_TYPE_DISABLED)
            .with_n_seq_max(params.n_seq_max)
            .with_kv_unified(true)
            .with_n_threads(threads)
            .with_n_threads_batch(threads);
        let model: &'static LlamaModel = {
            // SAFETY: the context keeps an `Arc` of the model and is declared (and so
            // dropped) before it; the model outlives every use of this reference.
            unsafe { &*Arc::as_ptr(&self.model) }
        };
        let ctx = {
            let _guard = CONTEXT_CREATION.lock().unwrap_or_else(|p| p.into_inner());
            let mut ctx = model.new_context(backend, ctx_params).map_err(|e| {
                PluginError::new(
                    status::OUT_OF_MEMORY,
                    format!("llama.cpp could not create a context of {n_ctx} positions: {e} ({})", last_llama_log()),
                )
            })?;
            if let Some(lora) = &self.lora {
                let mut adapter = lora.lock().unwrap_or_else(|p| p.into_inner());
                ctx.lora_adapter_set(&mut adapter, 1.0)
                    .map_err(|e| PluginError::backend(format!("llama.cpp could not apply the LoRA adapter: {e} ({})", last_llama_log())))?;
            }
            ctx
        };
        Ok(GgufContext {
            ctx: SendContext(ctx),
            batch: LlamaBatch::new(params.n_batch as usize, 1),
            n_batch: params.n_batch as usize,
            n_seq_max: params.n_seq_max as i32,
            n_vocab: self.facts.n_vocab,
            _model: Arc::clone(&self.model),
        })
    }
}

struct SendContext(LlamaContext<'static>);
// SAFETY: a llama.cpp context may move between threads; the host uses it from one thread at a time.
unsafe impl Send for SendContext {}

/// An evaluation context: a unified KV cache shared by up to `n_seq_max` sequences.
pub struct GgufContext {
    ctx: SendContext,
    batch: LlamaBatch<'static>,
    n_batch: usize,
    n_seq_max: i32,
    n_vocab: i32,
    _model: Arc<LlamaModel>,
}

impl GgufContext {
    fn check_seq(&self, seq: i32) -> Result<(), PluginError> {
        if seq < 0 || seq >= self.n_seq_max {
            return Err(PluginError::invalid(format!("sequence id {seq} is outside 0..{}", self.n_seq_max)));
        }
        Ok(())
    }
}

fn pos(p: i32) -> Option<u32> {
    u32::try_from(p).ok()
}

impl BackendContext for GgufContext {
    fn eval(&mut self, b: &BatchView<'_>, out: &mut [f32]) -> Result<(), PluginError> {
        let n = b.tokens.len();
        if n == 0 {
            return Ok(());
        }
        if n > self.n_batch {
            return Err(PluginError::invalid(format!("batch of {n} tokens exceeds n_batch {}", self.n_batch)));
        }
        if let Some(&c) = b.candidates.iter().find(|&&c| c < 0 || c >= self.n_vocab) {
            return Err(PluginError::invalid(format!("candidate token {c} is outside the vocabulary")));
        }
        self.batch.clear();
        for i in 0..n {
            let t = b.tokens[i];
            if t < 0 || t >= self.n_vocab {
                return Err(PluginError::invalid(format!("token {t} is outside the vocabulary")));
            }
            self.check_seq(b.seq_ids[i])?;
            self.batch
                .add(LlamaToken(t), b.positions[i], &[b.seq_ids[i]], b.output[i] != 0)
                .map_err(|e| PluginError::backend(format!("batch: {e}")))?;
        }
        self.ctx.0.decode(&mut self.batch).map_err(|e| match e {
            llama_cpp_2::DecodeError::NoKvCacheSlot => PluginError::new(
                status::CONTEXT_FULL,
                "the KV cache has no room for this batch (raise n_ctx or lower the batch size)",
            ),
            other => PluginError::backend(format!("llama_decode failed: {other} ({})", last_llama_log())),
        })?;
        let n_cand = b.candidates.len();
        let mut row = 0;
        for (i, &o) in b.output.iter().enumerate() {
            if o == 0 {
                continue;
            }
            let logits = self.ctx.0.get_logits_ith(i as i32);
            for (j, &c) in b.candidates.iter().enumerate() {
                out[row * n_cand + j] = logits[c as usize];
            }
            row += 1;
        }
        Ok(())
    }

    fn seq_copy(&mut self, src: i32, dst: i32, p0: i32, p1: i32) -> Result<(), PluginError> {
        self.check_seq(src)?;
        self.check_seq(dst)?;
        self.ctx
            .0
            .copy_kv_cache_seq(src, dst, pos(p0), pos(p1))
            .map_err(|e| PluginError::invalid(format!("seq_copy: {e}")))
    }

    fn seq_remove(&mut self, seq: i32, p0: i32, p1: i32) -> Result<(), PluginError> {
        self.check_seq(seq)?;
        let removed = self
            .ctx
            .0
            .clear_kv_cache_seq(Some(seq as u32), pos(p0), pos(p1))
            .map_err(|e| PluginError::invalid(format!("seq_remove: {e}")))?;
        if !removed {
            return Err(PluginError::backend(format!("seq_remove: llama.cpp refused to remove [{p0}, {p1}) of sequence {seq}")));
        }
        Ok(())
    }
}

export_plugin!(
    GgufModel,
    name: c"gguf-cpu",
    format: c"gguf",
    description: c"GGUF models of the Llama family on CPU (llama.cpp)"
);
