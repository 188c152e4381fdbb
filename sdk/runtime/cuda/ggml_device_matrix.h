// GgmlDeviceMatrix: a [rows, cols] ggml-typed weight (ggml_blocks.h) in GPU
// memory, its rows' blocks exactly as the GGUF file stores them, each row
// starting at a multiple of 16 bytes (`pitch` = row bytes rounded up to 16;
// at most 15 bytes of padding a row) so that kernels read any window of a
// row with aligned 128-bit loads. Non-owning: GgmlLinearCuda (or a test)
// owns the memory. Read by ggml_gemv.cu and ggml_rows.cu. Plain C++.
#pragma once

#include "runtime/kernels/ggml_blocks.h"

#include <cstdint>

namespace citadel::runtime::cuda {

struct GgmlDeviceMatrix {
  GgmlType type = GgmlType::q4_0;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t pitch = 0;  // bytes from one row to the next (a multiple of 16)
  const uint8_t* data = nullptr;
};

// Bytes of one stored row of `cols` values of `type` (no padding).
inline int64_t ggml_device_row_bytes(GgmlType type, int64_t cols) {
  const GgmlTypeTraits traits = ggml_type_traits(static_cast<uint32_t>(type));
  return traits.block_size > 0 ? cols / traits.block_size * traits.type_size : 0;
}

// The padded row pitch of a GgmlDeviceMatrix.
inline int64_t ggml_device_pitch(GgmlType type, int64_t cols) { return (ggml_device_row_bytes(type, cols) + 15) / 16 * 16; }

// True for the block types the CUDA kernels read (Q4_0, Q4_1, Q5_0, Q5_1,
// Q8_0, Q4_K, Q5_K, Q6_K).
inline bool ggml_cuda_supported(GgmlType type) {
  switch (type) {
    case GgmlType::q4_0: case GgmlType::q4_1: case GgmlType::q5_0: case GgmlType::q5_1:
    case GgmlType::q8_0: case GgmlType::q4_k: case GgmlType::q5_k: case GgmlType::q6_k: return true;
    default: return false;
  }
}

}  // namespace citadel::runtime::cuda
