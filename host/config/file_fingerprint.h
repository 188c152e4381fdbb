// A fingerprint of a file's identity and content: size, mtime and a 64-bit
// hash of the bytes, so that a reload can tell that a plugin .so was replaced.
//
// Called by plugin_manifest_reader for each manifest's library; compared by
// config_diff.
#pragma once

#include <string>

namespace citadel::config {

// "<size>-<mtime_ns>-<hash>", each in hex. Throws std::runtime_error naming
// the path when the file cannot be read.
std::string file_fingerprint(const std::string& path);

}  // namespace citadel::config
