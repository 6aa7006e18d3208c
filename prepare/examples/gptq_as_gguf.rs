//! Writes the weights a GPTQ checkpoint stands for as an F16 GGUF, so that the CPU engine
//! (llama.cpp) can score a GPTQ setting on a machine without a GPU.
//!
//! The checkpoint is read by the project's one GPTQ reader (`intent-gptq-format`, as the
//! engine's GPU backends read it) and each projection decoded (`scale · (q − zero)`);
//! q/k rows are put back in llama.cpp's interleaved order, and every other tensor
//! (embeddings, norms, metadata, tokenizer) is taken from the F16 GGUF the checkpoint was
//! made from. A development tool for comparing quantizer settings; the GPU's own figures
//! come from `training/gptq_eval.sh`.
//!
//! ```text
//! cargo run --release -p intent-prepare --example gptq_as_gguf -- MODEL.F16.gguf GPTQ_DIR OUT.gguf
//! ```

use intent_gptq_format::{GptqConfig, PackedTensors, QuantLinear};
use intent_prepare::gguf_file::{GgufFile, Tensor};
use intent_prepare::lora::{rows_in_gguf_order, PROJECTIONS};
use intent_prepare::quant::GgmlType;
use std::path::Path;

fn fail(message: String) -> ! {
    eprintln!("gptq_as_gguf: {message}");
    std::process::exit(1)
}

/// A tensor's shape and its little-endian values of `N` bytes each.
fn values<const N: usize, T>(st: &safetensors::SafeTensors, name: &str, from: fn([u8; N]) -> T) -> (Vec<usize>, Vec<T>) {
    let t = st.tensor(name).unwrap_or_else(|e| fail(format!("{name}: {e}")));
    let values = t.data().chunks_exact(N).map(|b| from(b.try_into().expect("chunks of N bytes"))).collect();
    (t.shape().to_vec(), values)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [f16_path, gptq_dir, out] = args.as_slice() else {
        fail("usage: gptq_as_gguf MODEL.F16.gguf GPTQ_DIR OUT.gguf".into());
    };
    let mut f = GgufFile::read(Path::new(f16_path)).unwrap_or_else(|e| fail(e.message));
    let (_, config) = GptqConfig::find(Path::new(gptq_dir))
        .unwrap_or_else(|e| fail(e.message))
        .unwrap_or_else(|| fail(format!("{gptq_dir} holds no GPTQ description")));
    let bytes = std::fs::read(Path::new(gptq_dir).join("model.safetensors")).unwrap_or_else(|e| fail(format!("{gptq_dir}/model.safetensors: {e}")));
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap_or_else(|e| fail(format!("model.safetensors: {e}")));
    let n_layers = f.require_u64("llama.block_count").unwrap_or_else(|e| fail(e.message)) as usize;
    let mut warnings = Vec::new();
    let mut replaced = 0;
    for layer in 0..n_layers {
        for (hf, gguf) in PROJECTIONS {
            let prefix = format!("model.layers.{layer}.{hf}");
            let (qshape, qweight) = values(&st, &format!("{prefix}.qweight"), i32::from_le_bytes);
            let (_, qzeros) = values(&st, &format!("{prefix}.qzeros"), i32::from_le_bytes);
            let (_, g_idx) = values(&st, &format!("{prefix}.g_idx"), i32::from_le_bytes);
            let (_, scales) = values(&st, &format!("{prefix}.scales"), |b| half::f16::from_le_bytes(b).to_f32());
            let (k, n) = (qshape[0] * (32 / config.bits as usize), qshape[1]);
            let packed = PackedTensors { qweight: &qweight, qzeros: &qzeros, scales: &scales, g_idx: Some(&g_idx) };
            let layer_weights = QuantLinear::from_packed(&packed, k, n, &config, &prefix, &mut warnings).unwrap_or_else(|e| fail(e.message)).dense_nk();
            let name = format!("blk.{layer}.{gguf}.weight");
            let rows = rows_in_gguf_order(&layer_weights, n, f.permuted_heads(&name).unwrap_or_else(|e| fail(e.message)));
            let slot = f.tensors.iter_mut().find(|t| t.name == name).unwrap_or_else(|| fail(format!("{name} is not in {f16_path}")));
            if slot.dims != [k as u64, n as u64] {
                fail(format!("{name}: the GGUF holds {:?}, the checkpoint {k}x{n}", slot.dims));
            }
            *slot = Tensor::from_f32(&name, &[k as u64, n as u64], &rows, GgmlType::F16);
            replaced += 1;
        }
    }
    for w in &warnings {
        eprintln!("gptq_as_gguf: {w}");
    }
    f.write(Path::new(out)).unwrap_or_else(|e| fail(e.message));
    eprintln!("{out}: {replaced} projections from {gptq_dir}");
}
