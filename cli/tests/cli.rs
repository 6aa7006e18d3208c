//! The `intent` binary end to end on the default model (run by `cargo test` after
//! `scripts/setup.sh`): classify, classify --file, eval, info, and bad arguments.

use std::process::Command;

fn intent(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_intent")).args(args).output().expect("run intent")
}

fn labels() -> Vec<String> {
    intent_core::Taxonomy::ecommerce_v1().labels().map(String::from).collect()
}

fn temp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("intent-cli-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

#[test]
fn classify_prints_one_json_result_with_a_taxonomy_label() {
    let out = intent(&["classify", "where is my parcel"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let label = v["intent"].as_str().unwrap();
    assert!(labels().iter().any(|l| l == label), "{label}");
    let c = v["confidence"].as_f64().unwrap();
    assert!(c > 0.0 && c <= 1.0);
    assert_eq!(v["top"].as_array().unwrap().len(), 3);
}

#[test]
fn classify_file_writes_jsonl_and_reports_bad_lines() {
    let input = temp("queries.txt");
    std::fs::write(&input, "where is my parcel\n\nI want a refund\n").unwrap();
    let output = temp("out.jsonl");
    let out = intent(&["classify", "--file", input.to_str().unwrap(), "--output", output.to_str().unwrap(), "--labels", "track_order,get_refund"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&output).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    for i in [0, 2] {
        let label = lines[i]["result"]["intent"].as_str().unwrap();
        assert!(label == "track_order" || label == "get_refund", "{label}");
    }
    assert_eq!(lines[1]["error"]["status"], 3);
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 of 3 lines"));
}

#[test]
fn eval_writes_json_and_markdown() {
    let data = temp("eval.jsonl");
    std::fs::write(
        &data,
        concat!(
            "{\"text\":\"where is my parcel\",\"intent\":\"track_order\",\"lang\":\"en\"}\n",
            "{\"text\":\"wo ist mein Paket\",\"intent\":\"track_order\",\"lang\":\"de\"}\n",
            "{\"text\":\"I want my money back\",\"intent\":\"get_refund\",\"lang\":\"en\"}\n",
        ),
    )
    .unwrap();
    let dir = temp("report");
    let out = intent(&["eval", "--data", data.to_str().unwrap(), "--out-dir", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("eval.json")).unwrap()).unwrap();
    assert_eq!(report["examples"], 3);
    assert_eq!(report["invalid_outputs"], 0);
    assert_eq!(report["errors"], 0);
    let acc = report["accuracy"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&acc));
    assert_eq!(report["per_language"]["de"][1], 1);
    let ece = report["calibration"]["ece"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&ece));
    assert!(report["latency"]["p50_ms"].as_f64().unwrap() > 0.0);
    for pic in ["eval-confusion.svg", "eval-reliability.svg"] {
        let svg = std::fs::read_to_string(dir.join(pic)).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("</svg>"), "{pic}");
    }
    let md = std::fs::read_to_string(dir.join("eval.md")).unwrap();
    assert!(md.contains("## Confusion matrix") && md.contains("| de | 1 |"));
    let predictions: Vec<serde_json::Value> = std::fs::read_to_string(dir.join("predictions.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(predictions.len(), 3);
    let correct = predictions.iter().zip(["track_order", "track_order", "get_refund"]).filter(|(p, g)| p["intent"] == *g).count();
    assert_eq!(correct as f64 / 3.0, acc, "predictions.jsonl agrees with the accuracy of eval.json");
}

#[test]
fn info_lists_the_plugin_and_the_model() {
    let out = intent(&["info"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("gguf-cpu") && text.contains("ready"), "{text}");
    assert!(text.contains("AVX2 = 1"), "the CPU features in use are shown: {text}");
    assert!(text.contains("taxonomy: ecommerce-v1 (34 intents)"), "{text}");
}

#[test]
fn bad_arguments_fail_with_a_message() {
    let out = intent(&["classify", "x", "--model", "/nonexistent.gguf"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent.gguf"));
    let out = intent(&["classify", "x", "--labels", "track_order,nope"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("'nope'"));
    let out = intent(&["classify", "   "]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty"));
}
