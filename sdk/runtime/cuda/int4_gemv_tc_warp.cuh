// The per-warp tensor-core math of int4_gemv_tc.cu: int4 words of the
// tiled layout dequantized in registers into mma.sync m16n8k16 A fragments,
// multiplied with the staged x halves, group sums scaled into the result.
// Device code only; included by int4_gemv_tc.cu.
//
// Fragments of mma.sync m16n8k16 (g = lane / 4, t = lane % 4): A rows are
// output columns, A registers (g, 2t..2t+1), (g+8, ..), (g, 2t+8..),
// (g+8, 2t+8..); B (k x n) registers (2t..2t+1, g), (2t+8..2t+9, g); C (g,
// 2t..2t+1), (g+8, 2t..2t+1). Lane (g, t) holds the words of columns
// 4g..4g+3 for packed row t of a chunk (inputs 8t..8t+7, nibble j = input
// 8t+j). For columns pair p (4g+2p as A row g, 4g+2p+1 as A row g+8) k-step
// s uses inputs {2s, 2s+4} as k-slots (2t, 2t+1) and {2s+1, 2s+5} as
// (2t+8, 2t+9) of packed row t; B uses the same inputs, staged per packed
// row as halves (0,4,1,5,2,6,3,7). Dequantization: (w & 0x000F000F) | 0x6400
// 6400 is the f16 pair (1024 + n0, 1024 + n4), minus (1024 + z) gives
// (n0 - z, n4 - z) exactly; (w & 0x00F000F0) | .. is (1024 + 16 n1, ..),
// times 1/16 minus (64 + z) gives (n1 - z, n5 - z); w >> 8 the same for
// inputs 2, 6, 3, 7. B column n of tile nt is row 4 nt + n / 2 of x, part
// n % 2 (hi, lo); C columns 2t, 2t+1 are row 4 nt + t, hi and lo.
#pragma once

#include <cuda_fp16.h>

#include <cstdint>

namespace citadel::runtime::cuda::int4_tc {

// The f16 pairs of (w & kMask) | 0x64006400 in one LOP3.
template <uint32_t kMask>
__device__ __forceinline__ uint32_t nibble_pair(uint32_t w) {
  uint32_t r;
  asm("lop3.b32 %0, %1, %2, %3, 0xEA;\n" : "=r"(r) : "r"(w), "n"(kMask), "n"(0x64006400));
  return r;
}

__device__ __forceinline__ uint32_t hsub2_bits(uint32_t a, uint32_t b) {
  const __half2 r = __hsub2(*reinterpret_cast<const __half2*>(&a), *reinterpret_cast<const __half2*>(&b));
  return *reinterpret_cast<const uint32_t*>(&r);
}

__device__ __forceinline__ uint32_t hfma2_bits(uint32_t a, uint32_t b, uint32_t c) {
  const __half2 r = __hfma2(*reinterpret_cast<const __half2*>(&a), *reinterpret_cast<const __half2*>(&b),
                            *reinterpret_cast<const __half2*>(&c));
  return *reinterpret_cast<const uint32_t*>(&r);
}

constexpr uint32_t kSixteenth = 0x2C002C00u;  // f16 pair (1/16, 1/16)
constexpr uint32_t k960 = 0x63806380u;        // f16 pair (960, 960)

// The A registers of k-step s for columns (c0, c1): (q - z) as f16 pairs.
struct Dequantized {
  uint32_t s0[4], s1[4];
};

__device__ __forceinline__ void dequantize(uint32_t w0, uint32_t w1, uint32_t za0, uint32_t za1, uint32_t zb0,
                                           uint32_t zb1, Dequantized& d) {
  const uint32_t v0 = w0 >> 8, v1 = w1 >> 8;
  d.s0[0] = hsub2_bits(nibble_pair<0x000F000Fu>(w0), za0);
  d.s0[1] = hsub2_bits(nibble_pair<0x000F000Fu>(w1), za1);
  d.s0[2] = hfma2_bits(nibble_pair<0x00F000F0u>(w0), kSixteenth, zb0);
  d.s0[3] = hfma2_bits(nibble_pair<0x00F000F0u>(w1), kSixteenth, zb1);
  d.s1[0] = hsub2_bits(nibble_pair<0x000F000Fu>(v0), za0);
  d.s1[1] = hsub2_bits(nibble_pair<0x000F000Fu>(v1), za1);
  d.s1[2] = hfma2_bits(nibble_pair<0x00F000F0u>(v0), kSixteenth, zb0);
  d.s1[3] = hfma2_bits(nibble_pair<0x00F000F0u>(v1), kSixteenth, zb1);
}

__device__ __forceinline__ void mma(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Per-warp state: the current group's zeros (as the two f16 constants of
// each column) and scales, the group's MMA sums and the scaled result.
template <int NT>
struct WarpState {
  uint32_t za[2][4], zb[2][4];
  uint2 scales[2];
  float sums[2][2][NT][4];   // unit, column pair, n tile, C registers
  float result[NT][2][4];    // n tile, unit, column 4g + c (row 4 nt + t)
};

template <int NT>
__device__ __forceinline__ void flush(WarpState<NT>& s) {
#pragma unroll
  for (int u = 0; u < 2; ++u) {
    const float2 s01 = __half22float2(*reinterpret_cast<const __half2*>(&s.scales[u].x));
    const float2 s23 = __half22float2(*reinterpret_cast<const __half2*>(&s.scales[u].y));
    const float scale[4] = {s01.x, s01.y, s23.x, s23.y};
#pragma unroll
    for (int pr = 0; pr < 2; ++pr) {
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
        float(&c)[4] = s.sums[u][pr][nt];
        s.result[nt][u][2 * pr] = fmaf(scale[2 * pr], c[0] + c[1], s.result[nt][u][2 * pr]);
        s.result[nt][u][2 * pr + 1] = fmaf(scale[2 * pr + 1], c[2] + c[3], s.result[nt][u][2 * pr + 1]);
        c[0] = c[1] = c[2] = c[3] = 0.0f;
      }
    }
  }
}

// The group's zeros as the two f16 constants of each column, its scales.
template <int NT>
__device__ __forceinline__ void start_group(const uint2 (&scales)[2], const uint32_t (&zeros)[2], WarpState<NT>& s) {
#pragma unroll
  for (int u = 0; u < 2; ++u) {
    s.scales[u] = scales[u];
#pragma unroll
    for (int col = 0; col < 4; ++col) {
      // byte col of the zeros into the low byte of both halves, over 1024
      s.za[u][col] = __byte_perm(zeros[u], 0u, static_cast<uint32_t>(col | 0x40 | (col << 8) | 0x4000)) | 0x64006400u;
      s.zb[u][col] = hsub2_bits(k960, s.za[u][col]);  // -(64 + z)
    }
  }
}

template <int NT>
__device__ __forceinline__ void compute_chunk(const uint4 (&q)[2], const char* planes, int plane_stride, int rows,
                                              int local_row, int g, WarpState<NT>& s) {
  uint4 b[NT];
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) {
    const int row = 4 * nt + g / 2;
    b[nt] = row < rows ? *reinterpret_cast<const uint4*>(planes + (2 * row + (g & 1)) * plane_stride + local_row * 16)
                       : make_uint4(0u, 0u, 0u, 0u);
  }
#pragma unroll
  for (int u = 0; u < 2; ++u) {
    const uint32_t words[4] = {q[u].x, q[u].y, q[u].z, q[u].w};
#pragma unroll
    for (int pr = 0; pr < 2; ++pr) {
      Dequantized d;
      dequantize(words[2 * pr], words[2 * pr + 1], s.za[u][2 * pr], s.za[u][2 * pr + 1], s.zb[u][2 * pr],
                 s.zb[u][2 * pr + 1], d);
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
        mma(s.sums[u][pr][nt], d.s0, b[nt].x, b[nt].y);
        mma(s.sums[u][pr][nt], d.s1, b[nt].z, b[nt].w);
      }
    }
  }
}

}  // namespace citadel::runtime::cuda::int4_tc
