// OpenAI logprob shapes from the scheduler's PositionLogprobs.
#include "host/http/logprob_render.h"

#include <cmath>

namespace citadel::http {

namespace json = boost::json;

namespace {

// Length of the valid UTF-8 sequence at bytes[i], or 0 when it is invalid.
size_t utf8_sequence_length(std::string_view bytes, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(bytes[k]); };
  const unsigned char lead = byte(i);
  size_t length = 0;
  uint32_t minimum = 0;
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) length = 2, minimum = 0x80;
  else if ((lead & 0xF0) == 0xE0) length = 3, minimum = 0x800;
  else if ((lead & 0xF8) == 0xF0) length = 4, minimum = 0x10000;
  else return 0;
  if (i + length > bytes.size()) return 0;
  uint32_t code = lead & (0x7F >> length);
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3F);
  }
  if (code < minimum || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return length;
}

size_t utf8_characters(std::string_view text) {
  size_t count = 0;
  for (unsigned char c : text) count += (c & 0xC0) != 0x80;
  return count;
}

json::value logprob_value(float logprob) {
  if (std::isnan(logprob)) return nullptr;
  return std::max(static_cast<double>(logprob), -9999.0);
}

json::array bytes_json(std::string_view bytes) {
  json::array list;
  for (unsigned char c : bytes) list.emplace_back(static_cast<int64_t>(c));
  return list;
}

json::object chat_token(const sched::TokenLogprob& token) {
  return json::object{{"token", lossy_utf8(token.bytes)},
                      {"logprob", logprob_value(token.logprob)},
                      {"bytes", bytes_json(token.bytes)}};
}

}  // namespace

std::string lossy_utf8(std::string_view bytes) {
  std::string text;
  text.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    const size_t length = utf8_sequence_length(bytes, i);
    if (length == 0) {
      text += "\xEF\xBF\xBD";
      ++i;
    } else {
      text.append(bytes.substr(i, length));
      i += length;
    }
  }
  return text;
}

json::array chat_logprob_content(std::span<const sched::PositionLogprobs> entries, uint32_t prompt_tokens) {
  json::array content;
  for (const sched::PositionLogprobs& entry : entries) {
    if (entry.position < prompt_tokens) continue;
    json::object item = chat_token(entry.token);
    json::array top;
    for (const sched::TokenLogprob& candidate : entry.top) top.push_back(chat_token(candidate));
    item["top_logprobs"] = std::move(top);
    content.push_back(std::move(item));
  }
  return content;
}

void CompletionLogprobs::append(std::span<const sched::PositionLogprobs> entries, uint32_t prompt_tokens,
                                bool echo) {
  for (const sched::PositionLogprobs& entry : entries) {
    if (entry.position < prompt_tokens && !echo) continue;
    const std::string token = lossy_utf8(entry.token.bytes);
    tokens_.emplace_back(token);
    token_logprobs_.push_back(logprob_value(entry.token.logprob));
    if (std::isnan(entry.token.logprob)) {
      top_logprobs_.emplace_back(nullptr);  // the first prompt token: nothing to score it by
    } else {
      json::object top;
      for (const sched::TokenLogprob& candidate : entry.top) {
        top[lossy_utf8(candidate.bytes)] = logprob_value(candidate.logprob);
      }
      top_logprobs_.push_back(std::move(top));
    }
    text_offset_.emplace_back(static_cast<int64_t>(next_offset_));
    next_offset_ += utf8_characters(token);
  }
}

json::object CompletionLogprobs::to_json() const {
  return json::object{{"tokens", tokens_},
                      {"token_logprobs", token_logprobs_},
                      {"top_logprobs", top_logprobs_},
                      {"text_offset", text_offset_}};
}

json::value chat_logprob_chunk(std::span<const sched::PositionLogprobs> entries, uint32_t prompt_tokens) {
  json::array content = chat_logprob_content(entries, prompt_tokens);
  if (content.empty()) return nullptr;
  return json::object{{"content", std::move(content)}};
}

json::value CompletionLogprobs::take_new() {
  if (taken_ == tokens_.size()) return nullptr;
  auto tail = [&](const json::array& list) {
    return json::array(list.begin() + static_cast<std::ptrdiff_t>(taken_), list.end());
  };
  json::object result{{"tokens", tail(tokens_)},
                      {"token_logprobs", tail(token_logprobs_)},
                      {"top_logprobs", tail(top_logprobs_)},
                      {"text_offset", tail(text_offset_)}};
  taken_ = tokens_.size();
  return result;
}

}  // namespace citadel::http
