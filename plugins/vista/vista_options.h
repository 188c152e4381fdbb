// The vista plugin's options (plugin.yaml defaults + the models.d entry):
//   denoising_steps: [1000, 750, 500, 250]  steps on the 1000-step grid, first = pure noise
//   shift: 5.0                    timestep warp (flow_schedule.h)
//   frames_per_chunk: 3           latent frames generated together
//   kv_cache_dtype: bf16          bf16 | f16 | f32
//   tokens_per_block: 16
//   window_frames: 0              rolling window in latent frames (0: the whole video is cached)
//   sink_frames: 3                first latent frames pinned in the window
//   max_latent_frames: 21         longest video (1 + 4*(n-1) frames); <= the RoPE table
//   default_width / default_height / default_frames: 832 / 480 / 81
//   max_width / max_height: 1920
//   text_len: 512                 UMT5 tokens (padded/truncated)
//   output: auto                  auto (RGB frames when the checkpoint has vae/) | latents | frames
//   threads: 0                    0: the host's cpu_threads
//   max_batch_requests: 4, max_step_tokens: 0 (0: one chunk at the default size)
//   cuda_attention: mma_sync      on a CUDA device: mma_sync | wgmma (Hopper's
//                                 warpgroup kernel, mma.sync elsewhere)
//   cuda_fused_epilogues: false   on a CUDA device: the linear layers' biases,
//                                 f16 inputs and GELU fused (video_epilogues.h)
//   vae_convolutions: im2col      on a CUDA device: im2col (f16 + cuBLAS) | cudnn
//                                 (TF32; needs libcudnn.so.9)
// Unknown keys and bad values throw RuntimeError (INVALID_ARGUMENT) naming
// the option. Used by VistaModel.
#pragma once

#include "frame_kv.h"
#include "video_input.h"

#include "runtime/core/dtype.h"

#include <boost/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace citadel::vista {

struct VistaOptions {
  std::vector<double> denoising_steps;
  double shift = 5.0;
  int64_t frames_per_chunk = 3;
  runtime::DType kv_dtype = runtime::DType::bf16;
  int64_t tokens_per_block = 16;
  FrameWindow window;
  VideoDefaults video;
  int64_t text_len = 512;
  std::string output = "auto";
  unsigned threads = 0;
  uint32_t max_batch_requests = 4;
  uint32_t max_step_tokens = 0;
  std::string cuda_attention = "mma_sync";
  bool cuda_fused_epilogues = false;
  std::string vae_convolutions = "im2col";

  static VistaOptions parse(const boost::json::object& options);
};

}  // namespace citadel::vista
