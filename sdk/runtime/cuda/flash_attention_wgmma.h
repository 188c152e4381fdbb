// flash_attention_wgmma: what flash_attention_f16 computes (unmasked
// multi-head attention, f16 q/k/v in device memory, f32 out; same layouts),
// on Hopper's warpgroup tensor cores (wgmma, sm_90a). A block of two
// warpgroups owns 128 queries of one head (64 a warpgroup, Q in registers as
// the A operand); K/V tiles of 64 keys arrive by cp.async, double-buffered,
// into shared memory laid out as wgmma's 8 x 16-byte core matrices, which the
// tensor cores read once per warpgroup (mma.sync reads them once per warp):
// S = Q.K^T reads K as a K-major B, O += P.V reads V as an N-major B (the
// instruction's transpose); the online softmax in f32 and P in f16 are
// flash_attention_f16's. head_dim 64 or 128. flash_attention_f16 calls it
// where it is available (FlashF16Path::automatic). Built for sm_90a alone
// (sm90a/flash_attention_wgmma.cu). Tested in
// tests/runtime_cuda/flash_attention_f16_cuda_test.cpp.
#pragma once

#include <cstdint>

namespace citadel::runtime::cuda {

// True on a compute capability 9.0 device whose sm_90a kernel image loaded.
bool flash_attention_wgmma_available();
bool flash_attention_wgmma_supports(int64_t head_dim);

// Arguments as flash_attention_f16's, already checked by it.
void flash_attention_wgmma(const uint16_t* q, int64_t num_queries, const uint16_t* k, const uint16_t* v,
                           int64_t num_keys, int64_t heads, int64_t head_dim, float scale, float* out, void* stream);

}  // namespace citadel::runtime::cuda
