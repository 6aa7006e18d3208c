//! libintent backend plugin `gptq-cuda`: GPTQ 4-bit checkpoints of Llama-family models in
//! the AutoGPTQ / GPTQModel / transformers layout, evaluated on a CUDA GPU with our own int4
//! kernels (weights dequantized in registers, tensor-core multiply). The model code is
//! `intent-candle-llama`'s; device `-1` decodes the weights to F32 and runs on the CPU (the
//! reference).

#![deny(missing_docs)]

use intent_candle_llama::{HfModel, PluginKind};

/// The `gptq-cuda` plugin: GPTQ weights.
pub struct Gptq;

impl PluginKind for Gptq {
    const NAME: &'static str = "gptq-cuda";
    const GPTQ: bool = true;
}

intent_plugin_abi::export_plugin!(
    HfModel<Gptq>,
    name: c"gptq-cuda",
    format: c"gptq",
    description: c"GPTQ 4-bit Llama-family checkpoints on CUDA with libintent's int4 kernels (candle + cudarc); device -1 is the F32 CPU reference"
);
