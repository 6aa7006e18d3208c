// The int4 kernels of libintent's GPTQ backend: y = x W for f16 activations x (M x K) and
// 4-bit weights W (K x N) with a scale and a zero point per group of rows and column,
// dequantized in registers and multiplied on the tensor cores (mma.sync m16n8k16, f32
// accumulation). Layout of the weights: gptq.rs, Int4Packed (written by repack_int4):
//
// - For column block nb (32 columns), row block kb (32 rows, after the act-order sort),
//   lane l of the warp: one uint4, word j for the 8-column tile j. Column 32 nb + 8 j + l/4.
//   The word holds the lane's B-fragment values of both 16-row steps: pair p = 2 s + h
//   (step s, h = 0 for rows 2t, 2t+1 and h = 1 for rows 2t+8, 2t+9, t = l % 4), the first
//   row of the pair at bits 4p, the second at bits 16 + 4p. So (word >> 4p) & 0x000F000F
//   OR 0x64006400 is the f16 pair (1024 + q0, 1024 + q1), exactly.
// - Scales and (1024 + zero) as f16, [group][nb][l/4][j]: one 8-byte load per lane per group.
// - perm (act-order): sorted row k' is input column perm[k'] of x.
//
// Grid: one block of 8 warps per column block and K slice (split-K). A block first puts
// all its weight loads in flight (up to MAX_U 16-byte loads per lane), then gathers the
// activations of its K slice into shared memory once (through the act-order permutation),
// then multiplies. The 8 warps' partial sums meet in shared memory; with more than one
// slice, the blocks of a column block add theirs into an f32 workspace and the last one to
// finish (a counter per column block) writes the f16 output and leaves workspace and
// counter at zero for the next launch. MT (1-4) is the number of 16-row tiles of x
// (M <= 16 MT).
#include <cuda_fp16.h>
#include <stdint.h>

#define WARPS 8
#define MAX_U 4
// Row stride of the partial-sum buffer: 32 columns plus 8 so that the 8 rows a warp's
// lanes add to fall on different banks (with 32, 8 lanes hit each of 4 banks).
#define RED_STRIDE 40

__device__ __forceinline__ void mma_16816(float* c, const uint32_t* a, uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ uint32_t dequant_pair(uint32_t word, int shift, uint32_t zero2, uint32_t scale2) {
    uint32_t v = ((word >> shift) & 0x000F000Fu) | 0x64006400u;
    half2 d = __hsub2(*reinterpret_cast<half2*>(&v), *reinterpret_cast<half2*>(&zero2));
    half2 w = __hmul2(d, *reinterpret_cast<half2*>(&scale2));
    return *reinterpret_cast<uint32_t*>(&w);
}

// Two f16 values of the staged activations (row r, slice column c), or zeros past row M.
__device__ __forceinline__ uint32_t smem_x2(const half* xs, int stride, int M, int r, int c) {
    return r < M ? *reinterpret_cast<const uint32_t*>(xs + r * stride + c) : 0u;
}

template <int MT, bool PERM>
__device__ void int4_mm(const half* __restrict__ x, const uint4* __restrict__ w, const uint2* __restrict__ scales,
                        const uint2* __restrict__ zeros, const int* __restrict__ perm, half* __restrict__ y,
                        float* __restrict__ ws, unsigned* __restrict__ counters, int M, int K, int N, int group_size,
                        int slice_kbs) {
    extern __shared__ __align__(16) half xs[];  // M rows x stride
    __shared__ float red[MT * 16][RED_STRIDE];
    __shared__ int last;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int gid = lane >> 2, tig = lane & 3;
    const int nb = blockIdx.x, nbs = N / 32, kbs = K / 32;
    const int kb0 = blockIdx.y * slice_kbs, kb1 = min(kbs, kb0 + slice_kbs);
    const int stride = slice_kbs * 32 + 8;  // the 8 spread rows over the banks

    // 1. Every weight, scale and zero load of this warp in flight at once.
    uint4 wv[MAX_U];
    uint2 sv[MAX_U], zv[MAX_U];
    const uint4* wp = w + (size_t)nb * kbs * 32 + lane;
#pragma unroll
    for (int u = 0; u < MAX_U; ++u) {
        const int kb = kb0 + warp + WARPS * u;
        if (kb < kb1) {
            wv[u] = __ldg(wp + (size_t)kb * 32);
            const size_t at = ((size_t)(kb * 32 / group_size) * nbs + nb) * 8 + gid;
            sv[u] = __ldg(scales + at);
            zv[u] = __ldg(zeros + at);
        }
    }

    // 2. The slice's activations into shared memory, gathered in sorted row order.
    const int cols = (kb1 - kb0) * 32;
    if (PERM) {
        for (int i = threadIdx.x; i < M * cols; i += blockDim.x) {
            const int r = i / cols, c = i - r * cols;
            xs[r * stride + c] = x[(size_t)r * K + __ldg(perm + kb0 * 32 + c)];
        }
    } else {
        const int vecs = cols / 8;
        for (int i = threadIdx.x; i < M * vecs; i += blockDim.x) {
            const int r = i / vecs, v = i - r * vecs;
            *reinterpret_cast<uint4*>(xs + r * stride + v * 8) =
                __ldg(reinterpret_cast<const uint4*>(x + (size_t)r * K + kb0 * 32) + v);
        }
    }
    for (int i = threadIdx.x; i < MT * 16 * RED_STRIDE; i += blockDim.x) (&red[0][0])[i] = 0.f;
    __syncthreads();

    // 3. Dequantize in registers and multiply.
    float acc[MT][4][4];
#pragma unroll
    for (int m = 0; m < MT; ++m)
#pragma unroll
        for (int j = 0; j < 4; ++j)
#pragma unroll
            for (int i = 0; i < 4; ++i) acc[m][j][i] = 0.f;
    const bool worked = kb0 + warp < kb1;
#pragma unroll
    for (int u = 0; u < MAX_U; ++u) {
        const int kb = kb0 + warp + WARPS * u;
        if (kb >= kb1) break;
        uint32_t s2[4], z2[4];
        const uint32_t sw[2] = {sv[u].x, sv[u].y}, zw[2] = {zv[u].x, zv[u].y};
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            const uint32_t sh = (sw[j >> 1] >> (16 * (j & 1))) & 0xFFFFu;
            const uint32_t zh = (zw[j >> 1] >> (16 * (j & 1))) & 0xFFFFu;
            s2[j] = sh | (sh << 16);
            z2[j] = zh | (zh << 16);
        }
        const uint32_t words[4] = {wv[u].x, wv[u].y, wv[u].z, wv[u].w};
#pragma unroll
        for (int s = 0; s < 2; ++s) {
            const int c = (kb - kb0) * 32 + s * 16 + 2 * tig;
            uint32_t a[MT][4];
#pragma unroll
            for (int m = 0; m < MT; ++m) {
                const int r = m * 16 + gid;
                a[m][0] = smem_x2(xs, stride, M, r, c);
                a[m][1] = smem_x2(xs, stride, M, r + 8, c);
                a[m][2] = smem_x2(xs, stride, M, r, c + 8);
                a[m][3] = smem_x2(xs, stride, M, r + 8, c + 8);
            }
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                const uint32_t b0 = dequant_pair(words[j], 4 * (2 * s), z2[j], s2[j]);
                const uint32_t b1 = dequant_pair(words[j], 4 * (2 * s + 1), z2[j], s2[j]);
#pragma unroll
                for (int m = 0; m < MT; ++m) mma_16816(acc[m][j], a[m], b0, b1);
            }
        }
    }

    // 4. The warps' partial sums.
    if (worked) {
#pragma unroll
        for (int m = 0; m < MT; ++m)
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                const int r = m * 16 + gid, col = j * 8 + 2 * tig;
                if (r < M) {
                    atomicAdd(&red[r][col], acc[m][j][0]);
                    atomicAdd(&red[r][col + 1], acc[m][j][1]);
                }
                if (r + 8 < M) {
                    atomicAdd(&red[r + 8][col], acc[m][j][2]);
                    atomicAdd(&red[r + 8][col + 1], acc[m][j][3]);
                }
            }
    }
    __syncthreads();

    // 5. One slice: write. Several: add into the workspace; the last block writes.
    if (gridDim.y == 1) {
        for (int i = threadIdx.x; i < M * 32; i += blockDim.x) {
            const int r = i / 32, col = i % 32;
            y[(size_t)r * N + nb * 32 + col] = __float2half(red[r][col]);
        }
        return;
    }
    for (int i = threadIdx.x; i < M * 32; i += blockDim.x) {
        const int r = i / 32, col = i % 32;
        atomicAdd(ws + (size_t)r * N + nb * 32 + col, red[r][col]);
    }
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) last = atomicAdd(counters + nb, 1u) == gridDim.y - 1;
    __syncthreads();
    if (!last) return;
    __threadfence();
    for (int i = threadIdx.x; i < M * 32; i += blockDim.x) {
        const int r = i / 32, col = i % 32;
        y[(size_t)r * N + nb * 32 + col] = __float2half(atomicExch(ws + (size_t)r * N + nb * 32 + col, 0.f));
    }
    if (threadIdx.x == 0) counters[nb] = 0;
}

#define INT4_MM(MT, PERM, NAME)                                                                                        \
    extern "C" __global__ void __launch_bounds__(WARPS * 32)                                                           \
        NAME(const half* x, const uint4* w, const uint2* scales, const uint2* zeros, const int* perm, half* y,        \
             float* ws, unsigned* counters, int M, int K, int N, int group_size, int slice_kbs) {                      \
        int4_mm<MT, PERM>(x, w, scales, zeros, perm, y, ws, counters, M, K, N, group_size, slice_kbs);                 \
    }

INT4_MM(1, false, int4_mm_m16)
INT4_MM(2, false, int4_mm_m32)
INT4_MM(3, false, int4_mm_m48)
INT4_MM(4, false, int4_mm_m64)
// Act-order with one row gathers inside the kernel; more rows are sorted by int4_gather first.
INT4_MM(1, true, int4_mm_m16_perm)

// Act-order activations in sorted row order, once per call: out[r][k'] = x[r][perm[k']]
// (M x K), so that the blocks of int4_mm, which all read the same activations, read them
// with 16-byte loads instead of gathering them one f16 at a time.
extern "C" __global__ void int4_gather(const half* __restrict__ x, const int* __restrict__ perm, half* __restrict__ out,
                                       int M, int K) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < M * K) {
        const int r = i / K, c = i - r * K;
        out[i] = x[(size_t)r * K + __ldg(perm + c)];
    }
}

// Decodes the weights to f16 in checkpoint row order, out[row][col] (K x N), for batches
// too large for int4_mm, which then go through cuBLAS. One thread per lane-word: grid
// (K / 32, N / 32), 128 threads (32 lanes x 4 tiles).
extern "C" __global__ void int4_dequant(const uint32_t* __restrict__ w, const uint16_t* __restrict__ scales,
                                        const uint16_t* __restrict__ zeros, const int* __restrict__ perm,
                                        half* __restrict__ out, int K, int N, int group_size) {
    const int kb = blockIdx.x, nb = blockIdx.y, kbs = K / 32, nbs = N / 32;
    const int lane = threadIdx.x >> 2, j = threadIdx.x & 3;
    const int gid = lane >> 2, tig = lane & 3;
    const uint32_t word = w[(((size_t)nb * kbs + kb) * 32 + lane) * 4 + j];
    const int col = nb * 32 + 8 * j + gid;
    const int g = kb * 32 / group_size;
    const size_t at = (((size_t)g * nbs + nb) * 8 + gid) * 4 + j;
    const half s = __ushort_as_half(scales[at]), z = __ushort_as_half(zeros[at]);
#pragma unroll
    for (int p = 0; p < 4; ++p)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
            const int kp = kb * 32 + (p >> 1) * 16 + (p & 1) * 8 + 2 * tig + e;
            const int row = perm ? perm[kp] : kp;
            const half q = __ushort_as_half((unsigned short)(0x6400u | ((word >> (4 * p + 16 * e)) & 0xFu)));
            out[(size_t)row * N + col] = __hmul(__hsub(q, z), s);
        }
}
