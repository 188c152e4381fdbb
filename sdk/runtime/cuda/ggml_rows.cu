// Dequantization kernels of ggml_rows.h: thread = one 8-value part of one
// row; reads its block fields straight from global memory (2-byte loads:
// blocks of the 32-value formats are only 2-byte aligned), writes its two
// runs of 4 values with 8-byte (f16) or 16-byte (f32) stores.
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/ggml_block_decode.cuh"
#include "runtime/cuda/ggml_rows.h"

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <string>

namespace citadel::runtime::cuda {
namespace {

constexpr int kThreads = 256;

// Destination row t of `out` reads source row rows_from[t] (ids) or row_begin + t.
struct RowsParams {
  GgmlDeviceMatrix w;
  int64_t row_begin;
  const int32_t* ids;  // null: row_begin + t
  int64_t row_count;
  void* out;
};

template <GgmlType T, bool kHalf>
__global__ void __launch_bounds__(kThreads) ggml_rows_kernel(RowsParams p) {
  using F = BlockFormat<T>;
  const int64_t parts_per_row = p.w.cols / 8;
  const int64_t index = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  if (index >= parts_per_row * p.row_count) return;
  const int64_t t = index / parts_per_row, q = index % parts_per_row;
  const int64_t block = q / F::kParts;
  const int part = static_cast<int>(q % F::kParts);
  const int64_t source = p.ids != nullptr ? static_cast<int64_t>(p.ids[t]) : p.row_begin + t;
  const bool valid = source >= 0 && source < p.w.rows;  // else a row of zeros
  BlockPart b;
  F::decode(p.w.data + (valid ? source : 0) * p.w.pitch + block * F::kBytes, part, b);
  float lo[4], hi[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    lo[i] = valid ? dequantized(b.a_lo, b.lo[i], b.b_lo, F::kOffset) : 0.0f;
    hi[i] = valid ? dequantized(b.a_hi, b.hi[i], b.b_hi, F::kOffset) : 0.0f;
  }
  const int base_lo = b.base_lo, base_hi = b.base_hi;
  const int64_t at = t * p.w.cols + block * F::kValues;
  if constexpr (kHalf) {
    auto* out = static_cast<uint16_t*>(p.out) + at;
    const __half2 l0 = __floats2half2_rn(lo[0], lo[1]), l1 = __floats2half2_rn(lo[2], lo[3]);
    const __half2 h0 = __floats2half2_rn(hi[0], hi[1]), h1 = __floats2half2_rn(hi[2], hi[3]);
    uint2 vl, vh;
    vl.x = *reinterpret_cast<const uint32_t*>(&l0);
    vl.y = *reinterpret_cast<const uint32_t*>(&l1);
    vh.x = *reinterpret_cast<const uint32_t*>(&h0);
    vh.y = *reinterpret_cast<const uint32_t*>(&h1);
    *reinterpret_cast<uint2*>(out + base_lo) = vl;
    *reinterpret_cast<uint2*>(out + base_hi) = vh;
  } else {
    auto* out = static_cast<float*>(p.out) + at;
    *reinterpret_cast<float4*>(out + base_lo) = make_float4(lo[0], lo[1], lo[2], lo[3]);
    *reinterpret_cast<float4*>(out + base_hi) = make_float4(hi[0], hi[1], hi[2], hi[3]);
  }
}

template <bool kHalf>
void launch(const RowsParams& p, const char* who, void* stream) {
  const GgmlTypeTraits traits = ggml_type_traits(static_cast<uint32_t>(p.w.type));
  if (!ggml_cuda_supported(p.w.type) || p.w.cols % traits.block_size != 0) {
    fail_invalid(std::string("cuda ") + who + ": unsupported matrix (type " +
                 std::to_string(static_cast<uint32_t>(p.w.type)) + ", cols " + std::to_string(p.w.cols) + ")");
  }
  const int64_t parts = p.w.cols / 8 * p.row_count;
  if (parts <= 0) return;
  const auto grid = static_cast<unsigned>((parts + kThreads - 1) / kThreads);
  const auto s = static_cast<cudaStream_t>(stream);
  switch (p.w.type) {
    case GgmlType::q4_0: ggml_rows_kernel<GgmlType::q4_0, kHalf><<<grid, kThreads, 0, s>>>(p); break;
    case GgmlType::q4_1: ggml_rows_kernel<GgmlType::q4_1, kHalf><<<grid, kThreads, 0, s>>>(p); break;
    case GgmlType::q5_0: ggml_rows_kernel<GgmlType::q5_0, kHalf><<<grid, kThreads, 0, s>>>(p); break;
    case GgmlType::q5_1: ggml_rows_kernel<GgmlType::q5_1, kHalf><<<grid, kThreads, 0, s>>>(p); break;
    case GgmlType::q8_0: ggml_rows_kernel<GgmlType::q8_0, kHalf><<<grid, kThreads, 0, s>>>(p); break;
    case GgmlType::q4_k: ggml_rows_kernel<GgmlType::q4_k, kHalf><<<grid, kThreads, 0, s>>>(p); break;
    case GgmlType::q5_k: ggml_rows_kernel<GgmlType::q5_k, kHalf><<<grid, kThreads, 0, s>>>(p); break;
    case GgmlType::q6_k: ggml_rows_kernel<GgmlType::q6_k, kHalf><<<grid, kThreads, 0, s>>>(p); break;
    default: break;
  }
  check_launch(who);
}

}  // namespace

void ggml_dequantize_rows_f16(const GgmlDeviceMatrix& w, int64_t row_begin, int64_t row_count, uint16_t* out,
                              void* stream) {
  launch<true>(RowsParams{w, row_begin, nullptr, row_count, out}, "ggml_dequantize_rows_f16", stream);
}

void ggml_embedding_lookup(const GgmlDeviceMatrix& table, const int32_t* ids, int64_t num_ids, float* out,
                           void* stream) {
  launch<false>(RowsParams{table, 0, ids, num_ids, out}, "ggml_embedding_lookup", stream);
}

}  // namespace citadel::runtime::cuda
