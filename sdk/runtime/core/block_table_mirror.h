// BlockTableMirror: the host copy of the per-row block tables that a CUDA
// decode step keeps in device memory, and which bytes of it changed since
// the last upload. A decode row's table only grows by one block every 16
// tokens, so re-sending every table every step (what llm-gptq did) made the
// host's share of a step grow with the context; with the mirror a step sends
// only the entries that differ. llm-gptq's CudaForwardPass owns one, over a
// pinned buffer, and copies the ranges take_changes() returns. Not
// thread-safe (one model instance steps from one thread). Plain C++.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace citadel::runtime {

class BlockTableMirror {
 public:
  // A byte range [begin, end) of the mirror, offsets from its base.
  struct ByteRange {
    size_t begin = 0;
    size_t end = 0;
  };

  // Lays the tables out at `base` (caller-owned memory of rows * stride
  // pointers: row r's table starts at entry r * stride) and forgets what was
  // uploaded: every row set afterwards is sent whole. Call it when the
  // layout or the device copy changes (new stride, reallocated buffers).
  void reset(void** base, size_t rows, size_t stride);

  // Writes row `row`'s table (blocks.size() <= stride) and records the
  // entries that differ from what the mirror holds for that row. Entries
  // past blocks.size() are left as they are: the kernels read a row's table
  // only up to its length. Throws std::out_of_range past rows() or stride().
  void set_row(size_t row, std::span<void* const> blocks);

  // The changed byte ranges since the last call, ascending; two ranges less
  // than `merge_gap` bytes apart come back as one (one copy instead of two).
  // Clears the record.
  std::vector<ByteRange> take_changes(size_t merge_gap);

  void** base() const { return base_; }
  size_t rows() const { return counts_.size(); }
  size_t stride() const { return stride_; }

 private:
  static constexpr uint32_t kUnknown = UINT32_MAX;  // the device copy of the row is not known

  void** base_ = nullptr;
  size_t stride_ = 0;
  std::vector<uint32_t> counts_;   // entries of each row known to match the device copy
  std::vector<ByteRange> changes_;
};

}  // namespace citadel::runtime
