// The GEMMs of a mixture-of-experts layer whose routing stayed on the GPU
// (moe_routing.h): every group's rows (contiguous slots, the counts only in
// device memory) times that group's f16 weight, all groups in one launch,
// so no host round trip sits between the router and the experts and the
// launch can be captured in a CUDA graph. Tensor cores (mma.sync f16, f32
// accumulation); a block streams a 128-row slice of one group's weight
// through shared memory once per 64 of the group's rows, so at decode sizes
// every expert weight is read once; a group without rows costs an empty
// block per column tile. Two outputs: f32 rows, or the SwiGLU of a stacked
// gate|up weight as the f16 input of the down projection (the gate/up sums
// never leave registers). Called by deepseek-ocr's CUDA decoder
// (cuda_decoder_pass.cpp) and the [cuda] tests; bench_deepseek_ocr_decode
// times it in the step beside cuBLAS's batched GEMMs. Device pointers;
// stream is a cudaStream_t as void*.
#pragma once

#include <cstdint>

namespace citadel::runtime::cuda {

enum class ExpertGemmOutput {
  f32,           // y [slots, n] f32: y[s, c] = sum_i x[s, i] * W_g[c, i]
  silu_mul_f16,  // W_g [2n, k] (gate rows, then up rows); y [slots, n] f16 = silu(gate sum) * up sum
};

// x [slots, k] f16. weights: a device array of `groups` device pointers,
// W_g [n, k] f16 (out_in) or [2n, k] for silu_mul_f16. group_offsets
// [groups + 1] on the device: group g's rows are slots group_offsets[g] ..
// group_offsets[g + 1] (moe_routing.h's layout). max_group_rows bounds any
// group's row count (the step's rows; picks the row tile). k % 8 == 0,
// n % 2 == 0, x and every weight 16-byte aligned; throws RuntimeError
// (INVALID_ARGUMENT) on shapes it does not take.
void expert_gemm_f16(const uint16_t* x, int64_t k, const uint16_t* const* weights, int64_t n,
                     const int32_t* group_offsets, int64_t groups, int64_t max_group_rows, ExpertGemmOutput output,
                     void* y, void* stream);

}  // namespace citadel::runtime::cuda
