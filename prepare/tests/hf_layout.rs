//! The Hugging Face layout written from the real base model: the rebuilt tokenizer gives
//! llama.cpp's token ids on a multilingual sample, and the weights and config are those
//! of the GGUF. Needs the base (scripts/setup.sh) and the gguf-cpu plugin (built beside
//! this test by `cargo test --workspace`).

use intent_core::backend::Model;
use intent_prepare::gguf_file::GgufFile;
use intent_prepare::hf;
use std::path::{Path, PathBuf};
use std::str::FromStr;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn base() -> PathBuf {
    root().join("models").join(intent_core::open::BASE_MODEL_FILE)
}

fn plugin_dir() -> PathBuf {
    std::env::current_exe().unwrap().parent().and_then(Path::parent).unwrap().to_path_buf()
}

#[test]
fn the_rebuilt_tokenizer_gives_llama_cpp_ids() {
    let gguf = GgufFile::read(&base()).expect("the base model must be installed: run scripts/setup.sh");
    let json = hf::tokenizer_json(&gguf).unwrap().to_string();
    let tokenizer = tokenizers::Tokenizer::from_str(&json).unwrap();
    let plugin = intent_core::plugin::find(Some("gguf-cpu"), "gguf", Some(&plugin_dir())).unwrap();
    let llama = plugin.open_model(&base(), false, 0).unwrap();
    let test = std::fs::read_to_string(root().join("data/test.jsonl")).unwrap();
    let mut texts: Vec<String> = test
        .lines()
        .step_by(17)
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["text"].as_str().unwrap().to_string())
        .collect();
    texts.extend(
        [
            "wo ist mein Paket??",
            "Želim vratiti proizvod, ça va?  ",
            "order #A-20931 for 49,90 € 🚚📦",
            "  leading and trailing spaces  ",
            "ÀÉÎÕÜ çñ ß ğ ł đ ž ћирилица 中文 日本語",
            "1234567890 3.14 1,000,000",
            "tabs\tand\nnewlines\r\n",
            "it's we're they'll I'd",
        ]
        .map(String::from),
    );
    let mut differ = Vec::new();
    for text in &texts {
        let ours = tokenizer.encode(text.as_str(), false).unwrap().get_ids().to_vec();
        let theirs: Vec<u32> = llama.tokenize(text, false).unwrap().into_iter().map(|t| t as u32).collect();
        if ours != theirs {
            differ.push(format!("{text:?}: {ours:?} vs llama.cpp {theirs:?}"));
        }
    }
    assert!(texts.len() > 500);
    assert!(differ.is_empty(), "{} of {} texts tokenized differently:\n{}", differ.len(), texts.len(), differ.join("\n"));
}

#[test]
fn config_and_weights_are_those_of_the_gguf() {
    let gguf = GgufFile::read(&base()).unwrap();
    let dir = std::env::temp_dir().join(format!("intent-hf-{}", std::process::id()));
    hf::write(&gguf, &dir).unwrap();
    let config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["hidden_size"], 576);
    assert_eq!(config["num_hidden_layers"], 30);
    assert_eq!(config["num_key_value_heads"], 3);
    assert_eq!(config["vocab_size"], 49152);
    assert_eq!(config["tie_word_embeddings"], true);
    let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(st.names().len(), 2 + 30 * 9);
    let v = st.tensor("model.layers.3.mlp.down_proj.weight").unwrap();
    assert_eq!(v.shape(), &[576, 1536]);
    let want = gguf.tensor("blk.3.ffn_down.weight").unwrap().to_f32().unwrap();
    let got: Vec<f32> = v.data().chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect();
    let err = want.iter().zip(&got).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(err < 1e-2, "max abs error {err}");
    // q rows are moved back to rotate-half order: row 1 of head 0 is GGUF row 2.
    let q = st.tensor("model.layers.0.self_attn.q_proj.weight").unwrap();
    let gq = gguf.tensor("blk.0.attn_q.weight").unwrap().to_f32().unwrap();
    let row1: Vec<f32> = q.data()[576 * 2..576 * 4].chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect();
    let err = row1.iter().zip(&gq[2 * 576..3 * 576]).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(err < 1e-2, "q row 1 is not GGUF row 2: {err}");
    std::fs::remove_dir_all(dir).ok();
}
