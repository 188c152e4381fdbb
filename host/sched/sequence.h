// Sequence: the scheduler's record of one request from submission to its
// final event — plan from the plugin, progress (known vs computed tokens),
// its cache blocks or swap ticket, and timing for the metrics.
//
// Owned by ModelScheduler and touched only by its thread (after submit hands
// it over); the cancel flag is the one field other threads write.
#pragma once

#include "host/cache/cache_space.h"
#include "host/sched/request.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace citadel::sched {

using Clock = std::chrono::steady_clock;

inline double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

enum class SequenceState { waiting, running, swapped, finished };

// Set by RequestHandle::cancel from any thread; read by the scheduler thread.
struct CancelFlag {
  std::atomic<bool> requested{false};
};

struct Sequence {
  uint64_t id = 0;
  uint64_t arrival_order = 0;  // FIFO tie-break within a priority
  int priority = 0;
  Clock::time_point arrival;
  Clock::time_point deadline;
  EventSink sink;
  std::shared_ptr<CancelFlag> cancel = std::make_shared<CancelFlag>();

  // From the plugin's plan.
  uint32_t prompt_tokens = 0;
  uint32_t max_new_tokens = 0;
  std::vector<cache::PrefixHash> prompt_hashes;  // full prompt blocks (prefix caching)
  bool compute_whole_prompt = false;  // never skip prompt positions (prompt logprobs)

  // Progress: tokens [0, computed_tokens) are in the cache; the plugin knows
  // known_tokens (prompt + generated). A running sequence always has
  // computed_tokens < known_tokens.
  uint32_t known_tokens = 0;
  uint32_t computed_tokens = 0;
  uint32_t completion_tokens = 0;
  uint32_t cached_prompt_tokens = 0;
  bool admitted_before = false;  // false until its first admission

  // Block i covers positions [i*tpb, (i+1)*tpb). Changed only through
  // sequence_blocks.h, which keeps block_addresses in step with it.
  std::vector<cache::BlockId> blocks;
  // The addresses of blocks[0, block_addresses.size()) as of the space's
  // layout_version addresses_layout (step_block_addresses looks up only the
  // blocks added since the last step).
  std::vector<void*> block_addresses;
  uint64_t addresses_layout = 0;
  uint32_t published_blocks = 0;       // leading prompt blocks already published
  std::optional<cache::SwappedBlocks> swapped;
  SequenceState state = SequenceState::waiting;

  std::optional<Clock::time_point> first_token_at;
  std::optional<Clock::time_point> last_token_at;

  uint32_t remaining_tokens() const { return known_tokens - computed_tokens; }
};

using SequencePtr = std::shared_ptr<Sequence>;

// Priority order: higher priority first, then earlier arrival.
inline bool runs_before(const Sequence& a, const Sequence& b) {
  if (a.priority != b.priority) return a.priority > b.priority;
  return a.arrival_order < b.arrival_order;
}

}  // namespace citadel::sched
