// Video VAE decoder kernels (see vae_kernels.h): the im2col + cuBLAS
// convolution, and grid-stride elementwise kernels around it.
#include "runtime/cuda/vae_kernels.h"

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/launch_helpers.cuh"

#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <string>

namespace citadel::runtime::cuda {
namespace {

using launch::as_stream;
using launch::grid_for;
using launch::kBlock;

// Columns are scaled down (by a power of two) when a slab's inputs reach
// this magnitude, so that every f16 value stays finite.
constexpr float kF16Limit = 32768.0f;

// 1, or 2^-k with max_abs * 2^-k in [2^14, 2^15): exact in f16 and f32.
__device__ __forceinline__ float column_scale(const float* frame_max, int64_t first, int64_t taps) {
  if (frame_max == nullptr) return 1.0f;  // inputs known to be within f16's range
  float largest = 0.0f;
  for (int64_t i = 0; i < taps; ++i) largest = fmaxf(largest, frame_max[first + i]);
  if (!(largest >= kF16Limit) || isinf(largest)) return 1.0f;
  return ldexpf(1.0f, -(ilogbf(largest) - 14));
}

struct SlabGeometry {
  Conv3dGemmWeights conv;
  Conv3dGemmInput input;
  int64_t out_frame = 0, first_row = 0, out_width = 0, out_frames = 0, out_plane = 0;
  int32_t positions = 0, kernel_size = 0;  // slab positions, in * kt * kh * kw
};

// What an im2col thread works out once for its output position(s): the
// position's row and column, the slab's scale, the conv's input plane.
struct TapOrigin {
  int32_t y = 0, x = 0, shift = 0, in_w = 0, conv_h = 0, conv_w = 0, kh = 0, kt = 0, pairs = 0;
  int64_t plane = 0;
  float scale = 1.0f;

  __device__ TapOrigin(const SlabGeometry& g, int32_t p) {
    const Conv3dGemmInput& in = g.input;
    scale = column_scale(in.frame_max, g.out_frame, g.conv.kernel_t);
    shift = in.upsample_2x ? 1 : 0;
    in_w = static_cast<int32_t>(in.width);
    conv_h = static_cast<int32_t>(in.height) << shift;
    conv_w = in_w << shift;
    y = static_cast<int32_t>(g.first_row) + p / static_cast<int32_t>(g.out_width);
    x = p % static_cast<int32_t>(g.out_width);
    kh = static_cast<int32_t>(g.conv.kernel_h);
    kt = static_cast<int32_t>(g.conv.kernel_t);
    pairs = static_cast<int32_t>(g.conv.in_channels) * kt;
    plane = in.height * in.width;
  }
  // The input frame of (channel, time tap) `pair`: from the history, then the new frames.
  __device__ const float* frame(const Conv3dGemmInput& in, int64_t out_frame, int32_t pair) const {
    const int32_t dt = pair % kt, channel = pair / kt;
    const int64_t s = out_frame + dt;
    return s < in.history_frames ? in.history + (channel * in.history_frames + s) * plane
                                 : in.frames + (channel * in.frames_total + in.first + s - in.history_frames) * plane;
  }
  // Row dy of the kernel in that frame (any address when outside; then
  // `inside` is false and nothing is read).
  __device__ const float* row(const float* frame, int32_t dy, bool& inside) const {
    const int32_t yy = y + dy - kh / 2;
    inside = yy >= 0 && yy < conv_h;
    return frame + (inside ? static_cast<int64_t>(yy >> shift) * in_w : 0);
  }
};

// columns[k, p] (k in torch's weight order, p the slab's output positions)
// = the scaled input tap in f16; zero outside the (upsampled) frame. One
// thread per position and (channel, time tap), its kh * kw taps.
__global__ void im2col_kernel(SlabGeometry g, __half* columns) {
  const int32_t p = static_cast<int32_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (p >= g.positions) return;
  const TapOrigin o(g, p);
  const int32_t kw = static_cast<int32_t>(g.conv.kernel_w), taps = o.kh * kw;
  for (int32_t pair = blockIdx.y; pair < o.pairs; pair += gridDim.y) {
    const float* frame = o.frame(g.input, g.out_frame, pair);
    __half* out = columns + static_cast<int64_t>(pair) * taps * g.positions + p;
    for (int32_t dy = 0; dy < o.kh; ++dy) {
      bool inside = false;
      const float* row = o.row(frame, dy, inside);
      for (int32_t dx = 0; dx < kw; ++dx) {
        const int32_t xx = o.x + dx - kw / 2;
        const float value = inside && xx >= 0 && xx < o.conv_w ? row[xx >> o.shift] * o.scale : 0.0f;
        out[static_cast<int64_t>(dy * kw + dx) * g.positions] = __float2half_rn(value);
      }
    }
  }
}

// The same columns, 8 positions of one output row per thread and one
// 16-byte store per tap (out_width % 8 == 0), for kernels KW wide: each of
// the kh input rows is read once (8 + KW - 1 values) for its KW taps.
constexpr int kVector = 8;
template <int KW>
__global__ void im2col_vec8_kernel(SlabGeometry g, __half* columns) {
  const int32_t p = (static_cast<int32_t>(blockIdx.x) * blockDim.x + threadIdx.x) * kVector;
  if (p >= g.positions) return;
  const TapOrigin o(g, p);
  for (int32_t pair = blockIdx.y; pair < o.pairs; pair += gridDim.y) {
    const float* frame = o.frame(g.input, g.out_frame, pair);
    __half* out = columns + static_cast<int64_t>(pair) * o.kh * KW * g.positions + p;
    for (int32_t dy = 0; dy < o.kh; ++dy) {
      bool inside = false;
      const float* row = o.row(frame, dy, inside);
      float span[kVector + KW - 1];
#pragma unroll
      for (int j = 0; j < kVector + KW - 1; ++j) {
        const int32_t xx = o.x + j - KW / 2;
        span[j] = inside && xx >= 0 && xx < o.conv_w ? row[xx >> o.shift] * o.scale : 0.0f;
      }
#pragma unroll
      for (int dx = 0; dx < KW; ++dx) {
        __align__(16) __half2 packed[kVector / 2];
#pragma unroll
        for (int j = 0; j < kVector / 2; ++j) packed[j] = __floats2half2_rn(span[dx + 2 * j], span[dx + 2 * j + 1]);
        *reinterpret_cast<uint4*>(out + static_cast<int64_t>(dy * KW + dx) * g.positions) =
            *reinterpret_cast<const uint4*>(packed);
      }
    }
  }
}

// out[o, frame, slab positions] (+)= bias[o] + result[o, p] / scale.
__global__ void scatter_kernel(SlabGeometry g, const float* result, float* out, bool accumulate) {
  const int32_t p = static_cast<int32_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (p >= g.positions) return;
  const float inverse = 1.0f / column_scale(g.input.frame_max, g.out_frame, g.conv.kernel_t);
  for (int64_t o = blockIdx.y; o < g.conv.out_channels; o += gridDim.y) {
    float* target = out + (o * g.out_frames + g.out_frame) * g.out_plane + g.first_row * g.out_width + p;
    const float value = g.conv.bias[o] + result[o * g.positions + p] * inverse;
    *target = accumulate ? *target + value : value;
  }
}

__global__ void frame_max_kernel(const float* x, int64_t channels, int64_t frames_total, int64_t first, int64_t plane,
                                 int64_t chunk, float* out) {
  __shared__ float scratch[32];
  const int64_t frame = blockIdx.y, begin = blockIdx.x * chunk, end = min(plane, begin + chunk);
  float largest = 0.0f;
  for (int64_t c = 0; c < channels; ++c) {
    const float* row = x + (c * frames_total + first + frame) * plane;
    for (int64_t q = begin + threadIdx.x; q < end; q += blockDim.x) largest = fmaxf(largest, fabsf(row[q]));
  }
  largest = launch::block_reduce<true>(largest, scratch);
  // Non-negative floats order as their bit patterns: an integer max is exact.
  if (threadIdx.x == 0) atomicMax(reinterpret_cast<int*>(out + frame), __float_as_int(largest));
}

__global__ void channel_rms_norm_kernel(const float* x, int64_t channels, int64_t positions, const float* gamma,
                                        bool silu, float* y) {
  const float root = sqrtf(static_cast<float>(channels));
  const int64_t step = int64_t{gridDim.x} * blockDim.x;
  for (int64_t p = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; p < positions; p += step) {
    float sum = 0.0f;
    for (int64_t c = 0; c < channels; ++c) sum = __fadd_rn(sum, __fmul_rn(x[c * positions + p], x[c * positions + p]));
    const float inverse = root / fmaxf(sqrtf(sum), 1e-12f);
    for (int64_t c = 0; c < channels; ++c) {
      float v = x[c * positions + p] * inverse * gamma[c];
      if (silu) v = v / (1.0f + expf(-v));
      y[c * positions + p] = v;
    }
  }
}

__global__ void interleave_kernel(const float* mixed, int64_t channels, int64_t frames, int64_t plane, float* dst,
                                  int64_t dst_frames, int64_t dst_first) {
  const int64_t n = 2 * channels * frames * plane;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t q = i % plane, t = (i / plane) % frames, row = i / (plane * frames);  // row = h * channels + c
    const int64_t half = row / channels, c = row % channels;
    dst[(c * dst_frames + dst_first + 2 * t + half) * plane + q] = mixed[i];
  }
}

__global__ void transpose_kernel(const float* in, int64_t rows, int64_t cols, float* out) {
  __shared__ float tile[32][33];
  const int64_t col0 = int64_t{blockIdx.x} * 32, row0 = int64_t{blockIdx.y} * 32;
  for (int i = threadIdx.y; i < 32; i += blockDim.y) {
    const int64_t r = row0 + i, c = col0 + threadIdx.x;
    if (r < rows && c < cols) tile[i][threadIdx.x] = in[r * cols + c];
  }
  __syncthreads();
  for (int i = threadIdx.y; i < 32; i += blockDim.y) {
    const int64_t c = col0 + i, r = row0 + threadIdx.x;
    if (r < rows && c < cols) out[c * rows + r] = tile[threadIdx.x][i];
  }
}

__global__ void clamp_kernel(float* x, int64_t n, float lo, float hi) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    x[i] = fminf(fmaxf(x[i], lo), hi);
}

__global__ void rgb_kernel(const float* pixels, int64_t frames, int64_t plane, uint8_t* rgb) {
  const int64_t n = frames * plane;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    for (int64_t c = 0; c < 3; ++c) {
      // Unfused, as the CPU's (x * 0.5 + 0.5) * 255 rounds.
      const float unit = __fadd_rn(__fmul_rn(fminf(fmaxf(pixels[c * n + i], -1.0f), 1.0f), 0.5f), 0.5f);
      rgb[i * 3 + c] = static_cast<uint8_t>(lroundf(__fmul_rn(unit, 255.0f)));
    }
}

// dst[c, s, y, x] = frame s of the conv's input sequence (history, then
// the new frames) at (y >> shift, x >> shift); one thread per output value,
// grid-stride over a frame plane, y of the grid = (channel, frame) pairs.
__global__ void gather_input_kernel(Conv3dGemmInput in, int64_t frames, int32_t shift, float* dst) {
  const int64_t pair = blockIdx.y, channel = pair / frames, s = pair % frames;
  const int64_t in_plane = in.height * in.width, out_width = in.width << shift;
  const int64_t out_plane = in_plane << (2 * shift);
  const float* source = s < in.history_frames
                            ? in.history + (channel * in.history_frames + s) * in_plane
                            : in.frames + (channel * in.frames_total + in.first + s - in.history_frames) * in_plane;
  float* target = dst + pair * out_plane;
  for (int64_t p = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; p < out_plane;
       p += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t y = p / out_width, x = p % out_width;
    target[p] = source[(y >> shift) * in.width + (x >> shift)];
  }
}

unsigned y_grid(int64_t n) { return static_cast<unsigned>(std::clamp<int64_t>(n, 1, 65535)); }

}  // namespace

void conv3d_gemm(CublasContext& context, const Conv3dGemmWeights& conv, const Conv3dGemmInput& input, float* out,
                 bool accumulate, void* stream, int64_t column_cap) {
  const int64_t sequence = input.history_frames + input.count;
  const int64_t out_frames = sequence - conv.kernel_t + 1;
  const int64_t kernel_size = conv.in_channels * conv.kernel_t * conv.kernel_h * conv.kernel_w;
  if (out_frames < 1 || input.count < 0)
    fail_invalid("conv3d_gemm: " + std::to_string(sequence) + " input frames for a kernel of " +
                 std::to_string(conv.kernel_t));
  const int64_t scale = input.upsample_2x ? 2 : 1;
  const int64_t out_height = input.height * scale, out_width = input.width * scale;
  const int64_t band = std::clamp<int64_t>(column_cap / (kernel_size * out_width), 1, out_height);
  if (kernel_size > INT32_MAX || band * out_width > INT32_MAX)
    fail_invalid("conv3d_gemm: " + std::to_string(kernel_size) + " taps over rows of " + std::to_string(out_width) +
                 " are too many for one slab");
  auto* columns =
      reinterpret_cast<__half*>(context.activation_scratch(static_cast<size_t>(kernel_size * band * out_width)));
  float* result = context.result_scratch(static_cast<size_t>(conv.out_channels * band * out_width));
  auto handle = static_cast<cublasHandle_t>(context.handle());
  check_cublas(cublasSetStream(handle, as_stream(stream)), "cublasSetStream");
  SlabGeometry g;
  g.conv = conv;
  g.input = input;
  g.out_width = out_width;
  g.out_frames = out_frames;
  g.out_plane = out_height * out_width;
  g.kernel_size = static_cast<int32_t>(kernel_size);
  const float one = 1.0f, zero = 0.0f;
  // 16-byte column stores: whole 8-position groups within a row, aligned rows.
  const bool vectorized = out_width % kVector == 0 && (conv.kernel_w == 3 || conv.kernel_w == 1);
  for (int64_t frame = 0; frame < out_frames; ++frame)
    for (int64_t row = 0; row < out_height; row += band) {
      g.out_frame = frame;
      g.first_row = row;
      g.positions = static_cast<int32_t>(std::min(band, out_height - row) * out_width);
      const unsigned blocks = static_cast<unsigned>((g.positions + kBlock - 1) / kBlock);
      if (vectorized) {
        const unsigned groups = static_cast<unsigned>((g.positions / kVector + kBlock - 1) / kBlock);
        const dim3 grid(groups, y_grid(conv.in_channels * conv.kernel_t));
        if (conv.kernel_w == 3)
          im2col_vec8_kernel<3><<<grid, kBlock, 0, as_stream(stream)>>>(g, columns);
        else
          im2col_vec8_kernel<1><<<grid, kBlock, 0, as_stream(stream)>>>(g, columns);
      } else {
        im2col_kernel<<<dim3(blocks, y_grid(conv.in_channels * conv.kernel_t)), kBlock, 0, as_stream(stream)>>>(
            g, columns);
      }
      check_launch("conv3d_gemm im2col");
      // Column-major: result (positions x out) = columns (positions x K) · weight (K x out).
      check_cublas(cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, g.positions, static_cast<int>(conv.out_channels),
                                g.kernel_size, &one, columns, CUDA_R_16F, g.positions, conv.weight, CUDA_R_16F,
                                g.kernel_size, &zero, result, CUDA_R_32F, g.positions, CUBLAS_COMPUTE_32F,
                                CUBLAS_GEMM_DEFAULT),
                   "cublasGemmEx (conv3d_gemm)");
      scatter_kernel<<<dim3(blocks, y_grid(conv.out_channels)), kBlock, 0, as_stream(stream)>>>(g, result, out,
                                                                                                   accumulate);
      check_launch("conv3d_gemm scatter");
    }
}

void gather_conv_input(const Conv3dGemmInput& input, int64_t channels, float* dst, void* stream) {
  const int64_t frames = input.history_frames + input.count;
  if (frames <= 0 || channels <= 0) return;
  if (channels * frames > 65535) fail_invalid("gather_conv_input: more than 65535 (channel, frame) planes");
  const int32_t shift = input.upsample_2x ? 1 : 0;
  const int64_t out_plane = (input.height * input.width) << (2 * shift);
  const unsigned blocks = static_cast<unsigned>(std::clamp<int64_t>((out_plane + kBlock - 1) / kBlock, 1, 1024));
  gather_input_kernel<<<dim3(blocks, static_cast<unsigned>(channels * frames)), kBlock, 0, as_stream(stream)>>>(
      input, frames, shift, dst);
  check_launch("gather_conv_input");
}

void frame_max_abs(const float* x, int64_t channels, int64_t frames_total, int64_t first, int64_t count,
                   int64_t plane, float* out, void* stream) {
  if (count <= 0) return;
  check_cuda(cudaMemsetAsync(out, 0, static_cast<size_t>(count) * sizeof(float), as_stream(stream)),
             "frame_max_abs memset");
  const int64_t chunk = 4 * kBlock;
  const unsigned chunks = static_cast<unsigned>(std::clamp<int64_t>((plane + chunk - 1) / chunk, 1, INT32_MAX));
  frame_max_kernel<<<dim3(chunks, y_grid(count)), kBlock, 0, as_stream(stream)>>>(x, channels, frames_total, first,
                                                                                   plane, chunk, out);
  check_launch("frame_max_abs");
}

void channel_rms_norm(const float* x, int64_t channels, int64_t positions, const float* gamma, bool silu, float* y,
                      void* stream) {
  channel_rms_norm_kernel<<<grid_for(positions), kBlock, 0, as_stream(stream)>>>(x, channels, positions, gamma, silu,
                                                                                  y);
  check_launch("channel_rms_norm");
}

void copy_frames(const float* src, int64_t src_frames, int64_t src_first, float* dst, int64_t dst_frames,
                 int64_t dst_first, int64_t channels, int64_t count, int64_t plane, void* stream) {
  if (count <= 0 || channels <= 0) return;
  const size_t row = sizeof(float) * static_cast<size_t>(plane);
  check_cuda(cudaMemcpy2DAsync(dst + dst_first * plane, row * dst_frames, src + src_first * plane, row * src_frames,
                               row * count, static_cast<size_t>(channels), cudaMemcpyDeviceToDevice, as_stream(stream)),
             "copy_frames");
}

void interleave_time_halves(const float* mixed, int64_t channels, int64_t frames, int64_t plane, float* dst,
                            int64_t dst_frames, int64_t dst_first, void* stream) {
  interleave_kernel<<<grid_for(2 * channels * frames * plane), kBlock, 0, as_stream(stream)>>>(
      mixed, channels, frames, plane, dst, dst_frames, dst_first);
  check_launch("interleave_time_halves");
}

void transpose(const float* in, int64_t rows, int64_t cols, float* out, void* stream) {
  if (rows <= 0 || cols <= 0) return;
  if ((rows + 31) / 32 > 65535) fail_invalid("transpose: " + std::to_string(rows) + " rows are too many");
  const dim3 grid(static_cast<unsigned>((cols + 31) / 32), static_cast<unsigned>((rows + 31) / 32));
  transpose_kernel<<<grid, dim3(32, 8), 0, as_stream(stream)>>>(in, rows, cols, out);
  check_launch("transpose");
}

void clamp_values(float* x, int64_t n, float lo, float hi, void* stream) {
  clamp_kernel<<<grid_for(n), kBlock, 0, as_stream(stream)>>>(x, n, lo, hi);
  check_launch("clamp_values");
}

void pixels_to_rgb(const float* pixels, int64_t frames, int64_t plane, uint8_t* rgb, void* stream) {
  rgb_kernel<<<grid_for(frames * plane), kBlock, 0, as_stream(stream)>>>(pixels, frames, plane, rgb);
  check_launch("pixels_to_rgb");
}

}  // namespace citadel::runtime::cuda
