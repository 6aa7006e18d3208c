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
// One block of 8 warps per column block; the warps split the rows and their partial sums
// meet in shared memory. MT (1-4) is the number of 16-row tiles of x (M <= 16 MT).
#include <cuda_fp16.h>
#include <stdint.h>

#define WARPS 8

__device__ __forceinline__ uint32_t pack_half2(half a, half b) {
    return (uint32_t)__half_as_ushort(a) | ((uint32_t)__half_as_ushort(b) << 16);
}

__device__ __forceinline__ void mma_16816(float* c, const uint32_t* a, uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Two f16 values of row `r` of x at (sorted) columns c and c + 1.
template <bool PERM>
__device__ __forceinline__ uint32_t load_x2(const half* __restrict__ x, const int* __restrict__ perm, int M, int K, int r, int c) {
    if (r >= M) return 0;
    const half* row = x + (size_t)r * K;
    if (PERM) {
        int2 p = __ldg(reinterpret_cast<const int2*>(perm + c));
        return pack_half2(row[p.x], row[p.y]);
    }
    return __ldg(reinterpret_cast<const uint32_t*>(row + c));
}

__device__ __forceinline__ uint32_t dequant_pair(uint32_t word, int shift, uint32_t zero2, uint32_t scale2) {
    uint32_t v = ((word >> shift) & 0x000F000Fu) | 0x64006400u;
    half2 d = __hsub2(*reinterpret_cast<half2*>(&v), *reinterpret_cast<half2*>(&zero2));
    half2 w = __hmul2(d, *reinterpret_cast<half2*>(&scale2));
    return *reinterpret_cast<uint32_t*>(&w);
}

template <int MT, bool PERM>
__device__ void int4_mm(const half* __restrict__ x, const uint4* __restrict__ w, const uint2* __restrict__ scales,
                        const uint2* __restrict__ zeros, const int* __restrict__ perm, half* __restrict__ y, int M, int K,
                        int N, int group_size) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int gid = lane >> 2, tig = lane & 3;
    const int nb = blockIdx.x, nbs = N / 32, kbs = K / 32;
    float acc[MT][4][4];
#pragma unroll
    for (int m = 0; m < MT; ++m)
#pragma unroll
        for (int j = 0; j < 4; ++j)
#pragma unroll
            for (int i = 0; i < 4; ++i) acc[m][j][i] = 0.f;

    const uint4* wp = w + (size_t)nb * kbs * 32 + lane;
    int group = -1;
    uint32_t s2[4], z2[4];
    int kb = warp;
    uint4 next = kb < kbs ? __ldg(wp + (size_t)kb * 32) : make_uint4(0, 0, 0, 0);
    for (; kb < kbs; kb += WARPS) {
        const uint4 cur = next;
        if (kb + WARPS < kbs) next = __ldg(wp + (size_t)(kb + WARPS) * 32);
        const int g = kb * 32 / group_size;
        if (g != group) {
            group = g;
            const size_t at = ((size_t)g * nbs + nb) * 8 + gid;
            const uint2 s = __ldg(scales + at), z = __ldg(zeros + at);
            const uint32_t sv[2] = {s.x, s.y}, zv[2] = {z.x, z.y};
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                const uint32_t sh = (sv[j >> 1] >> (16 * (j & 1))) & 0xFFFFu;
                const uint32_t zh = (zv[j >> 1] >> (16 * (j & 1))) & 0xFFFFu;
                s2[j] = sh | (sh << 16);
                z2[j] = zh | (zh << 16);
            }
        }
        const uint32_t words[4] = {cur.x, cur.y, cur.z, cur.w};
#pragma unroll
        for (int s = 0; s < 2; ++s) {
            const int c = kb * 32 + s * 16 + 2 * tig;
            uint32_t a[MT][4];
#pragma unroll
            for (int m = 0; m < MT; ++m) {
                const int r = m * 16 + gid;
                a[m][0] = load_x2<PERM>(x, perm, M, K, r, c);
                a[m][1] = load_x2<PERM>(x, perm, M, K, r + 8, c);
                a[m][2] = load_x2<PERM>(x, perm, M, K, r, c + 8);
                a[m][3] = load_x2<PERM>(x, perm, M, K, r + 8, c + 8);
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

    __shared__ float red[MT * 16][32];
    for (int i = threadIdx.x; i < MT * 16 * 32; i += blockDim.x) (&red[0][0])[i] = 0.f;
    __syncthreads();
#pragma unroll
    for (int m = 0; m < MT; ++m)
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            const int r = m * 16 + gid, col = j * 8 + 2 * tig;
            atomicAdd(&red[r][col], acc[m][j][0]);
            atomicAdd(&red[r][col + 1], acc[m][j][1]);
            atomicAdd(&red[r + 8][col], acc[m][j][2]);
            atomicAdd(&red[r + 8][col + 1], acc[m][j][3]);
        }
    __syncthreads();
    for (int i = threadIdx.x; i < M * 32; i += blockDim.x) {
        const int r = i / 32, col = i % 32;
        y[(size_t)r * N + nb * 32 + col] = __float2half(red[r][col]);
    }
}

#define INT4_MM(MT, PERM, NAME)                                                                                        \
    extern "C" __global__ void __launch_bounds__(WARPS * 32)                                                           \
        NAME(const half* x, const uint4* w, const uint2* scales, const uint2* zeros, const int* perm, half* y, int M, \
             int K, int N, int group_size) {                                                                           \
        int4_mm<MT, PERM>(x, w, scales, zeros, perm, y, M, K, N, group_size);                                          \
    }

INT4_MM(1, false, int4_mm_m16)
INT4_MM(2, false, int4_mm_m32)
INT4_MM(3, false, int4_mm_m48)
INT4_MM(4, false, int4_mm_m64)
INT4_MM(1, true, int4_mm_m16_perm)
INT4_MM(2, true, int4_mm_m32_perm)
INT4_MM(3, true, int4_mm_m48_perm)
INT4_MM(4, true, int4_mm_m64_perm)

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
