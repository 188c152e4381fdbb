// The inner loop shared by the dense and GPTQ matmuls: y[:, cols] = x · tile
// for one tile of kTileColumns output columns whose weights were expanded to
// f32 as tile[in][kTileColumns] (input-major, so the column loop vectorizes).
// Internal to sdk/runtime/kernels.
#pragma once

#include <cstdint>

namespace citadel::runtime::detail {

inline constexpr int64_t kTileColumns = 32;

// x [m, in]; tile [in, kTileColumns] (columns >= `columns` are ignored);
// writes y[t * y_stride + c] for c < columns, adding bias[c] when non-null.
void tile_matmul(const float* x, int64_t m, int64_t in, const float* tile, int64_t columns,
                 float* y, int64_t y_stride, const float* bias);

}  // namespace citadel::runtime::detail
