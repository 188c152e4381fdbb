// all_reduce.h — the sum across the ranks of a tensor-parallel group, which
// llm-gptq's TensorParallelForward (plugins/llm-gptq/tensor_parallel_forward.h)
// calls after each row-split projection (o_proj, down_proj). Every rank
// calls sum() from its own thread, in the same order as the other ranks
// (a collective); the result is bit-identical on every rank, so replicated
// state (the hidden states) stays equal across them.
// Implementations:
//   ThreadAllReduce (thread_all_reduce.h): host buffers, ranks as threads;
//   cuda::StagedAllReduce (runtime/cuda/staged_all_reduce.h): device
//     buffers through host memory, any devices (the same one twice too);
//   cuda::NcclAllReduce (runtime/cuda/nccl_all_reduce.h): one NCCL
//     communicator per device, enqueued on the rank's stream.
#pragma once

#include <cstddef>

namespace citadel::runtime {

class AllReduce {
 public:
  virtual ~AllReduce() = default;

  virtual int ranks() const = 0;

  // Replaces rank `rank`'s `count` floats at `data` by the sum over the
  // ranks. `stream` is the rank's cudaStream_t for the device kinds (null on
  // the host). Host implementations return with the sum in place; capturable
  // ones return once it is enqueued on `stream`. Throws RuntimeError after
  // abort() (in a rank waiting for the others too) and on a failed transfer.
  virtual void sum(int rank, float* data, size_t count, void* stream) = 0;

  // True when sum() only enqueues work on the stream (no host wait), so a
  // CUDA graph may capture it.
  virtual bool capturable() const { return false; }

  // Called when one rank failed mid-step: ranks waiting in sum(), and every
  // later call, throw until reset(). Lets the other ranks' threads return.
  virtual void abort() {}
  // Makes the group usable again once no rank is inside sum().
  virtual void reset() {}
};

}  // namespace citadel::runtime
