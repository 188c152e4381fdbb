// PNG encoding of one RGB frame (uint8, HWC) with stb_image_write (Debian's
// libstb). Used by host/jobs for the frames a video job keeps on request
// (`png_frames`), and by tests. Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace citadel::media {

// The PNG file's bytes; throws MediaError when stb fails.
std::vector<uint8_t> encode_png(const uint8_t* rgb, uint32_t width, uint32_t height);
// Writes it to `path` (MediaError naming the path on failure).
void write_png(const std::filesystem::path& path, const uint8_t* rgb, uint32_t width, uint32_t height);

}  // namespace citadel::media
