//! Model preparation: from a base GGUF (the engine's shipped model) and an optional PEFT
//! LoRA adapter, write every weight format the engine runs.
//!
//! 1. The base is read and dequantized; the adapter's updates are merged into the
//!    projections they target (rows of q/k permuted as llama.cpp stores them).
//! 2. An F16 GGUF is written (norms stay F32), the source of every other GGUF format,
//!    and the same weights in the Hugging Face layout (`<name>-hf/`: config, tokenizer
//!    rebuilt from the GGUF, F16 safetensors) for the CUDA backends and PyTorch.
//! 3. Q8_0, Q5_K_M, Q4_K_M, ... are made by llama.cpp's own quantizer, reached through
//!    the gguf-cpu backend plugin; with calibration text, weighted by an importance
//!    matrix computed on it (the token ids the engine evaluates for those texts).
//! 4. With `LORA`, the adapter itself is written as a llama.cpp LoRA GGUF naming the base:
//!    no re-quantization, the frozen base stays exactly the weights the adapter was
//!    trained on.
//! 5. Each model gets a manifest beside it (the adapter's `intent.json`, with the base,
//!    adapter and weight format recorded) so the engine uses the fine-tuned prompt.

#![deny(missing_docs)]

pub mod gguf_file;
pub mod gptq;
pub mod gptq_model;
pub mod hf;
pub mod llama;
pub mod lora;
pub mod quant;
pub mod synth;

use gguf_file::{GgufFile, Tensor, Value};
use intent_core::manifest::{ModelManifest, SourceFile, MANIFEST_IN_DIR};
use intent_core::{Error, Result, Status};
use lora::{gguf_row_of_hf_row, Adapter};
use quant::GgmlType;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Weight formats written by default, F16 first (the others are made from it), by
/// llama.cpp's names; `GPTQ` (a `<name>-gptq/` checkpoint) is written when asked for.
pub const DEFAULT_FORMATS: &[&str] = &["F16", "Q8_0", "Q5_K_M", "Q4_K_M"];
/// The format name that asks for a GPTQ checkpoint.
pub const GPTQ_FORMAT: &str = "GPTQ";
/// The format name that asks for the adapter as a LoRA GGUF (`<name>.LORA.gguf`) that the
/// engine applies to the unchanged base at run time: the model QLoRA trained, with the
/// base's own 4-bit weights.
pub const LORA_FORMAT: &str = "LORA";
/// llama.cpp's `general.file_type` for mostly-F16 files.
const FILE_TYPE_F16: u32 = 1;

/// What to prepare.
#[derive(Debug, Clone)]
pub struct PrepareOptions {
    /// The base model (a Llama-family GGUF).
    pub base: PathBuf,
    /// A PEFT LoRA adapter directory, merged into the base.
    pub adapter: Option<PathBuf>,
    /// Folder the prepared models are written to.
    pub out_dir: PathBuf,
    /// Stem of the output names: `<name>.<FORMAT>.gguf`.
    pub name: String,
    /// GGUF formats to write (llama.cpp names; F16 is always written).
    pub formats: Vec<String>,
    /// Explicit backend plugin file or directory (for the quantizer).
    pub plugin_path: Option<PathBuf>,
    /// CPU threads for quantizing (0 = all).
    pub threads: i32,
    /// Calibration text for GPTQ and the importance matrix: JSON lines with a `text` field
    /// (the dataset's splits) or plain lines.
    pub calibration: Option<PathBuf>,
    /// Calibration texts used, spread evenly over the file.
    pub calibration_samples: usize,
    /// GPTQ settings.
    pub gptq: gptq::GptqParams,
    /// Whether the GGUF formats are quantized with an importance matrix computed on the
    /// calibration text (when there is calibration text).
    pub importance: bool,
}

/// GPTQ settings written by default: 4 bits, groups of 64 (576 is not a multiple of 128),
/// fitted zero points, act-order, each group's range searched, scales refitted, and each
/// layer aimed at the unquantized model's outputs (reports/accuracy/gptq.md compares them).
pub fn default_gptq_params() -> gptq::GptqParams {
    gptq::GptqParams {
        bits: 4,
        group_size: 64,
        sym: false,
        act_order: true,
        clip_search: true,
        refit_scales: true,
        correct_upstream: true,
        ..gptq::GptqParams::default()
    }
}

/// How a GPTQ setting is described in the manifest and the report:
/// "GPTQ 4-bit, groups of 64, act-order, range searched, scales refitted, upstream corrected".
pub fn gptq_description(p: &gptq::GptqParams) -> String {
    let mut text = format!("GPTQ {}-bit, groups of {}", p.bits, p.group_size);
    for (on, what) in [(p.sym, "symmetric"), (p.act_order, "act-order"), (p.clip_search, "range searched"), (p.refit_scales, "scales refitted"), (p.correct_upstream, "upstream corrected")] {
        if on {
            text += ", ";
            text += what;
        }
    }
    text
}

/// `samples` texts spread evenly over a calibration file (JSON lines with `text`, or
/// plain lines).
pub fn read_calibration(path: &Path, samples: usize) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::new(Status::Io, format!("cannot read calibration text {}: {e}", path.display())))?;
    let lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match serde_json::from_str::<serde_json::Value>(l) {
            Ok(v) if v.get("text").and_then(|t| t.as_str()).is_some() => v["text"].as_str().unwrap_or_default().to_string(),
            _ => l.to_string(),
        })
        .collect();
    if lines.is_empty() || samples == 0 {
        return Err(Error::new(Status::InvalidArgument, format!("no calibration text in {}", path.display())));
    }
    let step = (lines.len() / samples).max(1);
    Ok(lines.into_iter().step_by(step).take(samples).collect())
}

/// Where preparation is, for a progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The current step, in words.
    pub step: String,
    /// Units done in this step.
    pub done: u64,
    /// Units in this step.
    pub total: u64,
}

/// One written model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// Weight format.
    pub format: String,
    /// The model file.
    pub path: PathBuf,
    /// Its manifest, if the adapter carried one.
    pub manifest: Option<PathBuf>,
    /// File size in bytes.
    pub bytes: u64,
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::new(Status::Io, format!("cannot read {}: {e}", path.display())))?;
    Ok(Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect())
}

/// Checks that the base is a Llama-family GGUF with a tokenizer.
fn check_base(base: &GgufFile, path: &Path) -> Result<()> {
    let arch = base.get("general.architecture").and_then(Value::as_str).unwrap_or("");
    if arch != "llama" {
        return Err(Error::new(Status::UnsupportedModel, format!("{}: architecture '{arch}' is not a Llama-family model", path.display())));
    }
    for key in ["tokenizer.ggml.model", "tokenizer.ggml.tokens"] {
        if base.get(key).is_none() {
            return Err(Error::new(Status::InvalidModel, format!("{}: the base has no tokenizer ('{key}' missing)", path.display())));
        }
    }
    Ok(())
}

/// The base with the adapter merged, every matrix in F16 and every vector in F32.
pub fn merged_f16(base: &GgufFile, adapter: Option<&Adapter>, progress: &mut dyn FnMut(Progress)) -> Result<GgufFile> {
    if let Some(a) = adapter {
        a.check_fits(base)?;
    }
    let mut out = GgufFile { metadata: base.metadata.clone(), tensors: Vec::with_capacity(base.tensors.len()) };
    out.set("general.file_type", Value::U32(FILE_TYPE_F16));
    let total = base.tensors.len() as u64;
    for (i, t) in base.tensors.iter().enumerate() {
        progress(Progress { step: "merging into F16".into(), done: i as u64, total });
        let mut values = t.to_f32()?;
        if let Some(pair) = adapter.and_then(|a| a.updates.get(&t.name).map(|p| (a.scale, p))) {
            let (scale, pair) = pair;
            let delta = pair.delta(scale);
            let heads = base.permuted_heads(&t.name)?;
            for hf_row in 0..pair.n_out {
                let row = heads.map_or(hf_row, |h| gguf_row_of_hf_row(hf_row, pair.n_out, h));
                let dst = &mut values[row * pair.n_in..(row + 1) * pair.n_in];
                for (w, d) in dst.iter_mut().zip(&delta[hf_row * pair.n_in..(hf_row + 1) * pair.n_in]) {
                    *w += d;
                }
            }
        }
        let ty = if t.dims.len() >= 2 { GgmlType::F16 } else { GgmlType::F32 };
        out.tensors.push(Tensor::from_f32(&t.name, &t.dims, &values, ty));
    }
    progress(Progress { step: "merging into F16".into(), done: total, total });
    Ok(out)
}

/// Runs the whole preparation; returns the models written: the Hugging Face layout first,
/// then the GGUF formats, F16 first.
pub fn prepare(opts: &PrepareOptions, progress: &mut dyn FnMut(Progress)) -> Result<Vec<Prepared>> {
    std::fs::create_dir_all(&opts.out_dir)
        .map_err(|e| Error::new(Status::Io, format!("cannot create {}: {e}", opts.out_dir.display())))?;
    let base = GgufFile::read(&opts.base)?;
    check_base(&base, &opts.base)?;
    let adapter = opts.adapter.as_deref().map(Adapter::read).transpose()?;
    let manifest = match &opts.adapter {
        Some(dir) if dir.join(MANIFEST_IN_DIR).is_file() => {
            let mut m = ModelManifest::from_file(&dir.join(MANIFEST_IN_DIR))?;
            let base_sha = sha256_file(&opts.base)?;
            if let Some(trained_on) = &m.base {
                if trained_on.sha256 != base_sha {
                    return Err(Error::new(
                        Status::InvalidModel,
                        format!(
                            "the adapter was trained on {} (sha256 {}…), not on {} (sha256 {}…)",
                            trained_on.file,
                            &trained_on.sha256[..12.min(trained_on.sha256.len())],
                            opts.base.display(),
                            &base_sha[..12]
                        ),
                    ));
                }
            }
            let file_name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            m.base = Some(SourceFile { file: file_name(&opts.base), sha256: base_sha });
            m.adapter = Some(SourceFile { file: file_name(dir), sha256: sha256_file(&dir.join("adapter_model.safetensors"))? });
            Some(m)
        }
        _ => None,
    };
    let want_gptq = opts.formats.iter().any(|f| f.eq_ignore_ascii_case(GPTQ_FORMAT));
    let calibration = match (&opts.calibration, want_gptq) {
        (Some(path), _) => Some(read_calibration(path, opts.calibration_samples)?),
        (None, true) => return Err(Error::new(Status::InvalidArgument, "GPTQ needs calibration text (--calibration, e.g. data/train.jsonl)")),
        (None, false) => None,
    };
    let path_of = |format: &str| opts.out_dir.join(format!("{}.{format}.gguf", opts.name));
    if let Some(format) = opts.formats.iter().chain(std::iter::once(&"F16".to_string())).find(|f| same_file(&opts.base, &path_of(&f.to_uppercase()))) {
        return Err(Error::new(
            Status::InvalidArgument,
            format!("the base {} would be overwritten by the {format} output: choose another --name or --out", opts.base.display()),
        ));
    }
    let runtime_lora = match (&adapter, opts.formats.iter().any(|f| f.eq_ignore_ascii_case(LORA_FORMAT))) {
        (Some(a), true) => {
            let name = base_file_name(&opts.base)?;
            let lora = a.to_runtime_gguf(&base, &name)?;
            put_base_beside(&opts.base, &name, &opts.out_dir)?;
            Some((lora, a.config.r, name))
        }
        (None, true) => return Err(Error::new(Status::InvalidArgument, "the LORA format needs an adapter (--adapter)")),
        _ => None,
    };
    let f16 = merged_f16(&base, adapter.as_ref(), progress)?;
    drop(base);
    let mut formats: Vec<String> = vec!["F16".into()];
    for f in &opts.formats {
        let separate = f.eq_ignore_ascii_case(GPTQ_FORMAT) || f.eq_ignore_ascii_case(LORA_FORMAT);
        if !separate && !formats.iter().any(|x| x.eq_ignore_ascii_case(f)) {
            formats.push(f.to_uppercase());
        }
    }
    let f16_path = path_of("F16");
    progress(Progress { step: "writing F16".into(), done: 0, total: 1 });
    f16.write(&f16_path)?;
    let hf_dir = opts.out_dir.join(format!("{}-hf", opts.name));
    progress(Progress { step: "writing HF layout".into(), done: 0, total: 1 });
    hf::write(&f16, &hf_dir)?;
    let plugin = if formats.len() > 1 { Some(intent_core::plugin::find(Some("gguf-cpu"), "gguf", opts.plugin_path.as_deref())?) } else { None };
    let mut written = Vec::new();
    written.push(record("HF-F16", hf_dir.clone(), &hf_dir.join("model.safetensors"), manifest.as_ref(), "F16 (Hugging Face layout)")?);
    // F16 first, with its manifest: the calibration text runs through it.
    written.push(record("F16", f16_path.clone(), &f16_path, manifest.as_ref(), "F16")?);
    let want_importance = opts.importance && formats.len() > 1;
    let sequences = match &calibration {
        Some(texts) if want_gptq || want_importance => Some(calibration_sequences(opts, &f16_path, texts, manifest.as_ref(), progress)?),
        _ => None,
    };
    let importance = match &sequences {
        Some(s) if want_importance => gptq_model::importance_matrix(&f16, s, progress)?,
        _ => Vec::new(),
    };
    for (i, format) in formats.iter().enumerate().skip(1) {
        let path = path_of(format);
        progress(Progress { step: format!("quantizing {format}"), done: i as u64, total: formats.len() as u64 });
        plugin.as_ref().expect("plugin found above").quantize(&f16_path, &path, format, opts.threads, &importance)?;
        let weights = if importance.is_empty() { format.clone() } else { format!("{format}, importance matrix of {} calibration texts", sequences.as_ref().map_or(0, Vec::len)) };
        written.push(record(format, path.clone(), &path, manifest.as_ref(), &weights)?);
    }
    if let Some((lora, rank, base_name)) = runtime_lora {
        let path = path_of(LORA_FORMAT);
        progress(Progress { step: "writing the run-time LoRA".into(), done: 0, total: 1 });
        lora.write(&path)?;
        let weights = format!("{base_name} unchanged + LoRA rank {rank} (F16) applied at run time");
        written.push(record(LORA_FORMAT, path.clone(), &path, manifest.as_ref(), &weights)?);
    }
    if want_gptq {
        let sequences = sequences.as_deref().expect("GPTQ has calibration text (checked above)");
        written.push(prepare_gptq(opts, &f16, sequences, manifest.as_ref(), progress)?);
    }
    progress(Progress { step: "done".into(), done: formats.len() as u64, total: formats.len() as u64 });
    Ok(written)
}

/// The file name by which a run-time LoRA names its base.
fn base_file_name(base: &Path) -> Result<String> {
    base.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::new(Status::InvalidArgument, format!("{}: the base has no file name", base.display())))
}

/// Puts the base as `name` in `out_dir`, where a run-time LoRA written there finds it:
/// copied when it is elsewhere; a different file of that name there is refused.
fn put_base_beside(base: &Path, name: &str, out_dir: &Path) -> Result<()> {
    let beside = out_dir.join(name);
    if same_file(base, &beside) {
        return Ok(());
    }
    if beside.exists() {
        if sha256_file(&beside)? != sha256_file(base)? {
            return Err(Error::new(
                Status::InvalidArgument,
                format!("the run-time LoRA names its base by file name, and {} is another file than {}", beside.display(), base.display()),
            ));
        }
        return Ok(());
    }
    let partial = out_dir.join(format!(".{name}.partial"));
    std::fs::copy(base, &partial)
        .and_then(|_| std::fs::rename(&partial, &beside))
        .map_err(|e| Error::new(Status::Io, format!("cannot copy the base beside the LoRA, to {}: {e}", beside.display())))?;
    Ok(())
}

/// Whether two paths name the same existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// The token ids the engine evaluates for `texts` with the F16 model at `f16_path` (its
/// fine-tuned prompt and query normalization when its manifest applies): what GPTQ and
/// the importance matrix calibrate on.
fn calibration_sequences(
    opts: &PrepareOptions,
    f16_path: &Path,
    texts: &[String],
    manifest: Option<&ModelManifest>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<Vec<i32>>> {
    progress(Progress { step: "calibration".into(), done: 0, total: texts.len() as u64 });
    let taxonomy = manifest.map(|m| m.taxonomy.clone()).filter(|t| intent_core::Taxonomy::builtin(t).is_ok());
    let engine = intent_core::open(&intent_core::OpenOptions {
        backend: Some("gguf-cpu".into()),
        model: Some(f16_path.to_path_buf()),
        taxonomy,
        plugin_path: opts.plugin_path.clone(),
        config: intent_core::EngineConfig { threads: opts.threads, truncate: true, ..intent_core::EngineConfig::default() },
        ..intent_core::OpenOptions::default()
    })?;
    Ok(texts.iter().filter_map(|t| engine.prompt_tokens(t).ok()).collect())
}

/// The GPTQ checkpoint `<name>-gptq/`, calibrated on `sequences` (see
/// [`calibration_sequences`]), with its manifest and a report of each layer's output error.
fn prepare_gptq(
    opts: &PrepareOptions,
    f16: &GgufFile,
    sequences: &[Vec<i32>],
    manifest: Option<&ModelManifest>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Prepared> {
    let (tensors, reports) = gptq_model::quantize_model(f16, sequences, &opts.gptq, progress)?;
    let dir = opts.out_dir.join(format!("{}-gptq", opts.name));
    gptq_model::write(f16, &dir, &opts.gptq, &tensors)?;
    let weights = gptq_description(&opts.gptq);
    let report = serde_json::json!({
        "weights": weights,
        "calibration": {
            "file": opts.calibration.as_ref().map(|p| p.display().to_string()),
            "sequences": sequences.len(),
            "tokens": sequences.iter().map(Vec::len).sum::<usize>(),
        },
        "layers": reports.iter().map(|r| serde_json::json!({"layer": r.layer, "relative_output_error": r.relative_error, "drift_from_f16": r.drift})).collect::<Vec<_>>(),
    });
    std::fs::write(dir.join("gptq-report.json"), serde_json::to_string_pretty(&report).expect("JSON") + "\n")
        .map_err(|e| Error::new(Status::Io, format!("cannot write {}: {e}", dir.display())))?;
    record(GPTQ_FORMAT, dir.clone(), &dir.join("model.safetensors"), manifest, &weights)
}

/// A written model: its manifest (the adapter's, with `weights` recorded) beside `path`
/// when there is one, and the size of `weights_file`.
fn record(format: &str, path: PathBuf, weights_file: &Path, manifest: Option<&ModelManifest>, weights: &str) -> Result<Prepared> {
    let manifest_path = match manifest {
        Some(m) => {
            let mut m = m.clone();
            m.weights = Some(weights.to_string());
            let p = ModelManifest::path_for(&path);
            m.write(&p)?;
            Some(p)
        }
        None => None,
    };
    let bytes = std::fs::metadata(weights_file).map(|m| m.len()).unwrap_or(0);
    Ok(Prepared { format: format.to_string(), path, manifest: manifest_path, bytes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hf::RawTensor;
    use lora::{AdapterConfig, LoraPair};
    use std::collections::BTreeMap;

    /// A one-layer Llama base: 2 heads of dim 4 (q 8x8), 1 KV head (k 4x8), as GGUF stores it.
    fn tiny_base() -> GgufFile {
        let mut f = GgufFile { metadata: Vec::new(), tensors: Vec::new() };
        f.set("general.architecture", Value::Str("llama".into()));
        f.set("general.file_type", Value::U32(3));
        f.set("llama.block_count", Value::U32(1));
        f.set("llama.attention.head_count", Value::U32(2));
        f.set("llama.attention.head_count_kv", Value::U32(1));
        let q: Vec<f32> = (0..64).map(|i| i as f32 / 64.0).collect();
        f.tensors.push(Tensor::from_f32("blk.0.attn_q.weight", &[8, 8], &q, GgmlType::F32));
        f.tensors.push(Tensor::from_f32("blk.0.attn_k.weight", &[8, 4], &[0.5; 32], GgmlType::F32));
        f.tensors.push(Tensor::from_f32("blk.0.attn_norm.weight", &[8], &[1.0; 8], GgmlType::F32));
        f
    }

    fn adapter(target: &str, n_out: usize, n_in: usize) -> Adapter {
        let config = AdapterConfig {
            peft_type: "LORA".into(),
            r: 1,
            lora_alpha: 2.0,
            target_modules: serde_json::Value::Null,
            use_rslora: false,
            use_dora: false,
            fan_in_fan_out: false,
            rank_pattern: BTreeMap::new(),
            alpha_pattern: BTreeMap::new(),
            bias: None,
        };
        // B has a 1 only in Hugging Face row 1: the update lands in one row.
        let mut b = vec![0.0; n_out];
        b[1] = 1.0;
        let pair = LoraPair { r: 1, n_in, n_out, a: vec![0.25; n_in], b };
        Adapter { config, scale: 2.0, updates: BTreeMap::from([(target.to_string(), pair)]) }
    }

    #[test]
    fn merge_lands_in_llama_cpp_row_order_and_writes_f16() {
        let base = tiny_base();
        let merged = merged_f16(&base, Some(&adapter("blk.0.attn_q.weight", 8, 8)), &mut |_| {}).unwrap();
        let before = base.tensor("blk.0.attn_q.weight").unwrap().to_f32().unwrap();
        let q = merged.tensor("blk.0.attn_q.weight").unwrap();
        assert_eq!(q.ty, GgmlType::F16);
        let after = q.to_f32().unwrap();
        // HF row 1 of head 0 (first rotary half, j = 1) is GGUF row 2.
        for row in 0..8 {
            for col in 0..8 {
                let i = row * 8 + col;
                let expected = before[i] + if row == 2 { 0.5 } else { 0.0 };
                assert!((after[i] - expected).abs() < 2e-3, "row {row} col {col}: {} vs {expected}", after[i]);
            }
        }
        assert_eq!(merged.tensor("blk.0.attn_norm.weight").unwrap().ty, GgmlType::F32);
        assert_eq!(merged.get("general.file_type"), Some(&Value::U32(FILE_TYPE_F16)));
    }

    #[test]
    fn the_runtime_lora_names_its_base_and_stores_b_in_llama_cpp_row_order() {
        let base = tiny_base();
        let lora = adapter("blk.0.attn_q.weight", 8, 8).to_runtime_gguf(&base, "base.gguf").unwrap();
        let lora = GgufFile::parse(&lora.to_bytes()).unwrap();
        assert_eq!(lora.get("general.type").and_then(Value::as_str), Some("adapter"));
        assert_eq!(lora.get("adapter.type").and_then(Value::as_str), Some("lora"));
        assert_eq!(lora.get(lora::GGUF_LORA_BASE_KEY).and_then(Value::as_str), Some("base.gguf"));
        // llama.cpp scales by alpha / r: alpha must be the merge scale (2.0) times r (1).
        assert_eq!(lora.get("adapter.lora.alpha"), Some(&Value::F32(2.0)));
        let a = lora.tensor("blk.0.attn_q.weight.lora_a").unwrap();
        assert_eq!((a.dims.clone(), a.to_f32().unwrap()), (vec![8, 1], vec![0.25; 8]));
        let b = lora.tensor("blk.0.attn_q.weight.lora_b").unwrap();
        assert_eq!(b.dims, vec![1, 8]);
        // HF row 1 of head 0 is GGUF row 2, as in the merge.
        assert_eq!(b.to_f32().unwrap(), vec![0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert!(lora.tensor("blk.0.attn_q.weight").is_none(), "the base weights stay out of the adapter");
        let e = adapter("blk.0.attn_k.weight", 8, 8).to_runtime_gguf(&base, "base.gguf").unwrap_err();
        assert!(e.message.contains("shape mismatch"), "{}", e.message);
    }

    #[test]
    fn the_runtime_lora_s_base_is_put_beside_it_and_a_different_namesake_is_refused() {
        let root = std::env::temp_dir().join(format!("intent-prepare-beside-{}", std::process::id()));
        let (src, out) = (root.join("src"), root.join("out"));
        std::fs::create_dir_all(&src).unwrap();
        std::fs::create_dir_all(&out).unwrap();
        let base = src.join("base.gguf");
        std::fs::write(&base, b"the base").unwrap();
        assert_eq!(base_file_name(&base).unwrap(), "base.gguf");
        put_base_beside(&base, "base.gguf", &src).unwrap();
        assert_eq!(std::fs::read_dir(&src).unwrap().count(), 1, "already beside: nothing copied");
        put_base_beside(&base, "base.gguf", &out).unwrap();
        assert_eq!(std::fs::read(out.join("base.gguf")).unwrap(), b"the base", "copied beside the adapter");
        put_base_beside(&base, "base.gguf", &out).unwrap();
        std::fs::write(out.join("base.gguf"), b"another model").unwrap();
        let e = put_base_beside(&base, "base.gguf", &out).unwrap_err();
        assert!(e.message.contains("another file"), "{}", e.message);
        std::fs::remove_dir_all(root).ok();
    }

    #[test]
    fn a_base_that_an_output_would_overwrite_and_a_zero_alpha_lora_are_refused() {
        let out = std::env::temp_dir().join(format!("intent-prepare-overwrite-{}", std::process::id()));
        std::fs::create_dir_all(&out).unwrap();
        let mut base = tiny_base();
        base.set("tokenizer.ggml.model", Value::Str("gpt2".into()));
        base.set("tokenizer.ggml.tokens", Value::Array(8, vec![Value::Str("a".into())]));
        let path = out.join("n.Q8_0.gguf");
        base.write(&path).unwrap();
        let opts = PrepareOptions {
            base: path.clone(),
            adapter: None,
            out_dir: out.clone(),
            name: "n".into(),
            formats: vec!["q8_0".into()],
            plugin_path: None,
            threads: 1,
            calibration: None,
            calibration_samples: 1,
            gptq: default_gptq_params(),
            importance: true,
        };
        let e = prepare(&opts, &mut |_| {}).unwrap_err();
        assert!(e.message.contains("would be overwritten by the q8_0 output"), "{}", e.message);
        assert_eq!(GgufFile::read(&path).unwrap().tensors.len(), 3, "the base is untouched");
        std::fs::remove_dir_all(out).ok();

        let mut zero = adapter("blk.0.attn_q.weight", 8, 8);
        zero.scale = 0.0;
        let e = zero.to_runtime_gguf(&tiny_base(), "base.gguf").unwrap_err();
        assert!(e.message.contains("lora_alpha is 0"), "{}", e.message);
    }

    #[test]
    fn an_adapter_trained_on_another_base_file_is_refused_by_its_hash() {
        let root = std::env::temp_dir().join(format!("intent-prepare-base-hash-{}", std::process::id()));
        let (dir, out) = (root.join("adapter"), root.join("out"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut base = tiny_base();
        base.set("tokenizer.ggml.model", Value::Str("gpt2".into()));
        base.set("tokenizer.ggml.tokens", Value::Array(8, vec![Value::Str("a".into())]));
        let base_path = root.join("base.gguf");
        base.write(&base_path).unwrap();
        std::fs::write(dir.join("adapter_config.json"), r#"{"peft_type": "LORA", "r": 1, "lora_alpha": 2}"#).unwrap();
        let q = "base_model.model.model.layers.0.self_attn.q_proj";
        let tensors = [
            (format!("{q}.lora_A.weight"), RawTensor::f32(&[1, 8], &[0.25; 8])),
            (format!("{q}.lora_B.weight"), RawTensor::f32(&[8, 1], &[0.0; 8])),
        ];
        std::fs::write(dir.join("adapter_model.safetensors"), hf::safetensors_bytes(&tensors).unwrap()).unwrap();
        // The committed adapter's manifest, naming the base it was trained on.
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/smollm2-135m-ecommerce-v1-lora").join(MANIFEST_IN_DIR);
        let mut manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(shipped).unwrap()).unwrap();
        let write_manifest = |m: &serde_json::Value| std::fs::write(dir.join(MANIFEST_IN_DIR), m.to_string()).unwrap();
        write_manifest(&manifest);
        let opts = PrepareOptions {
            base: base_path.clone(),
            adapter: Some(dir.clone()),
            out_dir: out.clone(),
            name: "n".into(),
            formats: vec!["F16".into()],
            plugin_path: None,
            threads: 1,
            calibration: None,
            calibration_samples: 1,
            gptq: default_gptq_params(),
            importance: false,
        };
        let e = prepare(&opts, &mut |_| {}).unwrap_err();
        assert_eq!(e.status, Status::InvalidModel);
        assert!(e.message.contains("trained on SmolLM2-135M-Instruct.Q4_1.gguf (sha256 b179c9523d0e…), not on"), "{}", e.message);
        assert!(!out.join("n.F16.gguf").exists(), "nothing is written for the wrong base");

        // Named with this base's hash, the same adapter gets past the check (the tiny base
        // may still fail later, for what it lacks).
        manifest["base"]["sha256"] = serde_json::Value::String(sha256_file(&base_path).unwrap());
        write_manifest(&manifest);
        if let Err(e) = prepare(&opts, &mut |_| {}) {
            assert!(!e.message.contains("trained on"), "{}", e.message);
        }
        std::fs::remove_dir_all(root).ok();
    }

    #[test]
    fn adapters_for_other_models_are_refused_by_name() {
        let base = tiny_base();
        let e = merged_f16(&base, Some(&adapter("blk.5.attn_q.weight", 8, 8)), &mut |_| {}).unwrap_err();
        assert!(e.message.contains("blk.5.attn_q.weight") && e.message.contains("another model"), "{}", e.message);
        let e = merged_f16(&base, Some(&adapter("blk.0.attn_k.weight", 8, 8)), &mut |_| {}).unwrap_err();
        assert!(e.message.contains("shape mismatch"), "{}", e.message);
        let mut not_llama = tiny_base();
        not_llama.set("general.architecture", Value::Str("gpt2".into()));
        assert!(check_base(&not_llama, Path::new("x.gguf")).unwrap_err().message.contains("'gpt2'"));
        assert!(check_base(&tiny_base(), Path::new("x.gguf")).unwrap_err().message.contains("no tokenizer"));
    }
}
