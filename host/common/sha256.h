// SHA-256 digests (OpenSSL libcrypto) and a constant-time comparison of two
// digests: what the API keys are stored and checked as, so that a key is
// never kept in memory or compared byte by byte with early exit.
//
// Called by host/config (api_key_file.cpp, at load) and host/http
// (api_key_gate.cpp, per request). Thread-safe (no shared state).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace citadel::common {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest sha256(std::string_view bytes);

// Lower-case hex of the first `bytes` bytes of `digest`.
std::string digest_hex(const Sha256Digest& digest, size_t bytes = 32);

// Whether a == b, in time independent of where they differ (CRYPTO_memcmp).
bool digests_equal(const Sha256Digest& a, const Sha256Digest& b);

}  // namespace citadel::common
