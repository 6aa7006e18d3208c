//! libintent backend plugin `fp16-cuda`: Llama-family models in Hugging Face layout
//! (`config.json`, `tokenizer.json`, safetensors in F16, BF16 or F32), evaluated in F16 on a
//! CUDA GPU through candle. The model code is `intent-candle-llama`'s; device `-1` runs it
//! on the CPU in F32 (the reference).

#![deny(missing_docs)]

use intent_candle_llama::{HfModel, PluginKind};

/// The `fp16-cuda` plugin: dense weights.
pub struct Fp16;

impl PluginKind for Fp16 {
    const NAME: &'static str = "fp16-cuda";
    const GPTQ: bool = false;
}

intent_plugin_abi::export_plugin!(
    HfModel<Fp16>,
    name: c"fp16-cuda",
    format: c"hf",
    description: c"Llama-family models in Hugging Face layout, F16 on CUDA (candle); device -1 is the F32 CPU reference"
);
