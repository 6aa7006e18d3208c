//! GPTQ 4-bit linear layers on CUDA: the weights in the layout of [`Int4Packed`], and the
//! candle operations that run our kernels (`kernels/int4.cu`, compiled to PTX by build.rs):
//! `int4_mm_*` (dequantize in registers, tensor-core multiply) for up to
//! [`FUSED_ROWS_CROSSOVER`] activation rows, `int4_dequant` + cuBLAS above that. The layers of
//! a model share one [`Int4Scratch`], the split-K workspace of the kernels.

use crate::int4_plan::LaunchPlan;
use intent_gptq_format::Int4Packed;
use candle_core::backend::BackendStorage;
use candle_core::cuda_backend::cudarc::driver::sys::CUdevice_attribute;
use candle_core::cuda_backend::cudarc::driver::{CudaFunction, CudaSlice, CudaStream, CudaView, DevicePtr, LaunchConfig, PushKernelArg};
use candle_core::cuda_backend::WrapErr;
use candle_core::{CudaDevice, CudaStorage, CustomOp1, Layout, Shape, Tensor};
use half::f16;
use std::sync::Arc;

const PTX: &str = include_str!(concat!(env!("OUT_DIR"), "/int4.ptx"));
const MODULE: &str = "intent_int4";
/// Threads per block of `int4_mm_*` (8 warps; `WARPS` in the kernel).
const MM_THREADS: u32 = 256;

pub use crate::int4_plan::{FUSED_ROWS_CROSSOVER, MAX_FUSED_ROWS};
/// The workspace of the int4 kernels on one device, shared by the layers of a model (their
/// launches are ordered on one stream): f32 partial sums for up to [`MAX_FUSED_ROWS`] x
/// `max_n` outputs and a counter per 32-column block for split-K (every launch leaves both
/// at zero, as it found them), and room for [`MAX_FUSED_ROWS`] x `max_k` activations put
/// in act-order.
pub struct Int4Scratch {
    sums: CudaSlice<f32>,
    counters: CudaSlice<u32>,
    sorted: CudaSlice<f16>,
    max_n: usize,
    max_k: usize,
    /// Streaming multiprocessors of the device, to size the grid.
    sms: usize,
}

impl Int4Scratch {
    /// A zeroed workspace for layers of at most `max_k` inputs and `max_n` outputs.
    pub fn new(device: &CudaDevice, max_k: usize, max_n: usize) -> candle_core::Result<Arc<Int4Scratch>> {
        let stream = device.cuda_stream();
        let sms = stream.context().attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT).w()?;
        Ok(Arc::new(Int4Scratch {
            sums: stream.alloc_zeros::<f32>(MAX_FUSED_ROWS * max_n).w()?,
            counters: stream.alloc_zeros::<u32>(max_n.div_ceil(32)).w()?,
            sorted: stream.alloc_zeros::<f16>(MAX_FUSED_ROWS * max_k).w()?,
            max_n,
            max_k,
            sms: sms.max(1) as usize,
        }))
    }

    /// Bytes on the device.
    pub fn bytes(&self) -> u64 {
        (self.sums.len() * 4 + self.counters.len() * 4 + self.sorted.len() * 2) as u64
    }

    /// Whether sums and counters are all zero, as every launch must leave them (reads them
    /// back; for checks).
    pub fn is_clean(&self) -> candle_core::Result<bool> {
        let stream = self.sums.stream();
        let sums = stream.clone_dtoh(&self.sums).w()?;
        let counters = stream.clone_dtoh(&self.counters).w()?;
        Ok(sums.iter().all(|&v| v == 0.0) && counters.iter().all(|&c| c == 0))
    }
}

/// The row order of an act-order layer and the kernel that gathers one activation row
/// through it.
struct ActOrder {
    /// Sorted row k' is input column `perm[k']`.
    perm: CudaSlice<i32>,
    /// `int4_mm_m16_perm`.
    one_row: CudaFunction,
}

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
    /// `int4_mm_m{16,32,48,64}`, for activations in the weights' row order (as given, or
    /// sorted by `gather` for act-order), loaded once at upload so that a forward pass only
    /// launches.
    mm: [CudaFunction; MAX_FUSED_ROWS / 16],
    act_order: Option<ActOrder>,
    gather: CudaFunction,
    dequant: CudaFunction,
    scratch: Arc<Int4Scratch>,
    stream: Arc<CudaStream>,
}

impl std::fmt::Debug for Int4Linear {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Int4Linear({} x {}, group {}, act-order {})", self.k, self.n, self.group_size, self.act_order.is_some())
    }
}

impl Int4Linear {
    /// Uploads a repacked layer that will use `scratch` (which must hold its `n` outputs).
    pub fn new(p: &Int4Packed, device: &CudaDevice, scratch: &Arc<Int4Scratch>) -> candle_core::Result<Int4Linear> {
        if p.n > scratch.max_n || p.k > scratch.max_k {
            candle_core::bail!("int4 layer of {} x {} but a workspace for {} x {}", p.k, p.n, scratch.max_k, scratch.max_n);
        }
        let stream = device.cuda_stream();
        let load = |name: &str| device.get_or_load_custom_func(name, MODULE, PTX).map(|f| f.into_cuda_function());
        let mm = [load("int4_mm_m16")?, load("int4_mm_m32")?, load("int4_mm_m48")?, load("int4_mm_m64")?];
        let act_order = match &p.perm {
            Some(perm) => Some(ActOrder {
                perm: stream.clone_htod(&perm.iter().map(|&v| v as i32).collect::<Vec<i32>>()).w()?,
                one_row: load("int4_mm_m16_perm")?,
            }),
            None => None,
        };
        Ok(Int4Linear {
            k: p.k,
            n: p.n,
            group_size: p.group_size,
            words: stream.clone_htod(&p.words).w()?,
            scales: stream.clone_htod(&p.scales).w()?,
            zeros: stream.clone_htod(&p.zeros).w()?,
            mm,
            act_order,
            gather: load("int4_gather")?,
            dequant: load("int4_dequant")?,
            scratch: Arc::clone(scratch),
            stream,
        })
    }

    /// Bytes on the device.
    pub fn bytes(&self) -> u64 {
        (self.words.len() * 4 + self.scales.len() * 2 + self.zeros.len() * 2 + self.act_order.as_ref().map_or(0, |a| a.perm.len() * 4)) as u64
    }

    /// `y = x W` for `m` rows of `x` (`m x k`, f16, contiguous) into `y` (`m x n`), with the
    /// fused kernel (`m` at most [`MAX_FUSED_ROWS`]). With act-order, one row is gathered
    /// inside the kernel; more rows are first put in sorted order once (`int4_gather`),
    /// which every block of the kernel would otherwise gather again.
    pub fn matmul_into(&self, x: &CudaView<'_, f16>, m: usize, y: &mut CudaSlice<f16>) -> candle_core::Result<()> {
        if m == 0 || m > MAX_FUSED_ROWS {
            candle_core::bail!("int4_mm takes 1 to {MAX_FUSED_ROWS} rows, not {m}");
        }
        if x.len() < m * self.k || y.len() < m * self.n {
            candle_core::bail!("int4_mm: buffers of {} and {} elements for {m} x {} -> {m} x {}", x.len(), y.len(), self.k, self.n);
        }
        match &self.act_order {
            Some(a) if m == 1 => self.launch_mm(&a.one_row, x, Some(&a.perm), m, y),
            Some(ActOrder { perm, .. }) => {
                let elems = (m * self.k) as u32;
                let cfg = LaunchConfig { grid_dim: (elems.div_ceil(256), 1, 1), block_dim: (256, 1, 1), shared_mem_bytes: 0 };
                let (mi, ki) = (m as i32, self.k as i32);
                let mut b = self.stream.launch_builder(&self.gather);
                b.arg(x).arg(perm).arg(&self.scratch.sorted).arg(&mi).arg(&ki);
                // SAFETY: x holds m x k values (checked above), the workspace MAX_FUSED_ROWS x
                // max_k >= m x k (checked at upload), perm k indices below k.
                unsafe { b.launch(cfg) }.w()?;
                self.launch_mm(&self.mm[m.div_ceil(16) - 1], &self.scratch.sorted.slice(0..m * self.k), None, m, y)
            }
            None => {
                let (x_at, _) = x.device_ptr(&self.stream);
                if x_at % 16 != 0 {
                    candle_core::bail!("int4_mm: activations must start on a 16-byte boundary");
                }
                self.launch_mm(&self.mm[m.div_ceil(16) - 1], x, None, m, y)
            }
        }
    }

    fn launch_mm(&self, func: &CudaFunction, x: &CudaView<'_, f16>, perm: Option<&CudaSlice<i32>>, m: usize, y: &mut CudaSlice<f16>) -> candle_core::Result<()> {
        let plan = LaunchPlan::new(m, self.k, self.n, self.scratch.sms);
        let cfg = LaunchConfig {
            grid_dim: ((self.n / 32) as u32, plan.slices as u32, 1),
            block_dim: (MM_THREADS, 1, 1),
            shared_mem_bytes: plan.shared_bytes as u32,
        };
        let (m, k, n, gs, slice) = (m as i32, self.k as i32, self.n as i32, self.group_size as i32, plan.slice_blocks as i32);
        let no_perm = 0u64;
        let mut b = self.stream.launch_builder(func);
        b.arg(x).arg(&self.words).arg(&self.scales).arg(&self.zeros);
        match perm {
            Some(p) => b.arg(p),
            None => b.arg(&no_perm),
        };
        b.arg(y).arg(&self.scratch.sums).arg(&self.scratch.counters).arg(&m).arg(&k).arg(&n).arg(&gs).arg(&slice);
        // SAFETY: the buffers hold the sizes checked by matmul_into, in the layout the kernel
        // reads; the workspace holds MAX_FUSED_ROWS x n sums and n / 32 counters.
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
        match &self.act_order {
            Some(a) => b.arg(&a.perm),
            None => b.arg(&no_perm),
        };
        b.arg(out).arg(&k).arg(&n).arg(&gs);
        // SAFETY: as in matmul_into.
        unsafe { b.launch(cfg) }.w()?;
        Ok(())
    }

    /// `x W` for `x` of shape `(rows, k)` in F16.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        if x.dim(0)? <= FUSED_ROWS_CROSSOVER {
            // The kernel reads rows with 16-byte loads: a view that starts mid-vector is copied.
            let x = if x.is_contiguous() && x.layout().start_offset().is_multiple_of(8) { x.clone() } else { x.affine(1.0, 0.0)? };
            x.apply_op1_no_bwd(&FusedMatmul(self))
        } else {
            self.forward_dequantized(x)
        }
    }

    /// `x W` through the decoded f16 weights and cuBLAS, for any number of rows (what
    /// [`Int4Linear::forward`] does above [`FUSED_ROWS_CROSSOVER`]).
    pub fn forward_dequantized(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let w = x.apply_op1_no_bwd(&Dequantize(self))?;
        x.matmul(&w)
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
