// ggml GEMV kernels (ggml_gemv.h says the work split), one instantiation per
// block format, tokens per pass M (1, 2, 4, 8) and rows per warp R (2, 4).
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/ggml_block_decode.cuh"
#include "runtime/cuda/ggml_gemv.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <string>

namespace citadel::runtime::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kPartsPerLane = 2;                   // 8-value parts per lane per step
constexpr int kStepValues = 32 * 8 * kPartsPerLane;  // 512: whole blocks of every format

struct Params {
  GgmlDeviceMatrix w;
  const float* x;
  const float* bias;
  float* y;
  int64_t ldy;
  int32_t m;
  bool accumulate;
};

template <GgmlType T, int M, int R>
__global__ void __launch_bounds__(kThreads) ggml_gemv_kernel(Params p) {
  using F = BlockFormat<T>;
  constexpr int kBlocksPerStep = kStepValues / F::kValues;
  constexpr int kStepBytes = kBlocksPerStep * F::kBytes;
  constexpr int kWindow = (kStepBytes + 15) / 16 + 1;  // uint4s of a row's step window
  constexpr int kLoads = (R * kWindow + 31) / 32;      // uint4s each lane loads per step
  __shared__ uint4 window[kWarps][R][kWindow];

  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t row0 = (static_cast<int64_t>(blockIdx.x) * kWarps + warp) * R;
  if (row0 >= p.w.rows) return;
  const int64_t cols = p.w.cols;
  const int64_t row_bytes = cols / F::kValues * F::kBytes;
  const int64_t readable = (row_bytes + 15) & ~int64_t{15};
  const int64_t steps = (cols + kStepValues - 1) / kStepValues;

  uint4 staged[kLoads];
  auto load = [&](int64_t step) {
    const int64_t first = (step * kStepBytes) & ~int64_t{15};
#pragma unroll
    for (int i = 0; i < kLoads; ++i) {
      const int index = lane + 32 * i;
      const int r = index / kWindow, v = index % kWindow;
      const int64_t byte = first + 16 * v;
      staged[i] = make_uint4(0, 0, 0, 0);
      if (index < R * kWindow && row0 + r < p.w.rows && byte < readable) {
        staged[i] = __ldg(reinterpret_cast<const uint4*>(p.w.data + (row0 + r) * p.w.pitch + byte));
      }
    }
  };
  auto store = [&] {
#pragma unroll
    for (int i = 0; i < kLoads; ++i) {
      const int index = lane + 32 * i;
      if (index < R * kWindow) window[warp][index / kWindow][index % kWindow] = staged[i];
    }
  };

  float acc[R][M];
#pragma unroll
  for (int r = 0; r < R; ++r) {
#pragma unroll
    for (int t = 0; t < M; ++t) acc[r][t] = 0.0f;
  }
  load(0);
  for (int64_t step = 0; step < steps; ++step) {
    __syncwarp();
    store();
    __syncwarp();
    if (step + 1 < steps) load(step + 1);
    const int skew = static_cast<int>((step * kStepBytes) & 15);
#pragma unroll
    for (int u = 0; u < kPartsPerLane; ++u) {
      const int part = lane + 32 * u;
      const int block = part / F::kParts;
      const int64_t value0 = step * kStepValues + static_cast<int64_t>(block) * F::kValues;
      if (value0 >= cols) continue;
      BlockPart parts[R];
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const auto* bytes = reinterpret_cast<const uint8_t*>(&window[warp][r][0]) + skew + block * F::kBytes;
        F::decode(bytes, part % F::kParts, parts[r]);
      }
#pragma unroll
      for (int t = 0; t < M; ++t) {
        if (t >= p.m) break;
        const float* xt = p.x + t * cols + value0;
        const float4 xl = __ldg(reinterpret_cast<const float4*>(xt + parts[0].base_lo));
        const float4 xh = __ldg(reinterpret_cast<const float4*>(xt + parts[0].base_hi));
        const float sum_lo = (xl.x + xl.y) + (xl.z + xl.w), sum_hi = (xh.x + xh.y) + (xh.z + xh.w);
#pragma unroll
        for (int r = 0; r < R; ++r) {
          const BlockPart& q = parts[r];
          float lo = q.lo[0] * xl.x;
          lo = fmaf(q.lo[1], xl.y, lo);
          lo = fmaf(q.lo[2], xl.z, lo);
          lo = fmaf(q.lo[3], xl.w, lo);
          float hi = q.hi[0] * xh.x;
          hi = fmaf(q.hi[1], xh.y, hi);
          hi = fmaf(q.hi[2], xh.z, hi);
          hi = fmaf(q.hi[3], xh.w, hi);
          float a = fmaf(q.a_lo, lo, acc[r][t]);
          a = fmaf(q.a_hi, hi, a);
          if constexpr (F::kOffset) {
            a = fmaf(q.b_lo, sum_lo, a);
            a = fmaf(q.b_hi, sum_hi, a);
          }
          acc[r][t] = a;
        }
      }
    }
  }
#pragma unroll
  for (int r = 0; r < R; ++r) {
#pragma unroll
    for (int t = 0; t < M; ++t) {
      float v = acc[r][t];
#pragma unroll
      for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
      const int64_t row = row0 + r;
      if (lane == ((r * M + t) & 31) && t < p.m && row < p.w.rows) {
        if (p.bias != nullptr) v += p.bias[row];
        float* out = p.y + t * p.ldy + row;
        *out = p.accumulate ? *out + v : v;
      }
    }
  }
}

template <GgmlType T, int M>
void launch_rows(const Params& p, int sm_count, cudaStream_t stream) {
  // Four rows a warp unless that gives fewer than two CTAs an SM.
  const int64_t ctas4 = (p.w.rows + 4 * kWarps - 1) / (4 * kWarps);
  if (ctas4 >= 2 * static_cast<int64_t>(sm_count)) {
    ggml_gemv_kernel<T, M, 4><<<static_cast<unsigned>(ctas4), kThreads, 0, stream>>>(p);
  } else {
    const int64_t ctas2 = (p.w.rows + 2 * kWarps - 1) / (2 * kWarps);
    ggml_gemv_kernel<T, M, 2><<<static_cast<unsigned>(ctas2), kThreads, 0, stream>>>(p);
  }
}

template <GgmlType T>
void launch_type(const Params& p, int sm_count, cudaStream_t stream) {
  if (p.m <= 1) {
    launch_rows<T, 1>(p, sm_count, stream);
  } else if (p.m <= 2) {
    launch_rows<T, 2>(p, sm_count, stream);
  } else if (p.m <= 4) {
    launch_rows<T, 4>(p, sm_count, stream);
  } else {
    launch_rows<T, 8>(p, sm_count, stream);
  }
}

// SM count of the current device, cached per ordinal (queried once, before
// any graph capture: the first run of a step is eager).
int current_sm_count() {
  constexpr int kMaxDevices = 64;
  static std::atomic<int> counts[kMaxDevices] = {};
  int device = 0;
  check_cuda(cudaGetDevice(&device), "cudaGetDevice");
  if (device < 0 || device >= kMaxDevices) device = 0;
  int count = counts[device].load(std::memory_order_relaxed);
  if (count == 0) {
    check_cuda(cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device), "cudaDeviceGetAttribute");
    counts[device].store(count, std::memory_order_relaxed);
  }
  return count;
}

}  // namespace

void ggml_gemv(const GgmlDeviceMatrix& w, const float* x, int64_t m, const float* bias, float* y, int64_t ldy,
               bool accumulate, void* stream) {
  if (m <= 0 || w.rows <= 0) return;
  if (m > kGgmlGemvMaxRows) {
    fail_invalid("cuda ggml_gemv: " + std::to_string(m) + " rows exceed " + std::to_string(kGgmlGemvMaxRows));
  }
  const GgmlTypeTraits traits = ggml_type_traits(static_cast<uint32_t>(w.type));
  if (!ggml_cuda_supported(w.type) || w.cols % traits.block_size != 0 || w.pitch % 16 != 0 ||
      w.pitch < ggml_device_row_bytes(w.type, w.cols)) {
    fail_invalid("cuda ggml_gemv: unsupported matrix (type " + std::to_string(static_cast<uint32_t>(w.type)) +
                 ", cols " + std::to_string(w.cols) + ", pitch " + std::to_string(w.pitch) + ")");
  }
  const int sm_count = current_sm_count();
  const auto s = static_cast<cudaStream_t>(stream);
  for (int64_t t0 = 0; t0 < m; t0 += 8) {
    Params p{w, x + t0 * w.cols, bias, y + t0 * ldy, ldy, static_cast<int32_t>(std::min<int64_t>(8, m - t0)),
             accumulate};
    switch (w.type) {
      case GgmlType::q4_0: launch_type<GgmlType::q4_0>(p, sm_count, s); break;
      case GgmlType::q4_1: launch_type<GgmlType::q4_1>(p, sm_count, s); break;
      case GgmlType::q5_0: launch_type<GgmlType::q5_0>(p, sm_count, s); break;
      case GgmlType::q5_1: launch_type<GgmlType::q5_1>(p, sm_count, s); break;
      case GgmlType::q8_0: launch_type<GgmlType::q8_0>(p, sm_count, s); break;
      case GgmlType::q4_k: launch_type<GgmlType::q4_k>(p, sm_count, s); break;
      case GgmlType::q5_k: launch_type<GgmlType::q5_k>(p, sm_count, s); break;
      case GgmlType::q6_k: launch_type<GgmlType::q6_k>(p, sm_count, s); break;
      default: break;
    }
    check_launch("ggml_gemv_kernel");
  }
}

}  // namespace citadel::runtime::cuda
