// The multipart/form-data body of POST /v1/videos (as OpenAI's clients send
// it) turned into the JSON body the JSON route takes. The multipart syntax is
// read by multipart_form.h; this adds the typing of the text fields.
//
// Called by video_job_endpoints.cpp and the [http][video] unit tests. Errors
// are ApiError 400 naming the part.
#pragma once

#include "host/http/multipart_form.h"

#include <boost/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace citadel::http {

// Text parts as a JSON object: values that read as integers (or true /
// false) for the keys in `typed_keys` become numbers (booleans), the rest
// strings. A file part is refused (400 unsupported, param its name).
boost::json::object form_to_json(const std::vector<FormPart>& parts, const std::vector<std::string>& typed_keys);

// The JSON body of a multipart/form-data request with `content_type`
// (parse errors -> 400 invalid_body).
std::string video_form_body(std::string_view body, std::string_view content_type,
                            const std::vector<std::string>& typed_keys);

}  // namespace citadel::http
