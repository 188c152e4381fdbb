// The request-translation step of the HTTP fuzz targets: a body handed to the
// translator of one endpoint (/v1/completions, /v1/chat/completions, /v1/ocr,
// /v1/videos, /inference), then everything built from an accepted request
// (every choice's native input, the response objects and stream chunks)
// checked to be well-formed JSON.
//
// Used by http_request_fuzz.cpp (after HTTP parsing and routing) and
// openai_request_fuzz.cpp (bodies straight in).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace citadel::fuzz {

enum class Endpoint : uint8_t { completions, chat, ocr, videos, inference };
inline constexpr int kEndpointCount = 5;

// The POST endpoint registered at `route` (a RouteTable route), if any.
std::optional<Endpoint> endpoint_of_route(std::string_view route);

// Translates `body`; returns when it is accepted or refused with an ApiError
// of status 400. Anything else (another exception, another status, output
// that is not a JSON object) aborts, so libFuzzer keeps the input.
void translate_request(Endpoint endpoint, std::string_view body);

}  // namespace citadel::fuzz
