// The CUDA ChunkForward backend (CUDA builds only; see chunk_forward.h): the
// step's block addresses are uploaded as the device block table of each pass.
#include "chunk_forward.h"
#include "wan_transformer_cuda.h"

namespace citadel::vista {
namespace {

class CudaText : public PreparedText {
 public:
  explicit CudaText(CudaWanTransformer::Text text) : text(std::move(text)) {}
  CudaWanTransformer::Text text;
};

class CudaChunkForward : public ChunkForward {
 public:
  CudaChunkForward(const WanTransformer& model, runtime::ThreadPool& pool, void* stream, CudaPassOptions options)
      : model_(model), pool_(pool), cuda_(model, stream, options) {}
  const WanConfig& config() const override { return model_.config(); }
  std::unique_ptr<PreparedText> prepare_text(const float* text_embeds, int64_t tokens) override {
    return std::make_unique<CudaText>(cuda_.prepare_text(pool_, text_embeds, tokens));
  }
  std::vector<float> forward(const float* latents, const ChunkPosition& chunk, const float* frame_timesteps,
                             const PreparedText& text, const CacheBlocks& cache, bool commit) override {
    const std::vector<void*> addresses(cache.addresses, cache.addresses + cache.num_blocks);
    const runtime::cuda::DeviceBuffer table = runtime::cuda::DeviceBuffer::from_vector(addresses, "vista block table");
    const DeviceChunkKv kv = device_chunk_kv(cache.geometry, static_cast<void* const*>(table.data()),
                                             cache.tokens_per_frame, cache.window, chunk.first_frame,
                                             chunk.shape.frames);
    return cuda_.forward(pool_, latents, chunk.shape, frame_timesteps, chunk.first_frame,
                         static_cast<const CudaText&>(text).text, kv, commit);
  }
  uint64_t device_weight_bytes() const override { return cuda_.weight_bytes(); }

 private:
  const WanTransformer& model_;
  runtime::ThreadPool& pool_;
  CudaWanTransformer cuda_;
};

}  // namespace

std::unique_ptr<ChunkForward> make_cuda_chunk_forward(const WanTransformer& model, runtime::ThreadPool& pool,
                                                      void* stream) {
  return std::make_unique<CudaChunkForward>(model, pool, stream, CudaPassOptions{});
}

std::unique_ptr<ChunkForward> make_cuda_chunk_forward(const WanTransformer& model, runtime::ThreadPool& pool,
                                                      void* stream, CudaPassOptions options) {
  return std::make_unique<CudaChunkForward>(model, pool, stream, options);
}

}  // namespace citadel::vista
