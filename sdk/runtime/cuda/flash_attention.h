// flash_attention: unmasked multi-head attention on tensor cores, the fast
// counterpart of dense_attention (video_kernels.h) for the long sequences of
// video and vision transformers. Same arguments and layouts: q [queries,
// heads, head_dim], k and v [keys, heads, head_dim], out like q, all f32
// device memory; one block of 64 queries and one head at a time, K/V tiles
// of 64 keys staged in shared memory as f16, Q.K^T and P.V by WMMA (f16
// inputs, f32 accumulation), online softmax in f32. Results equal the f32
// kernel within f16 rounding of the inputs (a scaled error near 1e-3; the
// reference models run in bf16). head_dim 32, 64 or 128 (flash_attention_
// supports() says); the caller falls back to dense_attention otherwise.
// Used by vista's CudaWanTransformer when CudaPassOptions asks for it (its
// default is the faster flash_attention_f16.h, which reads f16); tested in
// tests/runtime_cuda/flash_attention_cuda_test.cpp, timed end to end by
// `bench_vista --cuda`.
#pragma once

#include <cstdint>

namespace citadel::runtime::cuda {

bool flash_attention_supports(int64_t head_dim);

void flash_attention(const float* q, int64_t num_queries, const float* k, const float* v, int64_t num_keys,
                     int64_t heads, int64_t head_dim, float scale, float* out, void* stream);

}  // namespace citadel::runtime::cuda
