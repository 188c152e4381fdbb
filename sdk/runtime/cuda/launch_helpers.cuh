// Launch geometry and warp reductions shared by the elementwise and row
// kernels (layer_kernels.cu, video_kernels.cu): 256-thread blocks, grids for
// grid-stride loops capped at 65535 blocks, the stream cast, a warp sum.
// CUDA sources only.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

namespace citadel::runtime::cuda::launch {

constexpr int kBlock = 256;

inline cudaStream_t as_stream(void* stream) { return static_cast<cudaStream_t>(stream); }

inline unsigned grid_for(int64_t n) {
  return static_cast<unsigned>(std::clamp<int64_t>((n + kBlock - 1) / kBlock, 1, 65535));
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

}  // namespace citadel::runtime::cuda::launch
