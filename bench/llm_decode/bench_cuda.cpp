// bench_llm_decode --cuda: CudaForwardPass on random int4 weights. Each step
// is timed on the host around run(), which ends with the logits copied back
// (the stream synchronized), as the plugin's step does; the median of the
// timed steps is reported. Achieved GB/s = weight bytes read per step (all
// projections + lm_head) / step time, also as a fraction of 3.0 TB/s HBM.
#include "bench_cuda.h"

#include "cuda_forward.h"
#include "forward.h"
#include "random_model.h"

#include "runtime/cuda/device_buffer.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <span>
#include <vector>

namespace citadel::llm {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Device cache blocks for `sequences` sequences of up to `positions` tokens,
// zeroed (a valid f16 cache).
class DeviceArena {
 public:
  DeviceArena(const KvGeometry& kv, size_t sequences, size_t positions)
      : blocks_per_sequence_((positions + kTokensPerBlock - 1) / kTokensPerBlock),
        storage_(sequences * blocks_per_sequence_ * kv.block_bytes(), "bench KV blocks") {
    storage_.zero();
    runtime::cuda::synchronize();
    for (size_t b = 0; b < sequences * blocks_per_sequence_; ++b) {
      addresses_.push_back(storage_.as<std::byte>() + b * kv.block_bytes());
    }
  }
  std::span<void* const> sequence(size_t i) const {
    return std::span<void* const>(addresses_).subspan(i * blocks_per_sequence_, blocks_per_sequence_);
  }

 private:
  size_t blocks_per_sequence_;
  runtime::cuda::DeviceBuffer storage_;
  std::vector<void*> addresses_;
};

}  // namespace

void run_cuda_shape(const char* name, const HfModelConfig& config, const CudaBenchOptions& options) {
  Clock::time_point start = Clock::now();
  const KvGeometry kv{config.num_layers, config.num_kv_heads, config.head_dim, runtime::DType::f16};
  double weight_gb = 0.0;
  std::unique_ptr<CudaForwardPass> forward;
  {
    const InMemoryCheckpoint checkpoint = make_random_checkpoint(config, 1234);
    const ModelWeights weights = load_model_weights(checkpoint.config, checkpoint.finder(), name);
    weight_gb = static_cast<double>(weights.bytes_per_decode_step()) / 1e9;
    forward = std::make_unique<CudaForwardPass>(config, weights, kv, nullptr);
  }  // host copies freed; the pass keeps only device buffers (and `config`)
  std::printf("%s on %s: %u layers, hidden %u, int4 g128 + fp16 lm_head: %.2f GB read per decode step "
              "(%.2f GB on the device, built in %.1f s)\n",
              name, runtime::cuda::device_name().c_str(), config.num_layers, config.hidden_size, weight_gb,
              static_cast<double>(forward->device_weight_bytes()) / 1e9, seconds_since(start));

  for (int batch : {1, 16, 64}) {
    DeviceArena arena(kv, batch, options.context + options.decode_steps + 3);
    std::vector<int32_t> tokens(batch);
    std::vector<SequenceChunk> chunks(batch);
    auto make_step = [&](int step) {
      for (int i = 0; i < batch; ++i) {
        tokens[i] = (i * 31 + step * 7 + 11) % static_cast<int32_t>(config.vocab_size);
        chunks[i] = SequenceChunk{std::span<const int32_t>(&tokens[i], 1),
                                  static_cast<uint32_t>(options.context + step), arena.sequence(i), true};
      }
    };
    for (int warm = 0; warm < 2; ++warm) {
      make_step(warm);
      forward->run(chunks);
    }
    std::vector<double> times;
    for (int step = 2; step < options.decode_steps + 2; ++step) {
      make_step(step);
      start = Clock::now();
      forward->run(chunks);
      times.push_back(seconds_since(start));
    }
    const double per_step = median(times);
    const double gbps = weight_gb / per_step;
    std::printf("  decode batch %2d: %9.1f tokens/s  %7.2f ms/step  %7.1f GB/s weights (%.0f%% of 3.0 TB/s)\n", batch,
                batch / per_step, per_step * 1e3, gbps, gbps / 3000.0 * 100.0);
  }

  DeviceArena arena(kv, 1, options.prefill_tokens);
  std::vector<int32_t> prompt(options.prefill_tokens);
  for (int i = 0; i < options.prefill_tokens; ++i) prompt[i] = (i * 13 + 5) % static_cast<int32_t>(config.vocab_size);
  const std::vector<SequenceChunk> chunk{{prompt, 0, arena.sequence(0), true}};
  forward->run(chunk);  // warm-up (scratch allocation, cuBLAS)
  std::vector<double> times;
  for (int repeat = 0; repeat < 5; ++repeat) {
    start = Clock::now();
    forward->run(chunk);
    times.push_back(seconds_since(start));
  }
  const double prefill = median(times);
  std::printf("  prefill %d tokens: %9.1f tokens/s  (%.2f ms)\n", options.prefill_tokens,
              options.prefill_tokens / prefill, prefill * 1e3);
}

}  // namespace citadel::llm
