//! `intent bench`: latency of one query with the cached prefix and with the prompt
//! recomputed (same run, same queries), batch throughput, and peak resident memory; with
//! `--naive`, also the straightforward way with the same model (whole prompt every time,
//! free greedy generation of the answer over the whole vocabulary).

use crate::EngineArgs;
use intent_core::backend::BatchToken;
use intent_core::{ClassifyOptions, Engine, IntentEngine};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// Shopper messages of 14 to 17 tokens (median 15, SmolLM2 tokenizer), in the languages the engine serves.
pub const DEFAULT_QUERIES: &[&str] = &[
    "where is my parcel? I ordered it last week and nothing came yet!",
    "wo ist mein Paket? seit Montag nichts da",
    "I want to cancel my order 4471 before it ships please",
    "je veux retourner ces chaussures, trop petites",
    "do you have the nike air max in size 42 in black",
    "ho pagato due volte lo stesso ordine, aiuto!",
    "cuánto tarda el envío a Valencia, por favor",
    "não consigo entrar na conta, esqueci a senha",
    "trebam račun za narudžbu, molim vas",
    "can I please talk to a real human person instead of this bot?",
];

#[derive(clap::Args)]
pub struct BenchArgs {
    /// One query per line (default: built-in multilingual queries of about 15 tokens).
    #[arg(long)]
    queries: Option<PathBuf>,
    /// Timed passes over the queries.
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    /// Untimed passes first.
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// Also write the results as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Also time the straightforward way with the same model and queries, as a plain
    /// llama.cpp program would classify: the whole prompt evaluated for every query and the
    /// answer generated greedily over the whole vocabulary (no prefix cache, no constraint).
    #[arg(long)]
    naive: bool,
    /// Also write the prompts' token ids (exactly what the engine evaluates for each query),
    /// the labels' token ids and the end tokens here as JSON, for peers run outside the
    /// engine on the same inputs (benches/cpu/torch_peer.py).
    #[arg(long)]
    dump_prompts: Option<PathBuf>,
    #[command(flatten)]
    engine: EngineArgs,
}

/// Latency statistics, milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// Samples.
    pub samples: usize,
}

/// Everything `intent bench` measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Model description.
    pub model: String,
    /// Threads setting.
    pub threads: i32,
    /// Median tokens per query.
    pub median_query_tokens: usize,
    /// Tokens of the cached prefix.
    pub prefix_tokens: usize,
    /// One query at a time, prefix cached.
    pub cached: Latency,
    /// One query at a time, prompt recomputed for each.
    pub uncached: Latency,
    /// `uncached.p50 / cached.p50`.
    pub prefix_speedup: f64,
    /// Queries per second with batches of `max_batch`.
    pub batch_queries_per_s: f64,
    /// Query tokens evaluated per second with batches of `max_batch` (the tokens each
    /// query adds after the cached prefix, as `Classification::query_tokens` counts them).
    pub batch_tokens_per_s: f64,
    /// Batch size used for the throughput figure.
    pub max_batch: usize,
    /// Peak resident memory of this process with the cached engine, MiB.
    pub peak_rss_mib: f64,
    /// Time to open the engine (load the model, evaluate the cached prefix), ms.
    pub load_ms: f64,
    /// The straightforward way (`--naive`), one query at a time.
    pub naive: Option<NaiveReport>,
}

/// The straightforward way of classifying with the same model (`--naive`).
#[derive(Debug, Clone, Serialize)]
pub struct NaiveReport {
    /// Latency of one query: whole prompt, then greedy generation.
    pub latency: Latency,
    /// `latency.p50 / cached.p50`: how much slower than the engine.
    pub over_cached: f64,
    /// Answers generated (one per query and pass).
    pub answers: usize,
    /// Answers that did not start with one of the labels.
    pub invalid: usize,
}

/// Percentile of sorted samples (nearest rank).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn latency(mut samples: Vec<f64>) -> Latency {
    samples.sort_by(f64::total_cmp);
    Latency { p50_ms: percentile(&samples, 0.5), p95_ms: percentile(&samples, 0.95), samples: samples.len() }
}

/// Peak resident set size of this process, MiB.
pub fn peak_rss_mib() -> f64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return f64::NAN;
    }
    usage.ru_maxrss as f64 / 1024.0
}

/// Milliseconds of `one(query, timed)` per query over `warmup` untimed and `repeat` timed
/// passes.
fn time_passes(queries: &[String], warmup: usize, repeat: usize, mut one: impl FnMut(&str, bool) -> Result<(), String>) -> Result<Vec<f64>, String> {
    let mut samples = Vec::with_capacity(queries.len() * repeat);
    for pass in 0..warmup + repeat {
        let timed = pass >= warmup;
        for q in queries {
            let t = Instant::now();
            one(q, timed)?;
            if timed {
                samples.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    Ok(samples)
}

fn time_singles(engine: &Engine, queries: &[String], warmup: usize, repeat: usize, options: &ClassifyOptions) -> Result<Vec<f64>, String> {
    time_passes(queries, warmup, repeat, |q, _| engine.classify(q, options).map(|_| ()).map_err(|e| e.message))
}

/// The model's end tokens (end of sequence, end of turn).
fn end_tokens(engine: &Engine) -> Vec<i32> {
    let facts = engine.model().facts();
    [facts.eos, facts.eot].into_iter().flatten().collect()
}

/// Whether freely generated tokens start with one label's tokens, as a program parsing the
/// answer's first word would accept (the fine-tuned models answer with the label's word and
/// were not trained to stop after it).
fn starts_with_label(generated: &[i32], labels: &[Vec<i32>]) -> bool {
    labels.iter().any(|l| !l.is_empty() && generated.starts_with(l))
}

fn argmax(v: &[f32]) -> usize {
    v.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(i, _)| i)
}

/// One query the straightforward way: the whole prompt in a fresh sequence, then greedy
/// generation over the whole vocabulary until an end token or one token more than the
/// longest label. Returns the generated tokens.
fn naive_answer(engine: &Engine, ctx: &mut dyn intent_core::backend::EvalContext, query: &str, vocab: &[i32], stops: &[i32], longest: usize) -> Result<Vec<i32>, String> {
    let prompt = engine.prompt_tokens(query).map_err(|e| e.message)?;
    ctx.seq_remove(0, None, None).map_err(|e| e.message)?;
    // The engine's contexts take a whole context's worth of tokens in one batch.
    let tokens: Vec<BatchToken> = prompt
        .iter()
        .enumerate()
        .map(|(pos, &token)| BatchToken { token, pos: pos as i32, seq: 0, output: pos + 1 == prompt.len() })
        .collect();
    let mut logits = ctx.eval(&tokens, vocab).map_err(|e| e.message)?;
    let mut generated = Vec::new();
    while generated.len() <= longest {
        let next = vocab[argmax(&logits)];
        if stops.contains(&next) {
            break;
        }
        generated.push(next);
        let token = BatchToken { token: next, pos: (prompt.len() + generated.len() - 1) as i32, seq: 0, output: true };
        logits = ctx.eval(&[token], vocab).map_err(|e| e.message)?;
    }
    Ok(generated)
}

/// Writes what a peer needs to classify the queries from the same inputs: each prompt's
/// token ids, the labels' token ids and the end tokens.
fn dump_prompts(engine: &Engine, queries: &[String], path: &std::path::Path) -> Result<(), String> {
    let mut prompts = Vec::with_capacity(queries.len());
    for q in queries {
        prompts.push(serde_json::json!({ "text": q, "tokens": engine.prompt_tokens(q).map_err(|e| e.message)? }));
    }
    let json = serde_json::json!({ "labels": engine.label_tokens(), "stops": end_tokens(engine), "prompts": prompts });
    std::fs::write(path, json.to_string()).map_err(|e| format!("{}: {e}", path.display()))
}

/// Times [`naive_answer`] over the queries; returns the samples and how many of the timed
/// answers did not start with a label.
fn time_naive(engine: &Engine, queries: &[String], warmup: usize, repeat: usize) -> Result<(Vec<f64>, usize), String> {
    let model = engine.model();
    let vocab: Vec<i32> = (0..model.facts().n_vocab).collect();
    let stops = end_tokens(engine);
    let labels = engine.label_tokens();
    let longest = labels.iter().map(Vec::len).max().unwrap_or(1);
    let mut ctx = model.new_context(&engine.context_spec()).map_err(|e| e.message)?;
    let mut invalid = 0;
    let samples = time_passes(queries, warmup, repeat, |q, timed| {
        let generated = naive_answer(engine, ctx.as_mut(), q, &vocab, &stops, longest)?;
        invalid += usize::from(timed && !starts_with_label(&generated, labels));
        Ok(())
    })?;
    Ok((samples, invalid))
}

pub fn run(args: &BenchArgs) -> Result<(), String> {
    let queries: Vec<String> = match &args.queries {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| format!("{}: {e}", p.display()))?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(String::from)
            .collect(),
        None => DEFAULT_QUERIES.iter().map(|s| s.to_string()).collect(),
    };
    if queries.is_empty() {
        return Err("no queries".into());
    }
    let options = args.engine.classify_options();
    let opened = Instant::now();
    let cached_engine = args.engine.open()?;
    let load_ms = opened.elapsed().as_secs_f64() * 1e3;
    if let Some(path) = &args.dump_prompts {
        dump_prompts(&cached_engine, &queries, path)?;
    }
    let mut tokens: Vec<usize> = Vec::new();
    for q in &queries {
        tokens.push(cached_engine.classify(q, &options).map_err(|e| e.message)?.query_tokens);
    }
    tokens.sort_unstable();
    let cached = latency(time_singles(&cached_engine, &queries, args.warmup, args.repeat, &options)?);
    let texts: Vec<&str> = queries.iter().map(String::as_str).collect();
    let t = Instant::now();
    let mut done = 0usize;
    for _ in 0..args.repeat {
        done += cached_engine.classify_batch(&texts, &options).iter().filter(|r| r.is_ok()).count();
    }
    let elapsed = t.elapsed().as_secs_f64();
    let batch_queries_per_s = done as f64 / elapsed;
    let batch_tokens_per_s = (tokens.iter().sum::<usize>() * args.repeat) as f64 / elapsed;
    let peak_rss = peak_rss_mib();
    let naive = if args.naive {
        let (samples, invalid) = time_naive(&cached_engine, &queries, args.warmup, args.repeat)?;
        let answers = samples.len();
        let latency = latency(samples);
        Some(NaiveReport { over_cached: latency.p50_ms / cached.p50_ms, latency, answers, invalid })
    } else {
        None
    };
    let model = cached_engine.model().facts().description.clone();
    let prefix_tokens = cached_engine.prefix_tokens();
    let max_batch = cached_engine.config().max_batch;
    drop(cached_engine);

    let mut open = args.engine.open_options();
    open.config.prefix_cache = false;
    let uncached_engine = intent_core::open(&open).map_err(|e| e.message)?;
    let uncached = latency(time_singles(&uncached_engine, &queries, args.warmup, args.repeat, &options)?);
    let report = BenchReport {
        model,
        threads: args.engine.threads,
        median_query_tokens: tokens[tokens.len() / 2],
        prefix_tokens,
        prefix_speedup: uncached.p50_ms / cached.p50_ms,
        cached,
        uncached,
        batch_queries_per_s,
        batch_tokens_per_s,
        max_batch,
        peak_rss_mib: peak_rss,
        load_ms,
        naive,
    };
    println!("model: {}", report.model);
    println!("queries: {} (median {} tokens), prefix: {} tokens cached", queries.len(), report.median_query_tokens, report.prefix_tokens);
    println!("| mode | p50 ms | p95 ms | samples |\n|---|---:|---:|---:|");
    println!("| prefix cached | {:.1} | {:.1} | {} |", report.cached.p50_ms, report.cached.p95_ms, report.cached.samples);
    println!("| prompt recomputed | {:.1} | {:.1} | {} |", report.uncached.p50_ms, report.uncached.p95_ms, report.uncached.samples);
    println!("prefix cache speed-up (p50): {:.2}x", report.prefix_speedup);
    if let Some(n) = &report.naive {
        println!(
            "straightforward way (whole prompt, free greedy answer): p50 {:.1} ms, p95 {:.1} ms, {:.1}x the engine; {} of {} answers do not start with a label",
            n.latency.p50_ms, n.latency.p95_ms, n.over_cached, n.invalid, n.answers
        );
    }
    println!(
        "batch throughput (batches of {}): {:.1} queries/s, {:.0} query tokens/s",
        report.max_batch, report.batch_queries_per_s, report.batch_tokens_per_s
    );
    println!("peak RSS with the cached engine: {:.1} MiB; engine opened in {:.0} ms", report.peak_rss_mib, report.load_ms);
    if let Some(p) = &args.json {
        std::fs::write(p, serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_free_answer_is_valid_when_it_starts_with_a_whole_label() {
        let labels = vec![vec![5, 6], vec![7]];
        assert!(starts_with_label(&[5, 6], &labels));
        assert!(starts_with_label(&[7, 7, 7], &labels), "a label, then the model goes on");
        assert!(!starts_with_label(&[5], &labels), "a label's first token only");
        assert!(!starts_with_label(&[9, 7], &labels), "a label later on");
        assert!(!starts_with_label(&[], &labels), "nothing");
    }

    #[test]
    fn nearest_rank_percentiles() {
        let s = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!(percentile(&s, 0.5), 5.0);
        assert_eq!(percentile(&s, 0.95), 10.0);
        assert_eq!(percentile(&s[..1], 0.5), 1.0);
        assert!(percentile(&[], 0.5).is_nan());
    }
}
