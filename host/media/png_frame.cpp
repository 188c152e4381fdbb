// encode_png / write_png over stbi_write_png_to_func.
#include "host/media/png_frame.h"

#include "host/media/video_file_writer.h"

#include <stb_image_write.h>

#include <fstream>
#include <string>

namespace citadel::media {

namespace {

void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  const auto* bytes = static_cast<const uint8_t*>(data);
  out->insert(out->end(), bytes, bytes + size);
}

}  // namespace

std::vector<uint8_t> encode_png(const uint8_t* rgb, uint32_t width, uint32_t height) {
  std::vector<uint8_t> png;
  if (width == 0 || height == 0 ||
      stbi_write_png_to_func(append_bytes, &png, static_cast<int>(width), static_cast<int>(height), 3, rgb,
                             static_cast<int>(width * 3)) == 0)
    throw MediaError("png: cannot encode a " + std::to_string(width) + "x" + std::to_string(height) + " frame");
  return png;
}

void write_png(const std::filesystem::path& path, const uint8_t* rgb, uint32_t width, uint32_t height) {
  const std::vector<uint8_t> png = encode_png(rgb, width, height);
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
  if (!file) throw MediaError(path.string() + ": cannot write the PNG frame");
}

}  // namespace citadel::media
