// The four eviction policies of eviction_policy.h: ordered containers keyed by
// a logical clock (recency), a use count (frequency) or a GreedyDual-Size
// priority; the adaptive one keeps two LRU lists and two ghost lists.
#include "host/cache/eviction_policy.h"

#include <list>
#include <map>
#include <set>
#include <stdexcept>
#include <tuple>
#include <unordered_map>

namespace citadel::cache {
namespace {

using config::EvictionPolicyKind;

// LRU, LFU and GreedyDual-Size differ only in their sort key.
template <typename Key>
class OrderedPolicy : public EvictionPolicy {
 public:
  void erase(BlockId block) override {
    auto found = keys_.find(block);
    if (found == keys_.end()) return;
    order_.erase({found->second, block});
    keys_.erase(found);
  }
  std::optional<BlockId> evict() override {
    if (order_.empty()) return std::nullopt;
    auto first = order_.begin();
    BlockId block = first->second;
    on_evict(first->first);
    keys_.erase(block);
    order_.erase(first);
    return block;
  }
  size_t size() const override { return keys_.size(); }

 protected:
  void put(BlockId block, Key key) {
    erase(block);
    keys_[block] = key;
    order_.insert({key, block});
  }
  virtual void on_evict(const Key&) {}
  uint64_t clock_ = 0;

 private:
  std::unordered_map<BlockId, Key> keys_;
  std::set<std::pair<Key, BlockId>> order_;
};

class LruPolicy final : public OrderedPolicy<uint64_t> {
 public:
  void insert(BlockId block, PrefixHash, uint32_t, uint32_t) override { put(block, ++clock_); }
  EvictionPolicyKind kind() const override { return EvictionPolicyKind::lru; }
};

class LfuPolicy final : public OrderedPolicy<std::pair<uint32_t, uint64_t>> {
 public:
  void insert(BlockId block, PrefixHash, uint32_t uses, uint32_t) override { put(block, {uses, ++clock_}); }
  EvictionPolicyKind kind() const override { return EvictionPolicyKind::lfu; }
};

class GreedyDualSizePolicy final : public OrderedPolicy<std::pair<double, uint64_t>> {
 public:
  void insert(BlockId block, PrefixHash, uint32_t, uint32_t group_blocks) override {
    double size = group_blocks == 0 ? 1.0 : static_cast<double>(group_blocks);
    put(block, {inflation_ + 1.0 / size, ++clock_});
  }
  EvictionPolicyKind kind() const override { return EvictionPolicyKind::size_aware_lru; }

 private:
  void on_evict(const std::pair<double, uint64_t>& key) override { inflation_ = key.first; }
  double inflation_ = 0.0;  // GreedyDual's L
};

class AdaptivePolicy final : public EvictionPolicy {
 public:
  explicit AdaptivePolicy(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  void insert(BlockId block, PrefixHash hash, uint32_t uses, uint32_t) override {
    erase(block);
    List& list = uses <= 1 ? recent_ : frequent_;
    list.push_back({block, hash});
    where_[block] = {&list, std::prev(list.end())};
  }
  void erase(BlockId block) override {
    auto found = where_.find(block);
    if (found == where_.end()) return;
    found->second.first->erase(found->second.second);
    where_.erase(found);
  }
  std::optional<BlockId> evict() override {
    if (where_.empty()) return std::nullopt;
    bool from_recent = !recent_.empty() && (recent_.size() > target_recent_ || frequent_.empty());
    List& list = from_recent ? recent_ : frequent_;
    Entry victim = list.front();
    list.pop_front();
    where_.erase(victim.block);
    remember(from_recent ? ghost_recent_ : ghost_frequent_, victim.hash);
    return victim.block;
  }
  void record_miss(PrefixHash hash) override {
    if (ghost_recent_.forget(hash)) {
      size_t step = std::max<size_t>(1, ghost_frequent_.size() / std::max<size_t>(1, ghost_recent_.size() + 1));
      target_recent_ = std::min(capacity_, target_recent_ + step);
    } else if (ghost_frequent_.forget(hash)) {
      size_t step = std::max<size_t>(1, ghost_recent_.size() / std::max<size_t>(1, ghost_frequent_.size() + 1));
      target_recent_ = target_recent_ > step ? target_recent_ - step : 0;
    }
  }
  size_t size() const override { return where_.size(); }
  EvictionPolicyKind kind() const override { return EvictionPolicyKind::adaptive; }

 private:
  struct Entry {
    BlockId block;
    PrefixHash hash;
  };
  using List = std::list<Entry>;

  // Bounded FIFO of evicted hashes.
  class Ghosts {
   public:
    void add(PrefixHash hash, size_t capacity) {
      if (index_.count(hash) != 0) return;
      order_.push_back(hash);
      index_[hash] = std::prev(order_.end());
      while (order_.size() > capacity) {
        index_.erase(order_.front());
        order_.pop_front();
      }
    }
    bool forget(PrefixHash hash) {
      auto found = index_.find(hash);
      if (found == index_.end()) return false;
      order_.erase(found->second);
      index_.erase(found);
      return true;
    }
    size_t size() const { return order_.size(); }

   private:
    std::list<PrefixHash> order_;
    std::unordered_map<PrefixHash, std::list<PrefixHash>::iterator> index_;
  };

  void remember(Ghosts& ghosts, PrefixHash hash) { ghosts.add(hash, capacity_); }

  size_t capacity_;
  size_t target_recent_ = 0;  // ARC's p
  List recent_;               // T1
  List frequent_;             // T2
  Ghosts ghost_recent_;       // B1
  Ghosts ghost_frequent_;     // B2
  std::unordered_map<BlockId, std::pair<List*, List::iterator>> where_;
};

}  // namespace

std::unique_ptr<EvictionPolicy> make_eviction_policy(EvictionPolicyKind kind, size_t capacity_blocks) {
  switch (kind) {
    case EvictionPolicyKind::lru: return std::make_unique<LruPolicy>();
    case EvictionPolicyKind::lfu: return std::make_unique<LfuPolicy>();
    case EvictionPolicyKind::size_aware_lru: return std::make_unique<GreedyDualSizePolicy>();
    case EvictionPolicyKind::adaptive: return std::make_unique<AdaptivePolicy>(capacity_blocks);
  }
  throw std::invalid_argument("make_eviction_policy: unknown eviction policy");
}

}  // namespace citadel::cache
