// The Wan2.1 VAE decoder on a CUDA device (CUDA builds only), the
// counterpart of WanVaeDecoder / WanVaeStream with the same streaming
// contract (causal conv caches per request, latent frame 0 gives 1 pixel
// frame and later ones temporal_factor(); pushing frames one at a time or
// several at once gives identical pixels) and the same results within
// f16-GEMM tolerance. Activations are f32 [C, T, H, W] on the device; every
// convolution is either (VaeConvolutions::im2col_gemm, the default) im2col
// (f16, scaled by a power of two where a frame's values pass f16's range,
// except for convs that take an RMS norm's output) + one cuBLAS GEMM per
// output frame with f32 accumulation (runtime/cuda/vae_kernels.h), or
// (VaeConvolutions::cudnn) one cuDNN convolution over the gathered input
// sequence in TF32 (runtime/cuda/cudnn_conv3d.h; f32 weights); the middle
// attention block runs through runtime/cuda/gemm_attention.h (TF32). With
// cuDNN the pixels are identical for pushes of any size when
// frames_per_pass is 1 (every pass then has the same shapes, and a shape
// one algorithm in the whole process); with more, the passes' shapes depend
// on how the pushes split the frames, and a pass of another shape may run
// another algorithm.
//
// CudaWanVaeDecoder: the device weights (conv weights in im2col order, f16
// or, for cuDNN, f32; f32 biases and gammas), uploaded once per model;
// immutable, shareable.
// CudaWanVaeStream: one request's state (the causal convs' last frames, f32
// on the device); latents in and frames out on the host; work queued on the
// plugin's cudaStream_t. Streams sharing a CudaVaeWorkspace (the cuBLAS
// handle and reusable activation buffers) must be used one at a time, on one
// CUDA stream. Made by make_cuda_vae_backend (wan_vae_decoder.h) for the
// vista plugin on CUDA devices; tests/vista/vae_cuda_test.cpp checks it
// against WanVaeStream; bench_vista_vae --cuda times it. Not thread-safe.
#pragma once

#include "wan_vae_decoder.h"

#include "runtime/cuda/device_buffer.h"
#include "runtime/cuda/vae_kernels.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace citadel::vista {

struct CudaVaeConv {
  std::string name;  // the tensor prefix, for errors
  runtime::Conv3dGeometry geometry;
  runtime::cuda::DeviceBuffer weight;      // im2col_gemm: f16 [out, in * kt * kh * kw]
  runtime::cuda::DeviceBuffer weight_f32;  // cudnn: f32, the same order
  runtime::cuda::DeviceBuffer bias;        // f32 [out]
  int64_t cache_slot = -1;                 // the stream's history of this conv (kernel_t > 1)
  runtime::cuda::Conv3dGemmWeights view() const;
};

struct CudaVaeResidual {
  runtime::cuda::DeviceBuffer norm1_gamma, norm2_gamma;
  CudaVaeConv conv1, conv2;
  std::optional<CudaVaeConv> shortcut;
};

struct CudaVaeUpBlock {
  std::vector<CudaVaeResidual> resnets;
  std::optional<CudaVaeConv> spatial_conv, time_conv;  // the upsampler's (spatial set when there is one)
};

class CudaWanVaeDecoder {
 public:
  // Uploads `decoder`'s weights; it stays alive (denormalize, shapes).
  // cudnn: RuntimeError (UNSUPPORTED) when libcudnn.so.9 is missing.
  explicit CudaWanVaeDecoder(const WanVaeDecoder& decoder,
                             VaeConvolutions convolutions = VaeConvolutions::im2col_gemm);

  const WanVaeDecoder& host() const { return host_; }
  VaeConvolutions convolutions() const { return convolutions_; }
  int64_t cache_slots() const { return cache_slots_; }
  // 2 * MACs of every conv (and the attention's GEMMs) for a push of
  // `latent_frames` frames of h x w, `first` when the stream is new.
  double flops(int64_t latent_frames, int64_t height, int64_t width, bool first) const;
  // Device bytes of the uploaded weights.
  uint64_t weight_bytes() const;
  // Whether every RMS norm's output fits f16 as it is: |y| <= sqrt(C) *
  // max |gamma| < 32768 (true for any trained VAE); then the convs that take
  // a norm's output skip the per-frame max and the column scaling.
  bool norm_outputs_fit_f16() const { return norm_outputs_fit_f16_; }

  CudaVaeConv post_quant_conv, conv_in, conv_out;
  CudaVaeResidual mid_first, mid_second;
  runtime::cuda::DeviceBuffer attention_gamma;
  CudaVaeConv attention_qkv, attention_proj;
  std::vector<CudaVaeUpBlock> up_blocks;
  runtime::cuda::DeviceBuffer norm_out_gamma;

 private:
  CudaVaeConv upload(const VaeConv& conv);
  CudaVaeResidual upload(const VaeResidualBlock& block);
  runtime::cuda::DeviceBuffer upload_gamma(const std::vector<float>& gamma);

  const WanVaeDecoder& host_;
  VaeConvolutions convolutions_;
  int64_t cache_slots_ = 0;
  bool norm_outputs_fit_f16_ = true;
};

// The cuBLAS handle and reusable device buffers of the streams of one model.
class CudaVaeWorkspace;
std::shared_ptr<CudaVaeWorkspace> make_cuda_vae_workspace();

class CudaWanVaeStream final : public VaeStream {
 public:
  // frames_per_pass: latent frames decoded together (1 bounds the
  // activations to one latent frame's; the pixels do not depend on it).
  // workspace null: a workspace of its own.
  CudaWanVaeStream(const CudaWanVaeDecoder& decoder, void* stream,
                   std::shared_ptr<CudaVaeWorkspace> workspace = nullptr, int64_t frames_per_pass = 1);
  ~CudaWanVaeStream() override;
  CudaWanVaeStream(const CudaWanVaeStream&) = delete;
  CudaWanVaeStream& operator=(const CudaWanVaeStream&) = delete;

  VideoTensor push_pixels(const VideoTensor& latents) override;
  std::vector<RgbFrame> push(const VideoTensor& latents) override;
  int64_t latent_frames_decoded() const override { return latent_frames_; }
  uint64_t state_bytes() const override;

 private:
  friend class CudaVaePass;
  // Runs `visit` on the device pixels [3, m, H, W] of each pass over `latents`.
  template <typename Visit>
  void decode(const VideoTensor& latents, Visit&& visit);

  const CudaWanVaeDecoder& decoder_;
  void* stream_;
  std::shared_ptr<CudaVaeWorkspace> workspace_;
  int64_t frames_per_pass_;
  std::vector<runtime::cuda::DeviceBuffer> histories_;  // by cache slot; empty until first used
  std::vector<uint64_t> history_bytes_;
  int64_t latent_frames_ = 0, latent_height_ = 0, latent_width_ = 0;
};

}  // namespace citadel::vista
