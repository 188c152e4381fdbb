// StageTimer (see stage_timer.h).
#include "runtime/cuda/stage_timer.h"

#include "runtime/cuda/cuda_check.h"

#include <cuda_runtime.h>

namespace citadel::runtime::cuda {

StageTimer::StageTimer(std::vector<std::string> stage_names, void* stream)
    : names_(std::move(stage_names)), total_ms_(names_.size(), 0.0), stream_(stream) {}

StageTimer::~StageTimer() {
  for (void* event : events_) cudaEventDestroy(static_cast<cudaEvent_t>(event));
}

void StageTimer::stage(int index) {
  if (index < 0 || static_cast<size_t>(index) >= names_.size()) fail_invalid("StageTimer: no stage " + std::to_string(index));
  if (used_ == events_.size()) {
    cudaEvent_t event = nullptr;
    check_cuda(cudaEventCreate(&event), "StageTimer: cudaEventCreate");
    events_.push_back(event);
    stage_of_.push_back(0);
  }
  check_cuda(cudaEventRecord(static_cast<cudaEvent_t>(events_[used_]), static_cast<cudaStream_t>(stream_)),
             "StageTimer: cudaEventRecord");
  stage_of_[used_++] = index;
}

void StageTimer::end_pass() {
  if (used_ == 0) return;
  const int last = stage_of_[used_ - 1];
  stage(last);  // the closing mark
  check_cuda(cudaEventSynchronize(static_cast<cudaEvent_t>(events_[used_ - 1])), "StageTimer: cudaEventSynchronize");
  for (size_t i = 0; i + 1 < used_; ++i) {
    float ms = 0.0f;
    check_cuda(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(events_[i]), static_cast<cudaEvent_t>(events_[i + 1])),
               "StageTimer: cudaEventElapsedTime");
    total_ms_[static_cast<size_t>(stage_of_[i])] += ms;
  }
  used_ = 0;
  ++passes_;
}

void StageTimer::reset() {
  total_ms_.assign(names_.size(), 0.0);
  passes_ = 0;
  used_ = 0;
}

}  // namespace citadel::runtime::cuda
