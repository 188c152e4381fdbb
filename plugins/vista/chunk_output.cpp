// Latent chunk items (see chunk_output.h).
#include "chunk_output.h"

#include <cstring>

namespace citadel::vista {

std::vector<OutputItem> LatentOutput::emit(const std::vector<float>& clean, const ChunkPosition& chunk,
                                           int64_t channels) {
  OutputItem item;
  item.data_type = "application/x-vista-latents;channels=" + std::to_string(channels) +
                   ";frames=" + std::to_string(chunk.shape.frames) + ";height=" + std::to_string(chunk.shape.height) +
                   ";width=" + std::to_string(chunk.shape.width) + ";first_frame=" + std::to_string(chunk.first_frame);
  item.data.resize(clean.size() * sizeof(float));
  std::memcpy(item.data.data(), clean.data(), item.data.size());
  return {std::move(item)};
}

}  // namespace citadel::vista
