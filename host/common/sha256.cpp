// SHA-256 and constant-time digest comparison over OpenSSL libcrypto.
#include "host/common/sha256.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <stdexcept>

namespace citadel::common {

Sha256Digest sha256(std::string_view bytes) {
  Sha256Digest digest{};
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1 ||
      length != digest.size())
    throw std::runtime_error("SHA-256: OpenSSL EVP_Digest failed");
  return digest;
}

std::string digest_hex(const Sha256Digest& digest, size_t bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  for (size_t index = 0; index < bytes && index < digest.size(); ++index) {
    text += kHex[digest[index] >> 4];
    text += kHex[digest[index] & 0xf];
  }
  return text;
}

bool digests_equal(const Sha256Digest& a, const Sha256Digest& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace citadel::common
