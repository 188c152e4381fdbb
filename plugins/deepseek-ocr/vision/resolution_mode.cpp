// Resolution modes, tile-grid choice and placeholder counts of DeepSeek-OCR
// (process/image_process.py: count_tiles / dynamic_preprocess; the token
// formula of deepseek_ocr.py). Pure functions.
#include "deep_encoder.h"

#include <cmath>
#include <limits>
#include <utility>
#include <vector>

namespace citadel::deepseek_ocr {
namespace {

constexpr int kPatch = 16;
constexpr int kDownsample = 4;
constexpr int kMinCrops = 2;

struct ModeInfo {
  ResolutionMode mode;
  std::string_view name;
  int base_side;
  int tile_side;
  bool crop;
};

constexpr ModeInfo kModes[] = {
    {ResolutionMode::tiny, "tiny", 512, 512, false},
    {ResolutionMode::small, "small", 640, 640, false},
    {ResolutionMode::base, "base", 1024, 1024, false},
    {ResolutionMode::large, "large", 1280, 1280, false},
    {ResolutionMode::gundam, "gundam", 1024, 640, true},
};

const ModeInfo& info(ResolutionMode mode) {
  for (const auto& m : kModes) {
    if (m.mode == mode) return m;
  }
  throw ImageInputError("deepseek-ocr: unknown resolution mode " + std::to_string(static_cast<int>(mode)));
}

int64_t queries(int side) { return (side / kPatch + kDownsample - 1) / kDownsample; }

// Candidate grids (columns, rows), 2 <= columns*rows <= max_crops, in the
// order the reference iterates them: sorted by tile count, and within one
// count in CPython's iteration order of the set it builds (which decides only
// exact ties of the aspect-ratio distance). For 6 and 9 that order is listed;
// other limits order equal counts by columns.
std::vector<std::pair<int, int>> candidate_grids(int max_crops) {
  if (max_crops == 6) {
    return {{1, 2}, {2, 1}, {3, 1}, {1, 3}, {4, 1}, {1, 4}, {2, 2},
            {1, 5}, {5, 1}, {6, 1}, {2, 3}, {1, 6}, {3, 2}};
  }
  if (max_crops == 9) {
    return {{1, 2}, {2, 1}, {3, 1}, {1, 3}, {2, 2}, {4, 1}, {1, 4}, {5, 1}, {1, 5}, {1, 6}, {6, 1},
            {3, 2}, {2, 3}, {7, 1}, {1, 7}, {4, 2}, {2, 4}, {1, 8}, {8, 1}, {1, 9}, {3, 3}, {9, 1}};
  }
  std::vector<std::pair<int, int>> grids;
  for (int n = kMinCrops; n <= max_crops; ++n) {
    for (int columns = 1; columns <= n; ++columns) {
      if (n % columns == 0) grids.emplace_back(columns, n / columns);
    }
  }
  return grids;
}

}  // namespace

ResolutionMode parse_resolution_mode(std::string_view name) {
  for (const auto& m : kModes) {
    if (m.name == name) return m.mode;
  }
  throw ImageInputError("deepseek-ocr: unknown resolution mode \"" + std::string(name) +
                        "\" (valid: tiny, small, base, large, gundam)");
}

std::string_view resolution_mode_name(ResolutionMode mode) { return info(mode).name; }
int global_view_side(ResolutionMode mode) { return info(mode).base_side; }
int tile_side(ResolutionMode mode) { return info(mode).tile_side; }

TileGrid tile_grid(ResolutionMode mode, int width, int height, int max_crops) {
  const ModeInfo& m = info(mode);
  if (!m.crop || (width <= m.tile_side && height <= m.tile_side)) return {};
  if (max_crops < kMinCrops) {
    throw ImageInputError("deepseek-ocr: max_crops must be at least 2 (got " + std::to_string(max_crops) + ")");
  }
  if (width <= 0 || height <= 0) throw ImageInputError("deepseek-ocr: image size must be positive");
  const double aspect = static_cast<double>(width) / static_cast<double>(height);
  const double area = static_cast<double>(width) * static_cast<double>(height);
  std::pair<int, int> best{1, 1};
  double best_diff = std::numeric_limits<double>::infinity();
  for (const auto& [columns, rows] : candidate_grids(max_crops)) {
    const double diff = std::abs(aspect - static_cast<double>(columns) / static_cast<double>(rows));
    if (diff < best_diff) {
      best = {columns, rows};
      best_diff = diff;
    } else if (diff == best_diff && area > 0.5 * m.tile_side * m.tile_side * columns * rows) {
      best = {columns, rows};
    }
  }
  return {best.first, best.second};
}

int64_t num_image_tokens(ResolutionMode mode, int width, int height, int max_crops) {
  const ModeInfo& m = info(mode);
  const int64_t q = queries(m.base_side);
  int64_t n = q * (q + 1) + 1;
  const TileGrid grid = tile_grid(mode, width, height, max_crops);
  if (grid.tiled()) {
    const int64_t qt = queries(m.tile_side);
    n += (qt * grid.rows) * (qt * grid.columns + 1);
  }
  return n;
}

}  // namespace citadel::deepseek_ocr
