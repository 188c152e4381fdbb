// The native input of a text-to-video request, parsed and validated against
// the model's limits:
//   {"prompt": "text", "size": "WxH" | "width": W, "height": H,
//    "frames": 1 + 4k | "seconds": s (number or numeric string, 16 fps),
//    "seed": integer}
// (the OpenAI video job fields; unknown keys are ignored). Width and height
// must be multiples of 16 (8x VAE, 2x patch); `seconds` is rounded to
// frames at `fps` (as the video job API does); n frames need
// 1 + ceil((n - 1) / 4) latent frames (decoded frames past n are dropped).
// Unknown keys (e.g. the job API's "fps") are ignored. Errors throw
// runtime::RuntimeError (INVALID_ARGUMENT) naming the field. Used by the vista
// model's request_open.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace citadel::vista {

struct VideoDefaults {
  int64_t width = 832, height = 480, frames = 81;
  int64_t max_latent_frames = 21;
  int64_t max_width = 1920, max_height = 1920;
  double fps = 16.0;
};

struct VideoInput {
  std::string prompt;
  int64_t width = 0, height = 0;  // pixels
  int64_t frames = 0;             // pixel frames asked for
  int64_t latent_frames = 0;
  uint64_t seed = 0;
  bool seeded = false;  // false: the model picks a seed
};

VideoInput parse_video_input(std::string_view input_json, const VideoDefaults& defaults);

}  // namespace citadel::vista
