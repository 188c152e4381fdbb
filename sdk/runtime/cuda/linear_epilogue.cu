// linear_epilogue_apply: the epilogue of a fused linear layer as its own
// kernel, for results that come from cuBLAS (dequantize + GEMM path): one
// thread per output element, grid-stride.
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/linear_epilogue.cuh"

#include <cuda_runtime.h>

#include <algorithm>

namespace citadel::runtime::cuda {
namespace {

__global__ void epilogue_kernel(const float* __restrict__ y, int64_t m, int64_t columns, LinearEpilogue e) {
  const bool silu = e.kind == LinearEpilogue::Kind::silu_mul;
  const int64_t outputs_per_row = silu ? columns / 2 : columns;
  const int64_t total = m * outputs_per_row;
  for (int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; index < total;
       index += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = index / outputs_per_row;
    const int64_t c = index % outputs_per_row;
    const float* y_row = y + row * columns;
    if (silu) {
      constexpr int64_t kTile = LinearEpilogue::kSiluTile;
      const int64_t gate_column = (c / kTile) * 2 * kTile + c % kTile;
      epilogue_silu_mul(e, row, outputs_per_row, c, y_row[gate_column], y_row[gate_column + kTile]);
    } else {
      epilogue_store(e, row, c, y_row[c]);
    }
  }
}

}  // namespace

void linear_epilogue_apply(const float* y, int64_t m, int64_t columns, const LinearEpilogue& epilogue,
                           void* stream) {
  if (m <= 0 || columns <= 0) return;
  if (epilogue.kind == LinearEpilogue::Kind::silu_mul && columns % (2 * LinearEpilogue::kSiluTile) != 0) {
    fail_invalid("linear_epilogue_apply: silu_mul needs a multiple of 128 columns, got " + std::to_string(columns));
  }
  constexpr int kBlock = 256;
  const auto blocks = static_cast<unsigned>(std::clamp<int64_t>((m * columns + kBlock - 1) / kBlock, 1, 65535));
  epilogue_kernel<<<blocks, kBlock, 0, static_cast<cudaStream_t>(stream)>>>(y, m, columns, epilogue);
  check_launch("linear_epilogue_apply");
}

}  // namespace citadel::runtime::cuda
