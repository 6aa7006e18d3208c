//! The int4 kernels on a GPU: correctness on fresh random inputs over many shapes, and
//! their speed against the dense F16 multiply (cuBLAS through candle) and the GPU's copy
//! bandwidth.
//!
//! Correctness: for each shape, a random 4-bit layer (random act-order or not) and random
//! activations; the output buffer is filled with NaN first, so an element the kernel does
//! not write fails the check; the result is compared with an F32 product of the decoded
//! weights (relative error, Frobenius norm, at most 1e-3).
//!
//! Speed: each layer shape of the models at 1, 16 and 64 rows, through the fused kernel and
//! through the decoded weights and cuBLAS (the path above the fused kernel's limit), against
//! the dense F16 layer; the crossover between the two int4 paths is read from these.
//!
//! `int4_check [--out DIR]` writes `int4-check.json` (needs a build with `--features cuda`).
//! `int4_check --profile M,K,N` only launches that layer shape (act-order) 50 times, for a
//! profiler (`ncu --kernel-name regex:int4 int4_check --profile 16,2048,3072`).

use candle_core::cuda_backend::cudarc::driver::sys::CUevent_flags;
use candle_core::{DType, Device, Tensor};
use half::f16;
use intent_candle_llama::int4::{Int4Linear, Int4Scratch, MAX_FUSED_ROWS};
use std::sync::Arc;
use intent_gptq_format::QuantLinear;
use serde_json::json;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// A random 4-bit layer: weights of about unit scale per input row.
fn random_layer(k: usize, n: usize, gs: usize, act_order: bool, rng: &mut Rng) -> QuantLinear {
    let groups = k / gs;
    let mut order: Vec<usize> = (0..k).collect();
    if act_order {
        for i in (1..k).rev() {
            order.swap(i, rng.next() as usize % (i + 1));
        }
    }
    let mut g_idx = vec![0u32; k];
    for (pos, &row) in order.iter().enumerate() {
        g_idx[row] = (pos / gs) as u32;
    }
    QuantLinear {
        k,
        n,
        bits: 4,
        group_size: gs,
        q: (0..k * n).map(|_| (rng.next() % 16) as u8).collect(),
        zeros: (0..groups * n).map(|_| (rng.next() % 16) as i32 + 1).collect(),
        scales: (0..groups * n).map(|_| (0.5 + rng.uniform()) * 0.1 / (k as f32).sqrt()).collect(),
        g_idx,
    }
}

/// The widest layer of the checks (Llama-3.2-1B's gate and up projections) and the deepest
/// (its down projection).
const MAX_N: usize = 16384;
const MAX_K: usize = 8192;

#[allow(clippy::too_many_arguments)]
fn check(dev: &Device, scratch: &Arc<Int4Scratch>, m: usize, k: usize, n: usize, gs: usize, act: bool, rng: &mut Rng) -> serde_json::Value {
    let Device::Cuda(cuda) = dev else { unreachable!() };
    let layer = random_layer(k, n, gs, act, rng);
    let packed = layer.repack_int4().expect("repack");
    let lin = Int4Linear::new(&packed, cuda, scratch).expect("upload");
    let x: Vec<f16> = (0..m * k).map(|_| f16::from_f32(rng.uniform() * 2.0 - 1.0)).collect();
    let stream = cuda.cuda_stream();
    let got: Vec<f16> = if m <= MAX_FUSED_ROWS {
        let xs = stream.clone_htod(&x).unwrap();
        let mut y = stream.clone_htod(&vec![f16::NAN; m * n]).unwrap();
        lin.matmul_into(&xs.as_view(), m, &mut y).expect("int4_mm");
        stream.clone_dtoh(&y).unwrap()
    } else {
        let xt = Tensor::from_vec(x.clone(), (m, k), dev).unwrap();
        lin.forward(&xt).unwrap().flatten_all().unwrap().to_vec1::<f16>().unwrap()
    };
    // F32 reference on the CPU: x (as given, f16 values) times the decoded weights.
    let w = layer.dense_nk();
    let (mut err2, mut ref2, mut unwritten) = (0f64, 0f64, 0usize);
    for r in 0..m {
        for c in 0..n {
            let want: f64 = (0..k).map(|i| x[r * k + i].to_f64() * w[c * k + i] as f64).sum();
            let g = got[r * n + c].to_f64();
            if !g.is_finite() {
                unwritten += 1;
                continue;
            }
            err2 += (g - want).powi(2);
            ref2 += want.powi(2);
        }
    }
    let rel = (err2 / ref2.max(f64::MIN_POSITIVE)).sqrt();
    let ok = unwritten == 0 && rel <= 1e-3;
    println!("{m:>4} x {k:>5} x {n:>5} g{gs:<4} act-order {act:<5} relative error {rel:.2e} unwritten {unwritten} {}", if ok { "ok" } else { "FAIL" });
    json!({ "m": m, "k": k, "n": n, "group_size": gs, "act_order": act, "relative_error": rel, "unwritten": unwritten, "ok": ok })
}

/// Median time in microseconds of one call of `f`, timed with CUDA events over `reps`
/// samples of 20 back-to-back calls (so the GPU's queue stays full and launch latency is
/// hidden as it is inside a model's forward pass).
fn time_us(dev: &Device, reps: usize, mut f: impl FnMut()) -> f64 {
    const CALLS: usize = 20;
    let Device::Cuda(cuda) = dev else { unreachable!() };
    let stream = cuda.cuda_stream();
    for _ in 0..10 {
        f();
    }
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let a = stream.record_event(Some(CUevent_flags::CU_EVENT_DEFAULT)).unwrap();
        for _ in 0..CALLS {
            f();
        }
        let b = stream.record_event(Some(CUevent_flags::CU_EVENT_DEFAULT)).unwrap();
        b.synchronize().unwrap();
        times.push(a.elapsed_ms(&b).unwrap() as f64 * 1000.0 / CALLS as f64);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    times[reps / 2]
}

#[allow(clippy::too_many_arguments)]
fn speed(dev: &Device, scratch: &Arc<Int4Scratch>, m: usize, k: usize, n: usize, gs: usize, act: bool, copy_gbs: f64, rng: &mut Rng) -> serde_json::Value {
    let Device::Cuda(cuda) = dev else { unreachable!() };
    let layer = random_layer(k, n, gs, act, rng);
    let lin = Int4Linear::new(&layer.repack_int4().unwrap(), cuda, scratch).unwrap();
    let stream = cuda.cuda_stream();
    let xs = stream.clone_htod(&vec![f16::from_f32(0.5); m * k]).unwrap();
    let mut y = stream.clone_htod(&vec![f16::ZERO; m * n]).unwrap();
    let int4_us = time_us(dev, 200, || lin.matmul_into(&xs.as_view(), m, &mut y).unwrap());
    // The dense F16 layer the FP16 backend runs: x (m, k) times W^T, W (n, k).
    let x = Tensor::ones((m, k), DType::F16, dev).unwrap();
    let w = Tensor::ones((n, k), DType::F16, dev).unwrap();
    let f16_us = time_us(dev, 200, || {
        let _ = x.matmul(&w.t().unwrap()).unwrap();
    });
    let xt = Tensor::full(f16::from_f32(0.5), (m, k), dev).unwrap();
    let dequant_us = time_us(dev, 50, || {
        let _ = lin.forward_dequantized(&xt).unwrap();
    });
    let bytes = lin.bytes() as f64 + (m * k * 2 + m * n * 2) as f64;
    let gbs = bytes / int4_us / 1e3;
    println!(
        "{m:>3} x {k:>5} x {n:>5}: int4 {int4_us:7.1} us ({gbs:6.0} GB/s, {:4.0}% of copy), decoded + cuBLAS {dequant_us:7.1} us, f16 cuBLAS {f16_us:7.1} us, f16/int4 {:.2}",
        100.0 * gbs / copy_gbs,
        f16_us / int4_us
    );
    json!({ "m": m, "k": k, "n": n, "group_size": gs, "act_order": act, "int4_us": int4_us, "f16_us": f16_us, "dequant_cublas_us": dequant_us,
            "int4_gbs": gbs, "fraction_of_copy": gbs / copy_gbs, "f16_over_int4": f16_us / int4_us })
}

/// Device-to-device copy bandwidth (bytes read + bytes written per second), in GB/s.
fn copy_bandwidth(dev: &Device) -> f64 {
    let Device::Cuda(cuda) = dev else { unreachable!() };
    let stream = cuda.cuda_stream();
    let len = 256 << 20; // 512 MiB of f16 each way
    let a = stream.alloc_zeros::<f16>(len).unwrap();
    let mut b = stream.alloc_zeros::<f16>(len).unwrap();
    let us = time_us(dev, 5, || stream.memcpy_dtod(&a, &mut b).unwrap());
    (2 * len * 2) as f64 / us / 1e3
}

fn main() {
    let mut out = std::path::PathBuf::from(".");
    let mut profile = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--out" => out = it.next().expect("--out DIR").into(),
            "--profile" => profile = Some(it.next().expect("--profile M,K,N").split(',').map(|v| v.parse().expect("M,K,N")).collect::<Vec<usize>>()),
            _ => panic!("unknown option {flag}"),
        }
    }
    let dev = Device::new_cuda(0).expect("CUDA device 0");
    let mut rng = Rng(42);
    let Device::Cuda(cuda) = &dev else { unreachable!() };
    let scratch = Int4Scratch::new(cuda, MAX_K, MAX_N).expect("int4 workspace");
    if let Some([m, k, n]) = profile.as_deref() {
        let lin = Int4Linear::new(&random_layer(*k, *n, 128.min(*k), true, &mut rng).repack_int4().unwrap(), cuda, &scratch).unwrap();
        let stream = cuda.cuda_stream();
        let xs = stream.clone_htod(&vec![f16::from_f32(0.5); m * k]).unwrap();
        let mut y = stream.clone_htod(&vec![f16::ZERO; m * n]).unwrap();
        for _ in 0..50 {
            lin.matmul_into(&xs.as_view(), *m, &mut y).unwrap();
        }
        stream.synchronize().unwrap();
        return;
    }
    println!("correctness (fresh random inputs, output poisoned with NaN first):");
    let mut checks = Vec::new();
    for &(k, n, gs) in &[(576, 960, 64), (576, 576, 64), (1536, 576, 64), (576, 3072, 32), (2048, 3072, 128), (8192, 2048, 128), (2048, 512, 2048), (96, 32, 32)] {
        for &m in &[1, 7, 16, 17, 33, 48, 64, 65, 130] {
            for act in [false, true] {
                checks.push(check(&dev, &scratch, m, k, n, gs, act, &mut rng));
            }
        }
    }
    // Every launch leaves the split-K workspace as it found it: zero.
    let clean = scratch.is_clean().expect("reading the workspace back");
    println!("split-K workspace left at zero: {clean}");
    let failed = checks.iter().filter(|c| c["ok"] != true).count() + usize::from(!clean);
    let copy = copy_bandwidth(&dev);
    println!("device-to-device copy: {copy:.0} GB/s");
    println!("speed (medians of 200, CUDA events; Llama-3.2-1B and SmolLM2-135M layer shapes):");
    let mut speeds = Vec::new();
    for &(k, n, gs) in &[(2048, 3072, 128), (2048, 2048, 128), (2048, 16384, 128), (8192, 2048, 128), (576, 960, 64), (576, 3072, 64), (1536, 576, 64)] {
        for &m in &[1, 16, 32, 64] {
            speeds.push(speed(&dev, &scratch, m, k, n, gs, true, copy, &mut rng));
        }
    }
    let report = json!({ "checks": checks, "failed": failed, "workspace_clean": clean, "copy_gbs": copy, "speed": speeds });
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("int4-check.json"), serde_json::to_string_pretty(&report).unwrap()).unwrap();
    println!("{} checks, {failed} failed", checks.len());
    if failed > 0 {
        std::process::exit(1);
    }
}
