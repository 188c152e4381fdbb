// Tests of runtime/core/block_table_mirror: which bytes of the per-row block
// tables a step must send, checked by applying them to a stand-in device
// copy and comparing it with the tables the steps asked for.
#include <catch2/catch.hpp>

#include "runtime/core/block_table_mirror.h"

#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

using citadel::runtime::BlockTableMirror;

namespace {

void* block(uintptr_t id) { return reinterpret_cast<void*>(id * 4096); }

std::vector<void*> table_of(std::initializer_list<uintptr_t> ids) {
  std::vector<void*> table;
  for (uintptr_t id : ids) table.push_back(block(id));
  return table;
}

// What a step's copies do to the device: the changed ranges of the mirror.
size_t apply_changes(BlockTableMirror& mirror, std::vector<void*>& device, size_t merge_gap) {
  size_t bytes = 0;
  for (const BlockTableMirror::ByteRange& range : mirror.take_changes(merge_gap)) {
    REQUIRE(range.begin < range.end);
    REQUIRE(range.end <= device.size() * sizeof(void*));
    std::memcpy(reinterpret_cast<char*>(device.data()) + range.begin,
                reinterpret_cast<const char*>(mirror.base()) + range.begin, range.end - range.begin);
    bytes += range.end - range.begin;
  }
  return bytes;
}

}  // namespace

TEST_CASE("BlockTableMirror sends a new row whole, then only the appended block", "[runtime]") {
  std::vector<void*> host(4 * 8), device(4 * 8, nullptr);
  BlockTableMirror mirror;
  mirror.reset(host.data(), 4, 8);

  const auto first = table_of({1, 2, 3});
  mirror.set_row(1, first);
  auto changes = mirror.take_changes(0);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].begin == 1 * 8 * sizeof(void*));
  CHECK(changes[0].end == (1 * 8 + 3) * sizeof(void*));

  mirror.set_row(1, first);  // the same table again: nothing to send
  CHECK(mirror.take_changes(0).empty());

  const auto grown = table_of({1, 2, 3, 9});
  mirror.set_row(1, grown);
  changes = mirror.take_changes(0);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].begin == (1 * 8 + 3) * sizeof(void*));
  CHECK(changes[0].end == (1 * 8 + 4) * sizeof(void*));
}

TEST_CASE("BlockTableMirror sends a row whose blocks were replaced from the first difference", "[runtime]") {
  std::vector<void*> host(2 * 4);
  BlockTableMirror mirror;
  mirror.reset(host.data(), 2, 4);
  mirror.set_row(0, table_of({5, 6, 7}));
  (void)mirror.take_changes(0);
  // Another sequence sharing the first block (a cached prefix) takes the row.
  mirror.set_row(0, table_of({5, 8}));
  auto changes = mirror.take_changes(0);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].begin == 1 * sizeof(void*));
  CHECK(changes[0].end == 2 * sizeof(void*));
  // A shorter table that is a prefix of what the device holds sends nothing.
  mirror.set_row(0, table_of({5}));
  CHECK(mirror.take_changes(0).empty());
}

TEST_CASE("BlockTableMirror merges ranges closer than the gap and keeps far ones apart", "[runtime]") {
  std::vector<void*> host(8 * 4);
  BlockTableMirror mirror;
  mirror.reset(host.data(), 8, 4);
  mirror.set_row(6, table_of({1}));
  mirror.set_row(0, table_of({2}));
  mirror.set_row(1, table_of({3}));
  const size_t row_bytes = 4 * sizeof(void*);
  // Rows 0 and 1 are row_bytes - 8 apart (end of row 0's one entry to row 1's start).
  auto changes = mirror.take_changes(row_bytes);
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].begin == 0);
  CHECK(changes[0].end == row_bytes + sizeof(void*));
  CHECK(changes[1].begin == 6 * row_bytes);

  mirror.set_row(0, table_of({2, 4}));
  mirror.set_row(6, table_of({1, 5}));
  CHECK(mirror.take_changes(0).size() == 2);
  mirror.set_row(0, table_of({2, 4, 6}));
  mirror.set_row(6, table_of({1, 5, 7}));
  CHECK(mirror.take_changes(8 * row_bytes).size() == 1);
}

TEST_CASE("BlockTableMirror reset forgets the device copy", "[runtime]") {
  std::vector<void*> host(2 * 4);
  BlockTableMirror mirror;
  mirror.reset(host.data(), 2, 4);
  mirror.set_row(0, table_of({1, 2}));
  (void)mirror.take_changes(0);
  mirror.reset(host.data(), 2, 4);
  mirror.set_row(0, table_of({1, 2}));
  auto changes = mirror.take_changes(0);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].end - changes[0].begin == 2 * sizeof(void*));
}

TEST_CASE("BlockTableMirror refuses a row or table past its layout", "[runtime]") {
  std::vector<void*> host(2 * 2);
  BlockTableMirror mirror;
  mirror.reset(host.data(), 2, 2);
  CHECK_THROWS_AS(mirror.set_row(2, table_of({1})), std::out_of_range);
  CHECK_THROWS_AS(mirror.set_row(0, table_of({1, 2, 3})), std::out_of_range);
}

TEST_CASE("BlockTableMirror keeps a device copy equal to every step's tables over random decoding",
          "[runtime]") {
  constexpr size_t kRows = 16, kStride = 64;
  std::mt19937 random(20261204);
  std::vector<void*> host(kRows * kStride), device(kRows * kStride, nullptr);
  BlockTableMirror mirror;
  mirror.reset(host.data(), kRows, kStride);
  // Each row decodes a sequence; now and then a new one (sometimes sharing
  // a prefix with the old) takes its row, or the row's blocks are swapped.
  std::vector<std::vector<void*>> sequences(kRows);
  uintptr_t next_block = 1;
  size_t sent = 0, whole = 0;
  for (size_t step = 0; step < 2000; ++step) {
    for (size_t row = 0; row < kRows; ++row) {
      auto& sequence = sequences[row];
      const unsigned event = random() % 100;
      if (sequence.empty() || sequence.size() == kStride || event < 2) {
        const size_t kept = sequence.empty() ? 0 : random() % sequence.size();
        sequence.resize(kept);
        const size_t length = kept + 1 + random() % 4;
        while (sequence.size() < length) sequence.push_back(block(next_block++));
      } else if (event < 3) {
        sequence[random() % sequence.size()] = block(next_block++);  // a block moved (swap-in)
      } else if (event < 20) {
        sequence.push_back(block(next_block++));  // a new block every 16 tokens or so
      }
      mirror.set_row(row, sequence);
    }
    sent += apply_changes(mirror, device, 256);
    for (size_t row = 0; row < kRows; ++row) {
      const auto& sequence = sequences[row];
      whole += sequence.size() * sizeof(void*);
      for (size_t i = 0; i < sequence.size(); ++i) REQUIRE(device[row * kStride + i] == sequence[i]);
    }
  }
  // Far less than sending every row's table every step.
  CHECK(sent < whole / 4);
}
