// Row movement for mixture-of-experts layers on the GPU: the rows routed to
// each expert gathered (as f16, the GEMM input) into one expert-ordered
// matrix, the gate/up halves of a fused gate_up GEMM turned into the f16
// input of the down GEMM, and every row's expert outputs added back into
// the residual with their routing weights in a fixed order (no atomics:
// the same sums on every run). One launch each for all of a layer's experts,
// where a per-row copy or axpy per (row, expert) pair would be hundreds.
// Called by deepseek-ocr's CUDA decoder (cuda_decoder_pass.cpp) and its
// [cuda] test. Device pointers; stream is a cudaStream_t as void*.
#pragma once

#include <cstdint>

namespace citadel::runtime::cuda {

// out[s, :] = f16(x[rows[s], :]) for s < slots; x [*, dim] f32.
void gather_rows_to_half(const float* x, const int32_t* rows, int64_t slots, int64_t dim, uint16_t* out,
                         void* stream);

// out[s, c] = f16(silu(gate_up[s, c]) * gate_up[s, width + c]) for c < width:
// gate_up [slots, 2 * width] f32 (gate columns first, then up).
void silu_mul_halves_to_half(const float* gate_up, int64_t slots, int64_t width, uint16_t* out, void* stream);

// y[r, :] += sum over j < per_row of weight[r * per_row + j] *
// expert_out[slot[r * per_row + j], :], j in order, for r < rows; a slot < 0
// is skipped. expert_out [*, dim] f32.
void add_weighted_rows(float* y, int64_t rows, int64_t dim, const float* expert_out, const int32_t* slot,
                       const float* weight, int64_t per_row, void* stream);

}  // namespace citadel::runtime::cuda
