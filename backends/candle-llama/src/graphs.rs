//! CUDA graphs of the forward pass. A model this small is bound by the host: a SmolLM2 step
//! is about 750 kernel launches, each several microseconds of host work. A graph records
//! them once and replays them with one launch.
//!
//! A graph is made for one batch shape (tokens, first cache cell, cells read, output rows,
//! candidates): the cache cells are part of it, the rest of the batch (token ids,
//! positions, mask, rows, candidates) is written into the graph's input tensors before each
//! replay. The first batch of a shape runs eagerly on those input tensors (which also fills
//! candle's cache of layout parameters, so that the capture copies nothing from the host);
//! the second is captured and replayed; later ones replay. A context keeps the graphs of
//! its [`CAPACITY`] most recently used shapes. Batches of more than [`MAX_GRAPH_TOKENS`]
//! tokens are bound by the GPU, not the host, and always run eagerly (their graphs would
//! also hold large activations).
//!
//! If a capture fails, the context says why once on stderr, runs the batch eagerly and
//! stays eager. `INTENT_CUDA_GRAPHS=0` turns graphs off.

use crate::model::{BatchPlan, KvCache, Llama, ModelResult, RopeTables};

/// The most batch shapes a context keeps graphs for.
pub const CAPACITY: usize = 64;
/// The largest batch, in tokens, that runs as a graph.
pub const MAX_GRAPH_TOKENS: usize = 256;

/// What the graphs of a context did, for checks and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GraphStats {
    /// Batches run eagerly on a new shape's input tensors (the run before a capture).
    pub warmups: u64,
    /// Graphs captured.
    pub captures: u64,
    /// Batches run by replaying a graph.
    pub replays: u64,
    /// Batches run eagerly without graphs (graphs off, not on CUDA, no logits asked for, or
    /// more than [`MAX_GRAPH_TOKENS`] tokens).
    pub eager: u64,
}

/// The CUDA graphs of one evaluation context.
pub struct ForwardGraphs {
    #[cfg(feature = "cuda")]
    cuda: Option<cuda::Graphs>,
    stats: GraphStats,
    failure: Option<String>,
}

impl ForwardGraphs {
    /// Graphs for a context of `llama`: on when it runs on CUDA, unless the environment
    /// sets `INTENT_CUDA_GRAPHS=0`.
    pub fn for_model(llama: &Llama) -> ForwardGraphs {
        let wanted = std::env::var("INTENT_CUDA_GRAPHS").map_or(true, |v| v.trim() != "0");
        ForwardGraphs {
            #[cfg(feature = "cuda")]
            cuda: match (&llama.device, wanted) {
                (candle_core::Device::Cuda(dev), true) => Some(cuda::Graphs::new(dev.clone())),
                _ => None,
            },
            stats: GraphStats::default(),
            failure: if wanted || !llama.device.is_cuda() { None } else { Some("INTENT_CUDA_GRAPHS=0".into()) },
        }
    }

    /// No graphs: every batch runs eagerly.
    pub fn off() -> ForwardGraphs {
        ForwardGraphs {
            #[cfg(feature = "cuda")]
            cuda: None,
            stats: GraphStats::default(),
            failure: None,
        }
    }

    /// What the graphs did so far.
    pub fn stats(&self) -> GraphStats {
        self.stats
    }

    /// Why graphs are off on a CUDA device: a failed capture, or the environment.
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// Runs a batch through a graph where one applies; `None` leaves it to the eager path.
    #[cfg_attr(not(feature = "cuda"), allow(unused_variables))]
    pub(crate) fn run(&mut self, llama: &Llama, cache: &KvCache, plan: &BatchPlan<'_>, rope: &RopeTables) -> Option<ModelResult<Vec<f32>>> {
        #[cfg(feature = "cuda")]
        if let Some(graphs) = &mut self.cuda {
            if !plan.outputs.is_empty() && !plan.candidates.is_empty() && plan.tokens.len() <= MAX_GRAPH_TOKENS {
                match graphs.run(llama, cache, plan, rope, &mut self.stats) {
                    Ok(logits) => return Some(Ok(logits)),
                    Err(cuda::Failure::Run(e)) => return Some(Err(e)),
                    Err(cuda::Failure::Capture(e)) => {
                        eprintln!("libintent: CUDA graphs off for this context, the batch runs eagerly: {e}");
                        self.failure = Some(e);
                        self.cuda = None;
                    }
                }
            }
        }
        self.stats.eager += 1;
        None
    }
}

#[cfg(feature = "cuda")]
mod cuda {
    use super::{GraphStats, CAPACITY};
    use crate::model::{BatchPlan, DeviceInputs, KvCache, Llama, RopeTables};
    use candle_core::cuda_backend::cudarc::driver::sys::{CUgraphInstantiate_flags, CUstreamCaptureMode};
    use candle_core::cuda_backend::cudarc::driver::{result, CudaGraph, CudaSlice, CudaStream, DevicePtr, DevicePtrMut, DeviceRepr};
    use candle_core::cuda_backend::{CudaDType, WrapErr};
    use candle_core::{CudaDevice, Storage, Tensor};
    use std::collections::HashMap;
    use std::sync::Arc;

    /// Why a graph step failed: the batch itself (an error for the caller), or the capture
    /// (graphs go off and the batch runs eagerly).
    pub(super) enum Failure {
        Run(String),
        Capture(String),
    }

    /// What a graph is made for: the shapes and cache cells of a batch.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    struct Shape {
        tokens: usize,
        first_cell: usize,
        n_cells: usize,
        outputs: usize,
        candidates: usize,
    }

    impl Shape {
        fn of(plan: &BatchPlan<'_>) -> Shape {
            Shape {
                tokens: plan.tokens.len(),
                first_cell: plan.first_cell,
                n_cells: plan.n_cells,
                outputs: plan.outputs.len(),
                candidates: plan.candidates.len(),
            }
        }
    }

    /// A captured graph, owned by one context.
    struct OwnedGraph(CudaGraph);

    // SAFETY: a graph is launched only through `&mut` of the context that owns it (one
    // thread at a time), which is all CUDA asks of graph objects: no concurrent use.
    unsafe impl Send for OwnedGraph {}

    /// One batch shape: its input tensors, its output buffer and (after the second batch)
    /// its graph, which reads and writes those.
    struct Entry {
        graph: Option<OwnedGraph>,
        inputs: DeviceInputs,
        logits: CudaSlice<f32>,
        last_used: u64,
    }

    pub(super) struct Graphs {
        device: CudaDevice,
        stream: Arc<CudaStream>,
        entries: HashMap<Shape, Entry>,
        clock: u64,
    }

    fn run_err(e: candle_core::Error) -> Failure {
        Failure::Run(format!("forward pass: {e}"))
    }

    impl Graphs {
        pub(super) fn new(device: CudaDevice) -> Graphs {
            let stream = device.cuda_stream();
            Graphs { device, stream, entries: HashMap::new(), clock: 0 }
        }

        pub(super) fn run(&mut self, llama: &Llama, cache: &KvCache, plan: &BatchPlan<'_>, rope: &RopeTables, stats: &mut GraphStats) -> Result<Vec<f32>, Failure> {
            let shape = Shape::of(plan);
            self.clock += 1;
            if !self.entries.contains_key(&shape) {
                return self.warm_up(llama, cache, plan, rope, shape, stats);
            }
            let entry = self.entries.get_mut(&shape).expect("checked above");
            entry.last_used = self.clock;
            write_inputs(&entry.inputs, plan, rope, &self.stream).map_err(run_err)?;
            if entry.graph.is_none() {
                let _exclusive = llama.stream_lock.write().unwrap_or_else(|e| e.into_inner());
                entry.graph = Some(capture(llama, cache, plan, entry, &self.device, &self.stream)?);
                stats.captures += 1;
            } else {
                stats.replays += 1;
            }
            let _shared = llama.stream_lock.read().unwrap_or_else(|e| e.into_inner());
            let graph = entry.graph.as_ref().expect("captured above");
            graph.0.launch().map_err(|e| Failure::Run(format!("replaying the CUDA graph: {e}")))?;
            self.stream.clone_dtoh(&entry.logits).map_err(|e| Failure::Run(format!("reading the logits: {e}")))
        }

        /// The first batch of a shape: the shape's input tensors, and an eager run on them
        /// that leaves candle's layout parameters cached for the capture.
        fn warm_up(&mut self, llama: &Llama, cache: &KvCache, plan: &BatchPlan<'_>, rope: &RopeTables, shape: Shape, stats: &mut GraphStats) -> Result<Vec<f32>, Failure> {
            if self.entries.len() >= CAPACITY {
                if let Some(oldest) = self.entries.iter().min_by_key(|(_, e)| e.last_used).map(|(s, _)| *s) {
                    self.entries.remove(&oldest);
                }
            }
            let dev = candle_core::Device::Cuda(self.device.clone());
            let inputs = DeviceInputs::zeros(plan, rope.half, &dev).map_err(run_err)?;
            let logits = self.stream.alloc_zeros::<f32>(shape.outputs * shape.candidates).map_err(|e| Failure::Run(format!("allocating the logits: {e}")))?;
            write_inputs(&inputs, plan, rope, &self.stream).map_err(run_err)?;
            let out = {
                let _shared = llama.stream_lock.read().unwrap_or_else(|e| e.into_inner());
                let _cache_layouts = self.device.enable_cuda_graph_htod_cache();
                let out = llama.layers(cache, plan, &inputs).map_err(run_err)?;
                out.ok_or_else(|| Failure::Run("forward pass: no logits".into()))?.flatten_all().and_then(|t| t.to_vec1::<f32>()).map_err(run_err)?
            };
            self.entries.insert(shape, Entry { graph: None, inputs, logits, last_used: self.clock });
            stats.warmups += 1;
            Ok(out)
        }
    }

    /// Records the forward pass over `entry`'s inputs, ending with a copy of the logits into
    /// `entry.logits`. Nothing runs during a capture: the caller launches the graph.
    fn capture(llama: &Llama, cache: &KvCache, plan: &BatchPlan<'_>, entry: &mut Entry, device: &CudaDevice, stream: &Arc<CudaStream>) -> Result<OwnedGraph, Failure> {
        let capture_err = |what: &str, e: String| Failure::Capture(format!("{what}: {e}"));
        let _cache_layouts = device.enable_cuda_graph_htod_cache();
        stream
            .begin_capture(CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)
            .map_err(|e| capture_err("starting the capture", e.to_string()))?;
        let recorded = (|| -> candle_core::Result<()> {
            let logits = llama.layers(cache, plan, &entry.inputs)?.ok_or_else(|| candle_core::Error::Msg("no logits".into()))?;
            copy_into(&logits, &mut entry.logits, stream)
        })();
        let ended = stream.end_capture(CUgraphInstantiate_flags(0));
        // A failed capture may leave an error recorded by a drop; it belongs to the capture.
        let _ = stream.context().check_err();
        match (recorded, ended) {
            (Ok(()), Ok(Some(graph))) => Ok(OwnedGraph(graph)),
            (Ok(()), Ok(None)) => Err(capture_err("ending the capture", "an empty graph".into())),
            (Err(e), _) => Err(capture_err("recording the forward pass", e.to_string())),
            (Ok(()), Err(e)) => Err(capture_err("ending the capture", e.to_string())),
        }
    }

    /// Copies `plan`'s inputs into the input tensors, in place (ordered on the stream).
    fn write_inputs(inputs: &DeviceInputs, plan: &BatchPlan<'_>, rope: &RopeTables, stream: &CudaStream) -> candle_core::Result<()> {
        write(&inputs.tokens, plan.tokens, stream)?;
        write(&inputs.cos, &rope.cos, stream)?;
        write(&inputs.sin, &rope.sin, stream)?;
        write(&inputs.mask, plan.mask, stream)?;
        if let Some((rows, candidates)) = &inputs.rows_candidates {
            write(rows, plan.outputs, stream)?;
            write(candidates, plan.candidates, stream)?;
        }
        Ok(())
    }

    /// The device address of a contiguous CUDA tensor's first element, and its length.
    fn device_range<T: CudaDType>(tensor: &Tensor, stream: &CudaStream, what: &str) -> candle_core::Result<(u64, usize)> {
        let (storage, layout) = tensor.storage_and_layout();
        let Storage::Cuda(storage) = &*storage else {
            candle_core::bail!("{what} is not on a CUDA device");
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("{what} is not contiguous");
        };
        let (ptr, _) = storage.as_cuda_slice::<T>()?.device_ptr(stream);
        Ok((ptr + (start * std::mem::size_of::<T>()) as u64, end - start))
    }

    /// Overwrites a contiguous CUDA tensor with `data`.
    fn write<T: CudaDType + DeviceRepr>(tensor: &Tensor, data: &[T], stream: &CudaStream) -> candle_core::Result<()> {
        let (at, len) = device_range::<T>(tensor, stream, "graph input")?;
        if len != data.len() {
            candle_core::bail!("graph input of {len} elements written with {}", data.len());
        }
        // SAFETY: `at` is inside the tensor's allocation with room for `data` (checked
        // above), the tensor outlives the copy (it is freed in stream order), and a copy
        // from pageable host memory has read `data` when the call returns.
        unsafe { result::memcpy_htod_async(at, data, stream.cu_stream()) }.w()
    }

    /// Copies the logits (a contiguous F32 tensor) into `out`, on the stream.
    fn copy_into(logits: &Tensor, out: &mut CudaSlice<f32>, stream: &CudaStream) -> candle_core::Result<()> {
        let (src, len) = device_range::<f32>(logits, stream, "logits")?;
        if len != out.len() {
            candle_core::bail!("{len} logits for an output of {}", out.len());
        }
        let (dst, _) = out.device_ptr_mut(stream);
        // SAFETY: both ranges hold `out.len()` f32 values (checked above) on this stream.
        unsafe { result::memcpy_dtod_async(dst, src, len * 4, stream.cu_stream()) }.w()
    }
}
