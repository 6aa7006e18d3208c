//! The Llama model on candle that the `fp16-cuda` and `gptq-cuda` plugins share: the model
//! directory (`config`), the unified KV cache's bookkeeping (`cells`), the forward pass
//! (`model`, dense or GPTQ weights as `intent-gptq-format` decodes them), our int4 CUDA
//! kernels (`int4`, with the `cuda` feature) and the plugin side (`plugin`).

#![deny(missing_docs)]

pub mod cells;
pub mod config;
#[cfg(feature = "cuda")]
pub mod int4;
pub mod model;
pub mod plugin;

pub use plugin::{select_device, HfContext, HfModel, PluginKind, CPU_DEVICE};
