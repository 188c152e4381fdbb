// Flash decoding over the paged f16 KV cache (flash_decode.h says the work
// split): the CUDA-core kernel (head_dim 256, GPUs before sm_80, or when the
// tensor-core kernel of flash_decode_mma.cu is switched off), the combine
// kernel of the splits and the dispatch. Softmax in f32, in base 2: scores
// as q·(scale·log2 e)·k and exp2f, the same function as the CPU kernel's
// e^(q·scale·k) to f32 rounding.
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/dependent_launch.cuh"
#include "runtime/cuda/flash_decode.h"
#include "runtime/cuda/flash_decode_block.cuh"
#include "runtime/cuda/flash_decode_mma.cuh"
#include "runtime/cuda/paged_attention.h"

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <string>

namespace citadel::runtime::cuda {
namespace {

using namespace flash_decoding;

constexpr int64_t kMinPositionsPerSplit = 64;
constexpr float kLog2e = 1.4426950408889634f;

std::atomic<bool> tensor_cores_enabled{true};  // set_flash_decode_tensor_cores
std::atomic<int> tensor_core_waves{2};         // flash_decode_split_tuning

// The work of a warp for head size HD and G query heads per KV head: L lanes
// share one position, each holding DL = HD / L of its dimensions (fewest
// lanes such that a lane's sums of the G heads fit in 64 registers), so a
// warp takes 32 / L positions per pass and a score needs log2(L) shuffles;
// each lane keeps U passes of K/V in flight (at most 32 values of each).
__host__ __device__ constexpr int lanes_per_position(int head_dim, int group) {
  return group * head_dim / 8 <= 64 ? 8 : group * head_dim / 16 <= 64 ? 16 : 32;
}
__host__ __device__ constexpr int passes_in_flight(int dims_per_lane) {
  return dims_per_lane >= 32 ? 1 : dims_per_lane >= 16 ? 2 : 4;
}

// N (4, 8, 16 or 32) consecutive halves, loaded 8 or 16 bytes at a time.
template <int N>
__device__ __forceinline__ void load_halves(const __half* p, float (&v)[N]) {
  if constexpr (N >= 8) {
#pragma unroll
    for (int c = 0; c < N / 8; ++c) {
      const uint4 raw = reinterpret_cast<const uint4*>(p)[c];
      const __half2* h = reinterpret_cast<const __half2*>(&raw);
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const float2 f = __half22float2(h[i]);
        v[c * 8 + 2 * i] = f.x;
        v[c * 8 + 2 * i + 1] = f.y;
      }
    }
  } else {
    static_assert(N == 4, "4, 8, 16 or 32 halves");
    const uint2 raw = *reinterpret_cast<const uint2*>(p);
    const __half2* h = reinterpret_cast<const __half2*>(&raw);
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const float2 f = __half22float2(h[i]);
      v[2 * i] = f.x;
      v[2 * i + 1] = f.y;
    }
  }
}

template <int HD>
__device__ __forceinline__ const __half* kv_address(const Params& p, void* const* table, size_t offset, int64_t position,
                                                    int64_t kv_head, int first_dim) {
  const char* base = static_cast<const char*>(table[position / p.tokens_per_block]) + offset;
  return reinterpret_cast<const __half*>(base) + ((position % p.tokens_per_block) * p.num_kv_heads + kv_head) * HD +
         first_dim;
}

template <int HD, int G>
__global__ void __launch_bounds__(kWarps * 32) flash_decode_kernel(Params p) {
  constexpr int L = lanes_per_position(HD, G);
  constexpr int DL = HD / L;
  constexpr int P = 32 / L;
  constexpr int U = passes_in_flight(DL);
  allow_dependent_launch();  // the o projection may load its weights meanwhile
  wait_for_prerequisites();
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int slot = lane / L, first_dim = (lane % L) * DL;
  const int64_t kv_head = blockIdx.x, row = blockIdx.y;
  const int split = blockIdx.z;
  const int64_t length = p.lengths[row];
  const int64_t begin = static_cast<int64_t>(split) * p.positions_per_split;
  const int64_t end = min(length, begin + p.positions_per_split);
  void* const* table = p.tables + row * p.table_stride;

  // The G query rows, scaled, in shared memory (read back per pass: fewer
  // registers, more blocks per multiprocessor).
  __shared__ __align__(16) float q_shared[G][HD];
  for (int index = threadIdx.x; index < G * HD; index += kWarps * 32) {
    const int g = index / HD, d = index % HD;
    const int64_t head = kv_head * p.group + (g < p.group ? g : 0);
    q_shared[g][d] = p.q[(row * p.num_heads + head) * HD + d] * p.score_scale;
  }
  __syncthreads();

  // Each lane group's online softmax over the positions it takes.
  float acc[G][DL], running_max[G], denominator[G];
#pragma unroll
  for (int g = 0; g < G; ++g) {
#pragma unroll
    for (int d = 0; d < DL; ++d) acc[g][d] = 0.0f;
    running_max[g] = -INFINITY;
    denominator[g] = 0.0f;
  }
  constexpr int kPositionsPerWarpPass = P * U;
  for (int64_t base = begin + warp * kPositionsPerWarpPass; base < end; base += kWarps * kPositionsPerWarpPass) {
    float k[U][DL], v[U][DL];
    bool valid[U];
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int64_t position = base + u * P + slot;
      valid[u] = position < end;
      if (valid[u]) {
        load_halves<DL>(kv_address<HD>(p, table, p.k_offset, position, kv_head, first_dim), k[u]);
        load_halves<DL>(kv_address<HD>(p, table, p.v_offset, position, kv_head, first_dim), v[u]);
      } else {
#pragma unroll
        for (int d = 0; d < DL; ++d) k[u][d] = v[u][d] = 0.0f;
      }
    }
    float score[U][G];
#pragma unroll
    for (int g = 0; g < G; ++g) {
#pragma unroll
      for (int u = 0; u < U; ++u) score[u][g] = 0.0f;
#pragma unroll
      for (int d = 0; d < DL; d += 4) {
        const float4 q4 = *reinterpret_cast<const float4*>(&q_shared[g][first_dim + d]);
#pragma unroll
        for (int u = 0; u < U; ++u) {
          score[u][g] = fmaf(q4.x, k[u][d], score[u][g]);
          score[u][g] = fmaf(q4.y, k[u][d + 1], score[u][g]);
          score[u][g] = fmaf(q4.z, k[u][d + 2], score[u][g]);
          score[u][g] = fmaf(q4.w, k[u][d + 3], score[u][g]);
        }
      }
    }
#pragma unroll
    for (int offset = L / 2; offset > 0; offset >>= 1) {  // within the lane group
#pragma unroll
      for (int u = 0; u < U; ++u) {
#pragma unroll
        for (int g = 0; g < G; ++g) score[u][g] += __shfl_xor_sync(0xffffffffu, score[u][g], offset);
      }
    }
    // One rescale of the sums per pass, then each position's weight.
#pragma unroll
    for (int g = 0; g < G; ++g) {
      float pass_max = running_max[g];
#pragma unroll
      for (int u = 0; u < U; ++u) pass_max = valid[u] ? fmaxf(pass_max, score[u][g]) : pass_max;
      if (pass_max == -INFINITY) continue;  // no position of this pass for this lane group
      const float correction = rescale(running_max[g], pass_max);
      denominator[g] *= correction;
#pragma unroll
      for (int d = 0; d < DL; ++d) acc[g][d] *= correction;
#pragma unroll
      for (int u = 0; u < U; ++u) {
        if (!valid[u]) continue;
        const float weight = exp2f(score[u][g] - pass_max);
        denominator[g] += weight;
#pragma unroll
        for (int d = 0; d < DL; ++d) acc[g][d] = fmaf(weight, v[u][d], acc[g][d]);
      }
      running_max[g] = pass_max;
    }
  }

  // The warp's lane groups combined: lanes 0..L-1 end with the warp's state.
#pragma unroll
  for (int offset = L; offset < 32; offset <<= 1) {
#pragma unroll
    for (int g = 0; g < G; ++g) {
      const float other_max = __shfl_xor_sync(0xffffffffu, running_max[g], offset);
      const float other_denominator = __shfl_xor_sync(0xffffffffu, denominator[g], offset);
      const float best = fmaxf(running_max[g], other_max);
      const float mine = rescale(running_max[g], best), theirs = rescale(other_max, best);
      denominator[g] = denominator[g] * mine + other_denominator * theirs;
#pragma unroll
      for (int d = 0; d < DL; ++d) acc[g][d] = acc[g][d] * mine + __shfl_xor_sync(0xffffffffu, acc[g][d], offset) * theirs;
      running_max[g] = best;
    }
  }

  // Combine the warps: shared [warp][g][head_dim] sums and [warp][g] max/denominator.
  __shared__ float sums[kWarps][G][HD];
  __shared__ float maxes[kWarps][G], denominators[kWarps][G];
  if (slot == 0) {
#pragma unroll
    for (int g = 0; g < G; ++g) {
#pragma unroll
      for (int d = 0; d < DL; ++d) sums[warp][g][first_dim + d] = acc[g][d];
      if (lane == 0) {
        maxes[warp][g] = running_max[g];
        denominators[warp][g] = denominator[g];
      }
    }
  }
  __syncthreads();
  finish_block<HD, G>(p, sums, maxes, denominators, row, kv_head, split);
}

// One block per (row, head), one thread per dim: out = sum_s 2^(m_s - M) o_s / sum_s 2^(m_s - M) l_s.
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
        const float factor = rescale(partial[head_dim], best);
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

template <int HD, int G>
void launch(const Params& p, int64_t rows, cudaStream_t stream) {
  launch_dependent(flash_decode_kernel<HD, G>,
                   dim3(static_cast<unsigned>(p.num_kv_heads), static_cast<unsigned>(rows), static_cast<unsigned>(p.splits)),
                   dim3(kWarps * 32), 0, stream, "cuda flash_decode", p);
}

template <int HD>
void launch_groups(const Params& p, int64_t rows, cudaStream_t stream) {
  if (p.group <= 1) return launch<HD, 1>(p, rows, stream);
  if (p.group <= 2) return launch<HD, 2>(p, rows, stream);
  if (p.group <= 4) return launch<HD, 4>(p, rows, stream);
  return launch<HD, 8>(p, rows, stream);
}

}  // namespace

void set_flash_decode_tensor_cores(bool enabled) { tensor_cores_enabled.store(enabled, std::memory_order_relaxed); }

void flash_decode_split_tuning(int waves) { tensor_core_waves.store(std::max(1, waves), std::memory_order_relaxed); }

int64_t flash_decode_splits(int64_t rows, int64_t num_kv_heads, int64_t head_dim, int64_t max_context) {
  const int64_t blocks = std::max<int64_t>(1, rows * num_kv_heads);
  const int64_t most = std::max<int64_t>(1, max_context / kMinPositionsPerSplit);
  int64_t wanted = 1;
  if (tensor_cores_enabled.load(std::memory_order_relaxed) && flash_decode_mma_takes(head_dim)) {
    // At most two waves of resident blocks (H200, Llama-3-8B decode steps,
    // bench/README.md "Flash decoding on tensor cores"): a partial extra wave
    // costs more than its splits gain (batch 64 at context 512: 43 us a layer
    // with 1 split, 55 us with 2), but splits that fill exactly one wave,
    // the fastest kernel alone at batch 16, made the whole step slower at
    // long contexts (8k: 17.2 ms against 13.8 ms with two waves).
    const int64_t wave =
        static_cast<int64_t>(multiprocessor_count()) * flash_decode_mma_blocks_per_multiprocessor(head_dim);
    wanted = tensor_core_waves.load(std::memory_order_relaxed) * wave / blocks;
  } else {
    wanted = (4 * multiprocessor_count() + blocks - 1) / blocks;
  }
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
           scale * kLog2e};
  const auto s = static_cast<cudaStream_t>(stream);
  if (tensor_cores_enabled.load(std::memory_order_relaxed) && flash_decode_mma_takes(layout.head_dim)) {
    launch_flash_decode_mma(p, rows, layout.head_dim, s);
  } else {
    switch (layout.head_dim) {
      case 32: launch_groups<32>(p, rows, s); break;
      case 64: launch_groups<64>(p, rows, s); break;
      case 128: launch_groups<128>(p, rows, s); break;
      default: launch_groups<256>(p, rows, s); break;
    }
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
