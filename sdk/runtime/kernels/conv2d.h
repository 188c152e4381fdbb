// 2-D convolution on the CPU for vision encoders, as torch.nn.Conv2d
// (zero padding, square kernel and stride, no dilation, one group) on
// channels-last tensors: im2col of a band of output positions, then the dense
// matmul (runtime/kernels/matmul.h) with the torch-layout weight
// [out_c, in_c, k, k] read as [out_c, in_c*k*k] (f32, f16 or bf16).
// Used by the deepseek-ocr vision encoder (patch embedding, neck, the
// stride-2 compressor); the reference for GPU versions.
#pragma once

#include "runtime/core/dtype.h"
#include "runtime/core/thread_pool.h"

#include <cstdint>

namespace citadel::runtime {

struct Conv2dShape {
  int64_t in_h = 0, in_w = 0, in_c = 0;
  int64_t out_c = 0, kernel = 1, stride = 1, padding = 0;

  int64_t out_h() const { return (in_h + 2 * padding - kernel) / stride + 1; }
  int64_t out_w() const { return (in_w + 2 * padding - kernel) / stride + 1; }
};

// x [in_h, in_w, in_c] f32 -> y [out_h, out_w, out_c] f32 (+ bias[out_c] when
// not null). Throws RuntimeError for non-positive sizes or an unsupported
// weight dtype. y must not alias x.
void conv2d_nhwc(ThreadPool& pool, const float* x, const Conv2dShape& shape, const void* weight, DType weight_dtype,
                 const float* bias, float* y);

}  // namespace citadel::runtime
