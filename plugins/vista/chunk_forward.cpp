// The CPU ChunkForward backend (see chunk_forward.h).
#include "chunk_forward.h"

namespace citadel::vista {
namespace {

class CpuText : public PreparedText {
 public:
  explicit CpuText(TextContext context) : context(std::move(context)) {}
  TextContext context;
};

class CpuChunkForward : public ChunkForward {
 public:
  CpuChunkForward(const WanTransformer& model, runtime::ThreadPool& pool) : model_(model), pool_(pool) {}
  const WanConfig& config() const override { return model_.config(); }
  std::unique_ptr<PreparedText> prepare_text(const float* text_embeds, int64_t tokens) override {
    return std::make_unique<CpuText>(model_.prepare_text(pool_, text_embeds, tokens));
  }
  std::vector<float> forward(const float* latents, const ChunkPosition& chunk, const float* frame_timesteps,
                             const PreparedText& text, const CacheBlocks& cache, bool commit) override {
    FrameKv kv(cache.geometry, cache.addresses, cache.num_blocks, cache.tokens_per_frame, cache.window,
               chunk.first_frame, chunk.shape.frames);
    return model_.forward(pool_, latents, chunk.shape, frame_timesteps, chunk.first_frame,
                          static_cast<const CpuText&>(text).context, kv, commit);
  }

 private:
  const WanTransformer& model_;
  runtime::ThreadPool& pool_;
};

}  // namespace

std::unique_ptr<ChunkForward> make_cpu_chunk_forward(const WanTransformer& model, runtime::ThreadPool& pool) {
  return std::make_unique<CpuChunkForward>(model, pool);
}

}  // namespace citadel::vista
