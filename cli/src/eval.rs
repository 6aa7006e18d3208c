//! `intent eval`: accuracy, macro-F1, per-intent and per-language tables, the confusion
//! matrix and the count of invalid outputs, written as JSON and Markdown.

use crate::{progress, EngineArgs};
use intent_core::IntentEngine;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// One labelled example.
#[derive(Debug, Clone, Deserialize)]
pub struct Example {
    /// The query.
    pub text: String,
    /// The expected intent.
    pub intent: String,
    /// Language code.
    #[serde(default)]
    pub lang: Option<String>,
}

/// Precision, recall and F1 of one intent.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IntentScore {
    /// The intent.
    pub intent: String,
    /// Examples with this gold intent.
    pub support: usize,
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F1.
    pub f1: f64,
}

/// One answer of the engine, as the report needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// The predicted intent.
    pub intent: String,
    /// The engine's confidence in it.
    pub confidence: f32,
    /// Wall time the caller waited for the call that answered it, microseconds.
    pub latency_us: u64,
    /// Queries evaluated in that call.
    pub batch_size: u32,
}

/// One confidence bin of the reliability diagram.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CalibrationBin {
    /// Lower edge (inclusive).
    pub lower: f64,
    /// Upper edge (exclusive, 1.0 inclusive for the last bin).
    pub upper: f64,
    /// Answers in the bin.
    pub count: usize,
    /// Their mean confidence.
    pub mean_confidence: f64,
    /// Their accuracy.
    pub accuracy: f64,
}

/// Is 0.9 confidence right 90% of the time?
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Calibration {
    /// Expected calibration error: the count-weighted mean |accuracy - confidence| over bins.
    pub ece: f64,
    /// Ten equal-width bins over [0, 1].
    pub bins: Vec<CalibrationBin>,
}

/// Latency of the calls that answered the examples.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LatencySummary {
    /// Median wall time of a call, ms.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Mean queries per call.
    pub mean_batch_size: f64,
    /// Mean time per query (call time divided by its batch size), ms.
    pub mean_ms_per_query: f64,
}

/// The report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    /// Examples evaluated.
    pub examples: usize,
    /// Fraction classified correctly (errors count as wrong).
    pub accuracy: f64,
    /// Mean F1 over the gold intents.
    pub macro_f1: f64,
    /// Predictions that are not a label of the taxonomy (must be 0).
    pub invalid_outputs: usize,
    /// Queries the engine refused (bad input) or failed on.
    pub errors: usize,
    /// Per intent.
    pub per_intent: Vec<IntentScore>,
    /// Accuracy and count per language.
    pub per_language: BTreeMap<String, (f64, usize)>,
    /// Labels of the confusion matrix, in order.
    pub labels: Vec<String>,
    /// `confusion[gold][predicted]` counts, in `labels` order.
    pub confusion: Vec<Vec<usize>>,
    /// Confidence against accuracy.
    pub calibration: Calibration,
    /// Latency of the answering calls.
    pub latency: LatencySummary,
}

/// Calibration over ten equal-width confidence bins.
pub fn calibration(points: &[(f32, bool)]) -> Calibration {
    const BINS: usize = 10;
    let mut sums = vec![(0usize, 0f64, 0usize); BINS];
    for &(c, ok) in points {
        let b = ((c.clamp(0.0, 1.0) as f64 * BINS as f64) as usize).min(BINS - 1);
        sums[b].0 += 1;
        sums[b].1 += c as f64;
        sums[b].2 += usize::from(ok);
    }
    let n = points.len().max(1) as f64;
    let mut ece = 0.0;
    let bins = sums
        .iter()
        .enumerate()
        .map(|(i, &(count, conf, correct))| {
            let (mean_confidence, accuracy) =
                if count > 0 { (conf / count as f64, correct as f64 / count as f64) } else { (0.0, 0.0) };
            ece += count as f64 / n * (accuracy - mean_confidence).abs();
            CalibrationBin { lower: i as f64 / BINS as f64, upper: (i + 1) as f64 / BINS as f64, count, mean_confidence, accuracy }
        })
        .collect();
    Calibration { ece, bins }
}

fn latency(predictions: &[Option<Prediction>]) -> LatencySummary {
    let answered: Vec<&Prediction> = predictions.iter().flatten().collect();
    let mut ms: Vec<f64> = answered.iter().map(|p| p.latency_us as f64 / 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let n = answered.len().max(1) as f64;
    LatencySummary {
        p50_ms: crate::bench::percentile(&ms, 0.5),
        p95_ms: crate::bench::percentile(&ms, 0.95),
        p99_ms: crate::bench::percentile(&ms, 0.99),
        mean_batch_size: answered.iter().map(|p| p.batch_size as f64).sum::<f64>() / n,
        mean_ms_per_query: answered.iter().map(|p| p.latency_us as f64 / 1e3 / p.batch_size.max(1) as f64).sum::<f64>() / n,
    }
}

/// Reads labelled JSONL; a malformed line is an error naming the file and line.
pub fn read_examples(path: &Path) -> Result<Vec<Example>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| serde_json::from_str(l).map_err(|e| format!("{}:{}: {e}", path.display(), n + 1)))
        .collect()
}

/// Computes the report from gold labels, predictions (`None` = error) and languages.
pub fn score(labels: &[String], gold: &[&str], predictions: &[Option<Prediction>], langs: &[String]) -> Report {
    let predicted: Vec<Option<String>> = predictions.iter().map(|p| p.as_ref().map(|p| p.intent.clone())).collect();
    let points: Vec<(f32, bool)> = predictions
        .iter()
        .zip(gold)
        .filter_map(|(p, g)| p.as_ref().map(|p| (p.confidence, p.intent == *g)))
        .collect();
    let known: HashSet<&str> = labels.iter().map(String::as_str).collect();
    let index = |l: &str| labels.iter().position(|x| x == l);
    let n = labels.len();
    let mut confusion = vec![vec![0usize; n]; n];
    let (mut correct, mut invalid, mut errors) = (0, 0, 0);
    let mut per_lang: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for i in 0..gold.len() {
        let ok = predicted[i].as_deref() == Some(gold[i]);
        correct += usize::from(ok);
        let entry = per_lang.entry(langs[i].clone()).or_default();
        entry.0 += usize::from(ok);
        entry.1 += 1;
        match &predicted[i] {
            None => errors += 1,
            Some(p) if !known.contains(p.as_str()) => invalid += 1,
            Some(p) => {
                if let (Some(g), Some(q)) = (index(gold[i]), index(p)) {
                    confusion[g][q] += 1;
                }
            }
        }
    }
    let gold_set: HashSet<&str> = gold.iter().copied().collect();
    let mut per_intent = Vec::new();
    for (k, label) in labels.iter().enumerate() {
        let support = gold.iter().filter(|g| **g == label).count();
        let tp = confusion[k][k];
        let predicted_k: usize = (0..n).map(|g| confusion[g][k]).sum();
        let precision = if predicted_k > 0 { tp as f64 / predicted_k as f64 } else { 0.0 };
        let recall = if support > 0 { tp as f64 / support as f64 } else { 0.0 };
        let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
        if gold_set.contains(label.as_str()) || predicted_k > 0 {
            per_intent.push(IntentScore { intent: label.clone(), support, precision, recall, f1 });
        }
    }
    let with_support: Vec<&IntentScore> = per_intent.iter().filter(|s| s.support > 0).collect();
    let macro_f1 = if with_support.is_empty() { 0.0 } else { with_support.iter().map(|s| s.f1).sum::<f64>() / with_support.len() as f64 };
    Report {
        examples: gold.len(),
        accuracy: if gold.is_empty() { 0.0 } else { correct as f64 / gold.len() as f64 },
        macro_f1,
        invalid_outputs: invalid,
        errors,
        per_intent,
        per_language: per_lang.into_iter().map(|(l, (c, t))| (l, (c as f64 / t as f64, t))).collect(),
        labels: labels.to_vec(),
        confusion,
        calibration: calibration(&points),
        latency: latency(predictions),
    }
}

/// The report as Markdown.
pub fn markdown(r: &Report, title: &str) -> String {
    let mut s = format!("# {title}\n\n");
    s += &format!(
        "| examples | accuracy | macro-F1 | invalid outputs | errors |\n|---:|---:|---:|---:|---:|\n| {} | {:.2}% | {:.4} | {} | {} |\n\n",
        r.examples,
        r.accuracy * 100.0,
        r.macro_f1,
        r.invalid_outputs,
        r.errors
    );
    s += "## Per intent\n\n| intent | support | precision | recall | F1 |\n|---|---:|---:|---:|---:|\n";
    for i in &r.per_intent {
        s += &format!("| {} | {} | {:.3} | {:.3} | {:.3} |\n", i.intent, i.support, i.precision, i.recall, i.f1);
    }
    s += "\n## Per language\n\n| language | examples | accuracy |\n|---|---:|---:|\n";
    for (l, (acc, n)) in &r.per_language {
        s += &format!("| {l} | {n} | {:.2}% |\n", acc * 100.0);
    }
    s += &format!(
        "\n## Calibration\n\nExpected calibration error: {:.4}. ![reliability diagram](eval-reliability.svg)\n\n| confidence | answers | mean confidence | accuracy |\n|---|---:|---:|---:|\n",
        r.calibration.ece
    );
    for b in r.calibration.bins.iter().filter(|b| b.count > 0) {
        s += &format!("| {:.1}-{:.1} | {} | {:.3} | {:.3} |\n", b.lower, b.upper, b.count, b.mean_confidence, b.accuracy);
    }
    let l = &r.latency;
    s += &format!(
        "\n## Latency\n\nWall time of the answering calls: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms; {:.1} queries a call on average, {:.1} ms a query.\n",
        l.p50_ms, l.p95_ms, l.p99_ms, l.mean_batch_size, l.mean_ms_per_query
    );
    s += "\n## Confusion matrix\n\n![confusion matrix](eval-confusion.svg)\n\nRows: gold intent; columns: predicted (numbered as the rows).\n\n| # | gold \\ predicted |";
    let used: Vec<usize> = (0..r.labels.len())
        .filter(|&k| r.confusion[k].iter().sum::<usize>() > 0 || r.confusion.iter().any(|row| row[k] > 0))
        .collect();
    for (c, _) in used.iter().enumerate() {
        s += &format!(" {} |", c + 1);
    }
    s += "\n|---:|---|";
    s += &"---:|".repeat(used.len());
    s += "\n";
    for (row_n, &g) in used.iter().enumerate() {
        s += &format!("| {} | {} |", row_n + 1, r.labels[g]);
        for &p in &used {
            let v = r.confusion[g][p];
            s += &if v == 0 { " · |".to_string() } else { format!(" {v} |") };
        }
        s += "\n";
    }
    s
}

/// Runs the evaluation and writes into `out_dir`: `eval.json`, `eval.md`, the confusion and
/// reliability pictures, and `predictions.jsonl` (one `{"intent", "confidence"}` per
/// example, in input order; `{"intent": null}` where the query got an error).
pub fn run(engine_args: &EngineArgs, data: &[PathBuf], out_dir: &Path) -> Result<(), String> {
    let mut examples = Vec::new();
    for d in data {
        examples.extend(read_examples(d)?);
    }
    if examples.is_empty() {
        return Err("no examples in the data files".into());
    }
    let engine = engine_args.open()?;
    let options = engine_args.classify_options();
    let labels: Vec<String> = engine.taxonomy().labels().map(String::from).collect();
    let bar = progress(examples.len(), "evaluating");
    let mut predicted = Vec::with_capacity(examples.len());
    for chunk in examples.chunks(engine.config().max_batch) {
        let texts: Vec<&str> = chunk.iter().map(|e| e.text.as_str()).collect();
        for r in engine.classify_batch(&texts, &options) {
            predicted.push(r.ok().map(|c| Prediction {
                intent: c.intent,
                confidence: c.confidence,
                latency_us: c.timings.total_us,
                batch_size: c.timings.batch_size,
            }));
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    let gold: Vec<&str> = examples.iter().map(|e| e.intent.as_str()).collect();
    let langs: Vec<String> = examples.iter().map(|e| e.lang.clone().unwrap_or_else(|| "unknown".into())).collect();
    let report = score(&labels, &gold, &predicted, &langs);
    std::fs::create_dir_all(out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    std::fs::write(out_dir.join("eval.json"), json).map_err(|e| e.to_string())?;
    let title = format!("Evaluation: {}", data.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", "));
    std::fs::write(out_dir.join("eval.md"), markdown(&report, &title)).map_err(|e| e.to_string())?;
    std::fs::write(out_dir.join("eval-confusion.svg"), crate::svg::confusion(&report)).map_err(|e| e.to_string())?;
    std::fs::write(out_dir.join("eval-reliability.svg"), crate::svg::reliability(&report.calibration)).map_err(|e| e.to_string())?;
    let lines: String = predicted
        .iter()
        .map(|p| match p {
            Some(p) => serde_json::json!({ "intent": p.intent, "confidence": p.confidence }).to_string() + "\n",
            None => "{\"intent\":null}\n".to_string(),
        })
        .collect();
    std::fs::write(out_dir.join("predictions.jsonl"), lines).map_err(|e| e.to_string())?;
    println!(
        "examples {}  accuracy {:.2}%  macro-F1 {:.4}  ECE {:.4}  invalid outputs {}  errors {}  -> {}",
        report.examples,
        report.accuracy * 100.0,
        report.macro_f1,
        report.calibration.ece,
        report.invalid_outputs,
        report.errors,
        out_dir.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_match_a_hand_computed_case() {
        let labels: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let gold = ["a", "a", "b", "b", "c"];
        let p = |l: &str, c: f32| Some(Prediction { intent: l.into(), confidence: c, latency_us: 2000, batch_size: 2 });
        let predicted = vec![p("a", 0.95), p("b", 0.55), p("b", 0.85), None, p("zzz", 0.3)];
        let langs: Vec<String> = ["en", "de", "en", "de", "en"].iter().map(|s| s.to_string()).collect();
        let r = score(&labels, &gold, &predicted, &langs);
        assert_eq!(r.examples, 5);
        assert!((r.accuracy - 0.4).abs() < 1e-12);
        assert_eq!((r.invalid_outputs, r.errors), (1, 1));
        // a: P=1 R=0.5 F1=2/3; b: P=0.5 R=0.5 F1=0.5; c: 0.
        let f1: Vec<f64> = r.per_intent.iter().map(|s| s.f1).collect();
        assert!((f1[0] - 2.0 / 3.0).abs() < 1e-12 && (f1[1] - 0.5).abs() < 1e-12 && f1[2] == 0.0);
        assert!((r.macro_f1 - (2.0 / 3.0 + 0.5) / 3.0).abs() < 1e-12);
        assert_eq!(r.per_language["en"], (2.0 / 3.0, 3));
        assert_eq!(r.confusion[0], vec![1, 1, 0]);
        // Answered: 0.95 right (bin 9), 0.55 wrong (bin 5), 0.85 right (bin 8), 0.3 wrong (bin 3).
        let counts: Vec<usize> = r.calibration.bins.iter().map(|b| b.count).collect();
        assert_eq!(counts, vec![0, 0, 0, 1, 0, 1, 0, 0, 1, 1]);
        assert_eq!((r.calibration.bins[9].accuracy, r.calibration.bins[5].accuracy), (1.0, 0.0));
        let ece = (0.05 + 0.55 + 0.15 + 0.3) / 4.0;
        assert!((r.calibration.ece - ece).abs() < 1e-6, "{} vs {ece}", r.calibration.ece);
        assert_eq!((r.latency.p50_ms, r.latency.mean_ms_per_query, r.latency.mean_batch_size), (2.0, 1.0, 2.0));
        let md = markdown(&r, "t");
        assert!(md.contains("Expected calibration error: 0.2625") && md.contains("eval-reliability.svg"));
        assert!(md.contains("| 5 | 40.00% |"));
        assert!(md.contains("| de | 2 | 0.00% |"));
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        let dir = std::env::temp_dir().join(format!("intent-eval-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("bad.jsonl");
        std::fs::write(&f, "{\"text\":\"x\",\"intent\":\"a\"}\n{oops}\n").unwrap();
        let e = read_examples(&f).unwrap_err();
        assert!(e.contains("bad.jsonl:2"), "{e}");
    }
}
