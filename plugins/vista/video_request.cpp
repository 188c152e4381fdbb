// A video request's step logic (see video_request.h).
#include "video_request.h"

#include "runtime/core/error.h"

namespace citadel::vista {

VideoRequest::VideoRequest(std::string prompt, VideoLayout layout, std::unique_ptr<ChunkOutput> output, uint64_t seed)
    : prompt_(std::move(prompt)), layout_(layout), output_(std::move(output)), noise_(seed) {}

VideoRequest::Progress VideoRequest::advance(const GenerationContext& context, int64_t computed, int64_t new_tokens,
                                             void* const* blocks, int64_t num_blocks) {
  if (!text_) throw runtime::RuntimeError(CITADEL_ERR_INTERNAL, "vista: request stepped before its prompt was encoded");
  Progress progress;
  // Positions before our last step's end handed out again: the host
  // recomputes the request (preemption without swap); the blocks are new.
  if (computed < host_computed_) cached_ = 0;
  const int64_t end = computed + new_tokens;
  host_computed_ = end;
  const int64_t target = layout_.chunks_due(end);
  const CacheBlocks cache{context.geometry, blocks, num_blocks, layout_.tokens_per_frame, layout_.window};
  while (cached_ < target) {
    const ChunkPosition chunk = layout_.chunk(cached_);
    if (cached_ < generated_) {
      commit_chunk(context.model, *text_, chunk, clean_[static_cast<size_t>(cached_)], cache);
    } else {
      std::vector<float> clean = denoise_chunk(context.model, *text_, chunk, context.timesteps, noise_, cache);
      commit_chunk(context.model, *text_, chunk, clean, cache);
      for (OutputItem& item : output_->emit(clean, chunk, context.model.config().out_channels))
        queue_.push_back(std::move(item));
      clean_.push_back(std::move(clean));
      ++generated_;
      ++progress.chunks_made;
    }
    ++cached_;
  }
  if (!queue_.empty()) {
    current_ = std::move(queue_.front());
    queue_.pop_front();
    progress.item = &current_;
  }
  if (generated_ == layout_.num_chunks && queue_.empty()) {
    progress.finished = true;
  } else if (end >= layout_.prompt_tokens + appended_) {
    progress.append = true;
    ++appended_;
  }
  return progress;
}

}  // namespace citadel::vista
