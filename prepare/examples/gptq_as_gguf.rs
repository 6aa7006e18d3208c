//! Writes the weights a GPTQ checkpoint stands for as an F16 GGUF, so that the CPU engine
//! (llama.cpp) can score a GPTQ setting on a machine without a GPU.
//!
//! The checkpoint's projections are unpacked and dequantized exactly as a GPTQ kernel
//! does (`scale · (q − zero)`, in f16), q/k rows are put back in llama.cpp's interleaved
//! order, and every other tensor (embeddings, norms, metadata, tokenizer) is taken from
//! the F16 GGUF the checkpoint was made from. The result is a development tool for
//! comparing quantizer settings; the GPU's own figures come from `training/gptq_eval.sh`.
//!
//! ```text
//! cargo run --release -p intent-prepare --example gptq_as_gguf -- MODEL.F16.gguf GPTQ_DIR OUT.gguf
//! ```

use intent_prepare::gguf_file::{GgufFile, Tensor};
use intent_prepare::gptq::{unpack, PackedLinear};
use intent_prepare::lora::{gguf_row_of_hf_row, PROJECTIONS};
use intent_prepare::quant::GgmlType;
use std::path::Path;

fn fail(message: String) -> ! {
    eprintln!("gptq_as_gguf: {message}");
    std::process::exit(1)
}

fn ints(st: &safetensors::SafeTensors, name: &str) -> (Vec<usize>, Vec<i32>) {
    let t = st.tensor(name).unwrap_or_else(|e| fail(format!("{name}: {e}")));
    let values = t.data().chunks_exact(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    (t.shape().to_vec(), values)
}

fn halves(st: &safetensors::SafeTensors, name: &str) -> Vec<u16> {
    let t = st.tensor(name).unwrap_or_else(|e| fail(format!("{name}: {e}")));
    t.data().chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [f16_path, gptq_dir, out] = args.as_slice() else {
        fail("usage: gptq_as_gguf MODEL.F16.gguf GPTQ_DIR OUT.gguf".into());
    };
    let mut f = GgufFile::read(Path::new(f16_path)).unwrap_or_else(|e| fail(e.message));
    let config: serde_json::Value = std::fs::read_to_string(Path::new(gptq_dir).join("quantize_config.json"))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_else(|| fail(format!("{gptq_dir}/quantize_config.json is missing or not JSON")));
    let bits = config["bits"].as_u64().unwrap_or_else(|| fail("quantize_config.json has no bits".into())) as u32;
    let bytes = std::fs::read(Path::new(gptq_dir).join("model.safetensors")).unwrap_or_else(|e| fail(format!("{gptq_dir}/model.safetensors: {e}")));
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap_or_else(|e| fail(format!("model.safetensors: {e}")));
    let n_layers = f.require_u64("llama.block_count").unwrap_or_else(|e| fail(e.message)) as usize;
    let mut replaced = 0;
    for layer in 0..n_layers {
        for (hf, gguf) in PROJECTIONS {
            let prefix = format!("model.layers.{layer}.{hf}");
            let (qshape, qweight) = ints(&st, &format!("{prefix}.qweight"));
            let (_, qzeros) = ints(&st, &format!("{prefix}.qzeros"));
            let (_, g_idx) = ints(&st, &format!("{prefix}.g_idx"));
            let scales = halves(&st, &format!("{prefix}.scales"));
            let (k, n) = (qshape[0] * (32 / bits as usize), qshape[1]);
            let weights = unpack(&PackedLinear { qweight, qzeros, scales, g_idx }, n, k, bits).dequantize();
            let name = format!("blk.{layer}.{gguf}.weight");
            let heads = f.permuted_heads(&name).unwrap_or_else(|e| fail(e.message));
            let mut rows = weights.clone();
            if let Some(h) = heads {
                for hf_row in 0..n {
                    let g = gguf_row_of_hf_row(hf_row, n, h);
                    rows[g * k..(g + 1) * k].copy_from_slice(&weights[hf_row * k..(hf_row + 1) * k]);
                }
            }
            let slot = f.tensors.iter_mut().find(|t| t.name == name).unwrap_or_else(|| fail(format!("{name} is not in {f16_path}")));
            if slot.dims != [k as u64, n as u64] {
                fail(format!("{name}: the GGUF holds {:?}, the checkpoint {k}x{n}", slot.dims));
            }
            *slot = Tensor::from_f32(&name, &[k as u64, n as u64], &rows, GgmlType::F16);
            replaced += 1;
        }
    }
    f.write(Path::new(out)).unwrap_or_else(|e| fail(e.message));
    eprintln!("{out}: {replaced} projections from {gptq_dir}");
}
