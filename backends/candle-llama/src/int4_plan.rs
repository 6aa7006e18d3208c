//! How a launch of the int4 matrix-multiply kernels (`kernels/int4.cu`, `int4_mm_*`) splits
//! its work: pure arithmetic, kept apart from the CUDA code so that it is tested everywhere.

/// The most activation rows the fused kernel takes.
pub const MAX_FUSED_ROWS: usize = 64;
/// The most rows a layer sends through the fused kernel; larger batches decode the weights
/// to f16 and multiply with cuBLAS. Measured on an H100 (`int4_check`,
/// benches/results/h100-gptq-cuda/run3-bank-conflicts/): at 32 rows the fused kernel is
/// faster on 6 of the 7 layer shapes of the models, at 64 rows decoding and cuBLAS is
/// faster on all of them.
pub const FUSED_ROWS_CROSSOVER: usize = 32;
/// K slices per launch of `int4_mm_*` are at most this many 32-row blocks per warp
/// (`MAX_U` in the kernel).
const MAX_BLOCKS_PER_WARP: usize = 4;
/// Warps per block (`WARPS` in the kernel).
const WARPS: usize = 8;
/// Shared memory a block may use for the staged activations: with the kernel's own
/// reduction buffer (at most 10,244 bytes) it stays under the default limit of 48 KiB.
const STAGE_BYTES: usize = 37 << 10;

/// How one launch of `int4_mm_*` splits the work.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LaunchPlan {
    /// 32-row blocks of K per block of the grid.
    pub slice_blocks: usize,
    /// K slices (the grid's second dimension).
    pub slices: usize,
    /// Dynamic shared memory: the staged activations.
    pub shared_bytes: usize,
}

impl LaunchPlan {
    /// The plan for `m` rows of a `k x n` layer on a GPU of `sms` multiprocessors: as many
    /// weight loads in flight per warp as the staged activations leave room for, and K split
    /// further while the grid has fewer than two blocks per multiprocessor.
    pub fn new(m: usize, k: usize, n: usize, sms: usize) -> LaunchPlan {
        let kbs = k / 32;
        let fit = (STAGE_BYTES / (2 * m.max(1))).saturating_sub(8) / (32 * WARPS);
        let mut u = fit.clamp(1, MAX_BLOCKS_PER_WARP);
        while u > 1 && (n / 32) * kbs.div_ceil(WARPS * u) < 2 * sms {
            u -= 1;
        }
        let slice_blocks = (WARPS * u).min(kbs).max(1);
        LaunchPlan { slice_blocks, slices: kbs.div_ceil(slice_blocks), shared_bytes: m * (slice_blocks * 32 + 8) * 2 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_plan_covers_k_and_fits_the_shared_memory() {
        for m in 1..=MAX_FUSED_ROWS {
            for &(k, n) in &[(32, 32), (96, 32), (576, 960), (1536, 576), (2048, 3072), (2048, 16384), (8192, 2048)] {
                for sms in [1, 80, 132] {
                    let p = LaunchPlan::new(m, k, n, sms);
                    let kbs = k / 32;
                    assert!(p.slice_blocks >= 1 && p.slice_blocks <= WARPS * MAX_BLOCKS_PER_WARP, "{m} {k} {n}: {p:?}");
                    assert!(p.slices * p.slice_blocks >= kbs && (p.slices - 1) * p.slice_blocks < kbs, "{m} {k} {n}: {p:?}");
                    assert!(p.shared_bytes <= STAGE_BYTES, "{m} {k} {n}: {p:?}");
                    assert_eq!(p.shared_bytes, m * (p.slice_blocks * 32 + 8) * 2);
                }
            }
        }
    }

    #[test]
    fn one_row_on_llama_1b_shapes_fills_an_h100_with_loads_in_flight() {
        // 132 multiprocessors: a 2048-column layer has 64 column blocks, so K is split
        // until there are at least 264 blocks; each warp keeps up to four loads in flight.
        let down = LaunchPlan::new(1, 8192, 2048, 132);
        assert_eq!((down.slice_blocks, down.slices), (32, 8));
        let qkv = LaunchPlan::new(1, 2048, 3072, 132);
        assert_eq!((qkv.slice_blocks, qkv.slices), (24, 3));
        let gate_up = LaunchPlan::new(1, 2048, 16384, 132);
        assert_eq!((gate_up.slice_blocks, gate_up.slices), (32, 2));
        // 64 rows leave room for one 32-row block per warp.
        assert_eq!(LaunchPlan::new(64, 2048, 2048, 132).slice_blocks, 8);
    }
}
