//! The stable C API of libintent (`include/intent.h` is generated from this file by cbindgen).
//!
//! Conventions: every fallible function returns an `int32_t` status (`INTENT_STATUS_OK` = 0)
//! and writes its outputs only on success; every pointer is checked; no panic crosses the
//! boundary; whatever the library allocates it frees (`*_free`, `NULL` is a no-op). After a
//! failure, `intent_last_error()` gives this thread's message, and
//! `intent_engine_last_error()` the engine's most recent one.
//!
//! Threads: an `intent_engine` may be used by many threads at once. A result or batch
//! object belongs to the caller that received it; reading it from several threads is safe,
//! freeing it while another thread reads it is not.

#![allow(non_camel_case_types)]
#![deny(missing_docs)]

use intent_core::{Classification, ClassifyOptions, Engine, EngineConfig, Error, IntentEngine, OpenOptions, Status};
use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Mutex;

/// Library version, major part.
pub const INTENT_VERSION_MAJOR: u32 = 0;
/// Library version, minor part.
pub const INTENT_VERSION_MINOR: u32 = 1;
/// Library version, patch part.
pub const INTENT_VERSION_PATCH: u32 = 0;
/// ABI version of this header: a library with another ABI version is not compatible.
/// It is also the SONAME's number (`libintent.so.1`).
pub const INTENT_ABI_VERSION: u32 = 1;

/// Success.
pub const INTENT_STATUS_OK: i32 = 0;
/// A required argument was missing or malformed (NULL pointer, bad struct size, bad option).
pub const INTENT_STATUS_INVALID_ARGUMENT: i32 = 1;
/// Text was not valid UTF-8.
pub const INTENT_STATUS_INVALID_UTF8: i32 = 2;
/// The query was empty or only whitespace.
pub const INTENT_STATUS_EMPTY_QUERY: i32 = 3;
/// The query was longer than the configured limit (and truncation was off).
pub const INTENT_STATUS_QUERY_TOO_LONG: i32 = 4;
/// A label was not in the engine's taxonomy.
pub const INTENT_STATUS_UNKNOWN_LABEL: i32 = 5;
/// The allowed label set was empty.
pub const INTENT_STATUS_EMPTY_LABEL_SET: i32 = 6;
/// A taxonomy could not be read or was malformed.
pub const INTENT_STATUS_INVALID_TAXONOMY: i32 = 7;
/// The model file or directory does not exist.
pub const INTENT_STATUS_MODEL_NOT_FOUND: i32 = 8;
/// The model file is truncated, corrupt or not a model.
pub const INTENT_STATUS_INVALID_MODEL: i32 = 9;
/// The model is valid but of an architecture or format no backend supports.
pub const INTENT_STATUS_UNSUPPORTED_MODEL: i32 = 10;
/// No backend plugin with the requested name (or for this model) was found.
pub const INTENT_STATUS_PLUGIN_NOT_FOUND: i32 = 11;
/// A plugin was built for another plugin ABI major version.
pub const INTENT_STATUS_PLUGIN_ABI_MISMATCH: i32 = 12;
/// A plugin cannot run on this machine (for example: no CUDA device).
pub const INTENT_STATUS_PLUGIN_UNAVAILABLE: i32 = 13;
/// The backend failed while evaluating.
pub const INTENT_STATUS_BACKEND: i32 = 14;
/// Memory could not be allocated, or a request exceeds a configured limit.
pub const INTENT_STATUS_OUT_OF_MEMORY: i32 = 15;
/// An internal error (a caught panic or a broken invariant).
pub const INTENT_STATUS_INTERNAL: i32 = 16;
/// A file could not be read or written.
pub const INTENT_STATUS_IO: i32 = 17;
/// The handle was already closed (used by language bindings).
pub const INTENT_STATUS_CLOSED: i32 = 18;

/// Most queries in one `intent_classify_batch` call.
pub const INTENT_MAX_BATCH_QUERIES: usize = 65536;
/// Most labels in an allowed-label subset.
pub const INTENT_MAX_LABELS: usize = 4096;

/// An engine: a model, a taxonomy and the cached prompt. Thread-safe.
pub struct intent_engine {
    engine: Engine,
    labels: Vec<CString>,
    last_error: Mutex<CString>,
}

/// The answer for one query. Owned by the caller; free with `intent_result_free`.
pub struct intent_result {
    result: Classification,
    intent: CString,
    top_labels: Vec<CString>,
    json: CString,
}

/// The answers for a batch of queries. Owned by the caller; free with `intent_batch_free`.
pub struct intent_batch {
    items: Vec<Result<intent_result, (i32, CString)>>,
}

/// A UTF-8 string given as pointer and length (it need not be NUL-terminated).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct intent_str {
    /// First byte; may be NULL only when `len` is 0.
    pub ptr: *const c_char,
    /// Length in bytes.
    pub len: usize,
}

/// Options for `intent_engine_new`. Fill with `intent_engine_params_init` first.
/// Strings are NUL-terminated UTF-8, borrowed for the duration of the call; NULL means default.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct intent_engine_params {
    /// `sizeof(intent_engine_params)` as the caller knows it (set by the init function).
    pub struct_size: usize,
    /// Backend plugin name, e.g. "gguf-cpu"; NULL picks the first usable one for the model.
    pub backend: *const c_char,
    /// Model file or directory; NULL uses $INTENT_MODEL, then the default model.
    pub model_path: *const c_char,
    /// Built-in taxonomy name ("ecommerce-v1") or taxonomy JSON file; NULL is "ecommerce-v1".
    pub taxonomy: *const c_char,
    /// Plugin file or directory searched before $INTENT_PLUGIN_PATH and the default places.
    pub plugin_path: *const c_char,
    /// CPU threads per evaluation; 0 = all cores.
    pub n_threads: i32,
    /// Labels reported with probabilities (default 3).
    pub top_k: u32,
    /// Best-label probability under which the taxonomy's fallback label is returned (default 0 = off).
    pub threshold: f32,
    /// Longest query in tokens (default 128).
    pub max_query_tokens: u32,
    /// 1: truncate longer queries; 0 (default): refuse them with INTENT_STATUS_QUERY_TOO_LONG.
    pub truncate: u8,
    /// 1: memory-map the weights; 0 (default): read them into memory.
    pub use_mmap: u8,
    /// Queries evaluated together in one backend call (default 8).
    pub max_batch: u32,
    /// Contexts evaluated in parallel by concurrent callers (default 1).
    pub max_parallel: u32,
    /// GPU device index for GPU backends (default 0).
    pub device: i32,
}

/// Per-call options for `intent_classify` and `intent_classify_batch`. Fill with
/// `intent_classify_params_init` first; passing NULL means all defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct intent_classify_params {
    /// `sizeof(intent_classify_params)` as the caller knows it.
    pub struct_size: usize,
    /// Allowed labels (NULL with `n_labels` 0: all labels of the taxonomy).
    pub labels: *const intent_str,
    /// Number of allowed labels.
    pub n_labels: usize,
    /// Labels reported with probabilities; 0 = the engine's setting.
    pub top_k: u32,
    /// Fallback threshold; negative = the engine's setting.
    pub threshold: f32,
}

/// Where the time of one classification went, in microseconds.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct intent_timings {
    /// `sizeof(intent_timings)` as the caller knows it.
    pub struct_size: usize,
    /// Tokenizing the query.
    pub tokenize_us: u64,
    /// Waiting for a free context.
    pub queue_us: u64,
    /// Backend evaluation of the batch this query was part of.
    pub eval_us: u64,
    /// Whole call.
    pub total_us: u64,
    /// Queries evaluated together with this one.
    pub batch_size: u32,
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', "\u{FFFD}")).unwrap_or_default()
}

fn record(engine: Option<&intent_engine>, e: &Error) -> i32 {
    let text = c_string(&e.message);
    if let Some(engine) = engine {
        if let Ok(mut slot) = engine.last_error.lock() {
            *slot = text.clone();
        }
    }
    LAST_ERROR.with(|slot| *slot.borrow_mut() = text);
    e.status.code()
}

fn err(status: Status, message: impl Into<String>) -> Error {
    Error::new(status, message)
}

/// Runs `f` under `catch_unwind`; records errors for the thread (and the engine).
fn guard(engine: Option<&intent_engine>, f: impl FnOnce() -> Result<(), Error>) -> i32 {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => INTENT_STATUS_OK,
        Ok(Err(e)) => record(engine, &e),
        Err(_) => record(engine, &err(Status::Internal, "internal error: a panic was caught inside libintent")),
    }
}

/// # Safety
/// `p` is NULL or a NUL-terminated string.
unsafe fn opt_cstr(p: *const c_char, what: &str) -> Result<Option<String>, Error> {
    if p.is_null() {
        return Ok(None);
    }
    let s = CStr::from_ptr(p).to_str().map_err(|_| err(Status::InvalidUtf8, format!("{what} is not valid UTF-8")))?;
    Ok(Some(s.to_string()))
}

/// # Safety
/// `ptr` is NULL or points to `len` readable bytes.
unsafe fn str_arg<'a>(ptr: *const c_char, len: usize, what: &str) -> Result<&'a str, Error> {
    if ptr.is_null() {
        if len == 0 {
            return Ok("");
        }
        return Err(err(Status::InvalidArgument, format!("{what} is NULL")));
    }
    if len > isize::MAX as usize {
        return Err(err(Status::InvalidArgument, format!("{what} length {len} is impossible")));
    }
    let bytes = std::slice::from_raw_parts(ptr as *const u8, len);
    std::str::from_utf8(bytes)
        .map_err(|e| err(Status::InvalidUtf8, format!("{what} is not valid UTF-8 (invalid byte at offset {})", e.valid_up_to())))
}

fn check_size(size: usize, need: usize, what: &str) -> Result<(), Error> {
    if size < need {
        return Err(err(Status::InvalidArgument, format!("{what}.struct_size is {size}; at least {need} expected (call the init function)")));
    }
    Ok(())
}

/// Drops an object this library boxed; NULL is a no-op and a panicking destructor is contained.
///
/// # Safety
/// `p` is NULL or came from `Box::into_raw` in this library and is freed once.
unsafe fn free_box<T>(p: *mut T) {
    if !p.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(p))));
    }
}

/// Size of the part of `intent_engine_params` that ABI 1.0 defines: frozen, so that callers
/// built against this header keep working when fields are appended.
const ENGINE_PARAMS_V1: usize = std::mem::offset_of!(intent_engine_params, device) + std::mem::size_of::<i32>();
/// Size of the part of `intent_classify_params` that ABI 1.0 defines (frozen likewise).
const CLASSIFY_PARAMS_V1: usize = std::mem::offset_of!(intent_classify_params, threshold) + std::mem::size_of::<f32>();

/// The caller's struct over our defaults: only its first `struct_size` bytes are read, so a
/// caller built against an older header is not read past the end of its struct.
unsafe fn read_prefix<T: Copy>(src: *const T, struct_size: usize, defaults: T) -> T {
    let mut out = defaults;
    let n = struct_size.min(std::mem::size_of::<T>());
    std::ptr::copy_nonoverlapping(src as *const u8, &mut out as *mut T as *mut u8, n);
    out
}

fn default_engine_params() -> intent_engine_params {
    let d = EngineConfig::default();
    intent_engine_params {
        struct_size: std::mem::size_of::<intent_engine_params>(),
        backend: std::ptr::null(),
        model_path: std::ptr::null(),
        taxonomy: std::ptr::null(),
        plugin_path: std::ptr::null(),
        n_threads: d.threads,
        top_k: d.top_k as u32,
        threshold: d.threshold,
        max_query_tokens: d.max_query_tokens as u32,
        truncate: u8::from(d.truncate),
        use_mmap: 0,
        max_batch: d.max_batch as u32,
        max_parallel: d.max_parallel as u32,
        device: 0,
    }
}

/// Copies the first `size` bytes of `src` over `dst`: an old caller's smaller struct gets
/// only the fields it knows.
unsafe fn write_prefix<T>(dst: *mut T, src: &T, size: usize) {
    let n = size.min(std::mem::size_of::<T>());
    std::ptr::copy_nonoverlapping(src as *const T as *const u8, dst as *mut u8, n);
}

/// Fills `params` with defaults. `struct_size` is the caller's `sizeof(intent_engine_params)`;
/// only that many bytes are written, and `params->struct_size` is set to it.
///
/// # Safety
/// `params` is NULL or points to `struct_size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn intent_engine_params_init(params: *mut intent_engine_params, struct_size: usize) -> i32 {
    guard(None, || {
        if params.is_null() {
            return Err(err(Status::InvalidArgument, "params is NULL"));
        }
        check_size(struct_size, std::mem::size_of::<usize>(), "intent_engine_params")?;
        let mut d = default_engine_params();
        d.struct_size = struct_size;
        write_prefix(params, &d, struct_size);
        Ok(())
    })
}

/// Fills `params` with defaults (all labels, engine's top_k and threshold).
///
/// # Safety
/// `params` is NULL or points to `struct_size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn intent_classify_params_init(params: *mut intent_classify_params, struct_size: usize) -> i32 {
    guard(None, || {
        if params.is_null() {
            return Err(err(Status::InvalidArgument, "params is NULL"));
        }
        check_size(struct_size, std::mem::size_of::<usize>(), "intent_classify_params")?;
        let d = intent_classify_params { struct_size, labels: std::ptr::null(), n_labels: 0, top_k: 0, threshold: -1.0 };
        write_prefix(params, &d, struct_size);
        Ok(())
    })
}

/// Opens an engine: loads the model with the chosen backend plugin, reads the taxonomy,
/// and evaluates the fixed prompt once. On success `*out` owns the engine
/// (free with `intent_engine_free`); on failure `*out` is untouched.
///
/// # Safety
/// `params` is NULL (all defaults) or an initialised params struct; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn intent_engine_new(params: *const intent_engine_params, out: *mut *mut intent_engine) -> i32 {
    guard(None, || {
        if out.is_null() {
            return Err(err(Status::InvalidArgument, "out is NULL"));
        }
        let mut p = default_engine_params();
        if !params.is_null() {
            let size = (*params).struct_size;
            check_size(size, ENGINE_PARAMS_V1, "intent_engine_params")?;
            p = read_prefix(params, size, p);
        }
        let config = EngineConfig {
            threads: p.n_threads,
            top_k: p.top_k as usize,
            threshold: p.threshold,
            max_query_tokens: p.max_query_tokens as usize,
            truncate: p.truncate != 0,
            max_batch: p.max_batch as usize,
            max_parallel: p.max_parallel as usize,
            ..EngineConfig::default()
        };
        let options = OpenOptions {
            backend: opt_cstr(p.backend, "backend")?,
            model: opt_cstr(p.model_path, "model_path")?.map(PathBuf::from),
            taxonomy: opt_cstr(p.taxonomy, "taxonomy")?,
            plugin_path: opt_cstr(p.plugin_path, "plugin_path")?.map(PathBuf::from),
            use_mmap: p.use_mmap != 0,
            device: p.device,
            config,
        };
        let engine = intent_core::open(&options)?;
        let labels = engine.taxonomy().labels().map(c_string).collect();
        let handle = Box::new(intent_engine { engine, labels, last_error: Mutex::new(CString::default()) });
        *out = Box::into_raw(handle);
        Ok(())
    })
}

/// Frees an engine. NULL is a no-op. No other thread may be using it.
///
/// # Safety
/// `engine` is NULL or a live engine from `intent_engine_new`, freed once.
#[no_mangle]
pub unsafe extern "C" fn intent_engine_free(engine: *mut intent_engine) {
    free_box(engine)
}

/// Number of labels in the engine's taxonomy (0 for NULL).
///
/// # Safety
/// `engine` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn intent_engine_label_count(engine: *const intent_engine) -> usize {
    engine.as_ref().map_or(0, |e| e.labels.len())
}

/// Label `index` of the taxonomy, NUL-terminated, valid as long as the engine; NULL when
/// out of range.
///
/// # Safety
/// `engine` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn intent_engine_label(engine: *const intent_engine, index: usize) -> *const c_char {
    engine.as_ref().and_then(|e| e.labels.get(index)).map_or(std::ptr::null(), |l| l.as_ptr())
}

/// Copies the engine's most recent error message into `buf` (NUL-terminated, truncated to
/// `cap`), and its full length (without NUL) into `*len` if `len` is not NULL.
///
/// # Safety
/// `engine` is NULL (an error) or live; `buf` is NULL (with `cap` 0) or has `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn intent_engine_last_error(engine: *const intent_engine, buf: *mut c_char, cap: usize, len: *mut usize) -> i32 {
    guard(None, || {
        let e = engine.as_ref().ok_or_else(|| err(Status::InvalidArgument, "engine is NULL"))?;
        let text = e.last_error.lock().map(|t| t.clone()).unwrap_or_default();
        let bytes = text.as_bytes();
        if !len.is_null() {
            *len = bytes.len();
        }
        if cap > 0 {
            if buf.is_null() {
                return Err(err(Status::InvalidArgument, "buf is NULL"));
            }
            let n = bytes.len().min(cap - 1);
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf as *mut u8, n);
            *buf.add(n) = 0;
        }
        Ok(())
    })
}

/// The message of this thread's most recent failure (empty before the first one; a
/// successful call does not clear it, so read it right after a failing call). Valid until
/// this thread's next libintent call. Never NULL.
#[no_mangle]
pub extern "C" fn intent_last_error() -> *const c_char {
    LAST_ERROR.with(|slot| slot.borrow().as_ptr())
}

/// Static text for a status code (never NULL; "unknown status" for unknown codes).
#[no_mangle]
pub extern "C" fn intent_status_str(status: i32) -> *const c_char {
    static TEXTS: std::sync::OnceLock<Vec<CString>> = std::sync::OnceLock::new();
    static UNKNOWN: &CStr = c"unknown status";
    let texts = TEXTS.get_or_init(|| Status::ALL.iter().map(|s| c_string(s.as_str())).collect());
    usize::try_from(status).ok().and_then(|i| texts.get(i)).map_or(UNKNOWN.as_ptr(), |t| t.as_ptr())
}

/// The library version, "MAJOR.MINOR.PATCH" (static).
#[no_mangle]
pub extern "C" fn intent_version() -> *const c_char {
    static VERSION: &CStr = c"0.1.0";
    VERSION.as_ptr()
}

/// The library's ABI version; compare with `INTENT_ABI_VERSION` from the header.
#[no_mangle]
pub extern "C" fn intent_abi_version() -> u32 {
    INTENT_ABI_VERSION
}

unsafe fn classify_options(params: *const intent_classify_params) -> Result<ClassifyOptions, Error> {
    if params.is_null() {
        return Ok(ClassifyOptions::default());
    }
    let size = (*params).struct_size;
    check_size(size, CLASSIFY_PARAMS_V1, "intent_classify_params")?;
    let defaults = intent_classify_params { struct_size: size, labels: std::ptr::null(), n_labels: 0, top_k: 0, threshold: -1.0 };
    let p = read_prefix(params, size, defaults);
    let labels = if p.labels.is_null() {
        if p.n_labels != 0 {
            return Err(err(Status::InvalidArgument, "labels is NULL but n_labels is not 0"));
        }
        None
    } else {
        if p.n_labels == 0 {
            return Err(err(Status::EmptyLabelSet, "the allowed label set is empty (n_labels is 0)"));
        }
        if p.n_labels > INTENT_MAX_LABELS {
            return Err(err(Status::InvalidArgument, format!("{} labels given, the limit is {INTENT_MAX_LABELS}", p.n_labels)));
        }
        let items = std::slice::from_raw_parts(p.labels, p.n_labels);
        let mut out = Vec::with_capacity(items.len());
        for (i, s) in items.iter().enumerate() {
            out.push(str_arg(s.ptr, s.len, &format!("label {i}"))?.to_string());
        }
        Some(out)
    };
    if p.threshold.is_nan() {
        return Err(err(Status::InvalidArgument, "threshold is NaN (use a negative value for the engine's setting)"));
    }
    Ok(ClassifyOptions {
        labels,
        top_k: (p.top_k > 0).then_some(p.top_k as usize),
        threshold: (p.threshold >= 0.0).then_some(p.threshold),
    })
}

fn make_result(result: Classification) -> intent_result {
    let json = c_string(&serde_json::to_string(&result).unwrap_or_default());
    intent_result {
        intent: c_string(&result.intent),
        top_labels: result.top.iter().map(|s| c_string(&s.label)).collect(),
        json,
        result,
    }
}

/// Classifies one query (`text`, `len` bytes of UTF-8; NULL with `len` 0 is the empty
/// query). `params` may be NULL. On success
/// `*out` owns the result (free with `intent_result_free`).
///
/// # Safety
/// `engine` is live; `text` has `len` readable bytes; `params` is NULL or initialised;
/// `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn intent_classify(
    engine: *const intent_engine,
    text: *const c_char,
    len: usize,
    params: *const intent_classify_params,
    out: *mut *mut intent_result,
) -> i32 {
    let handle = engine.as_ref();
    guard(handle, || {
        let e = handle.ok_or_else(|| err(Status::InvalidArgument, "engine is NULL"))?;
        if out.is_null() {
            return Err(err(Status::InvalidArgument, "out is NULL"));
        }
        let text = str_arg(text, len, "query")?;
        let options = classify_options(params)?;
        let r = e.engine.classify(text, &options)?;
        *out = Box::into_raw(Box::new(make_result(r)));
        Ok(())
    })
}

/// Classifies `n` queries together. Options that are wrong for every query (an unknown or
/// empty label set, a bad top-k or threshold) fail the whole call with their status.
/// Otherwise it returns `INTENT_STATUS_OK` and each query has its own status
/// (`intent_batch_status`): a bad query (NULL with a length, invalid UTF-8, empty, too
/// long) is reported and the others are still answered. On success `*out` owns the batch
/// (`intent_batch_free`).
///
/// # Safety
/// `engine` is live; `texts` has `n` entries; `params` is NULL or initialised; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn intent_classify_batch(
    engine: *const intent_engine,
    texts: *const intent_str,
    n: usize,
    params: *const intent_classify_params,
    out: *mut *mut intent_batch,
) -> i32 {
    let handle = engine.as_ref();
    guard(handle, || {
        let e = handle.ok_or_else(|| err(Status::InvalidArgument, "engine is NULL"))?;
        if out.is_null() {
            return Err(err(Status::InvalidArgument, "out is NULL"));
        }
        if n > INTENT_MAX_BATCH_QUERIES {
            return Err(err(Status::InvalidArgument, format!("{n} queries in one batch, the limit is {INTENT_MAX_BATCH_QUERIES}")));
        }
        if texts.is_null() && n > 0 {
            return Err(err(Status::InvalidArgument, "texts is NULL"));
        }
        let options = classify_options(params)?;
        e.engine.check_options(&options)?;
        let items = if n == 0 { &[][..] } else { std::slice::from_raw_parts(texts, n) };
        let decoded: Vec<Result<&str, Error>> = items
            .iter()
            .enumerate()
            .map(|(i, s)| str_arg(s.ptr, s.len, &format!("query {i}")))
            .collect();
        let valid: Vec<&str> = decoded.iter().filter_map(|d| d.as_ref().ok().copied()).collect();
        let mut answers = e.engine.classify_batch(&valid, &options).into_iter();
        let items = decoded
            .into_iter()
            .map(|d| {
                let r = match d {
                    Ok(_) => answers.next().unwrap_or_else(|| Err(err(Status::Internal, "missing answer"))),
                    Err(e) => Err(e),
                };
                r.map(make_result).map_err(|e| (e.status.code(), c_string(&e.message)))
            })
            .collect();
        *out = Box::into_raw(Box::new(intent_batch { items }));
        Ok(())
    })
}

/// The chosen intent, NUL-terminated, valid until the result is freed (NULL for NULL).
///
/// # Safety
/// `result` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn intent_result_intent(result: *const intent_result) -> *const c_char {
    result.as_ref().map_or(std::ptr::null(), |r| r.intent.as_ptr())
}

/// Probability of the most probable allowed label (NaN for NULL).
///
/// # Safety
/// `result` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn intent_result_confidence(result: *const intent_result) -> f32 {
    result.as_ref().map_or(f32::NAN, |r| r.result.confidence)
}

/// 1 when the intent is the taxonomy's fallback label chosen because the best probability
/// was under the threshold, else 0.
///
/// # Safety
/// `result` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn intent_result_is_fallback(result: *const intent_result) -> u8 {
    result.as_ref().map_or(0, |r| u8::from(r.result.fallback))
}

/// Number of tokens of the query as evaluated (after truncation, if any); 0 for NULL.
///
/// # Safety
/// `result` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn intent_result_query_tokens(result: *const intent_result) -> usize {
    result.as_ref().map_or(0, |r| r.result.query_tokens)
}

/// 1 when the query was cut to the engine's length limit (`truncate` set), else 0.
///
/// # Safety
/// `result` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn intent_result_is_truncated(result: *const intent_result) -> u8 {
    result.as_ref().map_or(0, |r| u8::from(r.result.truncated))
}

/// Number of labels in the result's top list.
///
/// # Safety
/// `result` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn intent_result_top_count(result: *const intent_result) -> usize {
    result.as_ref().map_or(0, |r| r.top_labels.len())
}

/// Entry `index` of the top list (best first): its label (valid until the result is
/// freed) and probability.
///
/// # Safety
/// `result` is NULL or live; `label` and `probability` are writable.
#[no_mangle]
pub unsafe extern "C" fn intent_result_top(result: *const intent_result, index: usize, label: *mut *const c_char, probability: *mut f32) -> i32 {
    guard(None, || {
        let r = result.as_ref().ok_or_else(|| err(Status::InvalidArgument, "result is NULL"))?;
        if label.is_null() || probability.is_null() {
            return Err(err(Status::InvalidArgument, "label or probability is NULL"));
        }
        let l = r.top_labels.get(index).ok_or_else(|| err(Status::InvalidArgument, format!("index {index} is outside the top list of {}", r.top_labels.len())))?;
        *label = l.as_ptr();
        *probability = r.result.top[index].probability;
        Ok(())
    })
}

/// Copies the result's timings into `*out`, whose `struct_size` the caller sets.
///
/// # Safety
/// `result` is NULL or live; `out` is NULL or has `out->struct_size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn intent_result_timings(result: *const intent_result, out: *mut intent_timings) -> i32 {
    guard(None, || {
        let r = result.as_ref().ok_or_else(|| err(Status::InvalidArgument, "result is NULL"))?;
        let size = out.as_ref().ok_or_else(|| err(Status::InvalidArgument, "out is NULL"))?.struct_size;
        check_size(size, std::mem::size_of::<usize>(), "intent_timings")?;
        let t = r.result.timings;
        let full = intent_timings {
            struct_size: size,
            tokenize_us: t.tokenize_us,
            queue_us: t.queue_us,
            eval_us: t.eval_us,
            total_us: t.total_us,
            batch_size: t.batch_size,
        };
        write_prefix(out, &full, size);
        Ok(())
    })
}

/// The whole result as a JSON object (NUL-terminated, valid until the result is freed).
///
/// # Safety
/// `result` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn intent_result_json(result: *const intent_result) -> *const c_char {
    result.as_ref().map_or(std::ptr::null(), |r| r.json.as_ptr())
}

/// Frees a result. NULL is a no-op.
///
/// # Safety
/// `result` is NULL or a result from `intent_classify`, freed once.
#[no_mangle]
pub unsafe extern "C" fn intent_result_free(result: *mut intent_result) {
    free_box(result)
}

/// Number of queries in the batch.
///
/// # Safety
/// `batch` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn intent_batch_count(batch: *const intent_batch) -> usize {
    batch.as_ref().map_or(0, |b| b.items.len())
}

/// Status of query `index`. For an `index` out of range, or a NULL batch, it is
/// `INTENT_STATUS_INVALID_ARGUMENT` (check `intent_batch_count` first to tell them apart).
///
/// # Safety
/// `batch` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn intent_batch_status(batch: *const intent_batch, index: usize) -> i32 {
    match batch.as_ref().and_then(|b| b.items.get(index)) {
        Some(Ok(_)) => INTENT_STATUS_OK,
        Some(Err((code, _))) => *code,
        None => INTENT_STATUS_INVALID_ARGUMENT,
    }
}

/// Result of query `index`, borrowed from the batch (do not free it); NULL when that query
/// failed or `index` is out of range.
///
/// # Safety
/// `batch` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn intent_batch_result(batch: *const intent_batch, index: usize) -> *const intent_result {
    match batch.as_ref().and_then(|b| b.items.get(index)) {
        Some(Ok(r)) => r,
        _ => std::ptr::null(),
    }
}

/// Error message of query `index`, borrowed from the batch; NULL when it succeeded.
///
/// # Safety
/// `batch` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn intent_batch_error(batch: *const intent_batch, index: usize) -> *const c_char {
    match batch.as_ref().and_then(|b| b.items.get(index)) {
        Some(Err((_, m))) => m.as_ptr(),
        _ => std::ptr::null(),
    }
}

/// Frees a batch and every result in it. NULL is a no-op.
///
/// # Safety
/// `batch` is NULL or a batch from `intent_classify_batch`, freed once.
#[no_mangle]
pub unsafe extern "C" fn intent_batch_free(batch: *mut intent_batch) {
    free_box(batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_constants_match_the_core_codes() {
        let ours = [
            INTENT_STATUS_OK,
            INTENT_STATUS_INVALID_ARGUMENT,
            INTENT_STATUS_INVALID_UTF8,
            INTENT_STATUS_EMPTY_QUERY,
            INTENT_STATUS_QUERY_TOO_LONG,
            INTENT_STATUS_UNKNOWN_LABEL,
            INTENT_STATUS_EMPTY_LABEL_SET,
            INTENT_STATUS_INVALID_TAXONOMY,
            INTENT_STATUS_MODEL_NOT_FOUND,
            INTENT_STATUS_INVALID_MODEL,
            INTENT_STATUS_UNSUPPORTED_MODEL,
            INTENT_STATUS_PLUGIN_NOT_FOUND,
            INTENT_STATUS_PLUGIN_ABI_MISMATCH,
            INTENT_STATUS_PLUGIN_UNAVAILABLE,
            INTENT_STATUS_BACKEND,
            INTENT_STATUS_OUT_OF_MEMORY,
            INTENT_STATUS_INTERNAL,
            INTENT_STATUS_IO,
            INTENT_STATUS_CLOSED,
        ];
        assert_eq!(ours.len(), Status::ALL.len());
        for (c, s) in ours.iter().zip(Status::ALL) {
            assert_eq!(*c, s.code());
            let text = unsafe { CStr::from_ptr(intent_status_str(*c)) }.to_str().unwrap();
            assert_eq!(text, s.as_str());
        }
        assert_eq!(unsafe { CStr::from_ptr(intent_status_str(99)) }.to_str().unwrap(), "unknown status");
    }

    #[test]
    fn version_functions_agree_with_the_constants() {
        let v = unsafe { CStr::from_ptr(intent_version()) }.to_str().unwrap();
        assert_eq!(v, format!("{INTENT_VERSION_MAJOR}.{INTENT_VERSION_MINOR}.{INTENT_VERSION_PATCH}"));
        assert_eq!(v, env!("CARGO_PKG_VERSION"));
        assert_eq!(intent_abi_version(), INTENT_ABI_VERSION);
    }
}
