// Kernels of the tiled int4 layout (int4_tiled.h): the one-time repack from
// GPTQ packing (one thread per packed row and source column, gathering the 8
// nibbles of a packed row through the input permutation), its expansion to
// f16 for the cuBLAS path, and the permuted f32 -> f16 input gather.
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/int4_tiled.h"

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>

namespace citadel::runtime::cuda {
namespace {

constexpr int kBlock = 256;

__device__ __forceinline__ int64_t mapped_column(const Int4ColumnMap& map, int64_t o) {
  return map.base + (o / map.run) * map.stride + o % map.run;
}

__global__ void repack_weight_kernel(const int32_t* __restrict__ qweight, int64_t out, Int4ColumnMap map,
                                     Int4TiledWeights dst, uint32_t* __restrict__ dst_qweight) {
  const int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t r = blockIdx.y;
  if (o >= out) return;
  uint32_t word = 0;
  if (dst.input_perm == nullptr) {
    word = static_cast<uint32_t>(qweight[r * out + o]);
  } else {
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const int64_t source = dst.input_perm[r * 8 + j];
      const uint32_t packed = static_cast<uint32_t>(qweight[(source / 8) * out + o]);
      word |= ((packed >> ((source % 8) * 4)) & 0xFu) << (4 * j);
    }
  }
  const int64_t column = mapped_column(map, o);
  const int64_t tile = column / kInt4TileColumns;
  dst_qweight[(tile * (dst.in_features / 8) + r) * kInt4TileColumns + column % kInt4TileColumns] = word;
}

__global__ void repack_groups_kernel(const int32_t* __restrict__ qzeros, const uint16_t* __restrict__ scales,
                                     int64_t out, bool zeros_minus_one, Int4ColumnMap map, Int4TiledWeights dst,
                                     uint16_t* __restrict__ dst_scales, uint8_t* __restrict__ dst_zeros) {
  const int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t g = blockIdx.y;
  if (o >= out) return;
  const uint32_t packed = static_cast<uint32_t>(qzeros[g * (out / 8) + o / 8]);
  const uint32_t zero = ((packed >> ((o % 8) * 4)) & 0xFu) + (zeros_minus_one ? 1u : 0u);
  const int64_t column = mapped_column(map, o);
  dst_scales[g * dst.padded_columns + column] = scales[g * out + o];
  dst_zeros[g * dst.padded_columns + column] = static_cast<uint8_t>(zero);
}

__global__ void dequantize_kernel(Int4TiledWeights w, __half* __restrict__ weight) {
  const int64_t column = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t r = blockIdx.y;
  if (column >= w.columns) return;
  const int64_t tile = column / kInt4TileColumns;
  const uint32_t word = w.qweight[(tile * (w.in_features / 8) + r) * kInt4TileColumns + column % kInt4TileColumns];
  const int64_t group = w.chunk_group[(r * 8) / kInt4ChunkInputs];
  const float scale = __half2float(__ushort_as_half(w.scales[group * w.padded_columns + column]));
  const float zero = static_cast<float>(w.zeros[group * w.padded_columns + column]);
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    const float q = static_cast<float>((word >> (4 * j)) & 0xFu);
    weight[(r * 8 + j) * w.columns + column] = __float2half_rn((q - zero) * scale);
  }
}

__global__ void gather_to_half_kernel(const float* __restrict__ x, int64_t rows, int64_t in,
                                      const int32_t* __restrict__ perm, __half* __restrict__ out) {
  const int64_t total = rows * in;
  for (int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; index < total;
       index += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = index / in, k = index % in;
    out[index] = __float2half_rn(x[r * in + (perm != nullptr ? perm[k] : k)]);
  }
}

unsigned blocks_for(int64_t n) { return static_cast<unsigned>((n + kBlock - 1) / kBlock); }

}  // namespace

void int4_repack_part(const int32_t* qweight, const int32_t* qzeros, const uint16_t* scales, int64_t out,
                      bool zeros_minus_one, Int4ColumnMap map, const Int4TiledWeights& dst, void* stream) {
  if (out <= 0 || out % 8 != 0 || dst.in_features % kInt4ChunkInputs != 0 || map.run <= 0) {
    fail_invalid("int4_repack_part: invalid shape (out " + std::to_string(out) + ", in " +
                 std::to_string(dst.in_features) + ")");
  }
  const auto s = static_cast<cudaStream_t>(stream);
  repack_weight_kernel<<<dim3(blocks_for(out), static_cast<unsigned>(dst.in_features / 8)), kBlock, 0, s>>>(
      qweight, out, map, dst, const_cast<uint32_t*>(dst.qweight));
  check_launch("int4_repack_part (weights)");
  repack_groups_kernel<<<dim3(blocks_for(out), static_cast<unsigned>(dst.num_groups)), kBlock, 0, s>>>(
      qzeros, scales, out, zeros_minus_one, map, dst, const_cast<uint16_t*>(dst.scales),
      const_cast<uint8_t*>(dst.zeros));
  check_launch("int4_repack_part (scales, zeros)");
}

void int4_tiled_dequantize_f16(const Int4TiledWeights& w, uint16_t* weight, void* stream) {
  dequantize_kernel<<<dim3(blocks_for(w.columns), static_cast<unsigned>(w.in_features / 8)), kBlock, 0,
                      static_cast<cudaStream_t>(stream)>>>(w, reinterpret_cast<__half*>(weight));
  check_launch("int4_tiled_dequantize_f16");
}

void gather_to_half(const float* x, int64_t rows, int64_t in, const int32_t* perm, uint16_t* x_half, void* stream) {
  if (rows <= 0 || in <= 0) return;
  const auto blocks = static_cast<unsigned>(std::clamp<int64_t>(blocks_for(rows * in), 1, 65535));
  gather_to_half_kernel<<<blocks, kBlock, 0, static_cast<cudaStream_t>(stream)>>>(x, rows, in, perm,
                                                                                 reinterpret_cast<__half*>(x_half));
  check_launch("gather_to_half");
}

}  // namespace citadel::runtime::cuda
