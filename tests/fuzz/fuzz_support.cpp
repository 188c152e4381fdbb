// Scratch folders and the source tree's location for the fuzz targets.
#include "fuzz_support.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>

namespace citadel::fuzz {

namespace fs = std::filesystem;

fs::path source_dir() { return CITADEL_SOURCE_DIR; }

namespace {
fs::path g_scratch;
void remove_scratch() {
  std::error_code ignored;
  fs::remove_all(g_scratch, ignored);
}
}  // namespace

fs::path scratch_dir() {
  static std::once_flag once;
  std::call_once(once, [] {
    g_scratch = fs::temp_directory_path() / ("citadel-fuzz-" + std::to_string(::getpid()));
    fs::remove_all(g_scratch);
    fs::create_directories(g_scratch);
    std::atexit(remove_scratch);
  });
  return g_scratch;
}

void write_file(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
}

}  // namespace citadel::fuzz
