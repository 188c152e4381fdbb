// StepGraphs: eager first run, capture on the second, replay afterwards.
#include "runtime/cuda/step_graphs.h"

#include "runtime/cuda/cuda_check.h"

#include <cuda_runtime_api.h>

namespace citadel::runtime::cuda {

StepGraphs::~StepGraphs() { clear(); }

void StepGraphs::clear() {
  for (auto& [key, exec] : graphs_) cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec));
  graphs_.clear();
  seen_.clear();
}

void StepGraphs::run(const Key& key, uint64_t generation, void* stream, const std::function<void()>& enqueue) {
  const auto s = static_cast<cudaStream_t>(stream);
  if (!enabled_ || s == nullptr) {
    enqueue();
    return;
  }
  if (generation != generation_) {
    clear();
    generation_ = generation;
  }
  if (auto found = graphs_.find(key); found != graphs_.end()) {
    check_cuda(cudaGraphLaunch(static_cast<cudaGraphExec_t>(found->second), s), "cudaGraphLaunch (decode step)");
    ++replays_;
    return;
  }
  if (seen_.size() > 4 * max_graphs_) seen_.clear();
  if (seen_[key]++ == 0 || graphs_.size() >= max_graphs_) {
    enqueue();
    return;
  }
  // Capture. Any failure: end the capture, turn graphs off, run eagerly.
  check_cuda(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
  bool enqueued = true;
  try {
    enqueue();
  } catch (...) {
    enqueued = false;
  }
  cudaGraph_t graph = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(s, &graph);
  cudaGraphExec_t exec = nullptr;
  bool ok = enqueued && ended == cudaSuccess && graph != nullptr &&
            cudaGraphInstantiateWithFlags(&exec, graph, 0) == cudaSuccess;
  if (graph != nullptr) cudaGraphDestroy(graph);
  if (!ok) {
    cudaGetLastError();  // clear the capture's error
    if (exec != nullptr) cudaGraphExecDestroy(exec);
    enabled_ = false;
    clear();
    enqueue();
    return;
  }
  graphs_[key] = exec;
  check_cuda(cudaGraphLaunch(exec, s), "cudaGraphLaunch (decode step)");
}

}  // namespace citadel::runtime::cuda
