// The API keys file (and the environment variable that may hold the same
// text) of http.api_keys: one key per line, then optional fields.
//
//   # comment; blank lines are ignored
//   <key> [models=NAME,NAME|*] [rpm=N] [scope=user|admin]
//
// A key is 16 to 512 printable ASCII characters without spaces. In the
// environment variable, entries may also be separated by ';'. Each key is
// hashed (SHA-256) as it is read; the text of a key is kept nowhere.
//
// Called by http_settings_reader (citadel.yaml's http.api_keys) at every
// load and reload.
#pragma once

#include <string>
#include <vector>

#include "host/config/config_error.h"
#include "host/config/model_config.h"

namespace citadel::config {

// Parses `text` as the keys of `source` (a file path, or "$NAME" for an
// environment variable): problems are appended as "source:line: field:
// what", never naming a key's text.
std::vector<ApiKeyEntry> parse_api_keys(const std::string& text, const std::string& source,
                                        bool semicolons_separate,
                                        std::vector<ConfigProblem>& problems);

// Reads and parses the keys file; a missing or unreadable file is a problem.
std::vector<ApiKeyEntry> read_api_key_file(const std::string& path,
                                           std::vector<ConfigProblem>& problems);

}  // namespace citadel::config
