// Human-readable rendering of admin replies for citadelctl: an array of
// objects becomes an aligned table, an object becomes "key: value" lines with
// nested objects indented.
//
// Called by admin_cli.cpp (citadelctl); pure functions, no I/O.
#pragma once

#include <cstddef>
#include <string>

#include <boost/json.hpp>

namespace citadel::admin {

// A scalar as text: strings unquoted, null as "-", arrays of scalars joined
// with ", ", anything else as compact JSON.
std::string format_value(const boost::json::value& value);

// True for a non-empty array whose elements are all objects.
bool is_table(const boost::json::value& value);

// Columns are the union of the rows' keys in order of first appearance,
// headed by the key in upper case; missing cells print "-". Every line is
// indented by `indent` spaces and ends with '\n'.
std::string format_table(const boost::json::array& rows, std::size_t indent = 0);

// "key: value" lines; nested objects and tables indented two more spaces.
std::string format_object(const boost::json::object& object, std::size_t indent = 0);

// A whole reply line without its protocol fields ("ok", "id", "more"): a
// reply holding a single table prints just the table.
std::string format_reply(const boost::json::object& reply);

}  // namespace citadel::admin
