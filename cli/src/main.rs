//! `intent`: classify shopper messages, evaluate a model on labelled data, measure speed,
//! and show which backends and models the engine finds.

mod bench;
mod eval;
mod model;
mod svg;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use intent_core::{ClassifyOptions, Engine, EngineConfig, IntentEngine, OpenOptions};
use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "intent", version, about = "libintent: e-commerce intent recognition, in-process")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Classify one query, or one query per line of a file (JSONL out).
    Classify(ClassifyArgs),
    /// Evaluate on labelled JSONL ({"text","intent","lang"} per line): JSON + Markdown report.
    Eval(EvalArgs),
    /// Measure latency with and without the cached prefix, and peak memory.
    Bench(bench::BenchArgs),
    /// Show the plugins found (and why any was skipped), the model and the taxonomy.
    Info(EngineArgs),
    /// Prepare models: merge a fine-tuning adapter, write every weight format.
    #[command(subcommand)]
    Model(model::ModelCommand),
}

/// Options shared by every command that opens an engine.
#[derive(Args, Clone)]
pub struct EngineArgs {
    /// Backend plugin name (default: the first usable one for the model's format).
    #[arg(long)]
    backend: Option<String>,
    /// Model file or directory (default: $INTENT_MODEL, then the default model).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Built-in taxonomy name or taxonomy JSON file.
    #[arg(long, default_value = "ecommerce-v1")]
    taxonomy: String,
    /// Restrict answers to these labels (comma-separated).
    #[arg(long, value_delimiter = ',')]
    labels: Option<Vec<String>>,
    /// CPU threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    threads: i32,
    /// Explicit plugin file or directory, searched before the default places.
    #[arg(long)]
    plugin_path: Option<PathBuf>,
    /// Labels to report with their probabilities.
    #[arg(long, default_value_t = 3)]
    top_k: usize,
    /// Return the taxonomy's fallback label when the best probability is under this.
    #[arg(long, default_value_t = 0.0)]
    threshold: f32,
    /// Longest query in tokens.
    #[arg(long, default_value_t = 128)]
    max_query_tokens: usize,
    /// Truncate longer queries instead of refusing them.
    #[arg(long)]
    truncate: bool,
    /// Queries evaluated together in one backend call.
    #[arg(long, default_value_t = 8)]
    max_batch: usize,
    /// Memory-map the model instead of reading it into memory.
    #[arg(long)]
    mmap: bool,
    /// GPU index for GPU backends; -1 runs fp16-cuda on the CPU (its F32 reference).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    device: i32,
    /// Label-trie branches under this probability are not expanded (their labels share it).
    #[arg(long, default_value_t = EngineConfig::default().branch_min_prob)]
    branch_min_prob: f32,
}

impl EngineArgs {
    fn open_options(&self) -> OpenOptions {
        OpenOptions {
            backend: self.backend.clone(),
            model: self.model.clone(),
            taxonomy: Some(self.taxonomy.clone()),
            plugin_path: self.plugin_path.clone(),
            use_mmap: self.mmap,
            device: self.device,
            config: EngineConfig {
                threads: self.threads,
                top_k: self.top_k,
                threshold: self.threshold,
                max_query_tokens: self.max_query_tokens,
                truncate: self.truncate,
                max_batch: self.max_batch,
                branch_min_prob: self.branch_min_prob,
                ..EngineConfig::default()
            },
        }
    }

    fn open(&self) -> Result<Engine, String> {
        intent_core::open(&self.open_options()).map_err(|e| format!("{} ({})", e.message, e.status.as_str()))
    }

    fn classify_options(&self) -> ClassifyOptions {
        ClassifyOptions { labels: self.labels.clone(), ..ClassifyOptions::default() }
    }
}

#[derive(Args)]
struct ClassifyArgs {
    /// The query.
    text: Option<String>,
    /// Read one query per line from this file ('-' for standard input); write JSONL.
    #[arg(long, conflicts_with = "text")]
    file: Option<PathBuf>,
    /// Write results here instead of standard output.
    #[arg(long)]
    output: Option<PathBuf>,
    #[command(flatten)]
    engine: EngineArgs,
}

#[derive(Args)]
struct EvalArgs {
    /// Labelled JSONL files.
    #[arg(long, required = true, num_args = 1..)]
    data: Vec<PathBuf>,
    /// Directory for eval.json and eval.md.
    #[arg(long, default_value = "eval-report")]
    out_dir: PathBuf,
    #[command(flatten)]
    engine: EngineArgs,
}

/// A progress bar on standard error for `len` items (hidden when stderr is not a terminal).
pub fn progress(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} [{elapsed_precise}, {per_sec}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(what.to_string());
    bar
}

fn read_lines(path: &PathBuf) -> Result<Vec<String>, String> {
    let reader: Box<dyn BufRead> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::io::BufReader::new(std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?))
    };
    let mut lines = Vec::new();
    for (n, line) in reader.split(b'\n').enumerate() {
        let bytes = line.map_err(|e| format!("{}: {e}", path.display()))?;
        let text = String::from_utf8(bytes).map_err(|_| format!("{}:{}: line is not valid UTF-8", path.display(), n + 1))?;
        lines.push(text.trim_end_matches('\r').to_string());
    }
    Ok(lines)
}

fn output(path: Option<&PathBuf>) -> Result<Box<dyn Write>, String> {
    Ok(match path {
        Some(p) => Box::new(BufWriter::new(std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()))?)),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    })
}

fn classify(args: &ClassifyArgs) -> Result<(), String> {
    let engine = args.engine.open()?;
    let options = args.engine.classify_options();
    let mut out = output(args.output.as_ref())?;
    match (&args.text, &args.file) {
        (Some(text), None) => {
            let r = engine.classify(text, &options).map_err(|e| e.message)?;
            writeln!(out, "{}", serde_json::to_string_pretty(&r).unwrap_or_default()).map_err(|e| e.to_string())?;
        }
        (None, Some(file)) => {
            let lines = read_lines(file)?;
            let bar = progress(lines.len(), "classifying");
            let mut failed = 0usize;
            for chunk in lines.chunks(engine.config().max_batch * 4) {
                let texts: Vec<&str> = chunk.iter().map(String::as_str).collect();
                for (text, r) in texts.iter().zip(engine.classify_batch(&texts, &options)) {
                    let line = match r {
                        Ok(r) => serde_json::json!({ "text": text, "result": r }),
                        Err(e) => {
                            failed += 1;
                            serde_json::json!({ "text": text, "error": { "status": e.status.code(), "message": e.message } })
                        }
                    };
                    writeln!(out, "{line}").map_err(|e| e.to_string())?;
                }
                bar.inc(chunk.len() as u64);
            }
            bar.finish_and_clear();
            if failed > 0 {
                eprintln!("{failed} of {} lines could not be classified (see their \"error\")", lines.len());
            }
        }
        _ => return Err("give a query, or --file".into()),
    }
    out.flush().map_err(|e| e.to_string())
}

fn info(args: &EngineArgs) -> Result<(), String> {
    println!("libintent {}", intent_core::VERSION);
    println!("plugin ABI {}.{}", intent_plugin_abi_version().0, intent_plugin_abi_version().1);
    println!("plugin search path:");
    for (p, s) in intent_core::plugin::search_path(args.plugin_path.as_deref()) {
        println!("  {} ({})", p.display(), s.as_str());
    }
    println!("plugins:");
    for d in intent_core::plugin::discover(args.plugin_path.as_deref()) {
        match (&d.outcome, &d.probe) {
            (Ok(p), Ok(())) => println!("  {} {} [{}] ready: {} ({})", p.name, p.version, p.model_format, p.description, d.path.display()),
            (Ok(p), Err(e)) => println!("  {} {} skipped: {}", p.name, p.version, e.message),
            (Err(e), _) => println!("  {} skipped: {}", d.path.display(), e.message),
        }
    }
    let engine = args.open()?;
    let facts = engine.model().facts();
    println!("model: {}", facts.description);
    println!("taxonomy: {} ({} intents)", engine.taxonomy().name, engine.taxonomy().intents.len());
    let (_, _, own) = engine.prompt_text();
    let trie = engine.label_trie();
    let depth = trie.nodes().iter().enumerate().filter(|(i, _)| trie.is_branching(*i)).map(|(_, n)| n.path.len()).max().unwrap_or(0);
    println!(
        "labels: {} tokens in all, {} branching trie nodes (deepest after {} tokens), {} extra tokens per query at most",
        engine.label_tokens().iter().map(Vec::len).sum::<usize>(),
        trie.n_branching(),
        depth,
        trie.branch_tokens()
    );
    println!(
        "prompt: {} ({}), {} prefix tokens cached, {} chat template",
        engine.prompt_format().unwrap_or("zero-shot"),
        if engine.prompt_format().is_some() { "from the model's manifest" } else { "taxonomy listed in the system prompt" },
        engine.prefix_tokens(),
        if own { "model's own" } else { "ChatML fallback" }
    );
    Ok(())
}

fn intent_plugin_abi_version() -> (u32, u32) {
    (intent_core::plugin::ABI_MAJOR, intent_core::plugin::ABI_MINOR)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Classify(a) => classify(a),
        Command::Eval(a) => eval::run(&a.engine, &a.data, &a.out_dir),
        Command::Bench(a) => bench::run(a),
        Command::Info(a) => info(a),
        Command::Model(c) => model::run(c),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("intent: {e}");
            ExitCode::FAILURE
        }
    }
}
