// Flash decoding over the paged f16 KV cache (flash_decode.h says the work
// split). Softmax in f32 with the accurate expf, scores as q·scale·k, as the
// CPU kernel and paged_attention_decode.
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/dependent_launch.cuh"
#include "runtime/cuda/flash_decode.h"
#include "runtime/cuda/paged_attention.h"

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <string>

namespace citadel::runtime::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kUnroll = 4;
constexpr int kMaxGroup = 8;
constexpr int64_t kMinPositionsPerSplit = 64;

struct Params {
  const float* q;
  void* const* tables;
  const int32_t* lengths;
  float* scratch;  // [rows, heads, splits, head_dim + 2]: output sum, max, denominator
  float* out;
  int64_t table_stride;
  int64_t num_heads;
  int64_t num_kv_heads;
  int64_t tokens_per_block;
  size_t k_offset, v_offset;
  int64_t positions_per_split;
  int32_t splits;
  int32_t group;
  float scale;
};

template <int D>
struct HalfVector;
template <>
struct HalfVector<1> { using type = __half; };
template <>
struct HalfVector<2> { using type = __half2; };
template <>
struct HalfVector<4> { using type = uint2; };
template <>
struct HalfVector<8> { using type = uint4; };

template <int D>
__device__ __forceinline__ void load_halves(const __half* p, float (&v)[D]) {
  using V = typename HalfVector<D>::type;
  const V raw = *reinterpret_cast<const V*>(p);
  const __half* h = reinterpret_cast<const __half*>(&raw);
#pragma unroll
  for (int d = 0; d < D; ++d) v[d] = __half2float(h[d]);
}

template <int D>
__device__ __forceinline__ const __half* kv_address(const Params& p, void* const* table, size_t offset, int64_t position,
                                                    int64_t kv_head, int lane) {
  constexpr int64_t kHeadDim = 32 * D;
  const char* base = static_cast<const char*>(table[position / p.tokens_per_block]) + offset;
  return reinterpret_cast<const __half*>(base) +
         ((position % p.tokens_per_block) * p.num_kv_heads + kv_head) * kHeadDim + lane * D;
}

template <int D, int G>
__global__ void __launch_bounds__(kWarps * 32) flash_decode_kernel(Params p) {
  constexpr int kHeadDim = 32 * D;
  allow_dependent_launch();  // the o projection may load its weights meanwhile
  wait_for_prerequisites();
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t kv_head = blockIdx.x, row = blockIdx.y;
  const int split = blockIdx.z;
  const int64_t length = p.lengths[row];
  const int64_t begin = static_cast<int64_t>(split) * p.positions_per_split;
  const int64_t end = min(length, begin + p.positions_per_split);
  void* const* table = p.tables + row * p.table_stride;

  float qv[G][D], acc[G][D], running_max[G], denominator[G];
#pragma unroll
  for (int g = 0; g < G; ++g) {
    const int64_t head = kv_head * p.group + (g < p.group ? g : 0);
    const float* q_row = p.q + (row * p.num_heads + head) * kHeadDim + lane * D;
#pragma unroll
    for (int d = 0; d < D; ++d) {
      qv[g][d] = q_row[d] * p.scale;
      acc[g][d] = 0.0f;
    }
    running_max[g] = -INFINITY;
    denominator[g] = 0.0f;
  }

  // Each warp takes kUnroll consecutive positions at a time, all their K/V
  // loads issued before the first is used.
  for (int64_t base = begin + warp * kUnroll; base < end; base += kWarps * kUnroll) {
    float k[kUnroll][D], v[kUnroll][D];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      if (base + u < end) {
        load_halves<D>(kv_address<D>(p, table, p.k_offset, base + u, kv_head, lane), k[u]);
        load_halves<D>(kv_address<D>(p, table, p.v_offset, base + u, kv_head, lane), v[u]);
      } else {
#pragma unroll
        for (int d = 0; d < D; ++d) k[u][d] = v[u][d] = 0.0f;
      }
    }
    float dot[kUnroll][G];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
#pragma unroll
      for (int g = 0; g < G; ++g) {
        dot[u][g] = 0.0f;
#pragma unroll
        for (int d = 0; d < D; ++d) dot[u][g] = fmaf(qv[g][d], k[u][d], dot[u][g]);
      }
    }
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) {
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
#pragma unroll
        for (int g = 0; g < G; ++g) dot[u][g] += __shfl_xor_sync(0xffffffffu, dot[u][g], offset);
      }
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      if (base + u >= end) break;
#pragma unroll
      for (int g = 0; g < G; ++g) {
        const float new_max = fmaxf(running_max[g], dot[u][g]);
        const float correction = expf(running_max[g] - new_max);
        const float weight = expf(dot[u][g] - new_max);
        denominator[g] = denominator[g] * correction + weight;
#pragma unroll
        for (int d = 0; d < D; ++d) acc[g][d] = acc[g][d] * correction + weight * v[u][d];
        running_max[g] = new_max;
      }
    }
  }

  // Combine the warps: shared [warp][g][head_dim] sums and [warp][g] max/denominator.
  __shared__ float sums[kWarps][G][kHeadDim];
  __shared__ float maxes[kWarps][G], denominators[kWarps][G];
#pragma unroll
  for (int g = 0; g < G; ++g) {
#pragma unroll
    for (int d = 0; d < D; ++d) sums[warp][g][lane * D + d] = acc[g][d];
    if (lane == 0) {
      maxes[warp][g] = running_max[g];
      denominators[warp][g] = denominator[g];
    }
  }
  __syncthreads();
  for (int index = threadIdx.x; index < G * kHeadDim; index += kWarps * 32) {
    const int g = index / kHeadDim, d = index % kHeadDim;
    if (g >= p.group) continue;
    float best = -INFINITY;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) best = fmaxf(best, maxes[w][g]);
    float total = 0.0f, sum = 0.0f;
    if (best != -INFINITY) {
#pragma unroll
      for (int w = 0; w < kWarps; ++w) {
        const float factor = expf(maxes[w][g] - best);
        total += denominators[w][g] * factor;
        sum += sums[w][g][d] * factor;
      }
    }
    const int64_t head = kv_head * p.group + g;
    if (p.splits == 1) {
      p.out[(row * p.num_heads + head) * kHeadDim + d] = total > 0.0f ? sum / total : 0.0f;
    } else {
      float* partial = p.scratch + ((row * p.num_heads + head) * p.splits + split) * (kHeadDim + 2);
      partial[d] = sum;
      if (d == 0) {
        partial[kHeadDim] = best;
        partial[kHeadDim + 1] = total;
      }
    }
  }
}

// One block per (row, head), one thread per dim: out = sum_s e^(m_s - M) o_s / sum_s e^(m_s - M) l_s.
__global__ void combine_kernel(const float* __restrict__ scratch, int splits, int head_dim, float* __restrict__ out) {
  allow_dependent_launch();
  wait_for_prerequisites();
  const int64_t row_head = blockIdx.x;
  const float* partials = scratch + row_head * splits * (head_dim + 2);
  float best = -INFINITY;
  for (int s = 0; s < splits; ++s) best = fmaxf(best, partials[s * (head_dim + 2) + head_dim]);
  for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
    float total = 0.0f, sum = 0.0f;
    if (best != -INFINITY) {
      for (int s = 0; s < splits; ++s) {
        const float* partial = partials + s * (head_dim + 2);
        const float factor = expf(partial[head_dim] - best);
        total += partial[head_dim + 1] * factor;
        sum += partial[d] * factor;
      }
    }
    out[row_head * head_dim + d] = total > 0.0f ? sum / total : 0.0f;
  }
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

template <int D, int G>
void launch(const Params& p, int64_t rows, cudaStream_t stream) {
  launch_dependent(flash_decode_kernel<D, G>,
                   dim3(static_cast<unsigned>(p.num_kv_heads), static_cast<unsigned>(rows), static_cast<unsigned>(p.splits)),
                   dim3(kWarps * 32), 0, stream, "cuda flash_decode", p);
}

template <int D>
void launch_groups(const Params& p, int64_t rows, cudaStream_t stream) {
  if (p.group <= 1) return launch<D, 1>(p, rows, stream);
  if (p.group <= 2) return launch<D, 2>(p, rows, stream);
  if (p.group <= 4) return launch<D, 4>(p, rows, stream);
  return launch<D, 8>(p, rows, stream);
}

}  // namespace

int64_t flash_decode_splits(int64_t rows, int64_t num_kv_heads, int64_t max_context) {
  const int64_t blocks = std::max<int64_t>(1, rows * num_kv_heads);
  const int64_t wanted = (4 * multiprocessor_count() + blocks - 1) / blocks;
  const int64_t most = std::max<int64_t>(1, max_context / kMinPositionsPerSplit);
  return std::clamp<int64_t>(wanted, 1, std::min<int64_t>(most, 65535));
}

size_t flash_decode_scratch_floats(int64_t rows, int64_t num_heads, int64_t head_dim, int64_t splits) {
  return splits > 1 ? static_cast<size_t>(rows * num_heads * splits * (head_dim + 2)) : 0;
}

bool flash_decode_supported(const KvBlockView& layout, int64_t num_heads) {
  const int64_t d = layout.head_dim;
  return layout.dtype == DType::f16 && (d == 32 || d == 64 || d == 128 || d == 256) && layout.num_kv_heads > 0 &&
         num_heads % layout.num_kv_heads == 0 && num_heads / layout.num_kv_heads <= kMaxGroup &&
         layout.tokens_per_block > 0;
}

void flash_decode(const float* q, int64_t rows, int64_t num_heads, const KvBlockView& layout, void* const* block_tables,
                  int64_t max_blocks_per_row, const int32_t* context_lengths, int64_t max_context, int64_t splits,
                  float scale, float* scratch, float* out, void* stream) {
  if (rows <= 0) return;
  if (!flash_decode_supported(layout, num_heads)) {
    paged_attention_decode(q, rows, num_heads, layout, block_tables, max_blocks_per_row, context_lengths, scale, out,
                           stream);
    return;
  }
  if (block_tables == nullptr || context_lengths == nullptr || max_blocks_per_row <= 0 || splits <= 0 ||
      (splits > 1 && scratch == nullptr) || rows > 65535) {
    fail_invalid("cuda flash_decode: block tables, lengths, splits and scratch are required (rows <= 65535)");
  }
  Params p{q,
           block_tables,
           context_lengths,
           scratch,
           out,
           max_blocks_per_row,
           num_heads,
           layout.num_kv_heads,
           layout.tokens_per_block,
           layout.k_offset,
           layout.v_offset,
           (std::max<int64_t>(max_context, 1) + splits - 1) / splits,
           static_cast<int32_t>(splits),
           static_cast<int32_t>(num_heads / layout.num_kv_heads),
           scale};
  const auto s = static_cast<cudaStream_t>(stream);
  switch (layout.head_dim) {
    case 32: launch_groups<1>(p, rows, s); break;
    case 64: launch_groups<2>(p, rows, s); break;
    case 128: launch_groups<4>(p, rows, s); break;
    default: launch_groups<8>(p, rows, s); break;
  }
  check_launch("cuda flash_decode");
  if (splits > 1) {
    launch_dependent(combine_kernel, dim3(static_cast<unsigned>(rows * num_heads)),
                     dim3(static_cast<unsigned>(std::min<int64_t>(layout.head_dim, 256))), 0, s,
                     "cuda flash_decode (combine)", scratch, static_cast<int>(splits),
                     static_cast<int>(layout.head_dim), out);
    check_launch("cuda flash_decode (combine)");
  }
}

}  // namespace citadel::runtime::cuda
