// Chat messages with image_url parts -> one image and a prompt.
#include "host/http/image_chat_translate.h"

#include "host/http/api_error.h"
#include "host/http/request_fields.h"

#include <boost/json.hpp>

namespace citadel::http {

namespace json = boost::json;

namespace {

std::string lower_prefix(std::string_view text, size_t length) {
  std::string prefix(text.substr(0, length));
  for (char& c : prefix) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return prefix;
}

std::vector<uint8_t> decode_data_url(std::string_view url, const std::string& field) {
  const size_t colon = url.find(':');
  const std::string scheme = lower_prefix(url, colon == std::string_view::npos ? 0 : colon + 1);
  if (scheme == "http:" || scheme == "https:")
    throw bad_request("'" + field + "' is an " + scheme.substr(0, scheme.size() - 1) +
                          " URL; this server never fetches URLs: send the image inline as a data: URL "
                          "(data:image/png;base64,...)",
                      field, "unsupported_url");
  if (scheme != "data:")
    throw bad_request("'" + field + "' must be a data: URL (data:image/png;base64,...)", field, "unsupported_url");
  return decode_base64_field(url, field);
}

// Reads one message's content into the prompt pieces and the image.
void read_content(const json::value& content, const std::string& field, std::vector<std::string>& texts,
                  ImageChatRequest& request) {
  if (content.is_null()) return;
  if (content.is_string()) {
    texts.emplace_back(content.as_string());
    return;
  }
  if (!content.is_array())
    throw bad_request("'" + field + "' must be a string or an array of content parts", field, "invalid_type");
  size_t index = 0;
  for (const json::value& part : content.as_array()) {
    const std::string part_field = field + "[" + std::to_string(index++) + "]";
    const json::object* object = part.if_object();
    const json::value* type = object ? object->if_contains("type") : nullptr;
    if (type == nullptr || !type->is_string())
      throw bad_request("'" + part_field + "' must be an object with a string \"type\"", part_field, "invalid_type");
    if (type->as_string() == "text") {
      const json::value* text = object->if_contains("text");
      if (text == nullptr || !text->is_string())
        throw bad_request("'" + part_field + ".text' must be a string", part_field + ".text", "invalid_type");
      texts.emplace_back(text->as_string());
      continue;
    }
    if (type->as_string() != "image_url")
      throw bad_request("'" + part_field + ".type' must be text or image_url (got \"" +
                            std::string(type->as_string()) + "\")",
                        part_field + ".type", "unsupported_content");
    const json::value* image_url = object->if_contains("image_url");
    const json::value* url = nullptr;
    if (image_url != nullptr && image_url->is_object()) url = image_url->as_object().if_contains("url");
    if (image_url != nullptr && image_url->is_string()) url = image_url;
    const std::string url_field = part_field + ".image_url.url";
    if (url == nullptr || !url->is_string())
      throw bad_request("'" + url_field + "' is required and must be a string", url_field, "missing_field");
    if (!request.image_field.empty())
      throw bad_request("this model reads one image per request; '" + url_field + "' is a second one (the first is '" +
                            request.image_field + "')",
                        url_field, "too_many_images");
    request.image = decode_data_url(url->as_string(), url_field);
    request.image_field = url_field;
  }
}

}  // namespace

std::optional<std::string> chat_body_model(std::string_view body) {
  boost::system::error_code error;
  const json::value parsed = json::parse(body, error);
  if (error || !parsed.is_object()) return std::nullopt;
  const json::value* model = parsed.as_object().if_contains("model");
  if (model == nullptr || !model->is_string()) return std::nullopt;
  return std::string(model->as_string());
}

ImageChatRequest parse_image_chat_request(std::string_view body_text, uint32_t max_tokens_limit) {
  json::object body = parse_json_object(body_text);
  ImageChatRequest request;
  request.model = required_string(body, "model");
  const json::value* messages = body.if_contains("messages");
  if (messages == nullptr || messages->is_null())
    throw bad_request("'messages' is required", "messages", "missing_field");
  if (!messages->is_array() || messages->as_array().empty())
    throw bad_request("'messages' must be a non-empty array", "messages", "invalid_type");
  std::vector<std::string> texts;
  size_t index = 0;
  for (const json::value& message : messages->as_array()) {
    const std::string field = "messages[" + std::to_string(index++) + "]";
    if (!message.is_object()) throw bad_request("'" + field + "' must be an object", field, "invalid_type");
    if (const json::value* content = message.as_object().if_contains("content"))
      read_content(*content, field + ".content", texts, request);
  }
  if (request.image_field.empty())
    throw bad_request("this model reads an image: add a content part {\"type\": \"image_url\", \"image_url\": "
                      "{\"url\": \"data:image/png;base64,...\"}}",
                      "messages", "missing_image");
  if (auto n = optional_integer(body, "n"); n && *n != 1)
    throw bad_request("'n' must be 1 for an image_to_text model", "n");
  if (!body.contains("max_tokens") && body.contains("max_completion_tokens")) {
    // Copied out first: inserting the key may rehash the object and free the
    // value a reference into it would read (ASan found it).
    boost::json::value limit = body.at("max_completion_tokens");
    body["max_tokens"] = std::move(limit);
  }
  body.erase("prompt");
  for (const char* page_field : {"first_page", "last_page", "max_pages"}) body.erase(page_field);
  request.options = read_ocr_options(body, max_tokens_limit);
  std::string prompt;
  for (const std::string& text : texts) prompt += (prompt.empty() ? "" : "\n") + text;
  if (!prompt.empty()) request.options.prompt = prompt;
  if (const json::value* options = body.if_contains("stream_options"); options != nullptr && options->is_object())
    request.include_usage = optional_bool(options->as_object(), "include_usage").value_or(false);
  return request;
}

}  // namespace citadel::http
