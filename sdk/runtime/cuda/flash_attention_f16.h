// flash_attention_f16: unmasked multi-head attention on tensor cores with
// f16 operands in device memory, the faster successor of flash_attention
// (flash_attention.h), which reads f32 and converts every tile. q [queries,
// heads, head_dim], k and v [keys, heads, head_dim] as f16 bits; out [queries,
// heads, head_dim] f32. One block of 8 warps owns 128 queries of one head
// (16 a warp, Q held in registers); K/V tiles of 64 keys arrive by cp.async,
// double-buffered; Q.K^T and P.V are mma.sync m16n8k16 (f16 in, f32
// accumulation) with the scores, probabilities and output kept in registers;
// online softmax in f32 (exp2). Results equal the f32 kernel within f16
// rounding of the inputs and of P. head_dim 32, 64 or 128; pointers 16-byte
// aligned (cudaMalloc'd buffers at token offsets are). On an sm_90a device
// at head_dim 64 and 128 the same work goes to flash_attention_wgmma
// (warpgroup tensor cores) unless the caller asks for mma.sync. Used by
// vista's CudaWanTransformer; tested in
// tests/runtime_cuda/flash_attention_f16_cuda_test.cpp.
#pragma once

#include <cstdint>

namespace citadel::runtime::cuda {

bool flash_attention_f16_supports(int64_t head_dim);

// Which kernel runs: automatic picks wgmma where flash_attention_wgmma is
// available and supports the head size, else mma.sync; wgmma where it is
// not available is refused.
enum class FlashF16Path { automatic, mma_sync, wgmma };

void flash_attention_f16(const uint16_t* q, int64_t num_queries, const uint16_t* k, const uint16_t* v,
                         int64_t num_keys, int64_t heads, int64_t head_dim, float scale, float* out, void* stream,
                         FlashF16Path path = FlashF16Path::automatic);

}  // namespace citadel::runtime::cuda
