//! The versioned C ABI between the libintent host and its backend plugins.
//!
//! A backend plugin is a shared library that exports one C function,
//! [`ENTRY_SYMBOL`] (`intent_backend_plugin`), returning a pointer to a
//! constant [`PluginTable`]. Only C types cross this boundary, so the host and
//! a plugin may be built by different compilers, at different times.
//!
//! Versioning rules:
//! - [`ABI_MAJOR`] changes when an existing field or function changes meaning
//!   or layout. The host refuses a plugin of another major.
//! - [`ABI_MINOR`] grows when fields are appended to the table or to a
//!   parameter struct. Every struct starts with `struct_size`, so both sides
//!   can tell which fields the other one knows.
//!
//! Ownership: every object a plugin creates (model, context) is released by
//! the plugin's own `*_free` function. Error text is kept per thread by the
//! plugin and read with `last_error` right after a failing call.
//!
//! Threading: a model may be used from many threads at once (tokenize, info,
//! context creation); a context is used by one thread at a time.
//!
//! Plugin authors in Rust implement [`BackendModel`] and [`BackendContext`]
//! and export them with [`export_plugin!`]; the glue here catches panics and
//! checks pointers so that the safe implementation never sees a bad one.

#![deny(missing_docs)]

mod export;

pub use export::{glue, BackendContext, BackendModel, BatchView, Importance, PluginError};

use std::ffi::c_char;

/// ABI major version. A plugin with another major is refused by the host.
pub const ABI_MAJOR: u32 = 1;
/// ABI minor version: grows when fields or functions are appended.
pub const ABI_MINOR: u32 = 2;
/// The one symbol a plugin exports: `const PluginTable *intent_backend_plugin(void)`.
pub const ENTRY_SYMBOL: &str = "intent_backend_plugin";
/// GGUF metadata key of a LoRA adapter file made for run-time use (`general.type =
/// adapter`, written by `intent model prepare --formats LORA`): the file name of the base
/// model it applies to, in the adapter's folder (a plain name: a model file cannot point the
/// engine at other paths). A GGUF backend opening such a file loads that base and applies
/// the adapter in every context.
pub const GGUF_LORA_BASE_KEY: &str = "intent.lora.base";

/// Whether `name`, the value of [`GGUF_LORA_BASE_KEY`], is a plain file name: one normal
/// path component, without `/` or `\\`, so that joined to the adapter's folder it stays there.
pub fn is_plain_file_name(name: &str) -> bool {
    let mut parts = std::path::Path::new(name).components();
    matches!((parts.next(), parts.next()), (Some(std::path::Component::Normal(_)), None)) && !name.contains(['/', '\\'])
}

/// Status codes returned by plugin functions. `0` is success.
pub mod status {
    /// Success.
    pub const OK: i32 = 0;
    /// An argument was invalid (NULL pointer, bad size, out-of-range id).
    pub const INVALID_ARGUMENT: i32 = 1;
    /// The model file could not be read or parsed.
    pub const MODEL_LOAD: i32 = 2;
    /// The model or request is valid but not supported by this plugin.
    pub const UNSUPPORTED: i32 = 3;
    /// Memory (host or device) could not be allocated.
    pub const OUT_OF_MEMORY: i32 = 4;
    /// The context has no room for the tokens of this batch.
    pub const CONTEXT_FULL: i32 = 5;
    /// The plugin cannot run on this machine (for example: no CUDA device).
    pub const UNAVAILABLE: i32 = 6;
    /// Any other failure inside the backend.
    pub const BACKEND: i32 = 7;
    /// A panic was caught inside the plugin.
    pub const INTERNAL: i32 = 8;
}

/// Opaque model handle owned by a plugin.
#[repr(C)]
pub struct PluginModel {
    _private: [u8; 0],
}

/// Opaque evaluation context handle owned by a plugin.
#[repr(C)]
pub struct PluginContext {
    _private: [u8; 0],
}

/// Parameters for opening a model. Start with `struct_size = size_of::<ModelParams>()`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ModelParams {
    /// Size of this struct as the caller knows it.
    pub struct_size: usize,
    /// NUL-terminated UTF-8 path of the model (file or directory). Borrowed for the call.
    pub path: *const c_char,
    /// 1 to memory-map the weights, 0 to read them into memory.
    pub use_mmap: u8,
    /// GPU device index for GPU plugins; ignored by CPU plugins.
    pub device: i32,
}

/// Parameters for a new evaluation context.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ContextParams {
    /// Size of this struct as the caller knows it.
    pub struct_size: usize,
    /// Total KV positions over all sequences of the context.
    pub n_ctx: u32,
    /// Most tokens one `eval` call may carry.
    pub n_batch: u32,
    /// Most sequences alive at once (sequence ids are `0..n_seq_max`).
    pub n_seq_max: u32,
    /// Worker threads for CPU plugins; 0 lets the plugin choose.
    pub n_threads: i32,
}

/// Facts about an opened model. Strings are borrowed for the model's lifetime.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ModelInfo {
    /// Size of this struct as the plugin filled it.
    pub struct_size: usize,
    /// Vocabulary size: token ids are `0..n_vocab`.
    pub n_vocab: i32,
    /// Context length the model was trained for.
    pub n_ctx_train: u32,
    /// Begin-of-sequence token, or -1.
    pub bos: i32,
    /// End-of-sequence token, or -1.
    pub eos: i32,
    /// End-of-turn token (ChatML `<|im_end|>`), or -1.
    pub eot: i32,
    /// 1 when prompts must start with `bos`.
    pub add_bos: u8,
    /// Number of parameters.
    pub n_params: u64,
    /// Bytes of weights.
    pub size_bytes: u64,
    /// Architecture name, e.g. "llama".
    pub architecture: *const c_char,
    /// One-line human description (architecture, size, weight type).
    pub description: *const c_char,
    /// The model's chat template (Jinja), or NULL if it has none.
    pub chat_template: *const c_char,
    /// Text of the BOS token, or NULL.
    pub bos_text: *const c_char,
    /// Text of the EOS token, or NULL.
    pub eos_text: *const c_char,
}

/// What a plugin knows about an opened model, owned by the model; [`ModelFacts::info`]
/// lends it across the ABI as a [`ModelInfo`] whose strings live as long as the facts.
#[derive(Debug, Clone, Default)]
pub struct ModelFacts {
    /// Vocabulary size.
    pub n_vocab: i32,
    /// Context length the model was trained for.
    pub n_ctx_train: u32,
    /// Begin-of-sequence token, or -1.
    pub bos: i32,
    /// End-of-sequence token, or -1.
    pub eos: i32,
    /// End-of-turn token, or -1.
    pub eot: i32,
    /// Whether prompts must start with `bos`.
    pub add_bos: bool,
    /// Number of parameters.
    pub n_params: u64,
    /// Bytes of weights.
    pub size_bytes: u64,
    /// Architecture name.
    pub architecture: std::ffi::CString,
    /// One-line description.
    pub description: std::ffi::CString,
    /// Chat template, if any.
    pub chat_template: Option<std::ffi::CString>,
    /// Text of the BOS token, if any.
    pub bos_text: Option<std::ffi::CString>,
    /// Text of the EOS token, if any.
    pub eos_text: Option<std::ffi::CString>,
}

impl ModelFacts {
    /// The facts as a [`ModelInfo`]; its pointers are valid while `self` lives unchanged.
    pub fn info(&self) -> ModelInfo {
        let ptr = |s: &Option<std::ffi::CString>| s.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
        ModelInfo {
            struct_size: std::mem::size_of::<ModelInfo>(),
            n_vocab: self.n_vocab,
            n_ctx_train: self.n_ctx_train,
            bos: self.bos,
            eos: self.eos,
            eot: self.eot,
            add_bos: u8::from(self.add_bos),
            n_params: self.n_params,
            size_bytes: self.size_bytes,
            architecture: self.architecture.as_ptr(),
            description: self.description.as_ptr(),
            chat_template: ptr(&self.chat_template),
            bos_text: ptr(&self.bos_text),
            eos_text: ptr(&self.eos_text),
        }
    }
}

/// One evaluation request: tokens of several sequences, evaluated together.
///
/// Token `i` is `tokens[i]` at position `positions[i]` in sequence `seq_ids[i]`.
/// For each `i` with `output[i] != 0` the plugin writes the logits of the
/// `n_candidates` token ids in `candidates` into the next row of the output
/// matrix (`n_outputs x n_candidates`, row-major, rows in token order). A
/// plugin that can compute only those rows of the output layer should.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Batch {
    /// Size of this struct as the caller knows it.
    pub struct_size: usize,
    /// Number of tokens.
    pub n_tokens: u32,
    /// Token ids, `n_tokens` of them.
    pub tokens: *const i32,
    /// Positions, `n_tokens` of them.
    pub positions: *const i32,
    /// Sequence ids, `n_tokens` of them.
    pub seq_ids: *const i32,
    /// Output flags, `n_tokens` of them: non-zero where logits are wanted.
    pub output: *const u8,
    /// Number of candidate token ids.
    pub n_candidates: u32,
    /// Candidate token ids whose logits are returned.
    pub candidates: *const i32,
}

/// `const char *last_error(void)`: this thread's last error text (borrowed until the next call).
pub type LastErrorFn = unsafe extern "C" fn() -> *const c_char;
/// `int32_t probe(void)`: `OK` when the plugin can run here, else `UNAVAILABLE` and an error text.
pub type ProbeFn = unsafe extern "C" fn() -> i32;
/// Opens a model; writes the handle to `out` on success.
pub type ModelOpenFn = unsafe extern "C" fn(*const ModelParams, *mut *mut PluginModel) -> i32;
/// Releases a model (NULL is a no-op). Contexts of the model must be freed first.
pub type ModelFreeFn = unsafe extern "C" fn(*mut PluginModel);
/// Fills a [`ModelInfo`].
pub type ModelInfoFn = unsafe extern "C" fn(*const PluginModel, *mut ModelInfo) -> i32;
/// Tokenizes UTF-8 text. `(model, text, len, parse_special, out, cap, n_out)`:
/// writes up to `cap` ids to `out` and the full count to `n_out`; when the
/// count exceeds `cap` nothing useful is in `out` and the caller retries.
pub type TokenizeFn =
    unsafe extern "C" fn(*const PluginModel, *const u8, usize, u8, *mut i32, usize, *mut usize) -> i32;
/// Creates an evaluation context for a model.
pub type ContextNewFn =
    unsafe extern "C" fn(*const PluginModel, *const ContextParams, *mut *mut PluginContext) -> i32;
/// Releases a context (NULL is a no-op).
pub type ContextFreeFn = unsafe extern "C" fn(*mut PluginContext);
/// Evaluates a [`Batch`]; writes `n_outputs * n_candidates` floats to the output pointer.
pub type EvalFn = unsafe extern "C" fn(*mut PluginContext, *const Batch, *mut f32) -> i32;
/// `(ctx, src, dst, p0, p1)`: makes sequence `dst` share `src`'s cached positions `[p0, p1)`
/// (`-1` means open-ended).
pub type SeqCopyFn = unsafe extern "C" fn(*mut PluginContext, i32, i32, i32, i32) -> i32;
/// `(ctx, seq, p0, p1)`: forgets positions `[p0, p1)` of a sequence (`-1` open-ended).
pub type SeqRemoveFn = unsafe extern "C" fn(*mut PluginContext, i32, i32, i32) -> i32;

/// Parameters of [`QuantizeFn`] (ABI 1.1; the importance matrix fields 1.2). Start with
/// `struct_size = size_of::<QuantizeParams>()`; a plugin reads the 1.2 fields only when
/// `struct_size` covers them.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct QuantizeParams {
    /// Size of this struct as the caller knows it.
    pub struct_size: usize,
    /// Model file to read (UTF-8 path, NUL-terminated).
    pub input: *const c_char,
    /// Model file to write (UTF-8 path, NUL-terminated); replaced if it exists.
    pub output: *const c_char,
    /// Target weight format, e.g. "Q4_K_M", "Q5_K_M", "Q8_0", "F16".
    pub kind: *const c_char,
    /// CPU threads (0 = backend's choice).
    pub n_threads: i32,
    /// Importance matrix (ABI 1.2): `n_importance` entries, one per weight tensor, that
    /// weigh each input column's rounding error; NULL with 0 entries for none.
    pub importance: *const ImportanceEntry,
    /// Entries at `importance` (ABI 1.2).
    pub n_importance: usize,
}

/// Size of [`QuantizeParams`] as ABI 1.1 callers know it (without the importance matrix).
pub const QUANTIZE_PARAMS_V1_1_SIZE: usize = std::mem::offset_of!(QuantizeParams, importance);

/// One weight tensor's importance for the quantizer (ABI 1.2): for each input column
/// (`ne[0]` of the GGUF tensor), the mean square of the activations it multiplies.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ImportanceEntry {
    /// The tensor's name in the model file (UTF-8, NUL-terminated), e.g. `blk.0.attn_q.weight`.
    /// A name the input model has no tensor for is refused (`INVALID_ARGUMENT`).
    pub name: *const c_char,
    /// `n_values` finite, non-negative weights.
    pub values: *const f32,
    /// Values at `values`: the tensor's input width.
    pub n_values: usize,
}



/// Re-encodes a model file in another weight format, with the backend's own quantizer
/// (ABI 1.1; `UNSUPPORTED` from backends that have none).
pub type QuantizeFn = unsafe extern "C" fn(*const QuantizeParams) -> i32;

/// The table a plugin's entry point returns. Fields are only ever appended.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct PluginTable {
    /// Size of this struct as the plugin knows it.
    pub struct_size: usize,
    /// The plugin's ABI major version.
    pub abi_major: u32,
    /// The plugin's ABI minor version.
    pub abi_minor: u32,
    /// Backend name used to select it, e.g. "gguf-cpu" (static string).
    pub name: *const c_char,
    /// Plugin version (static string).
    pub version: *const c_char,
    /// Model format this backend loads: "gguf", "hf" or "gptq" (static string).
    pub model_format: *const c_char,
    /// One-line description (static string).
    pub description: *const c_char,
    /// See [`LastErrorFn`].
    pub last_error: LastErrorFn,
    /// See [`ProbeFn`].
    pub probe: ProbeFn,
    /// See [`ModelOpenFn`].
    pub model_open: ModelOpenFn,
    /// See [`ModelFreeFn`].
    pub model_free: ModelFreeFn,
    /// See [`ModelInfoFn`].
    pub model_info: ModelInfoFn,
    /// See [`TokenizeFn`].
    pub tokenize: TokenizeFn,
    /// See [`ContextNewFn`].
    pub context_new: ContextNewFn,
    /// See [`ContextFreeFn`].
    pub context_free: ContextFreeFn,
    /// See [`EvalFn`].
    pub eval: EvalFn,
    /// See [`SeqCopyFn`].
    pub seq_copy: SeqCopyFn,
    /// See [`SeqRemoveFn`].
    pub seq_remove: SeqRemoveFn,
    /// See [`QuantizeFn`] (ABI 1.1; absent from the tables of 1.0 plugins).
    pub quantize: Option<QuantizeFn>,
}

/// The smallest table size a host of this major accepts (every v1.0 field).
pub const MIN_TABLE_SIZE: usize = std::mem::offset_of!(PluginTable, quantize);

/// Type of the exported entry function.
pub type EntryFn = unsafe extern "C" fn() -> *const PluginTable;

/// A [`PluginTable`] that may live in a `static` (it holds only static strings and functions).
#[repr(transparent)]
pub struct StaticTable(pub PluginTable);
// SAFETY: the table holds pointers to static, immutable strings and plain function pointers.
unsafe impl Sync for StaticTable {}

#[cfg(test)]
mod tests {
    use super::is_plain_file_name;

    #[test]
    fn only_a_single_normal_component_is_a_plain_file_name() {
        assert!(is_plain_file_name("SmolLM2-135M-Instruct.Q4_1.gguf"));
        for bad in ["", ".", "..", "../base.gguf", "/models/base.gguf", "dir/base.gguf", "dir\\base.gguf", "./base.gguf"] {
            assert!(!is_plain_file_name(bad), "{bad:?} accepted");
        }
    }
}
