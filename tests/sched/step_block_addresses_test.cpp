// The block addresses a step hands the plugin (step_block_addresses): kept
// per sequence between steps and looked up only for new blocks, they must
// still equal the pool's address of every block after growth, trimming,
// swaps, recomputation, releases and compactions that move live blocks.
#include "cache/cache_test_support.hpp"
#include "host/sched/sequence_blocks.h"

#include <catch2/catch.hpp>

#include <random>

using namespace citadel;
using cache::test::make_cpu_pool;
using cache::test::space_settings;

TEST_CASE("a space's layout version changes only when a compaction moves referenced blocks", "[sched][cache]") {
  auto pool = make_cpu_pool(16);
  auto space = pool->create_space(space_settings("m", 64 << 10, 16));
  std::vector<cache::BlockId> blocks;
  REQUIRE(space->allocate(96, blocks));  // three 2 MiB pages of 32 blocks
  // Keep every third block: each page is sparse, none empty.
  std::vector<cache::BlockId> kept, dropped;
  for (size_t i = 0; i < blocks.size(); ++i) (i % 3 == 0 ? kept : dropped).push_back(blocks[i]);
  space->release(dropped);
  const uint64_t before = space->layout_version();
  std::vector<void*> addresses(kept.size());
  space->addresses(kept, addresses);
  for (size_t i = 0; i < kept.size(); ++i) CHECK(addresses[i] == space->address(kept[i]));

  CHECK(pool->compact("m", false) == 0);  // live blocks stay where they are
  CHECK(space->layout_version() == before);
  CHECK(pool->compact("m", true) > 0);
  CHECK(space->layout_version() != before);
  size_t moved = 0;
  for (size_t i = 0; i < kept.size(); ++i) moved += space->address(kept[i]) != addresses[i];
  CHECK(moved > 0);
  std::vector<void*> wrong(kept.size() - 1);
  CHECK_THROWS_AS(space->addresses(kept, wrong), std::invalid_argument);
  pool->check_invariants();
}

TEST_CASE("step block addresses equal the pool's through growth, preemption, swaps and compaction", "[sched][cache]") {
  // 256 blocks of 64 KB, 32 a page, so that released blocks leave sparse
  // pages for compaction to empty; a 128-block swap tier.
  auto pool = make_cpu_pool(16, 8);
  auto space = pool->create_space(space_settings("m", 64 << 10, 16));
  std::mt19937 random(20261204);
  std::vector<sched::Sequence> sequences(6);
  for (size_t i = 0; i < sequences.size(); ++i) sequences[i].id = i + 1;
  size_t steps = 0, checked = 0, swaps_in = 0, live_compactions = 0;
  for (int round = 0; round < 8000; ++round) {
    sched::Sequence& sequence = sequences[random() % sequences.size()];
    const uint32_t tokens = static_cast<uint32_t>(sequence.blocks.size()) * 16;
    switch (random() % 9) {
      case 0:
      case 1:
      case 2: {  // the next tokens: often a block more
        if (sequence.swapped) break;
        if (sequence.blocks.size() > 24) {
          sched::release_all_blocks(*space, sequence);
          break;
        }
        const uint32_t grown = tokens + 1 + random() % 40;
        if (!sched::grow_blocks(*space, sequence, grown)) break;
        sequence.computed_tokens = grown - std::min<uint32_t>(grown, random() % 20);  // some not computed yet
        break;
      }
      case 3:  // preempted: swapped out, or released for recomputation
        if (!sequence.swapped && !sequence.blocks.empty()) sched::preempt_sequence(*space, sequence, random() % 2 == 0);
        break;
      case 4:
        if (sequence.swapped && sched::resume_swapped_sequence(*space, sequence)) ++swaps_in;
        break;
      case 5:
        sched::release_all_blocks(*space, sequence);
        break;
      case 6: {
        const uint64_t version = space->layout_version();
        pool->compact("m", random() % 2 == 0);
        live_compactions += space->layout_version() != version;
        break;
      }
      default: {  // a step of every sequence holding blocks
        ++steps;
        const uint64_t version = space->layout_version();
        for (sched::Sequence& stepped : sequences) {
          if (stepped.swapped || stepped.blocks.empty()) continue;
          const std::span<void* const> addresses = sched::step_block_addresses(*space, stepped, version);
          REQUIRE(addresses.size() == stepped.blocks.size());
          for (size_t b = 0; b < addresses.size(); ++b) {
            INFO("round " << round << ", sequence " << stepped.id << ", block " << b << " of "
                          << addresses.size());
            REQUIRE(addresses[b] == space->address(stepped.blocks[b]));
            ++checked;
          }
        }
      }
    }
  }
  for (sched::Sequence& sequence : sequences) sched::release_all_blocks(*space, sequence);
  pool->check_invariants();
  // The run went through the paths that change addresses.
  CHECK(steps > 600);
  CHECK(checked > 20000);
  CHECK(swaps_in > 10);
  CHECK(live_compactions > 10);
}
