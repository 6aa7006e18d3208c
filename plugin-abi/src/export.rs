//! Safe Rust side of a plugin: implement [`BackendModel`] and [`BackendContext`],
//! then `export_plugin!` builds the C table with panic-catching glue.

use crate::{status, Batch, ContextParams, ModelInfo, ModelParams, PluginContext, PluginModel, QuantizeParams};
use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A failure inside a plugin: a status code from [`crate::status`] and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginError {
    /// Status code returned across the ABI.
    pub status: i32,
    /// Human-readable message (kept as this thread's last error).
    pub message: String,
}

impl PluginError {
    /// Builds an error from a status code and a message.
    pub fn new(status: i32, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
    }
    /// `INVALID_ARGUMENT` with a message.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(status::INVALID_ARGUMENT, message)
    }
    /// `BACKEND` with a message.
    pub fn backend(message: impl Into<String>) -> Self {
        Self::new(status::BACKEND, message)
    }
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PluginError {}

/// A borrowed, checked view of a [`Batch`].
#[derive(Debug, Clone, Copy)]
pub struct BatchView<'a> {
    /// Token ids.
    pub tokens: &'a [i32],
    /// Positions, one per token.
    pub positions: &'a [i32],
    /// Sequence ids, one per token.
    pub seq_ids: &'a [i32],
    /// Output flags, one per token.
    pub output: &'a [u8],
    /// Candidate token ids whose logits are returned for each output.
    pub candidates: &'a [i32],
}

impl BatchView<'_> {
    /// Number of tokens flagged for output.
    pub fn n_outputs(&self) -> usize {
        self.output.iter().filter(|&&o| o != 0).count()
    }
}

/// A loaded model. Shared between threads; contexts are made from it.
pub trait BackendModel: Send + Sync + Sized + 'static {
    /// The evaluation context type of this backend.
    type Context: BackendContext;
    /// Checks that the plugin can run on this machine.
    fn probe() -> Result<(), PluginError>;
    /// Opens a model.
    fn open(path: &str, params: &ModelParams) -> Result<Self, PluginError>;
    /// Facts about the model; strings must live as long as the model.
    fn info(&self) -> ModelInfo;
    /// Tokenizes UTF-8 text. `parse_special` turns control-token text into control tokens.
    fn tokenize(&self, text: &str, parse_special: bool) -> Result<Vec<i32>, PluginError>;
    /// Creates a context.
    fn new_context(&self, params: &ContextParams) -> Result<Self::Context, PluginError>;
    /// Re-encodes the model file `input` as `output` in the weight format `kind`,
    /// weighing each tensor's rounding error by its `importance` entry where it has one.
    /// Backends without a quantizer keep this default, which answers `UNSUPPORTED`.
    fn quantize(input: &str, output: &str, kind: &str, n_threads: i32, importance: &[Importance<'_>]) -> Result<(), PluginError> {
        let _ = (input, output, n_threads, importance);
        Err(PluginError::new(status::UNSUPPORTED, format!("this backend cannot quantize (asked for {kind})")))
    }
}

/// One weight tensor's importance for [`BackendModel::quantize`], checked by the glue:
/// a valid UTF-8 name and finite, non-negative values.
#[derive(Debug, Clone, Copy)]
pub struct Importance<'a> {
    /// The tensor's name in the model file.
    pub name: &'a str,
    /// One weight per input column.
    pub values: &'a [f32],
}

/// An evaluation context (KV cache and scratch), used by one thread at a time.
pub trait BackendContext: Send + 'static {
    /// Evaluates the batch and writes `n_outputs * candidates.len()` logits to `out`.
    fn eval(&mut self, batch: &BatchView<'_>, out: &mut [f32]) -> Result<(), PluginError>;
    /// Makes `dst` share the cached positions `[p0, p1)` of `src` (-1 = open-ended).
    fn seq_copy(&mut self, src: i32, dst: i32, p0: i32, p1: i32) -> Result<(), PluginError>;
    /// Forgets positions `[p0, p1)` of `seq` (-1 = open-ended).
    fn seq_remove(&mut self, seq: i32, p0: i32, p1: i32) -> Result<(), PluginError>;
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    let text = CString::new(message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|slot| *slot.borrow_mut() = text);
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Runs `f` so that neither a panic nor an error crosses the ABI: returns a status code.
fn guarded(f: impl FnOnce() -> Result<(), PluginError>) -> i32 {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => status::OK,
        Ok(Err(e)) => {
            set_last_error(&e.message);
            e.status
        }
        Err(payload) => {
            set_last_error(&format!("internal error (panic in plugin): {}", panic_text(&*payload)));
            status::INTERNAL
        }
    }
}

/// Drops an object the plugin boxed; NULL is a no-op and a panicking destructor is contained.
///
/// # Safety
/// `p` is NULL or came from `Box::into_raw` of this type and is freed once.
unsafe fn free_box<T>(p: *mut T) {
    if !p.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(p))));
    }
}

fn check_size(got: usize, need: usize, what: &str) -> Result<(), PluginError> {
    if got < need {
        return Err(PluginError::invalid(format!(
            "{what}.struct_size is {got}, at least {need} expected"
        )));
    }
    Ok(())
}

/// # Safety
/// `ptr` must be NULL or point to `len` readable elements.
unsafe fn slice<'a, T>(ptr: *const T, len: usize, what: &str) -> Result<&'a [T], PluginError> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(PluginError::invalid(format!("{what} is NULL")));
    }
    Ok(std::slice::from_raw_parts(ptr, len))
}

/// The `extern "C"` functions placed in a plugin's table, generic over its model type.
/// Used by [`export_plugin!`]; not meant to be called directly.
pub mod glue {
    use super::*;

    /// See [`crate::LastErrorFn`].
    pub unsafe extern "C" fn last_error() -> *const c_char {
        LAST_ERROR.with(|slot| slot.borrow().as_ptr())
    }

    /// See [`crate::ProbeFn`].
    pub unsafe extern "C" fn probe<M: BackendModel>() -> i32 {
        guarded(M::probe)
    }

    /// See [`crate::ModelOpenFn`].
    pub unsafe extern "C" fn model_open<M: BackendModel>(
        params: *const ModelParams,
        out: *mut *mut PluginModel,
    ) -> i32 {
        guarded(|| {
            if params.is_null() || out.is_null() {
                return Err(PluginError::invalid("model_open: params or out is NULL"));
            }
            let p = *params;
            check_size(p.struct_size, std::mem::size_of::<ModelParams>(), "ModelParams")?;
            if p.path.is_null() {
                return Err(PluginError::invalid("model_open: path is NULL"));
            }
            let path = CStr::from_ptr(p.path)
                .to_str()
                .map_err(|_| PluginError::invalid("model path is not valid UTF-8"))?;
            let model = M::open(path, &p)?;
            *out = Box::into_raw(Box::new(model)) as *mut PluginModel;
            Ok(())
        })
    }

    /// See [`crate::ModelFreeFn`].
    pub unsafe extern "C" fn model_free<M: BackendModel>(model: *mut PluginModel) {
        free_box(model as *mut M)
    }

    /// See [`crate::ModelInfoFn`].
    pub unsafe extern "C" fn model_info<M: BackendModel>(
        model: *const PluginModel,
        out: *mut ModelInfo,
    ) -> i32 {
        guarded(|| {
            let model = (model as *const M).as_ref().ok_or_else(|| PluginError::invalid("model is NULL"))?;
            if out.is_null() {
                return Err(PluginError::invalid("model_info: out is NULL"));
            }
            *out = model.info();
            Ok(())
        })
    }

    /// See [`crate::TokenizeFn`].
    pub unsafe extern "C" fn tokenize<M: BackendModel>(
        model: *const PluginModel,
        text: *const u8,
        len: usize,
        parse_special: u8,
        out: *mut i32,
        cap: usize,
        n_out: *mut usize,
    ) -> i32 {
        guarded(|| {
            let model = (model as *const M).as_ref().ok_or_else(|| PluginError::invalid("model is NULL"))?;
            if n_out.is_null() {
                return Err(PluginError::invalid("tokenize: n_out is NULL"));
            }
            let bytes = slice(text, len, "tokenize: text")?;
            let text = std::str::from_utf8(bytes)
                .map_err(|e| PluginError::invalid(format!("text is not valid UTF-8: {e}")))?;
            let ids = model.tokenize(text, parse_special != 0)?;
            *n_out = ids.len();
            if ids.len() <= cap {
                if !ids.is_empty() && out.is_null() {
                    return Err(PluginError::invalid("tokenize: out is NULL"));
                }
                std::ptr::copy_nonoverlapping(ids.as_ptr(), out, ids.len());
            }
            Ok(())
        })
    }

    /// See [`crate::ContextNewFn`].
    pub unsafe extern "C" fn context_new<M: BackendModel>(
        model: *const PluginModel,
        params: *const ContextParams,
        out: *mut *mut PluginContext,
    ) -> i32 {
        guarded(|| {
            let model = (model as *const M).as_ref().ok_or_else(|| PluginError::invalid("model is NULL"))?;
            if params.is_null() || out.is_null() {
                return Err(PluginError::invalid("context_new: params or out is NULL"));
            }
            let p = *params;
            check_size(p.struct_size, std::mem::size_of::<ContextParams>(), "ContextParams")?;
            let ctx = model.new_context(&p)?;
            *out = Box::into_raw(Box::new(ctx)) as *mut PluginContext;
            Ok(())
        })
    }

    /// See [`crate::ContextFreeFn`].
    pub unsafe extern "C" fn context_free<M: BackendModel>(ctx: *mut PluginContext) {
        free_box(ctx as *mut M::Context)
    }

    /// See [`crate::EvalFn`].
    pub unsafe extern "C" fn eval<M: BackendModel>(
        ctx: *mut PluginContext,
        batch: *const Batch,
        out: *mut f32,
    ) -> i32 {
        guarded(|| {
            let ctx = (ctx as *mut M::Context).as_mut().ok_or_else(|| PluginError::invalid("context is NULL"))?;
            let b = batch.as_ref().ok_or_else(|| PluginError::invalid("eval: batch is NULL"))?;
            check_size(b.struct_size, std::mem::size_of::<Batch>(), "Batch")?;
            let n = b.n_tokens as usize;
            let view = BatchView {
                tokens: slice(b.tokens, n, "batch.tokens")?,
                positions: slice(b.positions, n, "batch.positions")?,
                seq_ids: slice(b.seq_ids, n, "batch.seq_ids")?,
                output: slice(b.output, n, "batch.output")?,
                candidates: slice(b.candidates, b.n_candidates as usize, "batch.candidates")?,
            };
            let n_out = view.n_outputs() * view.candidates.len();
            let out = if n_out == 0 {
                &mut [][..]
            } else if out.is_null() {
                return Err(PluginError::invalid("eval: output buffer is NULL"));
            } else {
                std::slice::from_raw_parts_mut(out, n_out)
            };
            ctx.eval(&view, out)
        })
    }

    /// See [`crate::SeqCopyFn`].
    pub unsafe extern "C" fn seq_copy<M: BackendModel>(
        ctx: *mut PluginContext,
        src: i32,
        dst: i32,
        p0: i32,
        p1: i32,
    ) -> i32 {
        guarded(|| {
            let ctx = (ctx as *mut M::Context).as_mut().ok_or_else(|| PluginError::invalid("context is NULL"))?;
            ctx.seq_copy(src, dst, p0, p1)
        })
    }

    /// See [`crate::QuantizeFn`].
    pub unsafe extern "C" fn quantize<M: BackendModel>(params: *const QuantizeParams) -> i32 {
        guarded(|| {
            let p = params.as_ref().ok_or_else(|| PluginError::invalid("quantize: params is NULL"))?;
            check_size(p.struct_size, crate::QUANTIZE_PARAMS_V1_1_SIZE, "QuantizeParams")?;
            let text = |ptr: *const c_char, what: &str| -> Result<&str, PluginError> {
                if ptr.is_null() {
                    return Err(PluginError::invalid(format!("quantize: {what} is NULL")));
                }
                CStr::from_ptr(ptr).to_str().map_err(|_| PluginError::invalid(format!("quantize: {what} is not valid UTF-8")))
            };
            // A 1.1 caller's struct ends before the importance matrix.
            let entries = if p.struct_size >= std::mem::size_of::<QuantizeParams>() {
                slice(p.importance, p.n_importance, "quantize: importance")?
            } else {
                &[]
            };
            let mut importance = Vec::with_capacity(entries.len());
            for (i, e) in entries.iter().enumerate() {
                let name = text(e.name, &format!("importance entry {i}'s name"))?;
                let values = slice(e.values, e.n_values, &format!("quantize: importance of {name}"))?;
                if values.is_empty() {
                    return Err(PluginError::invalid(format!("quantize: importance of {name} has no values")));
                }
                if let Some(v) = values.iter().find(|v| !v.is_finite() || **v < 0.0) {
                    return Err(PluginError::invalid(format!("quantize: importance of {name} holds {v}: values must be finite and non-negative")));
                }
                importance.push(Importance { name, values });
            }
            M::quantize(text(p.input, "input")?, text(p.output, "output")?, text(p.kind, "kind")?, p.n_threads, &importance)
        })
    }

    /// See [`crate::SeqRemoveFn`].
    pub unsafe extern "C" fn seq_remove<M: BackendModel>(
        ctx: *mut PluginContext,
        seq: i32,
        p0: i32,
        p1: i32,
    ) -> i32 {
        guarded(|| {
            let ctx = (ctx as *mut M::Context).as_mut().ok_or_else(|| PluginError::invalid("context is NULL"))?;
            ctx.seq_remove(seq, p0, p1)
        })
    }
}

/// Exports a Rust backend as a plugin: defines the `intent_backend_plugin` entry point.
///
/// ```ignore
/// intent_plugin_abi::export_plugin!(MyModel, name: c"my-backend", format: c"gguf",
///     description: c"what it does");
/// ```
#[macro_export]
macro_rules! export_plugin {
    ($model:ty, name: $name:expr, format: $format:expr, description: $desc:expr) => {
        static INTENT_PLUGIN_TABLE: $crate::StaticTable = $crate::StaticTable($crate::PluginTable {
            struct_size: ::std::mem::size_of::<$crate::PluginTable>(),
            abi_major: $crate::ABI_MAJOR,
            abi_minor: $crate::ABI_MINOR,
            name: ($name as &::std::ffi::CStr).as_ptr(),
            version: match ::std::ffi::CStr::from_bytes_with_nul(
                concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
            ) {
                Ok(v) => v.as_ptr(),
                Err(_) => panic!("version"),
            },
            model_format: ($format as &::std::ffi::CStr).as_ptr(),
            description: ($desc as &::std::ffi::CStr).as_ptr(),
            last_error: $crate::glue::last_error,
            probe: $crate::glue::probe::<$model>,
            model_open: $crate::glue::model_open::<$model>,
            model_free: $crate::glue::model_free::<$model>,
            model_info: $crate::glue::model_info::<$model>,
            tokenize: $crate::glue::tokenize::<$model>,
            context_new: $crate::glue::context_new::<$model>,
            context_free: $crate::glue::context_free::<$model>,
            eval: $crate::glue::eval::<$model>,
            seq_copy: $crate::glue::seq_copy::<$model>,
            seq_remove: $crate::glue::seq_remove::<$model>,
            quantize: Some($crate::glue::quantize::<$model>),
        });

        /// The plugin's entry point: returns its constant function table.
        #[no_mangle]
        pub extern "C" fn intent_backend_plugin() -> *const $crate::PluginTable {
            &INTENT_PLUGIN_TABLE.0
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{status, ImportanceEntry, QuantizeParams, QUANTIZE_PARAMS_V1_1_SIZE};
    use std::sync::Mutex;

    /// What the last `quantize` call received: the kind and each importance entry.
    static SEEN: Mutex<Vec<(String, Vec<(String, Vec<f32>)>)>> = Mutex::new(Vec::new());

    /// A backend with only a quantizer, which records what the glue passed it.
    struct Recorder;
    struct NoContext;

    impl BackendContext for NoContext {
        fn eval(&mut self, _: &BatchView<'_>, _: &mut [f32]) -> Result<(), PluginError> {
            Err(PluginError::invalid("unused"))
        }
        fn seq_copy(&mut self, _: i32, _: i32, _: i32, _: i32) -> Result<(), PluginError> {
            Err(PluginError::invalid("unused"))
        }
        fn seq_remove(&mut self, _: i32, _: i32, _: i32) -> Result<(), PluginError> {
            Err(PluginError::invalid("unused"))
        }
    }

    impl BackendModel for Recorder {
        type Context = NoContext;
        fn probe() -> Result<(), PluginError> {
            Ok(())
        }
        fn open(_: &str, _: &crate::ModelParams) -> Result<Self, PluginError> {
            Err(PluginError::invalid("opens no models"))
        }
        fn info(&self) -> crate::ModelInfo {
            unreachable!("no model is ever opened")
        }
        fn tokenize(&self, _: &str, _: bool) -> Result<Vec<i32>, PluginError> {
            Err(PluginError::invalid("unused"))
        }
        fn new_context(&self, _: &crate::ContextParams) -> Result<NoContext, PluginError> {
            Err(PluginError::invalid("unused"))
        }
        fn quantize(_: &str, _: &str, kind: &str, _: i32, importance: &[Importance<'_>]) -> Result<(), PluginError> {
            let entries = importance.iter().map(|i| (i.name.to_string(), i.values.to_vec())).collect();
            SEEN.lock().unwrap().push((kind.to_string(), entries));
            Ok(())
        }
    }

    fn call(struct_size: usize, kind: &CStr, importance: &[ImportanceEntry]) -> i32 {
        let params = QuantizeParams {
            struct_size,
            input: c"in.gguf".as_ptr(),
            output: c"out.gguf".as_ptr(),
            kind: kind.as_ptr(),
            n_threads: 1,
            // A 1.1 caller's struct ends before these: a dangling pointer must not be read then.
            importance: if importance.is_empty() { 8 as *const ImportanceEntry } else { importance.as_ptr() },
            n_importance: if importance.is_empty() { 3 } else { importance.len() },
        };
        // SAFETY: the params and what they point to live across the call.
        unsafe { glue::quantize::<Recorder>(&params) }
    }

    #[test]
    fn quantize_reads_the_importance_matrix_only_from_callers_that_send_it() {
        let values = [1.0f32, 2.0, 0.0];
        let entry = ImportanceEntry { name: c"blk.0.attn_q.weight".as_ptr(), values: values.as_ptr(), n_values: 3 };
        let full = std::mem::size_of::<QuantizeParams>();
        assert_eq!(call(full, c"Q4_K_M", &[entry]), status::OK);
        assert_eq!(call(QUANTIZE_PARAMS_V1_1_SIZE, c"Q5_K_M", &[]), status::OK);
        {
            let seen = SEEN.lock().unwrap();
            assert_eq!(seen[0], ("Q4_K_M".to_string(), vec![("blk.0.attn_q.weight".to_string(), values.to_vec())]));
            assert_eq!(seen[1], ("Q5_K_M".to_string(), vec![]), "a 1.1 caller's struct ends before the matrix");
        }
        assert_ne!(call(QUANTIZE_PARAMS_V1_1_SIZE - 1, c"Q8_0", &[]), status::OK);
        for bad in [[1.0, f32::NAN, 1.0], [1.0, -1.0, 1.0], [f32::INFINITY, 0.0, 0.0]] {
            let entry = ImportanceEntry { name: c"blk.0.ffn_up.weight".as_ptr(), values: bad.as_ptr(), n_values: 3 };
            assert_eq!(call(full, c"Q8_0", &[entry]), status::INVALID_ARGUMENT);
            let message = LAST_ERROR.with(|e| e.borrow().to_string_lossy().into_owned());
            assert!(message.contains("blk.0.ffn_up.weight") && message.contains("finite and non-negative"), "{message}");
        }
        let empty = ImportanceEntry { name: c"blk.0.ffn_up.weight".as_ptr(), values: values.as_ptr(), n_values: 0 };
        assert_eq!(call(full, c"Q8_0", &[empty]), status::INVALID_ARGUMENT);
        assert_eq!(SEEN.lock().unwrap().len(), 2, "refused calls never reach the backend");
    }
}
