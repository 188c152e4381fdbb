// The "prompt" field of OpenAI completion requests, validated: a string, an
// array of strings, an array of token ids, or an array of token-id arrays
// (lm-evaluation-harness sends those). Errors are ApiError (400) naming
// "prompt".
//
// Called by: openai_translate.cpp (parse_completion_request).
#pragma once

#include "host/http/openai_translate.h"

#include <boost/json.hpp>

namespace citadel::http {

// Appends the prompts to request.prompts (text, or empty for token ids) and
// request.prompt_token_ids (ids, or empty for text).
void parse_prompts(const boost::json::value& prompt, CompletionRequest& request);

}  // namespace citadel::http
