// 3-D rotary position embeddings of video transformers (Wan2.1, as diffusers'
// WanRotaryPosEmbed applies them): each head's dimensions are split into a
// time, a height and a width part (h = w = 2*(head_dim/6), t = the rest), each
// part rotates consecutive pairs (2i, 2i+1) by position * theta^(-2i/part)
// of the token's frame, row and column. Tables are computed in double and
// rounded to f32, as diffusers does. Used by the vista plugin; the reference
// for a CUDA version.
#pragma once

#include <cstdint>
#include <vector>

namespace citadel::runtime {

struct Rope3dTable {
  int64_t head_dim = 0;
  int64_t max_positions = 0;            // positions per axis the table covers
  int64_t part[3] = {0, 0, 0};          // t, h, w dims (even)
  std::vector<float> cos, sin;          // [max_positions, head_dim/2] per axis, concatenated
};

// Throws RuntimeError (invalid) when head_dim is odd or too small to split,
// or max_positions < 1.
Rope3dTable make_rope_3d_table(int64_t head_dim, int64_t max_positions, double theta = 10000.0);

// Rotates x [num_tokens, num_heads, head_dim] in place. Token t sits at frame
// frames[t], row rows[t], column columns[t]; each must be < max_positions
// (throws otherwise).
void apply_rope_3d(const Rope3dTable& table, float* x, int64_t num_tokens, int64_t num_heads,
                   const int32_t* frames, const int32_t* rows, const int32_t* columns);

}  // namespace citadel::runtime
