//! One 15-token query on the default model: prefix cached vs prompt recomputed, in the
//! same run; and a batch of 8. Run: `cargo bench -p intent-benches` (idle machine).

use criterion::{criterion_group, criterion_main, Criterion};
use intent_benches::{engine, QUERY_15_TOKENS};
use intent_core::{ClassifyOptions, IntentEngine};
use std::hint::black_box;
use std::time::Duration;

fn classify(c: &mut Criterion) {
    let options = ClassifyOptions::default();
    let cached = engine(true, 0);
    let tokens = cached.classify(QUERY_15_TOKENS, &options).expect("classify").query_tokens;
    let mut group = c.benchmark_group(format!("classify_{tokens}_tokens"));
    group.sample_size(20).warm_up_time(Duration::from_secs(2)).measurement_time(Duration::from_secs(8));
    group.bench_function("prefix_cached", |b| b.iter(|| black_box(cached.classify(QUERY_15_TOKENS, &options).unwrap())));
    let batch = [QUERY_15_TOKENS; 8];
    group.bench_function("batch_of_8_prefix_cached", |b| b.iter(|| black_box(cached.classify_batch(&batch, &options))));
    drop(cached);
    let uncached = engine(false, 0);
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.bench_function("prompt_recomputed", |b| b.iter(|| black_box(uncached.classify(QUERY_15_TOKENS, &options).unwrap())));
    group.finish();
}

criterion_group!(benches, classify);
criterion_main!(benches);
