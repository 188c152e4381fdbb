// Pieces of the Prometheus text exposition format (version 0.0.4): number
// formatting, escaping of HELP text and label values, name validation.
//
// Called by: metrics::Registry::render and the plugin metric host services
// (which check a plugin-supplied name before registering it).
#pragma once

#include <string>
#include <string_view>

namespace citadel::metrics {

// A value as Prometheus parses it: integers without a fraction ("42"),
// others in the shortest form that round-trips ("0.25", "1e-07"), and
// "+Inf", "-Inf", "NaN".
std::string format_value(double value);

// HELP text: backslash and newline escaped.
std::string escape_help(std::string_view text);

// Label value: backslash, double quote and newline escaped.
std::string escape_label_value(std::string_view value);

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool is_valid_metric_name(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]* and not starting with "__" (reserved).
bool is_valid_label_name(std::string_view name);

}  // namespace citadel::metrics
