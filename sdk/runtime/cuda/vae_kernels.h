// CUDA kernels of video VAE decoders (the Wan2.1 VAE of the vista plugin,
// plugins/vista/vae/wan_vae_cuda.*), each the device counterpart of a CPU
// function of runtime/kernels/conv3d.h or plugins/vista/vae/wan_vae_stream.cpp,
// on f32 channel-first activations [channels, frames, height, width]:
//  - conv3d_gemm (runtime::conv3d over a causal conv's history followed by
//    new frames): im2col in f16 one output frame (or band of rows) at a
//    time (8 positions a thread with 16-byte stores when rows are a
//    multiple of 8 and kernels 1 or 3 wide, else one), one cuBLAS GEMM per
//    slab (f16 operands, f32 accumulation), bias added, optionally
//    accumulated into the output (a residual add);
//  - frame_max_abs: per-frame max |x|, from which conv3d_gemm scales each
//    slab's columns by a power of two to stay inside f16's range (exact;
//    undone on the f32 result); a null frame_max means the inputs are known
//    to fit (an RMS norm's output) and nothing is scaled;
//  - channel_rms_norm (runtime::channel_rms_norm), optionally fused with
//    SiLU (WanVaeStream's norm_silu);
//  - gather_conv_input: a conv's input sequence, contiguous, for cuDNN;
//  - copy_frames (frame_range / concat_frames), interleave_time_halves (the
//    3-D upsampler's time conv output to two frames each), transpose (token-
//    major q/k/v for gemm_attention and back), clamp_values, and
//    pixels_to_rgb (to_rgb_frames).
// All pointers are device pointers; work is queued on `stream` (a
// cudaStream_t); launch errors throw RuntimeError. Results depend only on a
// slab's own inputs (one GEMM shape per conv and frame size), so decoding
// frames one at a time or several at once gives identical values.
// Not thread-safe per CublasContext. Tests: tests/vista/vae_cuda_test.cpp.
#pragma once

#include "runtime/cuda/cublas_matmul.h"

#include <cstdint>

namespace citadel::runtime::cuda {

// A convolution's device weights: weight f16 bits [out, in * kt * kh * kw]
// (torch's Conv3d order, which is the column order), bias f32 [out];
// stride 1, spatial zero padding kernel / 2.
struct Conv3dGemmWeights {
  const uint16_t* weight = nullptr;
  const float* bias = nullptr;
  int64_t in_channels = 0, out_channels = 0;
  int64_t kernel_t = 1, kernel_h = 1, kernel_w = 1;
};

// The conv's input sequence: `history_frames` frames of `history`
// ([in, history_frames, H, W]) then frames [first, first + count) of
// `frames` ([in, frames_total, H, W]). With upsample_2x the conv sees every
// frame upsampled 2x (nearest) first. frame_max: device, history_frames +
// count entries (frame_max_abs of the sequence, in order).
struct Conv3dGemmInput {
  const float* history = nullptr;
  int64_t history_frames = 0;
  const float* frames = nullptr;
  int64_t frames_total = 0, first = 0, count = 0;
  int64_t height = 0, width = 0;
  bool upsample_2x = false;
  const float* frame_max = nullptr;
};

// Column scratch cap: slabs are one output frame, or bands of its rows
// when a frame's columns would exceed this many f16 values (256 MiB).
constexpr int64_t kConv3dColumnCap = int64_t{128} << 20;

// out [out, history_frames + count - kernel_t + 1, H', W'] (H' = H or 2H)
// = conv (+ out when accumulate). Uses context's activation and result
// scratch. FLOPs: 2 * out * in * kt * kh * kw * output positions.
// column_cap: f16 values per slab (smaller in tests, to split frames into bands).
void conv3d_gemm(CublasContext& context, const Conv3dGemmWeights& conv, const Conv3dGemmInput& input, float* out,
                 bool accumulate, void* stream, int64_t column_cap = kConv3dColumnCap);

// dst [channels, history_frames + count, H', W'] = the conv's input sequence
// as conv3d_gemm sees it (history, then the new frames, upsampled 2x
// nearest when upsample_2x), contiguous: the input of CudnnConv3d
// (cudnn_conv3d.h). frame_max is not used. channels * frames <= 65535.
void gather_conv_input(const Conv3dGemmInput& input, int64_t channels, float* dst, void* stream);

// out[f] = max |x[c, first + f, :, :]| over channels c < channels, for f < count.
void frame_max_abs(const float* x, int64_t channels, int64_t frames_total, int64_t first, int64_t count,
                   int64_t plane, float* out, void* stream);

// y[c, p] = x[c, p] / max(||x[:, p]||₂, 1e-12) * sqrt(channels) * gamma[c],
// then SiLU when silu; x is [channels, positions]; y may equal x.
void channel_rms_norm(const float* x, int64_t channels, int64_t positions, const float* gamma, bool silu, float* y,
                      void* stream);

// dst[c, dst_first + i] = src[c, src_first + i] for i < count (frames of `plane` floats).
void copy_frames(const float* src, int64_t src_frames, int64_t src_first, float* dst, int64_t dst_frames,
                 int64_t dst_first, int64_t channels, int64_t count, int64_t plane, void* stream);

// dst[c, dst_first + 2t + h] = mixed[h * channels + c, t] for t < frames, h < 2
// (mixed [2 channels, frames, plane], dst [channels, dst_frames, plane]).
void interleave_time_halves(const float* mixed, int64_t channels, int64_t frames, int64_t plane, float* dst,
                            int64_t dst_frames, int64_t dst_first, void* stream);

// out [cols, rows] = in [rows, cols]ᵀ.
void transpose(const float* in, int64_t rows, int64_t cols, float* out, void* stream);

// x = clamp(x, lo, hi).
void clamp_values(float* x, int64_t n, float lo, float hi, void* stream);

// rgb [frames, plane, 3] bytes = round((clamp(x, -1, 1) / 2 + 1/2) * 255) of
// pixels [3, frames, plane].
void pixels_to_rgb(const float* pixels, int64_t frames, int64_t plane, uint8_t* rgb, void* stream);

}  // namespace citadel::runtime::cuda
