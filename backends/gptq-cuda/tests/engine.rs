//! The gptq-cuda plugin through the real engine, on candle's CPU device (device -1: the
//! GPTQ weights decoded to F32), which CI can run without a GPU. On the project's GPTQ
//! export it must give the labels of the independent PyTorch decoding of the same
//! checkpoint (`reports/accuracy/gptq-predictions.jsonl`, written on the GPU host by
//! training/gptq_eval.sh), and the plugins must refuse each other's models by name.
//! Needs the prepared models (scripts/build.sh).

use intent_core::{open, ClassifyOptions, Engine, EngineConfig, IntentEngine, OpenOptions, Status};
use std::path::{Path, PathBuf};

fn plugin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn gptq_model() -> PathBuf {
    repo().join("models/SmolLM2-135M-intent-gptq")
}

fn options(backend: &str, model: PathBuf) -> OpenOptions {
    OpenOptions {
        backend: Some(backend.into()),
        model: Some(model),
        plugin_path: Some(plugin_dir()),
        device: -1,
        config: EngineConfig { threads: 2, max_batch: 16, ..EngineConfig::default() },
        ..OpenOptions::default()
    }
}

fn gptq_cpu() -> Engine {
    open(&options("gptq-cuda", gptq_model())).unwrap_or_else(|e| panic!("run scripts/build.sh first: {}", e.message))
}

fn lines(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Every Nth query of the test split (`INTENT_AGREEMENT_STRIDE`, default 8: about a
/// thousand queries, a few minutes on two cores).
#[test]
fn the_decoded_checkpoint_gives_the_labels_of_the_pytorch_decoding() {
    let stride: usize = std::env::var("INTENT_AGREEMENT_STRIDE").ok().and_then(|s| s.parse().ok()).unwrap_or(8).max(1);
    let test = lines(&repo().join("data/test.jsonl"));
    let reference = lines(&repo().join("reports/accuracy/gptq-predictions.jsonl"));
    assert_eq!(test.len(), reference.len(), "one PyTorch prediction per test query");
    let picked: Vec<(String, String)> = test
        .iter()
        .zip(&reference)
        .step_by(stride)
        .map(|(t, r)| (t["text"].as_str().unwrap().to_string(), r["intent"].as_str().unwrap().to_string()))
        .collect();
    let engine = gptq_cpu();
    let (mut same, mut differ) = (0, Vec::new());
    for chunk in picked.chunks(32) {
        let queries: Vec<&str> = chunk.iter().map(|(q, _)| q.as_str()).collect();
        for ((q, want), got) in chunk.iter().zip(engine.classify_batch(&queries, &ClassifyOptions::default())) {
            let got = got.unwrap();
            if &got.intent == want {
                same += 1;
            } else if differ.len() < 20 {
                differ.push(format!("{q}: gptq-cuda {} {:.3}, PyTorch {want}", got.intent, got.confidence));
            }
        }
    }
    let agreement = same as f64 / picked.len() as f64;
    eprintln!("agreement with the PyTorch decoding on {} test queries: {:.2}%", picked.len(), agreement * 100.0);
    assert!(agreement >= 0.99, "agreement {:.2}% under 99%; first differences: {differ:#?}", agreement * 100.0);
}

#[test]
fn the_description_names_the_quantization_and_the_device() {
    let d = gptq_cpu().model().facts().description.clone();
    assert!(d.contains("GPTQ 4-bit g64 act-order, decoded") && d.contains("CPU, F32"), "{d}");
}

#[test]
fn each_gpu_plugin_refuses_the_other_s_models_by_name() {
    let err = |backend: &str, model: PathBuf| match open(&options(backend, model)) {
        Ok(_) => panic!("{backend} opened the other plugin's model"),
        Err(e) => e,
    };
    // The engine routes by format: a GPTQ directory is not an "hf" model.
    let e = err("fp16-cuda", gptq_model());
    assert_eq!(e.status, Status::UnsupportedModel, "{}", e.message);
    assert!(e.message.contains("gptq"), "{}", e.message);
    let e = err("gptq-cuda", repo().join("models/SmolLM2-135M-intent-hf"));
    assert_eq!(e.status, Status::UnsupportedModel, "{}", e.message);
    assert!(e.message.contains("hf"), "{}", e.message);
}

#[test]
fn a_broken_checkpoint_is_refused_with_the_tensor_or_field() {
    let dir = std::env::temp_dir().join(format!("intent-gptq-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["config.json", "tokenizer.json", "tokenizer_config.json", "quantize_config.json", "model.safetensors"] {
        std::fs::copy(gptq_model().join(f), dir.join(f)).unwrap();
    }
    // Zero points of the wrong dtype (same size, so the file itself stays valid).
    let mut bytes = std::fs::read(gptq_model().join("model.safetensors")).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = String::from_utf8(bytes[8..8 + n].to_vec()).unwrap();
    let key = "\"model.layers.0.mlp.down_proj.qzeros\":{\"dtype\":\"I32\"";
    assert!(header.contains(key), "the export's header has {key}");
    let bad = header.replacen(key, &key.replace("I32", "F32"), 1);
    bytes.splice(8..8 + n, bad.into_bytes());
    std::fs::write(dir.join("model.safetensors"), &bytes).unwrap();
    let e = open(&options("gptq-cuda", dir.clone())).err().expect("bad zero points are refused");
    assert!(e.message.contains("down_proj.qzeros is F32, expected I32"), "{}", e.message);
    // A variant this project does not read.
    std::fs::copy(gptq_model().join("model.safetensors"), dir.join("model.safetensors")).unwrap();
    std::fs::write(dir.join("quantize_config.json"), r#"{"bits": 3, "group_size": 64}"#).unwrap();
    let e = open(&options("gptq-cuda", dir.clone())).err().expect("3 bits are refused");
    assert_eq!(e.status, Status::UnsupportedModel, "{}", e.message);
    assert!(e.message.contains("bits = 3"), "{}", e.message);
    std::fs::remove_dir_all(&dir).unwrap();
}
