// 3-D RoPE tables and their application (see rope_3d.h).
#include "runtime/kernels/rope_3d.h"

#include "runtime/core/error.h"

#include <cmath>
#include <string>

namespace citadel::runtime {

Rope3dTable make_rope_3d_table(int64_t head_dim, int64_t max_positions, double theta) {
  if (head_dim <= 0 || head_dim % 2 != 0 || max_positions < 1) {
    throw_invalid("rope_3d: head_dim " + std::to_string(head_dim) + " must be even and positive, max_positions " +
                  std::to_string(max_positions) + " at least 1");
  }
  Rope3dTable table;
  table.head_dim = head_dim;
  table.max_positions = max_positions;
  table.part[1] = table.part[2] = 2 * (head_dim / 6);
  table.part[0] = head_dim - table.part[1] - table.part[2];
  if (table.part[0] <= 0 || table.part[1] <= 0) {
    throw_invalid("rope_3d: head_dim " + std::to_string(head_dim) + " is too small to split into t/h/w parts");
  }
  // Per axis: [max_positions, part/2] angles; stored as one row of head_dim/2
  // pairs per position and axis (only the axis' own pairs are filled).
  const int64_t half = head_dim / 2;
  table.cos.assign(static_cast<size_t>(3 * max_positions * half), 0.0f);
  table.sin.assign(table.cos.size(), 0.0f);
  int64_t pair_offset = 0;
  for (int axis = 0; axis < 3; ++axis) {
    const int64_t dim = table.part[axis];
    for (int64_t p = 0; p < max_positions; ++p) {
      for (int64_t i = 0; i < dim / 2; ++i) {
        const double inv_freq = 1.0 / std::pow(theta, static_cast<double>(2 * i) / static_cast<double>(dim));
        const double angle = static_cast<double>(p) * inv_freq;
        const size_t at = static_cast<size_t>((axis * max_positions + p) * half + pair_offset + i);
        table.cos[at] = static_cast<float>(std::cos(angle));
        table.sin[at] = static_cast<float>(std::sin(angle));
      }
    }
    pair_offset += dim / 2;
  }
  return table;
}

void apply_rope_3d(const Rope3dTable& table, float* x, int64_t num_tokens, int64_t num_heads,
                   const int32_t* frames, const int32_t* rows, const int32_t* columns) {
  const int64_t half = table.head_dim / 2;
  const int64_t pairs_t = table.part[0] / 2, pairs_h = table.part[1] / 2;
  for (int64_t t = 0; t < num_tokens; ++t) {
    const int32_t position[3] = {frames[t], rows[t], columns[t]};
    for (int axis = 0; axis < 3; ++axis) {
      if (position[axis] < 0 || position[axis] >= table.max_positions) {
        throw_invalid("rope_3d: token " + std::to_string(t) + " has position " + std::to_string(position[axis]) +
                      " on axis " + std::to_string(axis) + ", outside the table of " +
                      std::to_string(table.max_positions));
      }
    }
    for (int64_t i = 0; i < half; ++i) {
      const int axis = i < pairs_t ? 0 : (i < pairs_t + pairs_h ? 1 : 2);
      const size_t at = static_cast<size_t>((axis * table.max_positions + position[axis]) * half + i);
      const float c = table.cos[at], s = table.sin[at];
      for (int64_t h = 0; h < num_heads; ++h) {
        float* pair = x + (t * num_heads + h) * table.head_dim + 2 * i;
        const float x1 = pair[0], x2 = pair[1];
        pair[0] = x1 * c - x2 * s;
        pair[1] = x1 * s + x2 * c;
      }
    }
  }
}

}  // namespace citadel::runtime
