// /v1/chat/completions for models of task image_to_text, as vLLM serves
// DeepSeek-OCR: the messages' OpenAI content parts give the prompt (every
// text part, in order, joined by newlines) and one image (an `image_url`
// part whose url is a base64 `data:` URL). The host never fetches: an
// http(s) URL is a 400 that says so, as is a second image. Options are
// those of /v1/ocr (mode, grounding, sampling) plus max_completion_tokens
// and stream_options.include_usage; n must be 1.
//
// Called by image_chat_endpoint.cpp and the [http] unit tests. Errors are
// ApiError 400 naming the field (messages[i].content[j].image_url.url, ...).
#pragma once

#include "host/http/ocr_request.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::http {

struct ImageChatRequest {
  std::string model;
  std::vector<uint8_t> image;
  std::string image_field;  // where the image came from, for errors
  OcrOptions options;       // options.prompt: the text parts
  bool include_usage = false;
};

ImageChatRequest parse_image_chat_request(std::string_view body, uint32_t max_tokens_limit);

// The "model" of a chat body, if it is a JSON object naming one (the
// endpoint looks at the model's task before translating).
std::optional<std::string> chat_body_model(std::string_view body);

}  // namespace citadel::http
