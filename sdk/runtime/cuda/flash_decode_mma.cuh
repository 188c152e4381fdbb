// Flash decoding on tensor cores, taken by flash_decode() (flash_decode.cu)
// for head_dim 32, 64 and 128 on sm_80 and later. Same work split and
// scratch as the CUDA-core kernel (flash_decode_block.cuh); within a block
// each warp streams chunks of 16 positions of K and V through its own ring
// of 3 shared-memory stages (cp.async, zero-filled past the row's length),
// scores them with mma.sync (the G query heads are rows of A, the positions
// columns of B), keeps the online softmax in the score fragments and adds
// P.V with mma.sync again. q and P enter as f16 hi + lo pairs, K and V are
// f16 already, so every product is exact in the f32 sums: the result is the
// CUDA-core kernel's to f32 rounding. CUDA sources only.
#pragma once

#include "runtime/cuda/flash_decode_block.cuh"

#include <cuda_runtime.h>

#include <cstdint>

namespace citadel::runtime::cuda {

// True when this device and head_dim take the tensor-core kernel.
bool flash_decode_mma_takes(int64_t head_dim);

// Blocks of the kernel for head_dim resident on one multiprocessor (its
// shared memory bounds it: 2 for head_dim 128 on Hopper).
int flash_decode_mma_blocks_per_multiprocessor(int64_t head_dim);

// Launches it (flash_decode_mma_takes(head_dim) must hold), grid
// (kv heads, rows, splits) as the CUDA-core kernel.
void launch_flash_decode_mma(const flash_decoding::Params& p, int64_t rows, int64_t head_dim, cudaStream_t stream);

}  // namespace citadel::runtime::cuda
