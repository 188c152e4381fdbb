// ocr_input.h — the native input of an image-to-text request to the
// deepseek-ocr plugin (docs/plugin-authoring.md, "image_to_text"): the JSON
// object {prompt, mode, max_tokens, temperature, top_p, top_k, seed,
// repetition_penalty, ngram_size, ngram_window} (every field optional; the
// image itself is the request's binary payload). Parsed by the model in
// request_open; errors name the field (INVALID_ARGUMENT).
#pragma once

#include "ocr_options.h"

#include "runtime/kernels/sampling.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace citadel::deepseek_ocr {

struct OcrInput {
  std::string prompt;                  // holds exactly one "<image>"
  ResolutionMode mode = ResolutionMode::gundam;
  std::optional<uint32_t> max_tokens;  // absent: the model's default_max_tokens
  runtime::SamplingParams sampling;    // temperature 0 (greedy) unless asked
  uint32_t ngram_size = 0;             // 0: no guard
  uint32_t ngram_window = 0;
};

// Fields absent from `input_json` take the options' defaults.
OcrInput parse_ocr_input(std::string_view input_json, const OcrOptions& options);

}  // namespace citadel::deepseek_ocr
