// multipart/form-data of POST /v1/videos -> its JSON body.
#include "host/http/video_job_form.h"

#include "host/http/api_error.h"

#include <algorithm>
#include <charconv>

namespace citadel::http {

boost::json::object form_to_json(const std::vector<FormPart>& parts, const std::vector<std::string>& typed_keys) {
  boost::json::object object;
  for (const FormPart& part : parts) {
    if (part.filename)
      throw bad_request("'" + part.name + "': file inputs are not supported", part.name, "unsupported");
    const std::string_view value = part.body;
    const bool typed = std::find(typed_keys.begin(), typed_keys.end(), part.name) != typed_keys.end();
    int64_t number = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (typed && error == std::errc() && end == value.data() + value.size() && !value.empty())
      object[part.name] = number;
    else if (typed && (value == "true" || value == "false"))
      object[part.name] = value == "true";
    else
      object[part.name] = value;
  }
  return object;
}

std::string video_form_body(std::string_view body, std::string_view content_type,
                            const std::vector<std::string>& typed_keys) {
  std::vector<FormPart> parts;
  try {
    parts = parse_multipart_form(body, multipart_boundary(content_type));
  } catch (const MultipartError& error) {
    throw bad_request(std::string("multipart body: ") + error.what(), "body", "invalid_body");
  }
  return boost::json::serialize(form_to_json(parts, typed_keys));
}

}  // namespace citadel::http
