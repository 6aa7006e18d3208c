//! GPTQ 4-bit linear layers on CUDA: the weights in the layout of [`Int4Packed`], and the
//! candle operations that run our kernels (`kernels/int4.cu`, compiled to PTX by build.rs):
//! `int4_mm_*` (dequantize in registers, tensor-core multiply) for up to
//! [`MAX_FUSED_ROWS`] activation rows, `int4_dequant` + cuBLAS above that.

use intent_gptq_format::Int4Packed;
use candle_core::backend::BackendStorage;
use candle_core::cuda_backend::cudarc::driver::{CudaFunction, CudaSlice, CudaStream, CudaView, LaunchConfig, PushKernelArg};
use candle_core::cuda_backend::WrapErr;
use candle_core::{CudaDevice, CudaStorage, CustomOp1, Layout, Shape, Tensor};
use half::f16;
use std::sync::Arc;

const PTX: &str = include_str!(concat!(env!("OUT_DIR"), "/int4.ptx"));
const MODULE: &str = "intent_int4";
/// Threads per block of `int4_mm_*` (8 warps; `WARPS` in the kernel).
const MM_THREADS: u32 = 256;

/// The most activation rows the fused kernel takes; larger batches decode the weights to
/// f16 and multiply with cuBLAS.
pub const MAX_FUSED_ROWS: usize = 64;

/// A 4-bit layer on a CUDA device.
pub struct Int4Linear {
    /// Input features.
    pub k: usize,
    /// Output features.
    pub n: usize,
    group_size: usize,
    words: CudaSlice<u32>,
    scales: CudaSlice<u16>,
    zeros: CudaSlice<u16>,
    perm: Option<CudaSlice<i32>>,
    /// `int4_mm_m{16,32,48,64}` (with `_perm` for act-order), loaded once at upload so that
    /// a forward pass only launches.
    mm: [CudaFunction; MAX_FUSED_ROWS / 16],
    dequant: CudaFunction,
    stream: Arc<CudaStream>,
}

impl std::fmt::Debug for Int4Linear {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Int4Linear({} x {}, group {}, act-order {})", self.k, self.n, self.group_size, self.perm.is_some())
    }
}

impl Int4Linear {
    /// Uploads a repacked layer.
    pub fn new(p: &Int4Packed, device: &CudaDevice) -> candle_core::Result<Int4Linear> {
        let stream = device.cuda_stream();
        let suffix = if p.perm.is_some() { "_perm" } else { "" };
        let load = |name: &str| device.get_or_load_custom_func(name, MODULE, PTX).map(|f| f.into_cuda_function());
        let mm = [load(&format!("int4_mm_m16{suffix}"))?, load(&format!("int4_mm_m32{suffix}"))?, load(&format!("int4_mm_m48{suffix}"))?, load(&format!("int4_mm_m64{suffix}"))?];
        let perm = match &p.perm {
            Some(perm) => Some(stream.clone_htod(&perm.iter().map(|&v| v as i32).collect::<Vec<i32>>()).w()?),
            None => None,
        };
        Ok(Int4Linear {
            k: p.k,
            n: p.n,
            group_size: p.group_size,
            words: stream.clone_htod(&p.words).w()?,
            scales: stream.clone_htod(&p.scales).w()?,
            zeros: stream.clone_htod(&p.zeros).w()?,
            perm,
            mm,
            dequant: load("int4_dequant")?,
            stream,
        })
    }

    /// Bytes on the device.
    pub fn bytes(&self) -> u64 {
        (self.words.len() * 4 + self.scales.len() * 2 + self.zeros.len() * 2 + self.perm.as_ref().map_or(0, |p| p.len() * 4)) as u64
    }

    /// `y = x W` for `m` rows of `x` (`m x k`, f16, contiguous) into `y` (`m x n`), with the
    /// fused kernel (`m` at most [`MAX_FUSED_ROWS`]).
    pub fn matmul_into(&self, x: &CudaView<'_, f16>, m: usize, y: &mut CudaSlice<f16>) -> candle_core::Result<()> {
        if m == 0 || m > MAX_FUSED_ROWS {
            candle_core::bail!("int4_mm takes 1 to {MAX_FUSED_ROWS} rows, not {m}");
        }
        if x.len() < m * self.k || y.len() < m * self.n {
            candle_core::bail!("int4_mm: buffers of {} and {} elements for {m} x {} -> {m} x {}", x.len(), y.len(), self.k, self.n);
        }
        let func = &self.mm[m.div_ceil(16) - 1];
        let cfg = LaunchConfig { grid_dim: ((self.n / 32) as u32, 1, 1), block_dim: (MM_THREADS, 1, 1), shared_mem_bytes: 0 };
        let (m, k, n, gs) = (m as i32, self.k as i32, self.n as i32, self.group_size as i32);
        let no_perm = 0u64;
        let mut b = self.stream.launch_builder(func);
        b.arg(x).arg(&self.words).arg(&self.scales).arg(&self.zeros);
        match &self.perm {
            Some(p) => b.arg(p),
            None => b.arg(&no_perm),
        };
        b.arg(y).arg(&m).arg(&k).arg(&n).arg(&gs);
        // SAFETY: the buffers hold the sizes checked above, in the layout the kernel reads.
        unsafe { b.launch(cfg) }.w()?;
        Ok(())
    }

    /// The weights decoded to f16, `k x n` in checkpoint row order, into `out`.
    pub fn dequantize_into(&self, out: &mut CudaSlice<f16>) -> candle_core::Result<()> {
        if out.len() < self.k * self.n {
            candle_core::bail!("int4_dequant: {} elements for {} x {}", out.len(), self.k, self.n);
        }
        let cfg = LaunchConfig { grid_dim: ((self.k / 32) as u32, (self.n / 32) as u32, 1), block_dim: (128, 1, 1), shared_mem_bytes: 0 };
        let (k, n, gs) = (self.k as i32, self.n as i32, self.group_size as i32);
        let no_perm = 0u64;
        let mut b = self.stream.launch_builder(&self.dequant);
        b.arg(&self.words).arg(&self.scales).arg(&self.zeros);
        match &self.perm {
            Some(p) => b.arg(p),
            None => b.arg(&no_perm),
        };
        b.arg(out).arg(&k).arg(&n).arg(&gs);
        // SAFETY: as in matmul_into.
        unsafe { b.launch(cfg) }.w()?;
        Ok(())
    }

    /// `x W` for `x` of shape `(rows, k)` in F16.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let rows = x.dim(0)?;
        if rows <= MAX_FUSED_ROWS {
            x.contiguous()?.apply_op1_no_bwd(&FusedMatmul(self))
        } else {
            let w = x.apply_op1_no_bwd(&Dequantize(self))?;
            x.matmul(&w)
        }
    }
}

fn f16_input<'a>(storage: &'a CudaStorage, layout: &Layout, what: &str) -> candle_core::Result<CudaView<'a, f16>> {
    let slice = storage.as_cuda_slice::<f16>().map_err(|_| candle_core::Error::Msg(format!("{what}: activations must be F16")))?;
    match layout.contiguous_offsets() {
        Some((a, b)) => Ok(slice.slice(a..b)),
        None => candle_core::bail!("{what}: activations must be contiguous"),
    }
}

struct FusedMatmul<'a>(&'a Int4Linear);

impl CustomOp1 for FusedMatmul<'_> {
    fn name(&self) -> &'static str {
        "int4-matmul"
    }

    fn cpu_fwd(&self, _: &candle_core::CpuStorage, _: &Layout) -> candle_core::Result<(candle_core::CpuStorage, Shape)> {
        candle_core::bail!("int4-matmul runs on CUDA only")
    }

    fn cuda_fwd(&self, storage: &CudaStorage, layout: &Layout) -> candle_core::Result<(CudaStorage, Shape)> {
        let l = self.0;
        let (m, k) = layout.shape().dims2()?;
        if k != l.k {
            candle_core::bail!("int4-matmul: input has {k} features, the layer {}", l.k);
        }
        let x = f16_input(storage, layout, "int4-matmul")?;
        let dev = storage.device();
        // SAFETY: every element is written by the kernel before it is read.
        let mut y = unsafe { dev.alloc::<f16>(m * l.n)? };
        l.matmul_into(&x, m, &mut y)?;
        Ok((CudaStorage::wrap_cuda_slice(y, dev.clone()), Shape::from((m, l.n))))
    }
}

/// Decodes the layer's weights (the input tensor only names the device).
struct Dequantize<'a>(&'a Int4Linear);

impl CustomOp1 for Dequantize<'_> {
    fn name(&self) -> &'static str {
        "int4-dequantize"
    }

    fn cpu_fwd(&self, _: &candle_core::CpuStorage, _: &Layout) -> candle_core::Result<(candle_core::CpuStorage, Shape)> {
        candle_core::bail!("int4-dequantize runs on CUDA only")
    }

    fn cuda_fwd(&self, storage: &CudaStorage, _: &Layout) -> candle_core::Result<(CudaStorage, Shape)> {
        let l = self.0;
        let dev = storage.device();
        // SAFETY: the kernel writes all k x n elements.
        let mut w = unsafe { dev.alloc::<f16>(l.k * l.n)? };
        l.dequantize_into(&mut w)?;
        Ok((CudaStorage::wrap_cuda_slice(w, dev.clone()), Shape::from((l.k, l.n))))
    }
}
