// multipart/form-data bodies (RFC 7578), as OpenAI's clients send
// POST /v1/videos: the parts' names, values and, for file parts, file
// names. Pure functions; errors are ApiError 400 naming the part.
//
// Called by video_job_endpoints.cpp and the [http] unit tests.
#pragma once

#include <boost/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::http {

struct FormPart {
  std::string name;
  std::optional<std::string> filename;  // set for file parts
  std::string value;
};

// The boundary of a "multipart/form-data; boundary=..." content type;
// nullopt for any other content type.
std::optional<std::string> multipart_boundary(std::string_view content_type);

// Splits the body at the boundary. Throws ApiError 400 (code invalid_body)
// when the body is not well-formed multipart.
std::vector<FormPart> parse_multipart_form(std::string_view body, const std::string& boundary);

// Text parts as a JSON object: values that read as integers (or true /
// false) for the keys in `typed_keys` become numbers (booleans), the rest
// strings. A file part is refused (400 unsupported, param its name).
boost::json::object form_to_json(const std::vector<FormPart>& parts, const std::vector<std::string>& typed_keys);

}  // namespace citadel::http
