//! The C API's classification entry points with arbitrary bytes as queries, labels and
//! options, on the real engine: the default model through the real gguf-cpu plugin
//! (build both with scripts/build.sh first; INTENT_FUZZ_MODEL overrides the model).
//!
//! Properties checked on every call: the status is a known code; a result exists exactly
//! on success; a failure leaves a message; an answer is an allowed label (or the fallback
//! when the threshold applies), its confidence and top list are probabilities in order;
//! its JSON parses and agrees; a batch has one status per query and answers each good one.
#![no_main]

use arbitrary::Arbitrary;
use intent::*;
use libfuzzer_sys::fuzz_target;
use std::ffi::{CStr, CString};
use std::sync::OnceLock;

struct Shared(*mut intent_engine);
// SAFETY: an intent_engine is thread-safe (C API contract).
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn engine() -> &'static intent_engine {
    static ENGINE: OnceLock<Shared> = OnceLock::new();
    let shared = ENGINE.get_or_init(|| {
        let model = std::env::var("INTENT_FUZZ_MODEL")
            .unwrap_or_else(|_| format!("{ROOT}/models/{}", intent_core::open::DEFAULT_MODEL_FILE));
        let model = CString::new(model).unwrap();
        let plugins = CString::new(format!("{ROOT}/target/release")).unwrap();
        let mut p = std::mem::MaybeUninit::<intent_engine_params>::zeroed();
        // SAFETY: a writable params struct of the size passed.
        let mut p = unsafe {
            assert_eq!(intent_engine_params_init(p.as_mut_ptr(), std::mem::size_of::<intent_engine_params>()), INTENT_STATUS_OK);
            p.assume_init()
        };
        p.model_path = model.as_ptr();
        p.plugin_path = plugins.as_ptr();
        p.n_threads = 1;
        p.max_query_tokens = 24;
        let mut e = std::ptr::null_mut();
        // SAFETY: valid params and out pointer.
        let st = unsafe { intent_engine_new(&p, &mut e) };
        // SAFETY: intent_last_error never returns NULL.
        assert_eq!(st, INTENT_STATUS_OK, "engine: {}", unsafe { CStr::from_ptr(intent_last_error()) }.to_string_lossy());
        Shared(e)
    });
    // SAFETY: the engine lives for the whole process.
    unsafe { &*shared.0 }
}

#[derive(Arbitrary, Debug)]
enum Label {
    /// A label of the taxonomy, by index (modulo the label count).
    Known(u8),
    /// Arbitrary bytes.
    Raw(Vec<u8>),
    /// A NULL pointer with a length.
    Null(u8),
}

#[derive(Arbitrary, Debug)]
struct Options {
    labels: Option<Vec<Label>>,
    top_k: u32,
    threshold: f32,
    /// The struct_size the caller claims (modulo the real size + 1).
    struct_size: u8,
}

#[derive(Arbitrary, Debug)]
enum Call {
    Single { query: Vec<u8>, null: bool, options: Option<Options> },
    Batch { queries: Vec<(Vec<u8>, bool)>, options: Option<Options> },
}

fn label_name(e: &intent_engine, i: usize) -> String {
    // SAFETY: `i` is in range, the engine is live.
    unsafe { CStr::from_ptr(intent_engine_label(e, i)) }.to_str().unwrap().to_string()
}

/// The options struct and the storage it points into.
struct Built {
    params: intent_classify_params,
    _labels: Vec<Vec<u8>>,
    _strs: Vec<intent_str>,
    /// Allowed label names when every label is a known one; None for all labels.
    allowed: Option<Vec<String>>,
}

fn build(e: &intent_engine, o: &Options) -> Built {
    // SAFETY: the engine is live.
    let n = unsafe { intent_engine_label_count(e) };
    let mut labels: Vec<Vec<u8>> = Vec::new();
    let mut nulls = Vec::new();
    let mut allowed = Some(Vec::new());
    for l in o.labels.iter().flatten().take(64) {
        match l {
            Label::Known(i) => {
                let name = label_name(e, usize::from(*i) % n);
                allowed.as_mut().map(|a| a.push(name.clone()));
                labels.push(name.into_bytes());
                nulls.push(None);
            }
            Label::Raw(b) => {
                allowed = None;
                labels.push(b.clone());
                nulls.push(None);
            }
            Label::Null(len) => {
                allowed = None;
                labels.push(Vec::new());
                nulls.push(Some(usize::from(*len)));
            }
        }
    }
    let strs: Vec<intent_str> = labels
        .iter()
        .zip(&nulls)
        .map(|(b, null)| match null {
            Some(len) => intent_str { ptr: std::ptr::null(), len: *len },
            None => intent_str { ptr: b.as_ptr().cast(), len: b.len() },
        })
        .collect();
    let full = std::mem::size_of::<intent_classify_params>();
    let params = intent_classify_params {
        struct_size: usize::from(o.struct_size) % (full + 1),
        labels: if o.labels.is_some() { strs.as_ptr() } else { std::ptr::null() },
        n_labels: if o.labels.is_some() { strs.len() } else { 0 },
        top_k: o.top_k,
        threshold: o.threshold,
    };
    let allowed = if o.labels.is_some() { allowed } else { None };
    Built { params, _labels: labels, _strs: strs, allowed }
}

/// The top-k a successful call used: the options' own, else the engine's (3).
fn top_k(options: &Option<Options>) -> usize {
    options.as_ref().filter(|o| o.top_k > 0).map_or(3, |o| o.top_k as usize)
}

fn check_status(st: i32) {
    assert!((0..=18).contains(&st), "unknown status {st}");
}

fn check_failure(st: i32) {
    check_status(st);
    assert_ne!(st, INTENT_STATUS_INTERNAL, "internal error: {}", last_error());
    assert!(!last_error().is_empty(), "status {st} without a message");
}

fn last_error() -> String {
    // SAFETY: never NULL, valid until the next call on this thread.
    unsafe { CStr::from_ptr(intent_last_error()) }.to_string_lossy().into_owned()
}

/// Checks one answer against the labels it was allowed to take.
fn check_result(e: &intent_engine, r: *const intent_result, allowed: Option<&[String]>, top_k: usize) {
    // SAFETY: `r` is a live result.
    unsafe {
        let intent = CStr::from_ptr(intent_result_intent(r)).to_str().unwrap().to_string();
        let n = intent_engine_label_count(e);
        let all: Vec<String> = (0..n).map(|i| label_name(e, i)).collect();
        assert!(all.contains(&intent), "answer {intent} is a taxonomy label");
        if intent_result_is_fallback(r) == 0 {
            if let Some(a) = allowed {
                assert!(a.contains(&intent), "answer {intent} is one of the allowed {a:?}");
            }
        }
        let c = intent_result_confidence(r);
        assert!((0.0..=1.0).contains(&c), "confidence {c}");
        let count = intent_result_top_count(r);
        let allowed_n = allowed.map_or(n, |a| a.iter().collect::<std::collections::BTreeSet<_>>().len());
        assert!(count >= 1 && count <= top_k.min(allowed_n), "top count {count} for top_k {top_k}, {allowed_n} labels");
        let (mut sum, mut prev) = (0.0f32, 2.0f32);
        for i in 0..count {
            let mut label = std::ptr::null();
            let mut p = 0.0f32;
            assert_eq!(intent_result_top(r, i, &mut label, &mut p), INTENT_STATUS_OK);
            assert!(p <= prev + 1e-6 && p >= 0.0, "top list in order");
            prev = p;
            sum += p;
            let label = CStr::from_ptr(label).to_str().unwrap();
            if let Some(a) = allowed {
                assert!(a.iter().any(|x| x == label), "top label {label} allowed");
            }
        }
        assert!(sum <= 1.0 + 1e-3, "top probabilities sum to {sum}");
        assert_ne!(intent_result_top(r, count, &mut std::ptr::null(), &mut 0.0), INTENT_STATUS_OK);
        let json: serde_json::Value = serde_json::from_str(CStr::from_ptr(intent_result_json(r)).to_str().unwrap()).unwrap();
        assert_eq!(json["intent"], intent.as_str());
    }
}

fuzz_target!(|call: Call| {
    let e = engine();
    match call {
        Call::Single { query, null, options } => {
            let built = options.as_ref().map(|o| build(e, o));
            let params = built.as_ref().map_or(std::ptr::null(), |b| &b.params as *const _);
            let ptr = if null { std::ptr::null() } else { query.as_ptr().cast() };
            let mut out: *mut intent_result = std::ptr::null_mut();
            // SAFETY: `query` has `query.len()` bytes; params and out are valid.
            let st = unsafe { intent_classify(e, ptr, query.len(), params, &mut out) };
            check_status(st);
            if st == INTENT_STATUS_OK {
                assert!(!out.is_null());
                check_result(e, out, built.as_ref().and_then(|b| b.allowed.as_deref()), top_k(&options));
                // SAFETY: a live result, freed once.
                unsafe { intent_result_free(out) };
            } else {
                assert!(out.is_null(), "no result on failure");
                check_failure(st);
            }
        }
        Call::Batch { queries, options } => {
            let queries: Vec<(Vec<u8>, bool)> = queries.into_iter().take(8).collect();
            let strs: Vec<intent_str> = queries
                .iter()
                .map(|(q, null)| intent_str { ptr: if *null { std::ptr::null() } else { q.as_ptr().cast() }, len: q.len() })
                .collect();
            let built = options.as_ref().map(|o| build(e, o));
            let params = built.as_ref().map_or(std::ptr::null(), |b| &b.params as *const _);
            let mut out: *mut intent_batch = std::ptr::null_mut();
            // SAFETY: `strs` has `strs.len()` entries pointing into `queries`.
            let st = unsafe { intent_classify_batch(e, strs.as_ptr(), strs.len(), params, &mut out) };
            check_status(st);
            if st != INTENT_STATUS_OK {
                assert!(out.is_null());
                check_failure(st);
                return;
            }
            // SAFETY: a live batch, freed once at the end.
            unsafe {
                assert_eq!(intent_batch_count(out), strs.len());
                for i in 0..strs.len() {
                    let s = intent_batch_status(out, i);
                    check_status(s);
                    let r = intent_batch_result(out, i);
                    let m = intent_batch_error(out, i);
                    assert_eq!(s == INTENT_STATUS_OK, !r.is_null(), "item {i}: a result exactly on success");
                    assert_eq!(s == INTENT_STATUS_OK, m.is_null(), "item {i}: a message exactly on failure");
                    if s == INTENT_STATUS_OK {
                        check_result(e, r, built.as_ref().and_then(|b| b.allowed.as_deref()), top_k(&options));
                    } else {
                        assert_ne!(s, INTENT_STATUS_INTERNAL, "item {i}: {}", CStr::from_ptr(m).to_string_lossy());
                    }
                }
                assert_eq!(intent_batch_status(out, strs.len()), INTENT_STATUS_INVALID_ARGUMENT);
                assert!(intent_batch_result(out, strs.len()).is_null());
                intent_batch_free(out);
            }
        }
    }
});
