//! `intent model prepare`: every weight format from a base GGUF and a LoRA adapter.

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use intent_prepare::gptq::GptqParams;
use intent_prepare::{default_gptq_params, prepare, PrepareOptions, Progress, DEFAULT_FORMATS};
use std::path::PathBuf;

/// Model commands.
#[derive(Subcommand)]
pub enum ModelCommand {
    /// Merge a LoRA adapter into a base GGUF and write F16 plus quantized GGUF models,
    /// each with its manifest.
    Prepare(PrepareArgs),
    /// Write a model of a real shape with deterministic random weights (Hugging Face
    /// layout, F16), for speed measurements only: its answers mean nothing.
    Synth(SynthArgs),
}

/// Options of `intent model synth`.
#[derive(Args)]
pub struct SynthArgs {
    /// Shape of a real model: smollm2-135m or llama-3.2-1b.
    #[arg(long)]
    shape: String,
    /// Weight format: f16 (a Hugging Face directory) or gptq (a 4-bit GPTQ checkpoint of the
    /// same weights, act-order, groups of --group-size rows).
    #[arg(long, default_value = "f16")]
    format: String,
    /// Rows per group of the gptq format.
    #[arg(long, default_value_t = 128)]
    group_size: usize,
    /// Seed of the weights.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// GGUF whose tokenizer the model gets (default: the SmolLM2 base of scripts/setup.sh).
    #[arg(long)]
    tokenizer_from: Option<PathBuf>,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
}

/// Options of `intent model prepare`.
#[derive(Args)]
pub struct PrepareArgs {
    /// Base model (a Llama-family GGUF).
    #[arg(long)]
    base: PathBuf,
    /// PEFT LoRA adapter directory (adapter_config.json, adapter_model.safetensors,
    /// and intent.json for a fine-tuned prompt). Without it the base is re-encoded.
    #[arg(long)]
    adapter: Option<PathBuf>,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// Output name stem: <out>/<name>.<FORMAT>.gguf.
    #[arg(long)]
    name: String,
    /// Formats, comma-separated: GGUF formats by llama.cpp's names (F16 is always
    /// written), GPTQ (a <name>-gptq/ checkpoint, needs --calibration) and LORA
    /// (<name>.LORA.gguf: the adapter, applied to the unchanged base at run time).
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_FORMATS.iter().map(|s| s.to_string()))]
    formats: Vec<String>,
    /// Explicit backend plugin file or directory (gguf-cpu's quantizer is used).
    #[arg(long)]
    plugin_path: Option<PathBuf>,
    /// CPU threads for quantizing (0 = all).
    #[arg(long, default_value_t = 0)]
    threads: i32,
    /// Calibration text for GPTQ and for the GGUF formats' importance matrix: JSON lines
    /// with a "text" field, or plain lines.
    #[arg(long)]
    calibration: Option<PathBuf>,
    /// Quantize the GGUF formats without an importance matrix even when calibration text
    /// is given (llama.cpp's plain rounding).
    #[arg(long)]
    no_importance_matrix: bool,
    /// Calibration texts used, spread evenly over the file.
    #[arg(long, default_value_t = 256)]
    calibration_samples: usize,
    /// GPTQ bits per weight (4 or 8).
    #[arg(long, default_value_t = default_gptq_params().bits)]
    gptq_bits: u32,
    /// GPTQ input columns per group (must divide every layer's inputs).
    #[arg(long, default_value_t = default_gptq_params().group_size)]
    gptq_group_size: usize,
    /// GPTQ with a symmetric grid instead of fitted zero points.
    #[arg(long)]
    gptq_sym: bool,
    /// GPTQ in column order instead of act-order (decreasing Hessian diagonal).
    #[arg(long)]
    gptq_no_act_order: bool,
    /// GPTQ damping, a fraction of the mean Hessian diagonal.
    #[arg(long, default_value_t = default_gptq_params().damp_percent)]
    gptq_damp: f64,
    /// GPTQ chooses each group's range by a search that may clip its outermost weights
    /// (true) instead of spanning them all (false).
    #[arg(long, default_value_t = default_gptq_params().clip_search, action = clap::ArgAction::Set)]
    gptq_clip_search: bool,
    /// GPTQ fits the group scales again by least squares on the layer's output once the
    /// codes are chosen (true), or keeps the scales the codes were rounded with (false).
    #[arg(long, default_value_t = default_gptq_params().refit_scales, action = clap::ArgAction::Set)]
    gptq_refit_scales: bool,
    /// GPTQ aims each layer at the unquantized model's outputs, making up for the error of
    /// the layers before it (true), or at its own outputs on the quantized model's inputs
    /// (false).
    #[arg(long, default_value_t = default_gptq_params().correct_upstream, action = clap::ArgAction::Set)]
    gptq_correct_upstream: bool,
}

/// Runs a model command.
pub fn run(cmd: &ModelCommand) -> Result<(), String> {
    match cmd {
        ModelCommand::Prepare(a) => {
            let opts = PrepareOptions {
                base: a.base.clone(),
                adapter: a.adapter.clone(),
                out_dir: a.out.clone(),
                name: a.name.clone(),
                formats: a.formats.clone(),
                plugin_path: a.plugin_path.clone(),
                threads: a.threads,
                calibration: a.calibration.clone(),
                calibration_samples: a.calibration_samples,
                importance: !a.no_importance_matrix,
                gptq: GptqParams {
                    bits: a.gptq_bits,
                    group_size: a.gptq_group_size,
                    sym: a.gptq_sym,
                    act_order: !a.gptq_no_act_order,
                    damp_percent: a.gptq_damp,
                    clip_search: a.gptq_clip_search,
                    refit_scales: a.gptq_refit_scales,
                    correct_upstream: a.gptq_correct_upstream,
                    ..default_gptq_params()
                },
            };
            let bar = ProgressBar::new(1);
            bar.set_style(ProgressStyle::with_template("{msg:24} [{bar:30}] {pos}/{len} {elapsed}").map_err(|e| e.to_string())?);
            let mut on_progress = |p: Progress| {
                bar.set_message(p.step);
                bar.set_length(p.total.max(1));
                bar.set_position(p.done);
            };
            let written = prepare(&opts, &mut on_progress).map_err(|e| e.message)?;
            bar.finish_and_clear();
            for w in written {
                let manifest = w.manifest.map(|m| format!(" + {}", m.display())).unwrap_or_default();
                println!("{:7} {:>8.1} MB  {}{manifest}", w.format, w.bytes as f64 / 1e6, w.path.display());
            }
            Ok(())
        }
        ModelCommand::Synth(a) => {
            let shape = intent_prepare::synth::shape(&a.shape).map_err(|e| e.message)?;
            let format = match a.format.to_ascii_lowercase().as_str() {
                "f16" => intent_prepare::synth::SynthFormat::F16,
                "gptq" => intent_prepare::synth::SynthFormat::Gptq { group_size: a.group_size },
                _ => return Err(format!("format '{}' is not one intent model synth writes (known: f16, gptq)", a.format)),
            };
            let tokenizer_from = match &a.tokenizer_from {
                Some(p) => p.clone(),
                None => intent_core::open::resolve_base_model().map_err(|e| e.message)?,
            };
            intent_prepare::synth::write_hf(&shape, a.seed, format, &tokenizer_from, &a.out).map_err(|e| e.message)?;
            println!("{} (random weights, seed {}, {}): {}", shape.name, a.seed, a.format, a.out.display());
            Ok(())
        }
    }
}
