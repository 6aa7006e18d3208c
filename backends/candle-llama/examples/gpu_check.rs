//! Correctness of fp16-cuda or gptq-cuda on a GPU, against F32 references of the same model code:
//! F32 on the GPU for every query of the test split, F32 on the CPU for every Nth. Scores
//! the fine-tuned model's answer tokens after each query's full prompt (the prompt the
//! engine builds, prefix cached once), and reports label agreement, accuracy and the
//! relative error of the answer logits. Also writes the prompts' token ids, so that the
//! PyTorch baseline times exactly the same inputs.
//!
//! CUDA graphs: every `--graph-stride`-th query (default 4) is also scored alone, as the
//! engine scores one query, once eagerly and once through the context's CUDA graphs; the two
//! must agree, and their times per query are reported.
//!
//! Decode: `gpu_check --decode N --model DIR --out DIR` instead times single-sequence
//! decoding on any model directory (random-weight ones too): a 16-token prompt, then N
//! steps of one token each (the logits of 8 candidate tokens per step, as classification
//! asks for), with CUDA graphs as the context uses them and without; writes `decode.json`.
//!
//! `gpu_check --model DIR --plugin-dir DIR --test data/test.jsonl --out DIR [--cpu-stride 8]
//! [--backend fp16-cuda|gptq-cuda]` (GPTQ weights run in the int4 kernels in F16 and are
//! decoded for the F32 references). `gpu_check.json` has every query's GPU F16 label.
//! (run by benches/gpu/fp16_cuda.sh; needs a build with `--features cuda`).

use candle_core::{DType, Device};
use intent_candle_llama::graphs::GraphStats;
use intent_candle_llama::model::Llama;
use intent_candle_llama::{select_device, HfContext};
use intent_core::{open, EngineConfig, ModelManifest, OpenOptions};
use intent_plugin_abi::BackendContext;
use std::path::PathBuf;
use std::sync::Arc;

struct Args {
    model: PathBuf,
    plugin_dir: PathBuf,
    test: PathBuf,
    out: PathBuf,
    cpu_stride: usize,
    graph_stride: usize,
    decode: usize,
    backend: String,
}

fn args() -> Args {
    let mut a = Args { model: PathBuf::new(), plugin_dir: PathBuf::new(), test: PathBuf::new(), out: PathBuf::from("."), cpu_stride: 8, graph_stride: 4, decode: 0, backend: "fp16-cuda".into() };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--model" => a.model = v.into(),
            "--plugin-dir" => a.plugin_dir = v.into(),
            "--test" => a.test = v.into(),
            "--out" => a.out = v.into(),
            "--cpu-stride" => a.cpu_stride = v.parse().expect("--cpu-stride N"),
            "--graph-stride" => a.graph_stride = v.parse().expect("--graph-stride N"),
            "--decode" => a.decode = v.parse().expect("--decode N"),
            "--backend" => a.backend = v,
            _ => panic!("unknown option {flag}"),
        }
    }
    a
}

/// A context of `n_ctx` cells for `n_seq` sequences (graphs on or off) with the shared
/// prefix evaluated in sequence 0.
fn context_with_prefix(llama: Arc<Llama>, n_ctx: usize, n_seq: usize, prefix: &[i32], graphs: bool) -> HfContext {
    let mut ctx = HfContext::new(llama, n_ctx, n_seq, n_ctx).expect("context");
    if !graphs {
        ctx.disable_graphs();
    }
    let pos: Vec<i32> = (0..prefix.len() as i32).collect();
    ctx.eval_tokens(prefix, &pos, &vec![0; prefix.len()], &vec![0; prefix.len()], &[]).expect("prefix");
    ctx
}

/// Answer logits after each prompt: the shared prefix evaluated once in sequence 0, the
/// rest of up to 63 prompts per batch, each in its own sequence.
fn score(llama: Arc<Llama>, prefix: &[i32], prompts: &[&[i32]], candidates: &[i32]) -> Vec<Vec<f32>> {
    let longest = prompts.iter().map(|p| p.len()).max().unwrap_or(0);
    let per_batch = 63;
    let n_ctx = longest + per_batch * longest + 16;
    // The batched scores are the eager reference the graphs are compared with.
    let mut ctx = context_with_prefix(llama, n_ctx, per_batch + 1, prefix, false);
    let mut out = Vec::with_capacity(prompts.len());
    for chunk in prompts.chunks(per_batch) {
        let (mut toks, mut poss, mut seqs, mut outs) = (vec![], vec![], vec![], vec![]);
        for (k, p) in chunk.iter().enumerate() {
            let seq = k as i32 + 1;
            ctx.seq_copy(0, seq, -1, -1).expect("copy");
            let rest = &p[prefix.len()..];
            for (i, &t) in rest.iter().enumerate() {
                toks.push(t);
                poss.push((prefix.len() + i) as i32);
                seqs.push(seq);
                outs.push(u8::from(i + 1 == rest.len()));
            }
        }
        let logits = ctx.eval_tokens(&toks, &poss, &seqs, &outs, candidates).expect("eval");
        for k in 0..chunk.len() {
            out.push(logits[k * candidates.len()..(k + 1) * candidates.len()].to_vec());
            ctx.seq_remove(k as i32 + 1, -1, -1).expect("remove");
        }
    }
    out
}

/// Answer logits after each prompt scored alone, as the engine scores one query (the
/// prefix in sequence 0, the query in sequence 1), with or without CUDA graphs; also the
/// median seconds per query and what the graphs did.
fn score_alone(llama: Arc<Llama>, prefix: &[i32], prompts: &[&[i32]], candidates: &[i32], graphs: bool) -> (Vec<Vec<f32>>, f64, GraphStats) {
    let longest = prompts.iter().map(|p| p.len()).max().unwrap_or(0);
    let mut ctx = context_with_prefix(llama, longest + 16, 2, prefix, graphs);
    let mut out = Vec::with_capacity(prompts.len());
    let mut times = Vec::with_capacity(prompts.len());
    for p in prompts {
        let rest = &p[prefix.len()..];
        let t0 = std::time::Instant::now();
        ctx.seq_copy(0, 1, -1, -1).expect("copy");
        let poss: Vec<i32> = (0..rest.len()).map(|i| (prefix.len() + i) as i32).collect();
        let mut outs = vec![0u8; rest.len()];
        *outs.last_mut().expect("a query of at least one token") = 1;
        out.push(ctx.eval_tokens(rest, &poss, &vec![1; rest.len()], &outs, candidates).expect("eval"));
        ctx.seq_remove(1, -1, -1).expect("remove");
        times.push(t0.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let (stats, failure) = ctx.graph_stats();
    if let Some(f) = failure {
        println!("CUDA graphs were off: {f}");
    }
    (out, times[times.len() / 2], stats)
}

fn argmax(v: &[f32]) -> usize {
    v.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(i, _)| i)
}

/// ||a - b|| / ||b|| over one row.
fn rel_err(a: &[f32], b: &[f32]) -> f64 {
    let d: f64 = a.iter().zip(b).map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2)).sum();
    let n: f64 = b.iter().map(|y| f64::from(*y).powi(2)).sum();
    (d / n.max(1e-30)).sqrt()
}

struct Comparison {
    name: String,
    n: usize,
    agreement: f64,
    rel_err_median: f64,
    rel_err_max: f64,
}

fn compare(name: &str, a: &[Vec<f32>], b: &[Vec<f32>]) -> Comparison {
    let mut errs: Vec<f64> = a.iter().zip(b).map(|(x, y)| rel_err(x, y)).collect();
    errs.sort_by(f64::total_cmp);
    let same = a.iter().zip(b).filter(|(x, y)| argmax(x) == argmax(y)).count();
    Comparison {
        name: name.into(),
        n: a.len(),
        agreement: same as f64 / a.len() as f64,
        rel_err_median: errs[errs.len() / 2],
        rel_err_max: *errs.last().unwrap_or(&0.0),
    }
}

/// Tokens per second of single-sequence decoding: a 16-token prompt, then `steps` steps of
/// one token (each fed the best of 8 candidates of the step before).
fn decode(llama: Arc<Llama>, steps: usize, graphs: bool) -> (f64, GraphStats) {
    let n_ctx = 16 + steps + 1;
    let mut ctx = HfContext::new(llama, n_ctx, 1, n_ctx).expect("context");
    if !graphs {
        ctx.disable_graphs();
    }
    let candidates: Vec<i32> = (100..108).collect();
    let prompt: Vec<i32> = (1000..1016).collect();
    let mut outs = vec![0u8; prompt.len()];
    outs[15] = 1;
    let pos: Vec<i32> = (0..16).collect();
    let logits = ctx.eval_tokens(&prompt, &pos, &[0; 16], &outs, &candidates).expect("prompt");
    let mut next = candidates[argmax(&logits)];
    let t0 = std::time::Instant::now();
    for i in 0..steps {
        let logits = ctx.eval_tokens(&[next], &[16 + i as i32], &[0], &[1], &candidates).expect("decode step");
        next = candidates[argmax(&logits)];
    }
    (steps as f64 / t0.elapsed().as_secs_f64(), ctx.graph_stats().0)
}

fn main() {
    let a = args();
    if a.decode > 0 {
        let (cuda, _) = select_device(0).expect("CUDA device 0");
        let llama = Arc::new(Llama::load_dir(&a.model, &cuda, DType::F16).expect("load"));
        decode(Arc::clone(&llama), 16, false); // warm-up
        let (eager, _) = decode(Arc::clone(&llama), a.decode, false);
        let (graphs, stats) = decode(llama, a.decode, true);
        println!("decode, {} steps: {eager:.0} tokens/s eager, {graphs:.0} tokens/s with CUDA graphs ({} captures, {} replays)", a.decode, stats.captures, stats.replays);
        std::fs::create_dir_all(&a.out).expect("out dir");
        let json = serde_json::json!({ "steps": a.decode, "eager_tokens_per_s": eager, "graphs_tokens_per_s": graphs, "graphs": { "captures": stats.captures, "replays": stats.replays, "warmups": stats.warmups } });
        std::fs::write(a.out.join("decode.json"), json.to_string()).expect("write decode.json");
        return;
    }
    let engine = open(&OpenOptions {
        backend: Some(a.backend.clone()),
        model: Some(a.model.clone()),
        plugin_path: Some(a.plugin_dir.clone()),
        device: 0,
        config: EngineConfig { max_query_tokens: 256, truncate: true, ..EngineConfig::default() },
        ..OpenOptions::default()
    })
    .unwrap_or_else(|e| panic!("{}", e.message));
    let manifest = ModelManifest::for_model(&a.model).expect("manifest").expect("the fine-tuned model's intent.json");
    let labels: Vec<&String> = manifest.answers.keys().collect();
    let candidates: Vec<i32> = manifest.answers.values().map(|w| engine.model().tokenize(w, false).expect("tokenize")[0]).collect();
    let text = std::fs::read_to_string(&a.test).expect("test split");
    let rows: Vec<(String, String)> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("JSONL");
            (v["text"].as_str().unwrap().to_string(), v["intent"].as_str().unwrap().to_string())
        })
        .collect();
    let prompts: Vec<Vec<i32>> = rows.iter().map(|(t, _)| engine.prompt_tokens(t).expect("prompt")).collect();
    let (x, y) = (engine.prompt_tokens("x").unwrap(), engine.prompt_tokens("y").unwrap());
    let prefix_len = x.iter().zip(&y).take_while(|(a, b)| a == b).count();
    let prefix = &prompts[0][..prefix_len];
    assert!(prompts.iter().all(|p| &p[..prefix_len] == prefix), "every prompt starts with the prefix");
    drop(engine);

    std::fs::create_dir_all(&a.out).expect("out dir");
    let mut dump = String::new();
    for (p, (_, label)) in prompts.iter().zip(&rows) {
        dump += &serde_json::json!({ "tokens": p, "label": label }).to_string();
        dump.push('\n');
    }
    std::fs::write(a.out.join("prompts.jsonl"), dump).expect("write prompts");
    std::fs::write(
        a.out.join("candidates.json"),
        serde_json::json!({ "labels": labels, "tokens": candidates, "prefix_len": prefix_len }).to_string(),
    )
    .expect("write candidates");

    let all: Vec<&[i32]> = prompts.iter().map(Vec::as_slice).collect();
    let strided: Vec<&[i32]> = all.iter().copied().step_by(a.cpu_stride).collect();
    let (cuda, _) = select_device(0).expect("CUDA device 0");
    let load = |d: &Device, t: DType| Arc::new(Llama::load_dir(&a.model, d, t).expect("load"));
    let t0 = std::time::Instant::now();
    let gpu16_model = load(&cuda, DType::F16);
    let gpu16 = score(Arc::clone(&gpu16_model), prefix, &all, &candidates);
    let t_gpu16 = t0.elapsed().as_secs_f64();
    let alone: Vec<&[i32]> = all.iter().copied().step_by(a.graph_stride).collect();
    let (eager_alone, eager_s, _) = score_alone(Arc::clone(&gpu16_model), prefix, &alone, &candidates, false);
    let (graph_alone, graph_s, stats) = score_alone(gpu16_model, prefix, &alone, &candidates, true);
    let gpu32 = score(load(&cuda, DType::F32), prefix, &all, &candidates);
    let t1 = std::time::Instant::now();
    let cpu32 = score(load(&Device::Cpu, DType::F32), prefix, &strided, &candidates);
    let t_cpu = t1.elapsed().as_secs_f64();
    let gpu16_strided: Vec<Vec<f32>> = gpu16.iter().step_by(a.cpu_stride).cloned().collect();
    let gpu32_strided: Vec<Vec<f32>> = gpu32.iter().step_by(a.cpu_stride).cloned().collect();
    let comparisons = [
        compare("GPU F16 vs GPU F32 (whole test split)", &gpu16, &gpu32),
        compare(&format!("GPU F16 vs CPU F32 (every {}th query)", a.cpu_stride), &gpu16_strided, &cpu32),
        compare(&format!("GPU F32 vs CPU F32 (every {}th query)", a.cpu_stride), &gpu32_strided, &cpu32),
        compare(&format!("GPU F16 one query at a time: CUDA graphs vs eager (every {}th query)", a.graph_stride), &graph_alone, &eager_alone),
    ];
    let correct = gpu16.iter().zip(&rows).filter(|(l, (_, label))| labels[argmax(l)] == label).count();
    let accuracy = correct as f64 / rows.len() as f64;
    println!("| comparison | queries | label agreement | rel. logit error, median | max |");
    println!("|---|---|---|---|---|");
    for c in &comparisons {
        println!("| {} | {} | {:.2}% | {:.2e} | {:.2e} |", c.name, c.n, c.agreement * 100.0, c.rel_err_median, c.rel_err_max);
    }
    println!();
    println!("GPU F16 accuracy on the test split (answer tokens only): {:.2}% of {}", accuracy * 100.0, rows.len());
    println!("scoring time: GPU F16 {t_gpu16:.1} s for {} prompts; CPU F32 {t_cpu:.1} s for {}", all.len(), strided.len());
    println!(
        "one query at a time (GPU F16, median of {}): eager {:.2} ms, CUDA graphs {:.2} ms; graphs: {} warm-ups, {} captures, {} replays, {} eager",
        alone.len(),
        eager_s * 1e3,
        graph_s * 1e3,
        stats.warmups,
        stats.captures,
        stats.replays,
        stats.eager
    );
    let json = serde_json::json!({
        "queries": rows.len(),
        "prefix_tokens": prefix_len,
        "gpu_f16_accuracy": accuracy,
        "gpu_f16_labels": gpu16.iter().map(|l| labels[argmax(l)]).collect::<Vec<_>>(),
        "one_query_ms": { "eager": eager_s * 1e3, "cuda_graphs": graph_s * 1e3, "queries": alone.len() },
        "graphs": { "warmups": stats.warmups, "captures": stats.captures, "replays": stats.replays, "eager": stats.eager },
        "comparisons": comparisons.iter().map(|c| serde_json::json!({
            "name": c.name, "queries": c.n, "label_agreement": c.agreement,
            "relative_logit_error_median": c.rel_err_median, "relative_logit_error_max": c.rel_err_max,
        })).collect::<Vec<_>>(),
    });
    std::fs::write(a.out.join("gpu_check.json"), serde_json::to_string_pretty(&json).unwrap()).expect("write json");
}
