// StepGraphs: replays a repeated sequence of stream work (a model's step)
// as a CUDA graph per shape key. The first run of a key is eager (it may
// allocate scratch); the second is captured (thread-local capture mode) and
// launched; later runs replay. The work must read everything that changes
// between steps from device buffers whose addresses stay fixed: the caller
// passes a `generation` that it bumps whenever one of those buffers is
// reallocated, and every graph of an older generation is dropped. A capture
// that fails turns graphs off for this object (the step runs eagerly).
// Used by llm-gptq's CUDA forward pass. Plain C++; no Boost.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>

namespace citadel::runtime::cuda {

class StepGraphs {
 public:
  using Key = std::array<int64_t, 4>;

  explicit StepGraphs(bool enabled = true, size_t max_graphs = 64) : enabled_(enabled), max_graphs_(max_graphs) {}
  ~StepGraphs();
  StepGraphs(const StepGraphs&) = delete;
  StepGraphs& operator=(const StepGraphs&) = delete;

  // Queues `enqueue`'s work on `stream` (a cudaStream_t; graphs need a
  // non-null stream, with null everything runs eagerly).
  void run(const Key& key, uint64_t generation, void* stream, const std::function<void()>& enqueue);

  bool enabled() const { return enabled_; }
  size_t graphs() const { return graphs_.size(); }
  size_t replays() const { return replays_; }

 private:
  void clear();

  bool enabled_;
  size_t max_graphs_;
  uint64_t generation_ = 0;
  std::map<Key, void*> graphs_;  // cudaGraphExec_t
  std::map<Key, int> seen_;
  size_t replays_ = 0;
};

}  // namespace citadel::runtime::cuda
