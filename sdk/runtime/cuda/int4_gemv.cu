// Int4 GEMV on the tiled layout (int4_gemv.h says the work split).
//
// Dequantization in three instructions per weight: nibble j of a word is
// masked in place and OR'd into the mantissa of 2^23, giving exactly
// 2^23 + n * 16^j' (j' = j for j < 5; nibbles 5..7 come from the word
// shifted right by 12, j' = j - 3); subtracting 2^23 + z * 16^j' (exact)
// leaves (n - z) * 16^j'. The staged input was multiplied by 16^-j' (exact,
// a power of two), so each FMA adds x * (n - z) rounded once, as plain f32
// arithmetic would; the chunk sum is scaled once per chunk (one group).
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/int4_gemv.h"
#include "runtime/cuda/int4_split_reduce.cuh"

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <string>

namespace citadel::runtime::cuda {
namespace {

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr int kTile = static_cast<int>(kInt4TileColumns);
constexpr int kChunk = static_cast<int>(kInt4ChunkInputs);
constexpr size_t kMaxStagedBytes = 44 * 1024;  // + static shared: under the 48 KB default
constexpr uint32_t kMagicBits = 0x4B000000u;  // 2^23
constexpr float kMagic = 8388608.0f;

struct Params {
  Int4TiledWeights w;
  const float* x;
  const float* bias;
  float* partials;
  int32_t* counters;
  LinearEpilogue epilogue;
  int64_t row0;
  int64_t chunks;
  int64_t chunks_per_split;
  int32_t splits;
};

// 16^-j' for input i % 8 (see the file comment).
__device__ __forceinline__ float input_scale(int i) {
  constexpr float k[8] = {1.0f, 0.0625f, 0.00390625f, 0.000244140625f, 1.52587890625e-05f,
                          0.00390625f, 0.000244140625f, 1.52587890625e-05f};
  return k[i & 7];
}

__device__ __forceinline__ float masked(uint32_t word, uint32_t mask) {
  return __uint_as_float((word & mask) | kMagicBits);
}

struct Chunk {
  uint4 q[4];
  uint2 scales;
  uint32_t zeros;
};

__device__ __forceinline__ void load_chunk(const Params& p, int64_t tile, int lane, int64_t chunk, Chunk& c) {
  const uint4* base = reinterpret_cast<const uint4*>(p.w.qweight) +
                      (tile * (p.w.in_features / 8) + chunk * 4) * (kTile / 4) + lane;
#pragma unroll
  for (int r = 0; r < 4; ++r) c.q[r] = __ldg(base + r * (kTile / 4));
  const int64_t group = p.w.chunks_per_group > 0
                            ? static_cast<int64_t>(static_cast<uint32_t>(chunk) / static_cast<uint32_t>(p.w.chunks_per_group))
                            : static_cast<int64_t>(__ldg(p.w.chunk_group + chunk));
  const int64_t at = group * p.w.padded_columns + tile * kTile + lane * 4;
  c.scales = __ldg(reinterpret_cast<const uint2*>(p.w.scales + at));
  c.zeros = __ldg(reinterpret_cast<const uint32_t*>(p.w.zeros + at));
}

template <int M>
__device__ __forceinline__ void compute_chunk(const Chunk& c, const float* __restrict__ xs, int staged,
                                              float (&result)[M][4]) {
  float zc[4][5];
#pragma unroll
  for (int col = 0; col < 4; ++col) {
    const float z = static_cast<float>((c.zeros >> (8 * col)) & 0xFFu);
    zc[col][0] = z + kMagic;
    zc[col][1] = fmaf(z, 16.0f, kMagic);
    zc[col][2] = fmaf(z, 256.0f, kMagic);
    zc[col][3] = fmaf(z, 4096.0f, kMagic);
    zc[col][4] = fmaf(z, 65536.0f, kMagic);
  }
  float acc[M][4];
#pragma unroll
  for (int m = 0; m < M; ++m) {
#pragma unroll
    for (int col = 0; col < 4; ++col) acc[m][col] = 0.0f;
  }
#pragma unroll
  for (int r = 0; r < 4; ++r) {
    float xv[M][8];
#pragma unroll
    for (int m = 0; m < M; ++m) {
      const float4 a = *reinterpret_cast<const float4*>(xs + m * staged + r * 8);
      const float4 b = *reinterpret_cast<const float4*>(xs + m * staged + r * 8 + 4);
      xv[m][0] = a.x; xv[m][1] = a.y; xv[m][2] = a.z; xv[m][3] = a.w;
      xv[m][4] = b.x; xv[m][5] = b.y; xv[m][6] = b.z; xv[m][7] = b.w;
    }
    const uint32_t words[4] = {c.q[r].x, c.q[r].y, c.q[r].z, c.q[r].w};
#pragma unroll
    for (int col = 0; col < 4; ++col) {
      const uint32_t w = words[col];
      const uint32_t high = w >> 12;
      float v[8];
      v[0] = masked(w, 0xFu) - zc[col][0];
      v[1] = masked(w, 0xF0u) - zc[col][1];
      v[2] = masked(w, 0xF00u) - zc[col][2];
      v[3] = masked(w, 0xF000u) - zc[col][3];
      v[4] = masked(w, 0xF0000u) - zc[col][4];
      v[5] = masked(high, 0xF00u) - zc[col][2];
      v[6] = masked(high, 0xF000u) - zc[col][3];
      v[7] = masked(high, 0xF0000u) - zc[col][4];
#pragma unroll
      for (int j = 0; j < 8; ++j) {
#pragma unroll
        for (int m = 0; m < M; ++m) acc[m][col] = fmaf(xv[m][j], v[j], acc[m][col]);
      }
    }
  }
  const float2 s01 = __half22float2(*reinterpret_cast<const __half2*>(&c.scales.x));
  const float2 s23 = __half22float2(*reinterpret_cast<const __half2*>(&c.scales.y));
  const float s[4] = {s01.x, s01.y, s23.x, s23.y};
#pragma unroll
  for (int m = 0; m < M; ++m) {
#pragma unroll
    for (int col = 0; col < 4; ++col) result[m][col] = fmaf(s[col], acc[m][col], result[m][col]);
  }
}

template <int M>
__global__ void __launch_bounds__(kThreads, M <= 4 ? 2 : 1) int4_gemv_kernel(Params p) {
  extern __shared__ float4 shared4[];
  float* shared = reinterpret_cast<float*>(shared4);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t tile = blockIdx.x;
  const int split = blockIdx.y;
  const int64_t chunk0 = static_cast<int64_t>(split) * p.chunks_per_split;
  const int chunks = static_cast<int>(min(p.chunks - chunk0, p.chunks_per_split));
  const int staged = chunks * kChunk;

  // kBuffers chunks per warp in flight, in fixed registers (a buffer is
  // refilled right after it is computed: no register copies that would wait
  // for loads still in flight). One row is memory-bound and takes three.
  constexpr int kBuffers = M == 1 ? 3 : 2;
  Chunk buffers[kBuffers];
#pragma unroll
  for (int b = 0; b < kBuffers; ++b) {
    if (warp + b * kWarps < chunks) load_chunk(p, tile, lane, chunk0 + warp + b * kWarps, buffers[b]);
  }
  const int64_t in = p.w.in_features;
  const int64_t input0 = chunk0 * kChunk;
  for (int index = threadIdx.x; index < M * staged; index += kThreads) {
    const int m = index / staged, i = index % staged;
    const int64_t k = input0 + i;
    const int64_t source = p.w.input_perm != nullptr ? __ldg(p.w.input_perm + k) : k;
    shared[index] = __ldg(p.x + m * in + source) * input_scale(i);
  }
  __syncthreads();

  float result[M][4];
#pragma unroll
  for (int m = 0; m < M; ++m) {
#pragma unroll
    for (int col = 0; col < 4; ++col) result[m][col] = 0.0f;
  }
  for (int k = warp; k < chunks; k += kBuffers * kWarps) {
#pragma unroll
    for (int b = 0; b < kBuffers; ++b) {
      const int chunk = k + b * kWarps;
      if (chunk < chunks) {
        compute_chunk<M>(buffers[b], shared + chunk * kChunk, staged, result);
        if (chunk + kBuffers * kWarps < chunks) {
          load_chunk(p, tile, lane, chunk0 + chunk + kBuffers * kWarps, buffers[b]);
        }
      }
    }
  }
  __syncthreads();  // staged x no longer needed: the space holds the partials

  float* warp_partials = shared;                     // [kWarps][M][kTile]
  float* final_values = shared + kWarps * M * kTile;  // [M][kTile]
#pragma unroll
  for (int m = 0; m < M; ++m) {
    *reinterpret_cast<float4*>(warp_partials + (warp * M + m) * kTile + lane * 4) =
        make_float4(result[m][0], result[m][1], result[m][2], result[m][3]);
  }
  __syncthreads();
  for (int index = threadIdx.x; index < M * kTile; index += kThreads) {
    float sum = 0.0f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) sum += warp_partials[w * M * kTile + index];
    final_values[index] = sum;
  }
  __syncthreads();

  finish_split_tile<M, kThreads>(p.w, p.bias, p.partials, p.counters, p.epilogue, p.row0, M, p.splits, split, tile,
                                 final_values);
}

int multiprocessor_count() {
  static const int count = [] {
    int device = 0, value = 0;
    check_cuda(cudaGetDevice(&device), "cudaGetDevice");
    check_cuda(cudaDeviceGetAttribute(&value, cudaDevAttrMultiProcessorCount, device), "cudaDeviceGetAttribute");
    return value;
  }();
  return count;
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

struct Split {
  int64_t chunks_per_split;
  int64_t splits;
};

// Enough blocks for ~4 per multiprocessor, at least 2 chunks per warp, and
// the staged inputs within kMaxStagedBytes.
Split split_for(const Int4TiledWeights& w, int64_t rows) {
  const int64_t tiles = w.padded_columns / kTile;
  const int64_t chunks = w.in_features / kChunk;
  const int64_t wanted = ceil_div(4 * multiprocessor_count(), tiles);
  const int64_t most = std::max<int64_t>(1, chunks / (2 * kWarps));
  const int64_t max_chunks = static_cast<int64_t>(kMaxStagedBytes / (sizeof(float) * kChunk * rows));
  const int64_t least = ceil_div(chunks, max_chunks);
  const int64_t splits = std::max(least, std::min(wanted, most));
  const int64_t per_split = ceil_div(chunks, splits);
  return {per_split, ceil_div(chunks, per_split)};
}

size_t shared_bytes(int64_t rows, int64_t chunks_per_split) {
  const size_t staged = sizeof(float) * static_cast<size_t>(rows * chunks_per_split * kChunk);
  const size_t reduce = sizeof(float) * static_cast<size_t>((kWarps + 1) * rows * kTile);
  return std::max(staged, reduce);
}

template <int M>
void launch(const Params& p, int64_t tiles, cudaStream_t stream) {
  const size_t bytes = shared_bytes(M, p.chunks_per_split);
  int4_gemv_kernel<M><<<dim3(static_cast<unsigned>(tiles), static_cast<unsigned>(p.splits)), kThreads, bytes, stream>>>(
      p);
}

}  // namespace

Int4GemvScratchSize int4_gemv_scratch_size(const Int4TiledWeights& w, int64_t rows) {
  rows = std::min(rows, kInt4GemvMaxRows);
  const Split split = split_for(w, rows);
  return {static_cast<size_t>(split.splits * rows * w.padded_columns),
          static_cast<size_t>(w.padded_columns / kTile)};
}

void int4_gemv(const Int4TiledWeights& w, const float* x, int64_t rows, const float* bias,
               const LinearEpilogue& epilogue, float* partials, int32_t* counters, void* stream) {
  if (rows <= 0) return;
  if (w.in_features <= 0 || w.in_features % kChunk != 0 || w.padded_columns % kTile != 0 ||
      w.columns > w.padded_columns || w.qweight == nullptr) {
    fail_invalid("int4_gemv: invalid tiled layer (in " + std::to_string(w.in_features) + ", columns " +
                 std::to_string(w.columns) + ")");
  }
  if (epilogue.kind == LinearEpilogue::Kind::silu_mul && w.columns % (2 * LinearEpilogue::kSiluTile) != 0) {
    fail_invalid("int4_gemv: silu_mul needs a multiple of 128 columns");
  }
  const auto s = static_cast<cudaStream_t>(stream);
  const int64_t tiles = w.padded_columns / kTile;
  for (int64_t row0 = 0; row0 < rows; row0 += kInt4GemvMaxRows) {
    const int64_t pass_rows = std::min(kInt4GemvMaxRows, rows - row0);
    const Split split = split_for(w, pass_rows);
    Params p{w, x + row0 * w.in_features, bias, partials, counters, epilogue, row0, w.in_features / kChunk,
             split.chunks_per_split, static_cast<int32_t>(split.splits)};
    if (split.splits > 1 && (partials == nullptr || counters == nullptr)) {
      fail_invalid("int4_gemv: split-K needs partials and counters");
    }
    switch (pass_rows) {
      case 1: launch<1>(p, tiles, s); break;
      case 2: launch<2>(p, tiles, s); break;
      case 3: launch<3>(p, tiles, s); break;
      case 4: launch<4>(p, tiles, s); break;
      case 5: launch<5>(p, tiles, s); break;
      case 6: launch<6>(p, tiles, s); break;
      case 7: launch<7>(p, tiles, s); break;
      default: launch<8>(p, tiles, s); break;
    }
    check_launch("int4_gemv");
  }
}

}  // namespace citadel::runtime::cuda
