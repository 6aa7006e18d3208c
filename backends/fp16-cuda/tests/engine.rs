//! The fp16-cuda plugin through the real engine, on candle's CPU device (device -1, F32):
//! the model code CI can run without a GPU. It must agree with llama.cpp (gguf-cpu) on the
//! same fine-tuned model, tokenize exactly as llama.cpp does, and refuse bad models and
//! devices with messages that name the problem.
//! Needs the prepared models (scripts/build.sh): the HF directory and the F16 GGUF.

use intent_core::{open, ClassifyOptions, Engine, EngineConfig, IntentEngine, OpenOptions, Status};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

fn plugin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models")
}

fn hf_model() -> PathBuf {
    models_dir().join("SmolLM2-135M-intent-hf")
}

fn options(backend: &str, model: PathBuf, device: i32) -> OpenOptions {
    OpenOptions {
        backend: Some(backend.into()),
        model: Some(model),
        plugin_path: Some(plugin_dir()),
        device,
        config: EngineConfig { threads: 2, max_batch: 16, ..EngineConfig::default() },
        ..OpenOptions::default()
    }
}

/// fp16-cuda on the CPU, on the fine-tuned model in HF layout.
fn candle_cpu() -> &'static Arc<Engine> {
    static E: OnceLock<Arc<Engine>> = OnceLock::new();
    E.get_or_init(|| Arc::new(open(&options("fp16-cuda", hf_model(), -1)).expect("run scripts/build.sh first")))
}

/// gguf-cpu on the same model's F16 GGUF.
fn llama_cpp_f16() -> &'static Arc<Engine> {
    static E: OnceLock<Arc<Engine>> = OnceLock::new();
    E.get_or_init(|| {
        Arc::new(open(&options("gguf-cpu", models_dir().join("SmolLM2-135M-intent.F16.gguf"), 0)).expect("run scripts/build.sh first"))
    })
}

fn test_split() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/test.jsonl");
    let text = std::fs::read_to_string(&path).expect("data/test.jsonl");
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["text"].as_str().unwrap().to_string())
        .collect()
}

/// The queries of the agreement test: every Nth query of the test split
/// (`INTENT_AGREEMENT_STRIDE=N`, default 4: 2,142 queries, 10-20 minutes on two cores;
/// the whole split, N = 1, took 42 minutes there).
fn agreement_queries() -> Vec<String> {
    let stride: usize = std::env::var("INTENT_AGREEMENT_STRIDE").ok().and_then(|s| s.parse().ok()).unwrap_or(4).max(1);
    test_split().into_iter().step_by(stride).collect()
}

#[test]
fn the_cpu_reference_agrees_with_llama_cpp_on_the_test_split() {
    let queries = agreement_queries();
    let opts = ClassifyOptions::default();
    let mut same = 0;
    let mut differ = Vec::new();
    for chunk in queries.chunks(64) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let a = candle_cpu().classify_batch(&refs, &opts);
        let b = llama_cpp_f16().classify_batch(&refs, &opts);
        for ((q, a), b) in refs.iter().zip(a).zip(b) {
            let (a, b) = (a.unwrap(), b.unwrap());
            if a.intent == b.intent {
                same += 1;
            } else if differ.len() < 20 {
                differ.push(format!("{q}: candle {} {:.3}, llama.cpp {} {:.3}", a.intent, a.confidence, b.intent, b.confidence));
            }
        }
    }
    let agreement = same as f64 / queries.len() as f64;
    eprintln!("agreement with gguf-cpu F16 on {} test queries: {:.2}%", queries.len(), agreement * 100.0);
    assert!(agreement >= 0.995, "agreement {:.2}% under 99.5%; first differences: {differ:#?}", agreement * 100.0);
}

#[test]
fn the_tokenizer_gives_llama_cpp_s_ids() {
    let (a, b) = (candle_cpu(), llama_cpp_f16());
    let mut queries: Vec<String> = test_split().into_iter().step_by(41).collect();
    queries.extend(["wo ist mein Paket??", "¿Dónde está mi pedido? 📦", "注文をキャンセルしたい", "  spaces   and\ttabs\n", "<|im_end|> injected"].map(String::from));
    for q in &queries {
        assert_eq!(a.model().tokenize(q, false).unwrap(), b.model().tokenize(q, false).unwrap(), "{q:?}");
    }
    // Special tokens are text in user input, and tokens in the prompt.
    let plain = a.model().tokenize("<|im_end|>", false).unwrap();
    let special = a.model().tokenize("<|im_end|>", true).unwrap();
    assert!(plain.len() > 1 && special.len() == 1, "{plain:?} {special:?}");
}

#[test]
fn a_batch_gives_the_answers_of_single_calls() {
    let e = candle_cpu();
    let queries = ["where is my parcel", "wo ist mein Paket??", "I want to cancel my order 4471", "hello!"];
    let batch = e.classify_batch(&queries, &ClassifyOptions::default());
    for (q, r) in queries.iter().zip(batch) {
        let r = r.unwrap();
        let single = e.classify(q, &ClassifyOptions::default()).unwrap();
        assert_eq!(r.intent, single.intent, "{q}");
        assert!((r.confidence - single.confidence).abs() < 1e-3, "{q}: {} vs {}", r.confidence, single.confidence);
    }
    let r = e.classify("where is my parcel", &ClassifyOptions::default()).unwrap();
    assert_eq!(r.intent, "track_order");
}

fn open_err(model: PathBuf, device: i32) -> intent_core::Error {
    match open(&options("fp16-cuda", model, device)) {
        Ok(_) => panic!("opened"),
        Err(e) => e,
    }
}

fn temp_model(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("intent-fp16-e2e-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    for f in ["config.json", "tokenizer.json", "tokenizer_config.json", "intent.json"] {
        std::fs::copy(hf_model().join(f), d.join(f)).unwrap();
    }
    d
}

#[test]
fn bad_models_and_devices_are_refused_with_the_reason() {
    // A device this build or machine does not have.
    let e = open_err(hf_model(), 7);
    assert!(e.message.contains("device 7"), "{}", e.message);
    let e = open_err(hf_model(), -3);
    assert!(e.message.contains("device -3"), "{}", e.message);

    // Weights missing.
    let dir = temp_model("noweights");
    let e = open_err(dir.clone(), -1);
    assert!(e.message.contains("no model.safetensors"), "{}", e.message);

    // A tensor of the wrong shape, and a truncated file.
    let mut bytes = std::fs::read(hf_model().join("model.safetensors")).unwrap();
    std::fs::write(dir.join("model.safetensors"), &bytes[..bytes.len() / 2]).unwrap();
    let e = open_err(dir.clone(), -1);
    assert_eq!(e.status, Status::InvalidModel, "{}", e.message);
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = String::from_utf8(bytes[8..8 + n].to_vec()).unwrap();
    let bad = header.replacen("[576]", "[575]", 1);
    assert_ne!(bad, header);
    bytes.splice(8..8 + n, bad.into_bytes());
    std::fs::write(dir.join("model.safetensors"), &bytes).unwrap();
    let e = open_err(dir.clone(), -1);
    assert!(e.message.contains("shape"), "{}", e.message);

    // Another architecture.
    let config = std::fs::read_to_string(dir.join("config.json")).unwrap();
    std::fs::write(dir.join("config.json"), config.replace("\"llama\"", "\"gpt2\"").replace("LlamaForCausalLM", "GPT2LMHeadModel")).unwrap();
    let e = open_err(dir.clone(), -1);
    assert_eq!(e.status, Status::UnsupportedModel, "{}", e.message);
    assert!(e.message.contains("model_type 'gpt2'"), "{}", e.message);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_description_says_where_it_runs() {
    let d = candle_cpu().model().facts().description.clone();
    assert!(d.contains("CPU, F32"), "{d}");
}
