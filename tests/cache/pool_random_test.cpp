// Randomized operation sequences over three spaces of one CPU pool (allocate,
// share via prefix, release, swap out/in, compact, GC, budget change), with
// every invariant checked after every step and every live request's bytes
// compared with what was written into them.
#include "cache_test_support.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace citadel::cache;
using citadel::config::EvictionPolicyKind;
using test::kMiB;

namespace {

struct Request {
  size_t space = 0;
  std::vector<BlockId> blocks;
  std::vector<uint64_t> seeds;  // content of each block
  std::optional<SwappedBlocks> swapped;
};

class RandomWorkload {
 public:
  explicit RandomWorkload(uint64_t seed) : random_(seed), pool_(test::make_cpu_pool(32, 8)) {
    struct Shape {
      const char* model;
      uint64_t block_bytes, size_mb, reserved_mb;
      EvictionPolicyKind policy;
    };
    const Shape shapes[] = {{"small", 64 << 10, 16, 4, EvictionPolicyKind::lru},
                            {"odd", 48 << 10, 20, 0, EvictionPolicyKind::adaptive},
                            {"big", 3 * kMiB, 24, 0, EvictionPolicyKind::size_aware_lru}};
    for (const Shape& shape : shapes) {
      spaces_.push_back(pool_->create_space(
          test::space_settings(shape.model, shape.block_bytes, shape.size_mb, shape.reserved_mb, shape.policy, 0.8)));
    }
  }

  void step() {
    switch (random_() % 10) {
      case 0: case 1: case 2: start_request(); break;
      case 3: case 4: finish_request(); break;
      case 5: swap_out(); break;
      case 6: swap_in(); break;
      case 7: pool_->compact(pick_model(), random_() % 2 == 0); break;
      case 8: pool_->run_gc_now(); break;
      case 9: change_budget(); break;
    }
    pool_->check_invariants();
  }

  void verify_all() {
    for (const Request& request : requests_) {
      if (request.swapped) continue;
      for (size_t i = 0; i < request.blocks.size(); ++i) check_block(request.space, request.blocks[i], request.seeds[i]);
    }
  }

  uint64_t live_requests() const { return requests_.size(); }

 private:
  std::string pick_model() { return spaces_[random_() % spaces_.size()]->model(); }
  size_t block_bytes(size_t space) const { return spaces_[space]->geometry().block_bytes; }

  void check_block(size_t space, BlockId block, uint64_t seed) {
    // Compare a sample (start, middle, end) to keep the test fast on 3 MiB blocks.
    const auto* bytes = static_cast<const uint8_t*>(spaces_[space]->address(block));
    std::vector<uint8_t> expected = test::block_pattern(seed, block_bytes(space));
    for (size_t offset : {size_t{0}, expected.size() / 2, expected.size() - 64}) {
      REQUIRE(std::equal(bytes + offset, bytes + offset + 64, expected.begin() + static_cast<std::ptrdiff_t>(offset)));
    }
  }
  void write(size_t space, BlockId block, uint64_t seed) {
    std::vector<uint8_t> data = test::block_pattern(seed, block_bytes(space));
    std::memcpy(spaces_[space]->address(block), data.data(), data.size());
  }

  void start_request() {
    Request request;
    request.space = random_() % spaces_.size();
    CacheSpace& space = *spaces_[request.space];
    const uint32_t length = 1 + random_() % (request.space == 2 ? 3 : 12);
    const uint32_t prefix_length = random_() % (length + 1);
    const uint64_t document = random_() % 6;
    std::vector<PrefixHash> hashes;
    for (uint32_t i = 0; i < prefix_length; ++i) hashes.push_back((document << 32) + i + 1);
    uint32_t matched = space.match_prefix(hashes, request.blocks);
    for (uint32_t i = 0; i < matched; ++i) {
      check_block(request.space, request.blocks[i], hashes[i]);
      request.seeds.push_back(hashes[i]);
    }
    std::vector<BlockId> fresh;
    if (!space.allocate(length - matched, fresh)) {
      space.release(request.blocks);
      return;
    }
    for (uint32_t i = 0; i < fresh.size(); ++i) {
      uint32_t position = matched + i;
      uint64_t seed = position < prefix_length ? hashes[position] : (uint64_t{1} << 62) + next_seed_++;
      write(request.space, fresh[i], seed);
      if (position < prefix_length) space.publish_prefix(fresh[i], hashes[position]);
      request.blocks.push_back(fresh[i]);
      request.seeds.push_back(seed);
    }
    requests_.push_back(std::move(request));
  }

  void finish_request() {
    if (requests_.empty()) return;
    size_t index = random_() % requests_.size();
    Request& request = requests_[index];
    if (request.swapped) {
      spaces_[request.space]->discard_swapped(*request.swapped);
    } else {
      spaces_[request.space]->release(request.blocks);
    }
    requests_.erase(requests_.begin() + static_cast<std::ptrdiff_t>(index));
  }

  void swap_out() {
    if (requests_.empty()) return;
    Request& request = requests_[random_() % requests_.size()];
    if (request.swapped || request.blocks.empty()) return;
    request.swapped = spaces_[request.space]->swap_out(request.blocks);
    if (request.swapped) request.blocks.clear();
  }

  void swap_in() {
    for (Request& request : requests_) {
      if (!request.swapped) continue;
      std::vector<BlockId> back;
      if (!spaces_[request.space]->swap_in(*request.swapped, back)) return;
      REQUIRE(back.size() == request.seeds.size());
      request.blocks = back;
      request.swapped.reset();
      for (size_t i = 0; i < back.size(); ++i) check_block(request.space, back[i], request.seeds[i]);
      return;
    }
  }

  void change_budget() {
    size_t space = random_() % spaces_.size();
    uint64_t size_mb = 6 + random_() % 27;
    uint64_t reserved_mb = random_() % 3 == 0 ? random_() % 6 : 0;
    try {
      pool_->set_budget(spaces_[space]->model(), size_mb, reserved_mb);
    } catch (const CacheBudgetError&) {
      // refused settings leave the space as it was; invariants still hold
    }
  }

  std::mt19937_64 random_;
  std::shared_ptr<DevicePool> pool_;
  std::vector<std::shared_ptr<CacheSpace>> spaces_;
  std::vector<Request> requests_;
  uint64_t next_seed_ = 0;
};

}  // namespace

TEST_CASE("random operation sequences keep every pool invariant and every byte", "[cache]") {
  for (uint64_t seed : {1u, 2u, 3u}) {
    INFO("seed " << seed);
    RandomWorkload workload(seed);
    for (int step = 0; step < 1000; ++step) {
      INFO("step " << step);
      workload.step();
      if (step % 100 == 0) workload.verify_all();
    }
    workload.verify_all();
  }
}
