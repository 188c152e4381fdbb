// Internals of the CUDA VAE decoder (wan_vae_cuda.h), shared by its two
// sources only: the workspace (cuBLAS handle, the cuDNN convolutions when
// the decoder uses them, a free list of device buffers
// reused across passes and streams, all on one CUDA stream so reuse is
// stream-ordered), DeviceVideo (an f32 [C, T, H, W] activation borrowed from
// the workspace) and CudaVaePass (one decode pass of a few latent frames
// over a stream's conv caches, the device version of
// WanVaeStream::push_pixels). Not thread-safe.
#pragma once

#include "wan_vae_cuda.h"

#include "runtime/cuda/cublas_matmul.h"
#include "runtime/cuda/cudnn_conv3d.h"

#include <memory>
#include <vector>

namespace citadel::vista {

class CudaVaeWorkspace {
 public:
  runtime::cuda::CublasContext cublas;
  // Made on first use (a decoder with cudnn convolutions).
  runtime::cuda::CudnnConv3d& cudnn() {
    if (!cudnn_) cudnn_ = std::make_unique<runtime::cuda::CudnnConv3d>();
    return *cudnn_;
  }

  // A free buffer of at least `bytes` (and not much more), else a new one.
  runtime::cuda::DeviceBuffer take(size_t bytes, const char* what);
  void give(runtime::cuda::DeviceBuffer buffer);

 private:
  std::vector<runtime::cuda::DeviceBuffer> free_;
  std::unique_ptr<runtime::cuda::CudnnConv3d> cudnn_;
};

struct DeviceVideo {
  int64_t channels = 0, frames = 0, height = 0, width = 0;
  runtime::cuda::DeviceBuffer buffer;
  CudaVaeWorkspace* workspace = nullptr;  // where the buffer goes back

  DeviceVideo() = default;
  DeviceVideo(CudaVaeWorkspace& from, int64_t c, int64_t t, int64_t h, int64_t w)
      : channels(c), frames(t), height(h), width(w),
        buffer(from.take(static_cast<size_t>(c * t * h * w) * sizeof(float), "vista vae activation")),
        workspace(&from) {}
  DeviceVideo(DeviceVideo&& other) noexcept = default;
  DeviceVideo& operator=(DeviceVideo&& other) noexcept {
    if (this != &other) {
      release();
      channels = other.channels, frames = other.frames, height = other.height, width = other.width;
      buffer = std::move(other.buffer);
      workspace = other.workspace;
    }
    return *this;
  }
  ~DeviceVideo() { release(); }

  void release() {
    if (workspace != nullptr && buffer.data() != nullptr) workspace->give(std::move(buffer));
    buffer = runtime::cuda::DeviceBuffer();
  }
  float* data() const { return buffer.as<float>(); }
  int64_t plane() const { return height * width; }
};

class CudaVaePass {
 public:
  explicit CudaVaePass(CudaWanVaeStream& stream);
  // latents: host [z_dim, frames, height, width], already denormalised.
  // Returns the clamped pixels [3, m, s*height, s*width].
  DeviceVideo run(const float* latents, int64_t frames, int64_t height, int64_t width);

 private:
  DeviceVideo make(int64_t channels, int64_t frames, int64_t height, int64_t width);
  DeviceVideo copy(const DeviceVideo& x);
  DeviceVideo norm(const DeviceVideo& x, const runtime::cuda::DeviceBuffer& gamma, bool silu);
  // conv over frames [first, first + count) of x, after the conv's history
  // when kernel_t > 1 (then updated), into out (accumulating) or a new tensor.
  // normed: x is an RMS norm's output (decoder_.norm_outputs_fit_f16()), so
  // its columns need no scaling and its frames no max.
  void convolve(const CudaVaeConv& conv, const DeviceVideo& x, int64_t first, int64_t count, bool upsample,
                DeviceVideo& out, bool accumulate, bool normed = false);
  DeviceVideo convolve(const CudaVaeConv& conv, const DeviceVideo& x, int64_t first, int64_t count,
                       bool upsample = false, bool normed = false);
  // The conv through cuDNN (VaeConvolutions::cudnn): its input sequence
  // gathered into one contiguous tensor (unless it already is one).
  void convolve_cudnn(const CudaVaeConv& conv, const runtime::cuda::Conv3dGemmInput& input, DeviceVideo& out,
                      bool accumulate);
  DeviceVideo residual(const CudaVaeResidual& block, const DeviceVideo& x);
  DeviceVideo attention(const DeviceVideo& x);
  DeviceVideo upsample(const CudaVaeUpBlock& block, const DeviceVideo& x);

  CudaWanVaeStream& stream_;
  const CudaWanVaeDecoder& decoder_;
  CudaVaeWorkspace& workspace_;
  void* cuda_stream_;
};

}  // namespace citadel::vista
