// NcclAllReduce: the AllReduce (runtime/core/all_reduce.h) of one process
// driving several GPUs, one NCCL communicator per device (ncclCommInitAll),
// each sum() an in-place ncclAllReduce enqueued on the rank's stream (so a
// CUDA graph may capture it). The tensor-parallel path uses it when the ranks
// are on distinct GPUs and NCCL is present; otherwise StagedAllReduce.
// NCCL is not linked: libnccl.so.2 is loaded at run time (dlopen) on the
// first use, so a CUDA build starts on machines without it; a build whose
// toolkit had no nccl.h compiles this file without NCCL and refuses to
// construct one. Thread-safety: each rank calls sum() from its own thread
// (NCCL allows one thread per communicator); abort() from any thread.
#pragma once

#include "runtime/core/all_reduce.h"

#include <atomic>
#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

struct ncclComm;  // nccl.h's communicator; ncclComm_t is ncclComm*

namespace citadel::runtime::cuda {

// True when this build has the NCCL header and libnccl.so.2 loads with every
// entry point used here (never throws).
bool nccl_available();
// For logs: "2.21.5", or "unavailable: <why>".
std::string nccl_version();

class NcclAllReduce final : public AllReduce {
 public:
  // One communicator per ordinal; rank r is device_ordinals[r]. Throws
  // RuntimeError when an ordinal repeats (NCCL refuses two ranks on one GPU:
  // use StagedAllReduce), when this build has no nccl.h, when libnccl.so.2
  // is not found, or when NCCL fails to set up the group.
  explicit NcclAllReduce(std::vector<int> device_ordinals);
  // Destroys the communicators not aborted; no rank may be inside sum().
  ~NcclAllReduce() override;
  NcclAllReduce(const NcclAllReduce&) = delete;
  NcclAllReduce& operator=(const NcclAllReduce&) = delete;

  int ranks() const override { return static_cast<int>(devices_.size()); }
  // Makes the rank's device current on the calling thread and enqueues the
  // in-place sum of `count` floats at device address `data` on `stream` (a
  // cudaStream_t on that device); returns without waiting.
  void sum(int rank, float* data, size_t count, void* stream) override;
  bool capturable() const override { return true; }
  // Aborts every communicator (ncclCommAbort: kernels waiting for a peer
  // return); sum() throws from then on.
  void abort() override;
  // Does nothing on a group never aborted. An aborted group cannot be
  // revived (its communicators are gone): reset() throws RuntimeError, and
  // the caller makes a new NcclAllReduce.
  void reset() override;

 private:
  std::vector<int> devices_;
  std::vector<ncclComm*> comms_;  // written by the constructor only
  std::atomic<bool> aborted_{false};
  std::mutex abort_mutex_;  // serializes abort() calls
};

}  // namespace citadel::runtime::cuda
