// BlockTableMirror: per-row comparison and range merging.
#include "runtime/core/block_table_mirror.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace citadel::runtime {

void BlockTableMirror::reset(void** base, size_t rows, size_t stride) {
  base_ = base;
  stride_ = stride;
  counts_.assign(rows, kUnknown);
  changes_.clear();
}

void BlockTableMirror::set_row(size_t row, std::span<void* const> blocks) {
  if (row >= counts_.size() || blocks.size() > stride_) {
    throw std::out_of_range("BlockTableMirror::set_row: row " + std::to_string(row) + " with " +
                            std::to_string(blocks.size()) + " blocks outside " + std::to_string(counts_.size()) +
                            " rows of " + std::to_string(stride_) + " entries");
  }
  void** table = base_ + row * stride_;
  const size_t count = blocks.size();
  // Entries [0, same) already match the device copy.
  size_t same = 0;
  if (counts_[row] != kUnknown) {
    const size_t known = std::min<size_t>(counts_[row], count);
    // Whole-prefix compare first (the common case: equal, or one block appended).
    if (std::memcmp(table, blocks.data(), known * sizeof(void*)) == 0) {
      same = known;
    } else {
      same = static_cast<size_t>(std::mismatch(table, table + known, blocks.begin()).first - table);
    }
  }
  if (same < count) {
    std::copy(blocks.begin() + static_cast<std::ptrdiff_t>(same), blocks.end(), table + same);
    const size_t row_begin = row * stride_ * sizeof(void*);
    changes_.push_back({row_begin + same * sizeof(void*), row_begin + count * sizeof(void*)});
  }
  counts_[row] = static_cast<uint32_t>(count);
}

std::vector<BlockTableMirror::ByteRange> BlockTableMirror::take_changes(size_t merge_gap) {
  std::sort(changes_.begin(), changes_.end(), [](const ByteRange& a, const ByteRange& b) { return a.begin < b.begin; });
  std::vector<ByteRange> merged;
  for (const ByteRange& range : changes_) {
    if (!merged.empty() && range.begin <= merged.back().end + merge_gap) {
      merged.back().end = std::max(merged.back().end, range.end);
    } else {
      merged.push_back(range);
    }
  }
  changes_.clear();
  return merged;
}

}  // namespace citadel::runtime
