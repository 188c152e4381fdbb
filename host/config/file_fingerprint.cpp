#include "host/config/file_fingerprint.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace citadel::config {
namespace {

// FNV-1a over 64-bit words (then the tail bytes): fast enough for plugin
// libraries of tens of MB, and any changed byte changes the result.
uint64_t hash_stream(std::ifstream& in) {
  constexpr uint64_t kPrime = 0x100000001b3ULL;
  uint64_t hash = 0xcbf29ce484222325ULL;
  std::vector<char> chunk(1 << 20);
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const std::size_t count = static_cast<std::size_t>(in.gcount());
    std::size_t offset = 0;
    for (; offset + 8 <= count; offset += 8) {
      uint64_t word = 0;
      std::memcpy(&word, chunk.data() + offset, 8);
      hash = (hash ^ word) * kPrime;
    }
    for (; offset < count; ++offset) {
      hash = (hash ^ static_cast<unsigned char>(chunk[offset])) * kPrime;
    }
  }
  return hash;
}

}  // namespace

std::string file_fingerprint(const std::string& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) {
    throw std::runtime_error(path + ": cannot stat: " + std::strerror(errno));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open for reading");
  const uint64_t hash = hash_stream(in);
  if (in.bad()) throw std::runtime_error(path + ": read error");
  const uint64_t mtime_ns = static_cast<uint64_t>(status.st_mtim.tv_sec) * 1000000000ULL +
                            static_cast<uint64_t>(status.st_mtim.tv_nsec);
  char text[64];
  std::snprintf(text, sizeof(text), "%llx-%llx-%016llx",
                static_cast<unsigned long long>(status.st_size),
                static_cast<unsigned long long>(mtime_ns), static_cast<unsigned long long>(hash));
  return text;
}

}  // namespace citadel::config
