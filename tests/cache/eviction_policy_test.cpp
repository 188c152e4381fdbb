// Each eviction policy's order on crafted traces, at the policy level and
// through a cache space (which cached prefixes survive allocation pressure).
#include "cache_test_support.hpp"
#include "host/cache/eviction_policy.h"

#include <catch2/catch.hpp>

using namespace citadel::cache;
using citadel::config::EvictionPolicyKind;

namespace {

std::vector<BlockId> drain(EvictionPolicy& policy) {
  std::vector<BlockId> order;
  while (auto victim = policy.evict()) order.push_back(*victim);
  return order;
}

}  // namespace

TEST_CASE("lru evicts the block cached longest ago first", "[cache]") {
  auto policy = make_eviction_policy(EvictionPolicyKind::lru, 16);
  policy->insert(1, 101, 5, 1);
  policy->insert(2, 102, 1, 1);
  policy->insert(3, 103, 9, 1);
  policy->erase(2);          // reused by a prefix hit
  policy->insert(2, 102, 2, 1);  // cached again: now the most recent
  CHECK(drain(*policy) == std::vector<BlockId>{1, 3, 2});
  CHECK(policy->size() == 0);
}

TEST_CASE("lfu evicts the least used block first, ties by age", "[cache]") {
  auto policy = make_eviction_policy(EvictionPolicyKind::lfu, 16);
  policy->insert(1, 101, 3, 1);
  policy->insert(2, 102, 1, 1);
  policy->insert(3, 103, 7, 1);
  policy->insert(4, 104, 1, 1);
  CHECK(drain(*policy) == std::vector<BlockId>{2, 4, 1, 3});
}

TEST_CASE("size_aware_lru evicts blocks of large groups before small groups of similar age", "[cache]") {
  auto policy = make_eviction_policy(EvictionPolicyKind::size_aware_lru, 16);
  policy->insert(1, 101, 1, 1);  // a request that cached one block: H = 1
  for (BlockId block = 10; block < 14; ++block) policy->insert(block, 200 + block, 1, 4);  // H = 0.25
  CHECK(policy->evict() == BlockId{10});
  CHECK(policy->evict() == BlockId{11});
  // L is now 0.25: a new single block gets H = 1.25, behind block 1 (H = 1)
  // but ahead of nothing older; the rest of the big group still goes first.
  policy->insert(2, 102, 1, 1);
  CHECK(drain(*policy) == std::vector<BlockId>{12, 13, 1, 2});
}

TEST_CASE("size_aware_lru ages old blocks so that recency still counts", "[cache]") {
  auto policy = make_eviction_policy(EvictionPolicyKind::size_aware_lru, 16);
  policy->insert(1, 101, 1, 2);  // H = 0.5
  policy->insert(2, 102, 1, 2);  // H = 0.5
  CHECK(policy->evict() == BlockId{1});  // L = 0.5
  policy->insert(3, 103, 1, 1);  // H = 1.5
  policy->insert(4, 104, 1, 4);  // H = 0.75: a large group goes before the younger single block
  CHECK(drain(*policy) == std::vector<BlockId>{2, 4, 3});
}

TEST_CASE("adaptive evicts once-used blocks first and shifts towards recency after a ghost hit", "[cache]") {
  auto policy = make_eviction_policy(EvictionPolicyKind::adaptive, 8);
  policy->insert(1, 101, 1, 1);  // T1
  policy->insert(2, 102, 3, 1);  // T2
  CHECK(policy->evict() == BlockId{1});  // |T1| = 1 > p = 0
  policy->record_miss(101);               // hash 101 was in B1: p grows to 1
  policy->insert(3, 103, 1, 1);           // T1
  policy->insert(4, 104, 4, 1);           // T2 (now 2 and 4)
  CHECK(policy->evict() == BlockId{2});   // |T1| = 1 <= p: evict T2's oldest
  CHECK(policy->evict() == BlockId{4});
  CHECK(policy->evict() == BlockId{3});   // T2 empty: T1
  CHECK_FALSE(policy->evict().has_value());
}

TEST_CASE("adaptive shifts back towards frequency after a hit in the frequent ghost list", "[cache]") {
  auto policy = make_eviction_policy(EvictionPolicyKind::adaptive, 8);
  policy->insert(1, 101, 1, 1);
  policy->insert(2, 102, 1, 1);
  CHECK(policy->evict() == BlockId{1});
  policy->record_miss(101);  // p = 1
  policy->insert(5, 105, 2, 1);
  policy->insert(6, 106, 2, 1);
  CHECK(policy->evict() == BlockId{5});  // |T1| = 1 (block 2) <= p: T2
  policy->record_miss(105);  // in B2: p back to 0
  CHECK(policy->evict() == BlockId{2});  // |T1| = 1 > 0: T1
  CHECK(policy->evict() == BlockId{6});
}

TEST_CASE("a cache space evicts cached prefixes in lru order under allocation pressure", "[cache]") {
  // 64 KiB blocks: 32 per 2 MiB page; a 2 MiB space holds exactly one page.
  auto pool = test::make_cpu_pool(8);
  auto space = pool->create_space(test::space_settings("m", 64 << 10, 2));
  std::vector<BlockId> blocks;
  REQUIRE(space->allocate(32, blocks));
  for (BlockId i = 0; i < 32; ++i) space->publish_prefix(blocks[i], 1000 + i);
  // Release in reverse so that hash 1031 is the oldest cached block.
  for (int i = 31; i >= 0; --i) space->release(std::span(&blocks[i], 1));
  std::vector<BlockId> fresh;
  REQUIRE(space->allocate(3, fresh));  // evicts 1031, 1030, 1029
  for (PrefixHash gone : {1031, 1030, 1029}) {
    std::vector<BlockId> hit;
    PrefixHash hash = gone;
    CHECK(space->match_prefix(std::span(&hash, 1), hit) == 0);
  }
  std::vector<BlockId> hit;
  PrefixHash kept = 1028;
  CHECK(space->match_prefix(std::span(&kept, 1), hit) == 1);
  CHECK(space->stats().evictions == 3);
  pool->check_invariants();
}

TEST_CASE("a cache space with lfu keeps the prefix that was hit most", "[cache]") {
  auto pool = test::make_cpu_pool(8);
  auto space = pool->create_space(test::space_settings("m", 64 << 10, 2, 0, EvictionPolicyKind::lfu));
  std::vector<BlockId> blocks;
  REQUIRE(space->allocate(32, blocks));
  for (BlockId i = 0; i < 32; ++i) space->publish_prefix(blocks[i], 1000 + i);
  space->release(blocks);
  PrefixHash popular = 1000;  // the oldest, but hit three times
  for (int i = 0; i < 3; ++i) {
    std::vector<BlockId> hit;
    REQUIRE(space->match_prefix(std::span(&popular, 1), hit) == 1);
    space->release(hit);
  }
  std::vector<BlockId> fresh;
  REQUIRE(space->allocate(31, fresh));
  std::vector<BlockId> hit;
  CHECK(space->match_prefix(std::span(&popular, 1), hit) == 1);
  pool->check_invariants();
}
