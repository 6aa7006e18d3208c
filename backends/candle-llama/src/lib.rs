//! The Llama model on candle that the `fp16-cuda` and `gptq-cuda` plugins share:
//! - `config`: the model directory;
//! - `cells`: the unified KV cache's bookkeeping;
//! - `model`: the forward pass, over dense or GPTQ weights as `intent-gptq-format` decodes
//!   them;
//! - `graphs`: the forward pass recorded and replayed as CUDA graphs;
//! - `int4` (with the `cuda` feature): our int4 CUDA kernels, launched as `int4_plan` says;
//! - `plugin`: the plugin side.

#![deny(missing_docs)]

pub mod cells;
pub mod config;
pub mod graphs;
#[cfg(feature = "cuda")]
pub mod int4;
pub mod int4_plan;
pub mod model;
pub mod plugin;

pub use plugin::{select_device, HfContext, HfModel, PluginKind, CPU_DEVICE};
