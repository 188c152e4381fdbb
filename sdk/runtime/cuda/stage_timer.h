// StageTimer: where a sequence of launches on one stream spends its time,
// by CUDA events. The caller names stages, calls stage(s) before the work of
// stage s (the time up to the next mark is charged to s, including host gaps
// in between) and end_pass() after the pass, which synchronizes the stream
// and adds the intervals to per-stage totals. Used by vista's
// CudaWanTransformer when bench_vista --cuda asks for its per-stage table;
// costs one event record per mark, nothing when not attached.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace citadel::runtime::cuda {

class StageTimer {
 public:
  StageTimer(std::vector<std::string> stage_names, void* stream);
  ~StageTimer();
  StageTimer(const StageTimer&) = delete;
  StageTimer& operator=(const StageTimer&) = delete;

  void stage(int index);  // what follows belongs to stage `index`
  void end_pass();        // synchronizes; adds this pass's intervals
  void reset();           // totals and pass count to zero

  const std::vector<std::string>& names() const { return names_; }
  const std::vector<double>& total_ms() const { return total_ms_; }
  int64_t passes() const { return passes_; }

 private:
  std::vector<std::string> names_;
  std::vector<double> total_ms_;
  void* stream_;
  std::vector<void*> events_;  // cudaEvent_t, grown on demand
  std::vector<int> stage_of_;  // the stage of the interval starting at events_[i]
  size_t used_ = 0;
  int64_t passes_ = 0;
};

}  // namespace citadel::runtime::cuda
