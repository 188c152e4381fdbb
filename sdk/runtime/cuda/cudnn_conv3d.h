// CudnnConv3d: 3-D convolutions of f32 channel-first activations through
// cuDNN's convolution forward: out [O, T - kt + 1, H, W] = conv(x [I, T, H,
// W], weight f32 [O, I, kt, kh, kw] in torch's Conv3d order) + bias[O]
// (+ out when accumulate); stride 1, zero padding kh / 2 and kw / 2 in
// space, none in time (a causal conv's history is already in x). Tensor
// cores in TF32 (inputs rounded to TF32 by the hardware, f32 accumulation and
// result): f32's range, so no scaling of the inputs as the f16 im2col path
// needs (vae_kernels.h). libcudnn.so.9 is opened with dlopen, never linked,
// so builds and hosts without cuDNN work as before; the types come from
// cudnn.h when the build found it (CITADEL_HAVE_CUDNN_HEADER,
// sdk/CMakeLists.txt). The algorithm of each shape is chosen once per
// process and device by cuDNN's benchmark
// (cudnnFindConvolutionForwardAlgorithm) and kept, so the same shape always
// runs the same algorithm and gives the same values, whichever object runs
// it. One object per stream/thread (the cuDNN handle, descriptors and
// workspace); an object is not thread-safe, the shared choices are. Called by the vista VAE decoder (plugins/vista/vae/
// wan_vae_cuda_pass.cpp) when its convolutions are `cudnn`; tested by
// tests/vista/vae_cuda_test.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace citadel::runtime::cuda {

// Whether libcudnn.so.9 was found with every entry point used here; when not,
// cudnn_missing() says why (empty when available).
bool cudnn_available();
std::string cudnn_missing();

struct Conv3dCudnnShape {
  int64_t in_channels = 0, out_channels = 0;
  int64_t kernel_t = 1, kernel_h = 1, kernel_w = 1;
  int64_t frames = 0, height = 0, width = 0;  // of x
};

class CudnnConv3d {
 public:
  // Throws RuntimeError (UNSUPPORTED) naming the library when cuDNN is missing.
  CudnnConv3d();
  ~CudnnConv3d();
  CudnnConv3d(const CudnnConv3d&) = delete;
  CudnnConv3d& operator=(const CudnnConv3d&) = delete;

  // All pointers are device pointers; bias may be null; out must not alias x.
  void forward(const float* x, const Conv3dCudnnShape& shape, const float* weight, const float* bias, float* out,
               bool accumulate, void* stream);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace citadel::runtime::cuda
