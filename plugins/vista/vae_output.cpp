// Streaming the VAE decode of finished chunks into RGB frame items (see vae_output.h).
#include "vae_output.h"

#include <algorithm>

namespace citadel::vista {

std::vector<OutputItem> DecodedFrameOutput::emit(const std::vector<float>& clean, const ChunkPosition& chunk,
                                                 int64_t channels) {
  VideoTensor latents(channels, chunk.shape.frames, chunk.shape.height, chunk.shape.width);
  std::copy(clean.begin(), clean.end(), latents.data.begin());
  decoder_.denormalize(latents);
  std::vector<OutputItem> items;
  for (RgbFrame& frame : stream_->push(latents)) {
    if (emitted_ == frames_) break;
    ++emitted_;
    OutputItem item;
    item.data_type = "image/x-raw-rgb;width=" + std::to_string(frame.width) + ";height=" +
                     std::to_string(frame.height) + ";chunk=" + std::to_string(chunk.index);
    item.data = std::move(frame.rgb);
    items.push_back(std::move(item));
  }
  return items;
}

}  // namespace citadel::vista
