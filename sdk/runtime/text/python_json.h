// JSON text as Python's json.dumps(value, ensure_ascii=False) writes it
// (", " and ": " separators; with an indent, one member per line), which is
// what the `tojson` filter of Hugging Face chat templates produces. Used by
// the chat templates to render tool definitions and tool-call arguments
// exactly as the models saw them in training, and by the tool-call parsers.
#pragma once

#include <boost/json/value.hpp>

#include <string>

namespace citadel::runtime {

// indent < 0: one line; otherwise newlines and `indent` spaces per level.
std::string python_json_dumps(const boost::json::value& value, int indent = -1);

}  // namespace citadel::runtime
