// The image side of the deepseek-ocr plugin: from encoded image bytes to the
// embeddings of the prompt's `<image>` placeholder tokens, as DeepSeek-OCR
// computes them (deepseek-ai/DeepSeek-OCR process/image_process.py and
// deepencoder/, checked against tools/deepseek_ocr).
//
//   bytes --decode_image--> DecodedImage (RGB8, limits checked from the header
//         --plan_image--> ImagePlan (tile grid, placeholder count, content hash)
//         --prepare_image--> PreparedImage (global view + tiles, f32 [-1,1],
//                            placeholder count, tile grid, content hash)
//         --DeepEncoder::encode--> f32 [num_image_tokens, lm_hidden]
//
// Called by the plugin (plugins/deepseek-ocr: request_open plans the image
// and lays out the prompt; its preparation thread prepares it; the prefill
// encoder thread, or the prefill step, encodes it). Errors are
// runtime::RuntimeError; bad input is ImageInputError (INVALID_ARGUMENT) with
// a message naming the problem. decode_image / plan_image / prepare_image are
// pure and thread-safe; a DeepEncoder is used from one thread at a time.
#pragma once

#include "runtime/core/error.h"
#include "runtime/core/thread_pool.h"

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::deepseek_ocr {

// ---- resolution modes -------------------------------------------------------

// Tiny 512², Small 640² (plain resize, aspect not kept), Base 1024², Large
// 1280² (aspect kept, padded with grey 127), Gundam (1024² padded global view
// plus 640² tiles when the image exceeds 640 on a side).
enum class ResolutionMode { tiny, small, base, large, gundam };

// "tiny" | "small" | "base" | "large" | "gundam" (exact, lower case). Throws
// ImageInputError naming the bad value and the valid ones.
ResolutionMode parse_resolution_mode(std::string_view name);
std::string_view resolution_mode_name(ResolutionMode mode);

// Side of the global view (512, 640, 1024, 1280, 1024) and of a tile (== the
// global side, except 640 for Gundam).
int global_view_side(ResolutionMode mode);
int tile_side(ResolutionMode mode);

// ---- input errors and limits --------------------------------------------------

// Bad image input (not an image, corrupt or truncated data, too large, bad
// mode): the HTTP side turns it into a 400 with the message.
class ImageInputError : public runtime::RuntimeError {
 public:
  explicit ImageInputError(const std::string& message)
      : runtime::RuntimeError(CITADEL_ERR_INVALID_ARGUMENT, message) {}
};

// Checked before decoding: the byte count, then width/height read from the
// header (so a decompression bomb is refused before its pixels are allocated).
struct ImageLimits {
  int64_t max_encoded_bytes = int64_t{64} << 20;  // 64 MiB
  int64_t max_side = 16384;                        // pixels, either side
  int64_t max_pixels = 50'000'000;                 // width * height
};

// ---- decoding -----------------------------------------------------------------

// 8-bit RGB, row-major, rgb.size() == width * height * 3. Grey is replicated,
// alpha dropped (not composited), palettes expanded, 16-bit reduced to the
// high byte: as Pillow's convert("RGB") does.
struct DecodedImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;
};

// PNG, JPEG, BMP, GIF (first frame), 8-bit PNM (stb_image) and WebP (libwebp).
// Throws ImageInputError: unknown format, corrupt/truncated data, or a limit
// exceeded (message names the limit and the image's size). No EXIF rotation
// (the reference applies none).
DecodedImage decode_image(std::span<const uint8_t> bytes, const ImageLimits& limits = {});

// ---- preprocessing --------------------------------------------------------------

// Tiles per row (columns) and per column (rows); {1,1} means no tiles.
struct TileGrid {
  int columns = 1;
  int rows = 1;
  int count() const { return columns * rows; }
  bool tiled() const { return count() > 1; }
};

// The tile grid `mode` gives an image of width x height: {1,1} unless Gundam
// and a side > 640; then the grid with 2 <= columns*rows <= max_crops closest
// to the aspect ratio (ties as the reference breaks them).
inline constexpr int kDefaultMaxCrops = 6;  // DeepSeek's vLLM config (the HF infer() uses 9)
TileGrid tile_grid(ResolutionMode mode, int width, int height, int max_crops = kDefaultMaxCrops);

// `<image>` placeholders the image needs: q*(q+1)+1 for the global view
// (q = side/64: rows of q tokens + image_newline, then view_seperator), plus
// (10*rows)*(10*columns+1) for Gundam tiles. Tiny 73, Small 111, Base 273,
// Large 421.
int64_t num_image_tokens(ResolutionMode mode, int width, int height,
                         int max_crops = kDefaultMaxCrops);

// 128 bits of SHA-256 over a version tag, the mode, the grid, the decoded
// image's size and its RGB pixels: equal hashes => equal encoder input (the
// views are a pure function of those), so it is the prefix-cache extra key of
// the image's placeholder run (citadel_prefix_extra_key hash_low/hash_high:
// the digest's first 16 bytes as two little-endian uint64). It is computed
// from the decoded pixels, not the views, so that planning a request
// (plan_image) needs no resampling. The same picture re-encoded (PNG vs
// lossless WebP) hashes equal; the same picture in another mode does not.
struct ContentHash {
  uint64_t low = 0;
  uint64_t high = 0;
  bool operator==(const ContentHash&) const = default;
};

// A decoded image made into the encoder's inputs. Pixels are CHW f32
// ((v/255 - 0.5)/0.5, channels RGB), exactly the reference's tensors.
struct PreparedImage {
  ResolutionMode mode = ResolutionMode::base;
  int source_width = 0;
  int source_height = 0;
  TileGrid grid;                     // {1,1}: no tiles
  int global_side = 0;               // global view is [3, global_side, global_side]
  int tile_side = 0;                 // each tile is [3, tile_side, tile_side]
  std::vector<float> global_pixels;  // 3 * global_side²
  std::vector<float> tile_pixels;    // grid.count() * 3 * tile_side², row-major tiles; empty if untiled
  int64_t num_image_tokens = 0;      // placeholders in the prompt
  ContentHash content_hash;
};

// What a request's plan needs from its decoded image, without the views: the
// tile grid, the placeholder count and the content hash (one SHA-256 pass over
// the pixels, no resampling). prepare_image gives the same three.
struct ImagePlan {
  int source_width = 0;
  int source_height = 0;
  TileGrid grid;
  int64_t num_image_tokens = 0;
  int global_side = 0;
  int tile_side = 0;
  ContentHash content_hash;
  // Bytes of the f32 pixels prepare_image will hold (global view + tiles).
  size_t prepared_bytes() const;
};
ImagePlan plan_image(const DecodedImage& image, ResolutionMode mode, int max_crops = kDefaultMaxCrops);

// Resizes/pads/tiles as process/image_process.py does with Pillow (BICUBIC,
// uint8 rounding per pass, grey (127,127,127) padding, centred).
PreparedImage prepare_image(const DecodedImage& image, ResolutionMode mode,
                            int max_crops = kDefaultMaxCrops);
// decode_image then prepare_image.
PreparedImage prepare_image(std::span<const uint8_t> bytes, ResolutionMode mode,
                            const ImageLimits& limits = {}, int max_crops = kDefaultMaxCrops);

// ---- the encoder --------------------------------------------------------------------

// SAM-base ViTDet + neck + 16x compressor, CLIP-L on the compressed map,
// concat, linear projector, and the reference's layout of image_newline /
// view_seperator. Sizes are read from the checkpoint's tensor shapes (the
// released model and the tiny test checkpoints load alike).
class DeepEncoder {
 public:
  virtual ~DeepEncoder() = default;

  // Loads the `model.sam_model.*`, `model.vision_model.*`,
  // `model.projector.*`, `model.image_newline` and `model.view_seperator`
  // tensors from a checkpoint folder (model.safetensors or an index; mmap).
  // Throws RuntimeError naming the tensor when one is missing or has a shape
  // or dtype the layout does not allow. CPU: bf16/f16 matrices stay mapped
  // and are widened per block inside the matmul; norms, biases and position
  // tables are widened to f32 at load. `pool` must outlive the encoder.
  static std::unique_ptr<DeepEncoder> load_cpu(const std::filesystem::path& checkpoint,
                                               runtime::ThreadPool& pool);
  // The same on the current CUDA device: matrices as f16 (cuBLAS, fp32
  // accumulation), norms/biases/tables f32, activations f32 between kernels,
  // on a non-blocking stream of the encoder's own; encode() makes that device
  // current on the calling thread (any thread, one call at a time) and
  // returns host memory. Throws RuntimeError (UNSUPPORTED) in a build
  // without CUDA. `pool` (host-side table resizes) must outlive the encoder.
  static std::unique_ptr<DeepEncoder> load_cuda(const std::filesystem::path& checkpoint,
                                                runtime::ThreadPool& pool);

  // Width of the language model's embeddings (1280 released).
  virtual int64_t lm_hidden() const = 0;

  // Row i is the embedding of the i-th `<image>` placeholder of the prompt:
  // for Gundam the tiles' (10*rows) x (10*columns) map, each row followed by
  // image_newline; then the global q x q map, each row + image_newline; then
  // view_seperator. Returns image.num_image_tokens * lm_hidden() floats.
  virtual std::vector<float> encode(const PreparedImage& image) = 0;

  // The stages, for tests and benchmarks: one view's features, each
  // [q*q, C] row-major over the q x q map. `pixels` is [views, 3, side, side].
  struct ViewFeatures {
    int64_t views = 0, tokens_per_view = 0;
    std::vector<float> sam;        // views * tokens * sam channels (compressed map)
    std::vector<float> clip;       // views * tokens * clip hidden (class token dropped)
    std::vector<float> projected;  // views * tokens * lm_hidden
  };
  virtual ViewFeatures encode_views(const float* pixels, int64_t views, int side) = 0;
};

}  // namespace citadel::deepseek_ocr
