// ChunkForward: the compute backend of the chunk passes, chosen once per
// model: the CPU (WanTransformer over FrameKv) or, in CUDA builds on a CUDA
// device, CudaWanTransformer over the device cache blocks. Both take the
// same description of a request's cache (CacheBlocks: the step's block
// addresses, host or device memory as the instance's device is, and the frame
// window) and return the flow prediction on the host. Used by the chunk
// denoiser and VideoRequest; made by VistaModel.
#pragma once

#include "frame_kv.h"
#include "wan_transformer.h"

#include "runtime/core/thread_pool.h"

#include <memory>
#include <vector>

namespace citadel::vista {

struct CacheBlocks {
  KvGeometry geometry;
  void* const* addresses = nullptr;  // the request's blocks for this step
  int64_t num_blocks = 0;
  int64_t tokens_per_frame = 0;
  FrameWindow window;
};

// A prompt's cross-attention K/V in the backend's memory (per request).
class PreparedText {
 public:
  virtual ~PreparedText() = default;
};

class ChunkForward {
 public:
  virtual ~ChunkForward() = default;
  virtual const WanConfig& config() const = 0;
  // text_embeds [tokens, text_dim] on the host.
  virtual std::unique_ptr<PreparedText> prepare_text(const float* text_embeds, int64_t tokens) = 0;
  // WanTransformer::forward for `chunk`, attending to the window's history in
  // `cache`; with commit the chunk's K/V are written into it.
  virtual std::vector<float> forward(const float* latents, const ChunkPosition& chunk, const float* frame_timesteps,
                                     const PreparedText& text, const CacheBlocks& cache, bool commit) = 0;
  // Device bytes its weights take (0 on the CPU).
  virtual uint64_t device_weight_bytes() const { return 0; }
};

std::unique_ptr<ChunkForward> make_cpu_chunk_forward(const WanTransformer& model, runtime::ThreadPool& pool);
// CUDA builds only: the device pass on `stream` (a cudaStream_t).
std::unique_ptr<ChunkForward> make_cuda_chunk_forward(const WanTransformer& model, runtime::ThreadPool& pool,
                                                      void* stream);

}  // namespace citadel::vista
