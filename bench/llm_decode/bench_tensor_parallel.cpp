// bench_llm_decode --tensor-parallel: one GPU against N ranks, greedy steps
// (each row's argmax copied back, as llm-gptq's greedy requests), median of
// the timed steps after two warm-up steps.
#include "bench_tensor_parallel.h"

#include "cuda_forward.h"
#include "device_kv_arena.h"
#include "random_model.h"
#include "tensor_parallel_forward.h"

#include "runtime/cuda/device_buffer.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>

namespace citadel::llm {
namespace {

using Clock = std::chrono::steady_clock;

// Median seconds of a greedy decode step of `batch` sequences at `context`,
// `step` being the pass's run_step.
double time_greedy(const std::function<void(std::span<const SequenceChunk>)>& step, const KvGeometry& kv,
                   const HfModelConfig& config, int batch, int context, int steps) {
  DeviceKvArena arena(kv, static_cast<size_t>(batch), static_cast<size_t>(context + steps + 3));
  std::vector<int32_t> tokens(static_cast<size_t>(batch));
  std::vector<SequenceChunk> chunks(static_cast<size_t>(batch));
  std::vector<double> times;
  for (int s = 0; s < steps + 2; ++s) {
    for (int i = 0; i < batch; ++i) {
      tokens[i] = (i * 31 + s * 7 + 11) % static_cast<int32_t>(config.vocab_size);
      SequenceChunk& chunk = chunks[i];
      chunk = SequenceChunk{std::span<const int32_t>(&tokens[i], 1), static_cast<uint32_t>(context + s),
                            arena.sequence(i), true};
      chunk.block_ids = arena.sequence_ids(i);
      chunk.argmax_only = true;
    }
    const Clock::time_point start = Clock::now();
    step(chunks);
    if (s >= 2) times.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

void run_tensor_parallel_shape(const char* name, const HfModelConfig& config,
                               const TensorParallelBenchOptions& options) {
  std::vector<int> devices = options.devices;
  if (devices.empty()) {
    for (int r = 0; r < options.ranks; ++r) devices.push_back(r % cuda_device_count());
  }
  const InMemoryCheckpoint checkpoint = make_random_checkpoint(config, 1234);
  const std::vector<int> batches = {1, 16, 64};
  std::map<int, double> one_gpu;
  {
    use_cuda_device(devices.front());
    const ModelWeights weights = load_model_weights(checkpoint.config, checkpoint.finder(), name);
    const KvGeometry kv{config.num_layers, config.num_kv_heads, config.head_dim, runtime::DType::f16};
    CudaForwardPass forward(config, weights, kv, nullptr);
    for (int batch : batches) {
      one_gpu[batch] = time_greedy([&](std::span<const SequenceChunk> c) { forward.run_step(c); }, kv, config, batch,
                                   options.context, options.decode_steps);
    }
  }
  TensorParallelPlacement placement;
  placement.ranks = options.ranks;
  placement.cuda_devices = devices;
  placement.peer_sums = options.peer_sums;
  TensorParallelForward parallel(checkpoint.config, checkpoint.finder(), name, runtime::DType::f16, placement);
  std::printf("%s: tensor parallel, %s\n", name, parallel.description().c_str());
  use_cuda_device(devices.front());
  for (int batch : batches) {
    const double seconds = time_greedy([&](std::span<const SequenceChunk> c) { parallel.run_step(c); },
                                       parallel.rank_kv(), config, batch, options.context, options.decode_steps);
    std::printf("  greedy decode batch %2d ctx %5d: one GPU %8.3f ms/step %9.1f tok/s | %d ranks %8.3f ms/step %9.1f "
                "tok/s | %.2fx\n",
                batch, options.context, one_gpu[batch] * 1e3, batch / one_gpu[batch], options.ranks, seconds * 1e3,
                batch / seconds, one_gpu[batch] / seconds);
  }
  std::printf("  graph replays of rank 0: %zu\n", parallel.rank0_cuda().graph_replays());
}

}  // namespace citadel::llm
