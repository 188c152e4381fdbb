// StepUploads: a step's small host-to-device copies (positions, block
// tables, expert routing plans, pointer arrays) queued without waiting for
// the stream. Each copy's bytes are first placed in a pinned arena that the
// next step reuses, so the host never blocks on a copy and the GPU never
// idles while the host prepares the next one. deepseek-ocr's CUDA decoder
// calls it several times per layer. Not thread-safe. Plain C++, no Boost.
//
// Contract: begin_step() may only be called once the stream has finished
// every copy queued since the previous begin_step() (the decoders
// synchronize the stream at the end of each step anyway); copies queued
// before it then read bytes that are about to be overwritten.
#pragma once

#include "runtime/cuda/pinned_buffer.h"

#include <cstddef>
#include <vector>

namespace citadel::runtime::cuda {

class StepUploads {
 public:
  // Starts a step: the arena is reused from its start (grown to the largest
  // step seen so far in one piece).
  void begin_step();

  // Queues a copy of `bytes` from host memory `from` (any memory; it is
  // copied into the arena first) to device address `to`, ordered on
  // `stream`. `from` may be reused as soon as this returns.
  void copy(void* to, const void* from, size_t bytes, void* stream);

  // Pinned bytes held (tests and benchmarks).
  size_t capacity() const;

 private:
  std::vector<PinnedHostBuffer> pieces_;  // the last one is being filled
  size_t used_ = 0;                       // bytes used of pieces_.back()
  size_t step_bytes_ = 0;                 // bytes placed this step, in all pieces
};

}  // namespace citadel::runtime::cuda
