// kv_gather_half (see kv_gather_half.h): one thread per 8 consecutive
// elements of a token's row, K and V both.
#include "runtime/cuda/kv_gather_half.h"

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/launch_helpers.cuh"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <string>

namespace citadel::runtime::cuda {
namespace {

using launch::as_stream;
using launch::grid_for;
using launch::kBlock;

// 8 entries at `source` (entry `index`) as 8 f16 values.
__device__ __forceinline__ uint4 load_8_as_half(const uint8_t* source, int dtype, int64_t index) {
  if (dtype == 1) return *reinterpret_cast<const uint4*>(source + index * 2);
  __half2 out[4];
  if (dtype == 2) {
    const uint4 raw = *reinterpret_cast<const uint4*>(source + index * 2);
    const auto* pairs = reinterpret_cast<const __nv_bfloat162*>(&raw);
    for (int i = 0; i < 4; ++i) out[i] = __float22half2_rn(__bfloat1622float2(pairs[i]));
  } else {
    const auto* floats = reinterpret_cast<const float4*>(source + index * 4);
    const float4 a = floats[0], b = floats[1];
    out[0] = __floats2half2_rn(a.x, a.y);
    out[1] = __floats2half2_rn(a.z, a.w);
    out[2] = __floats2half2_rn(b.x, b.y);
    out[3] = __floats2half2_rn(b.z, b.w);
  }
  return *reinterpret_cast<const uint4*>(out);
}

__global__ void kv_gather_half_kernel(void* const* blocks, int64_t tokens_per_block, int64_t row, int dtype,
                                      size_t k_offset, size_t v_offset, const int32_t* positions, int64_t tokens,
                                      uint4* k, uint4* v) {
  const int64_t groups = row / 8, n = tokens * groups;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t t = i / groups, within = (i % groups) * 8;
    const int64_t position = positions[t];
    const auto* base = static_cast<const uint8_t*>(blocks[position / tokens_per_block]);
    const int64_t index = (position % tokens_per_block) * row + within;
    k[i] = load_8_as_half(base + k_offset, dtype, index);
    v[i] = load_8_as_half(base + v_offset, dtype, index);
  }
}

}  // namespace

void kv_gather_half(const KvBlocksDevice& kv, const int32_t* positions, int64_t tokens, uint16_t* k, uint16_t* v,
                    void* stream) {
  if (tokens <= 0) return;
  const int64_t row = kv.heads * kv.head_dim;
  if (row % 8 != 0) fail_invalid("kv_gather_half: heads * head_dim " + std::to_string(row) + " is not a multiple of 8");
  const int dtype = kv.dtype == DType::f32 ? 0 : kv.dtype == DType::f16 ? 1 : kv.dtype == DType::bf16 ? 2 : -1;
  if (dtype < 0) fail_unsupported("kv_gather_half: KV dtype must be f32, f16 or bf16");
  if (reinterpret_cast<uintptr_t>(k) % 16 != 0 || reinterpret_cast<uintptr_t>(v) % 16 != 0 ||
      (kv.k_offset | kv.v_offset) % 16 != 0)
    fail_invalid("kv_gather_half: outputs and layer offsets must be 16-byte aligned");
  kv_gather_half_kernel<<<grid_for(tokens * row / 8), kBlock, 0, as_stream(stream)>>>(
      kv.blocks, kv.tokens_per_block, row, dtype, kv.k_offset, kv.v_offset, positions, tokens,
      reinterpret_cast<uint4*>(k), reinterpret_cast<uint4*>(v));
  check_launch("kv_gather_half");
}

}  // namespace citadel::runtime::cuda
