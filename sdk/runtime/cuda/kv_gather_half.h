// kv_gather_half: K/V rows of cache blocks (runtime's standard block layout,
// the addressing of video_kernels.h's kv_gather) read straight into f16
// [tokens, heads, head_dim], the operand layout of flash_attention_f16:
// no f32 copy and no separate conversion pass. Entries f32, f16 or bf16;
// 8 elements (16 output bytes) a thread, so heads * head_dim must be a
// multiple of 8. Used by vista's CudaWanTransformer for the cached history;
// tested in tests/runtime_cuda/kv_gather_half_cuda_test.cpp.
#pragma once

#include "runtime/cuda/video_kernels.h"

#include <cstdint>

namespace citadel::runtime::cuda {

void kv_gather_half(const KvBlocksDevice& kv, const int32_t* positions, int64_t tokens, uint16_t* k, uint16_t* v,
                    void* stream);

}  // namespace citadel::runtime::cuda
