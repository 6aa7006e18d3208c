//! Shared set-up for the criterion benches: opening engines on the default model with the
//! plugins of this build tree.

use intent_core::{open, Engine, EngineConfig, OpenOptions};
use std::path::PathBuf;

/// A shopper message of 15 tokens for the SmolLM2 tokenizer.
pub const QUERY_15_TOKENS: &str = "where is my parcel? I ordered it last week and nothing came yet!";

/// The build's output directory (where cargo puts the plugins), from the bench binary's path.
pub fn plugin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.parent().and_then(|d| d.parent()).expect("target dir").to_path_buf()
}

/// Opens the default model with the gguf-cpu plugin, with or without the prefix cache.
pub fn engine(prefix_cache: bool, threads: i32) -> Engine {
    open(&OpenOptions {
        backend: Some("gguf-cpu".into()),
        plugin_path: Some(plugin_dir()),
        config: EngineConfig { prefix_cache, threads, ..EngineConfig::default() },
        ..OpenOptions::default()
    })
    .expect("open the default model (run scripts/setup.sh)")
}
