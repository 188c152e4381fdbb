// prepare_image: the reference's views (process/image_process.py with
// Pillow): Tiny/Small resize to S² (aspect not kept); Base/Large/Gundam-global
// ImageOps.pad to S² (aspect kept, centred, grey 127); Gundam tiles from a
// resize to (640*columns, 640*rows), cut row-major. Then the normalised CHW
// pixels. The SHA-256 content hash is over the decoded pixels (plan_image).
#include "deep_encoder.h"

#include "runtime/kernels/resample.h"

#include <openssl/evp.h>

#include <cmath>
#include <cstring>
#include <string>

namespace citadel::deepseek_ocr {
namespace {

constexpr uint8_t kPadGrey = 127;  // int(0.5 * 255)

struct Rgb8 {
  int width = 0, height = 0;
  std::vector<uint8_t> pixels;  // HWC
};

Rgb8 resized(const uint8_t* src, int src_w, int src_h, int w, int h) {
  Rgb8 out{w, h, std::vector<uint8_t>(static_cast<size_t>(w) * static_cast<size_t>(h) * 3)};
  if (w == src_w && h == src_h) {
    std::memcpy(out.pixels.data(), src, out.pixels.size());
  } else {
    runtime::resize_bicubic_u8(src, src_w, src_h, 3, out.pixels.data(), w, h);
  }
  return out;
}

// Python's round(): to nearest, ties to even (the default FP rounding mode).
int python_round(double v) { return static_cast<int>(std::nearbyint(v)); }

// ImageOps.pad(image, (side, side), BICUBIC, color=127): contain() then paste centred.
Rgb8 pad_to_square(const DecodedImage& image, int side) {
  const double ratio = static_cast<double>(image.width) / image.height;
  int w = side, h = side;
  if (ratio > 1.0) {
    h = python_round(static_cast<double>(image.height) / image.width * side);
  } else if (ratio < 1.0) {
    w = python_round(static_cast<double>(image.width) / image.height * side);
  }
  Rgb8 out{side, side, std::vector<uint8_t>(static_cast<size_t>(side) * side * 3, kPadGrey)};
  if (w <= 0 || h <= 0) return out;  // contain() gives an empty image: all padding
  const Rgb8 fitted = resized(image.rgb.data(), image.width, image.height, w, h);
  const int x0 = w != side ? python_round((side - w) * 0.5) : 0;
  const int y0 = w != side ? 0 : python_round((side - h) * 0.5);
  for (int y = 0; y < h; ++y) {
    std::memcpy(&out.pixels[(static_cast<size_t>(y0 + y) * side + x0) * 3],
                &fitted.pixels[static_cast<size_t>(y) * w * 3], static_cast<size_t>(w) * 3);
  }
  return out;
}

// uint8 HWC -> f32 CHW, (v/255 - 0.5)/0.5 in f32 as ToTensor + Normalize.
void normalise_into(const Rgb8& view, float* out) {
  const size_t plane = static_cast<size_t>(view.width) * view.height;
  for (size_t i = 0; i < plane; ++i) {
    for (size_t c = 0; c < 3; ++c) {
      const float v = static_cast<float>(view.pixels[i * 3 + c]) / 255.0f;
      out[c * plane + i] = (v - 0.5f) / 0.5f;
    }
  }
}

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) {
    if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) {
      EVP_MD_CTX_free(ctx_);
      throw runtime::RuntimeError(CITADEL_ERR_INTERNAL, "deepseek-ocr: SHA-256 unavailable (OpenSSL)");
    }
  }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t n) { EVP_DigestUpdate(ctx_, data, n); }
  void update_int(int64_t v) { update(&v, sizeof v); }
  ContentHash finish() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(ctx_, digest, &length);
    ContentHash h;
    for (int i = 7; i >= 0; --i) {
      h.low = (h.low << 8) | digest[i];
      h.high = (h.high << 8) | digest[8 + i];
    }
    return h;
  }

 private:
  EVP_MD_CTX* ctx_;
};

}  // namespace

size_t ImagePlan::prepared_bytes() const {
  const size_t global = size_t{3} * static_cast<size_t>(global_side) * static_cast<size_t>(global_side);
  const size_t tiles = grid.tiled() ? size_t{3} * static_cast<size_t>(tile_side) * static_cast<size_t>(tile_side) *
                                          static_cast<size_t>(grid.count())
                                    : 0;
  return (global + tiles) * sizeof(float);
}

ImagePlan plan_image(const DecodedImage& image, ResolutionMode mode, int max_crops) {
  if (image.width <= 0 || image.height <= 0 ||
      image.rgb.size() != static_cast<size_t>(image.width) * static_cast<size_t>(image.height) * 3) {
    throw ImageInputError("deepseek-ocr: decoded image has an inconsistent size");
  }
  ImagePlan plan;
  plan.source_width = image.width;
  plan.source_height = image.height;
  plan.grid = tile_grid(mode, image.width, image.height, max_crops);
  plan.global_side = global_view_side(mode);
  plan.tile_side = tile_side(mode);
  plan.num_image_tokens = num_image_tokens(mode, image.width, image.height, max_crops);
  Sha256 hash;
  const std::string tag = "deepseek-ocr/pixels/v2/" + std::string(resolution_mode_name(mode));
  hash.update(tag.data(), tag.size());
  hash.update_int(plan.grid.columns);
  hash.update_int(plan.grid.rows);
  hash.update_int(image.width);
  hash.update_int(image.height);
  hash.update(image.rgb.data(), image.rgb.size());
  plan.content_hash = hash.finish();
  return plan;
}

PreparedImage prepare_image(const DecodedImage& image, ResolutionMode mode, int max_crops) {
  const ImagePlan plan = plan_image(image, mode, max_crops);
  PreparedImage out;
  out.mode = mode;
  out.source_width = plan.source_width;
  out.source_height = plan.source_height;
  out.grid = plan.grid;
  out.global_side = plan.global_side;
  out.tile_side = plan.tile_side;
  out.num_image_tokens = plan.num_image_tokens;
  out.content_hash = plan.content_hash;

  const uint8_t* source = image.rgb.data();
  const bool plain_resize = mode == ResolutionMode::tiny || mode == ResolutionMode::small;
  const Rgb8 global = plain_resize ? resized(source, image.width, image.height, out.global_side, out.global_side)
                                   : pad_to_square(image, out.global_side);
  out.global_pixels.resize(static_cast<size_t>(3) * out.global_side * out.global_side);
  normalise_into(global, out.global_pixels.data());

  if (out.grid.tiled()) {
    const int s = out.tile_side;
    const Rgb8 big = resized(source, image.width, image.height, s * out.grid.columns, s * out.grid.rows);
    const size_t tile_floats = static_cast<size_t>(3) * s * s;
    out.tile_pixels.resize(tile_floats * static_cast<size_t>(out.grid.count()));
    Rgb8 tile{s, s, std::vector<uint8_t>(static_cast<size_t>(s) * s * 3)};
    for (int t = 0; t < out.grid.count(); ++t) {
      const int x0 = (t % out.grid.columns) * s, y0 = (t / out.grid.columns) * s;
      for (int y = 0; y < s; ++y) {
        std::memcpy(&tile.pixels[static_cast<size_t>(y) * s * 3],
                    &big.pixels[(static_cast<size_t>(y0 + y) * big.width + x0) * 3], static_cast<size_t>(s) * 3);
      }
      normalise_into(tile, out.tile_pixels.data() + tile_floats * static_cast<size_t>(t));
    }
  }
  return out;
}

PreparedImage prepare_image(std::span<const uint8_t> bytes, ResolutionMode mode, const ImageLimits& limits,
                            int max_crops) {
  return prepare_image(decode_image(bytes, limits), mode, max_crops);
}

}  // namespace citadel::deepseek_ocr
