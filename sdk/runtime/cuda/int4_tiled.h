// The tiled int4 layout that GptqLinearCuda repacks GPTQ int4 layers into
// once at load (the checkpoint on disk keeps the GPTQ packing), and the
// kernels that build and expand it. Callers: GptqLinearCuda (load, prefill),
// int4_gemv.cu (reads it), the [cuda] tests.
//
// Layout (K = in_features, a multiple of 32; C = columns, padded to P = a
// multiple of 128; a fused layer's parts placed by Int4ColumnMap):
//   qweight  u32 [P/128][K/8][128]: column tile t, packed row r (inputs
//            8r..8r+7 of the *sorted* input order, lowest nibble first),
//            column c of the tile. Lane l of a warp loads the 16 bytes of
//            columns 4l..4l+3, so a warp reads 512 contiguous bytes per
//            packed row and a 32-input chunk is 2 KB contiguous per tile.
//   scales   f16 [groups][P]; zeros u8 [groups][P], the zero point with the
//            GPTQ v1 "+1" already applied (0..16); padding columns 0.
//   chunk_group i32 [K/32]: the group of each 32-input chunk (every chunk
//            lies in one group: a condition of the layout).
//   input_perm  i32 [K] or null: sorted input k is original input
//            input_perm[k] (act-order: inputs sorted by g_idx, stable), so
//            x is permuted once per call instead of scales per element.
#pragma once

#include <cstdint>

namespace citadel::runtime::cuda {

inline constexpr int64_t kInt4TileColumns = 128;
inline constexpr int64_t kInt4ChunkInputs = 32;

struct Int4TiledWeights {
  int64_t in_features = 0;
  int64_t columns = 0;         // logical output columns
  int64_t padded_columns = 0;  // multiple of 128
  int64_t num_groups = 0;
  const uint32_t* qweight = nullptr;
  const uint16_t* scales = nullptr;
  const uint8_t* zeros = nullptr;
  const int32_t* chunk_group = nullptr;
  const int32_t* input_perm = nullptr;
  // > 0 when chunk k lies in group k / chunks_per_group (chunk_group agrees):
  // the kernels then compute the group instead of loading it.
  int64_t chunks_per_group = 0;
};

// Where source column o of one part goes: base + (o / run) * stride + o % run
// (concatenation: run = out, stride 0, base = offset; gate/up interleave in
// tiles of 64: run 64, stride 128, base 0 for gate and 64 for up).
struct Int4ColumnMap {
  int64_t base = 0;
  int64_t run = 1;
  int64_t stride = 0;
};

// Writes one GPTQ int4 part (device copies of its qweight [K/8, out] and
// qzeros [groups, out/8], scales [groups, out]) into the tiled buffers of
// `dst` (which must be zeroed first), through `map` and dst.input_perm.
void int4_repack_part(const int32_t* qweight, const int32_t* qzeros, const uint16_t* scales, int64_t out,
                      bool zeros_minus_one, Int4ColumnMap map, const Int4TiledWeights& dst, void* stream);

// weight[k, c] = dequant(W)[sorted input k, column c] as f16 bits, [K, columns].
void int4_tiled_dequantize_f16(const Int4TiledWeights& w, uint16_t* weight, void* stream);

// x_half[r, k] = f16(x[r, perm[k]]) (perm null: identity), r < rows, k < in.
void gather_to_half(const float* x, int64_t rows, int64_t in, const int32_t* perm, uint16_t* x_half, void* stream);

}  // namespace citadel::runtime::cuda
