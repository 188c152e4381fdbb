// bench_llm_decode --cuda: CudaForwardPass on random int4 weights. Each step
// is timed on the host around run(), which ends with every logits row copied
// back (the stream synchronized), as the plugin's step does for rows it
// samples from on the CPU; then again around run_step with argmax_only
// chunks, as its greedy steps do (each row's argmax copied, not the row);
// the medians of the timed steps are reported (steps after the first two
// replay a CUDA graph).
// Roofline: the bytes a decode step must read (the weights on the device but
// the embedding, plus the KV cache of every sequence) / the device-to-device
// copy bandwidth measured in this process. cuBLAS f16: the same linear layers
// (fused shapes) and lm_head as f16 GEMMs through cuBLAS, timed alone.
#include "bench_cuda.h"

#include "bench_shapes.h"
#include "cuda_forward.h"
#include "device_kv_arena.h"
#include "forward.h"
#include "random_model.h"

#include "runtime/cuda/device_buffer.h"
#include "runtime/cuda/random_fill.h"
#include "runtime/cuda/stage_timer.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <span>
#include <vector>

namespace citadel::llm {
namespace {

using Clock = std::chrono::steady_clock;
namespace cuda = runtime::cuda;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Microseconds of the model's linear layers and lm_head as f16 cuBLAS GEMMs at `rows`.
double cublas_f16_step_us(const HfModelConfig& c, int64_t rows, cuda::CublasContext& context) {
  const int64_t hidden = c.hidden_size, q = int64_t{c.num_heads} * c.head_dim, kv = int64_t{c.num_kv_heads} * c.head_dim;
  const int64_t ffn = c.intermediate_size;
  const std::vector<std::pair<int64_t, int64_t>> shapes = {{hidden, q + 2 * kv}, {q, hidden}, {hidden, 2 * ffn},
                                                           {ffn, hidden}};
  cuda::DeviceBuffer x(static_cast<size_t>(rows * std::max(ffn, q)) * 4);
  cuda::fill_uniform_f32(x.as<float>(), rows * std::max(ffn, q), -1.0f, 1.0f, 3, nullptr);
  double total = 0.0;
  auto gemm_us = [&](int64_t in, int64_t out) {
    bench::F16Weights weight(in, out);
    cuda::DeviceBuffer y(static_cast<size_t>(rows * out) * 4);
    return bench::time_calls(
        [&](int i) {
          cuda::matmul_f16(context, x.as<float>(), rows, in, weight.copy(i), cuda::WeightLayout::out_in, out,
                           y.as<float>(), nullptr, nullptr);
        },
        weight.copies());
  };
  for (const auto& [in, out] : shapes) total += gemm_us(in, out) * c.num_layers;
  return total + gemm_us(hidden, c.vocab_size);
}

struct StepFigures {
  double seconds;         // every logits row copied to the host (run)
  double greedy_seconds;  // only each row's argmax copied, as llm-gptq's greedy steps (run_step, argmax_only)
  double host_seconds;    // CPU side of a step (CudaForwardPass::last_host_seconds)
  size_t replays;
};

// Median step time of `steps` decode steps of `batch` sequences at `context`.
StepFigures time_decode(CudaForwardPass& forward, const HfModelConfig& config, const KvGeometry& kv, int batch,
                        int context, int steps) {
  DeviceKvArena arena(kv, batch, context + 2 * steps + 3);
  std::vector<int32_t> tokens(batch);
  std::vector<SequenceChunk> chunks(batch);
  auto make_step = [&](int step) {
    for (int i = 0; i < batch; ++i) {
      tokens[i] = (i * 31 + step * 7 + 11) % static_cast<int32_t>(config.vocab_size);
      chunks[i] = SequenceChunk{std::span<const int32_t>(&tokens[i], 1), static_cast<uint32_t>(context + step),
                                arena.sequence(i), true};
    }
  };
  const size_t replays_before = forward.graph_replays();
  for (int warm = 0; warm < 2; ++warm) {
    make_step(warm);
    forward.run(chunks);
  }
  std::vector<double> times, greedy_times, host_times;
  for (int step = 2; step < steps + 2; ++step) {
    make_step(step);
    const Clock::time_point start = Clock::now();
    forward.run(chunks);
    times.push_back(seconds_since(start));
    host_times.push_back(forward.last_host_seconds());
  }
  for (int step = steps + 2; step < 2 * steps + 2; ++step) {
    make_step(step);
    for (SequenceChunk& chunk : chunks) chunk.argmax_only = true;
    const Clock::time_point start = Clock::now();
    forward.run_step(chunks);
    greedy_times.push_back(seconds_since(start));
  }
  return {median(times), median(greedy_times), median(host_times), forward.graph_replays() - replays_before};
}

// Where a greedy decode step's time goes: `steps` eager steps (no graph:
// each launch's host gap is in the stage it precedes) with a StageTimer.
void print_stages(CudaForwardPass& forward, const HfModelConfig& config, const KvGeometry& kv, int batch, int context,
                  int steps) {
  DeviceKvArena arena(kv, batch, context + steps + 3);
  std::vector<int32_t> tokens(batch);
  std::vector<SequenceChunk> chunks(batch);
  runtime::cuda::StageTimer timer(step_stage_names(), forward.stream());
  forward.attach_stage_timer(&timer);
  for (int step = 0; step < steps + 1; ++step) {
    if (step == 1) timer.reset();  // the first step warms up
    for (int i = 0; i < batch; ++i) {
      tokens[i] = (i * 31 + step * 7 + 11) % static_cast<int32_t>(config.vocab_size);
      chunks[i] = SequenceChunk{std::span<const int32_t>(&tokens[i], 1), static_cast<uint32_t>(context + step),
                                arena.sequence(i), true};
      chunks[i].argmax_only = true;
    }
    forward.run_step(chunks);
  }
  forward.attach_stage_timer(nullptr);
  double total = 0.0;
  for (double ms : timer.total_ms()) total += ms;
  const double passes = static_cast<double>(std::max<int64_t>(1, timer.passes()));
  std::printf("    eager step, batch %d: %.3f ms |", batch, total / passes);
  for (size_t i = 0; i < timer.names().size(); ++i) {
    std::printf(" %s %.3f ms (%.1f%%) |", timer.names()[i].c_str(), timer.total_ms()[i] / passes,
                100.0 * timer.total_ms()[i] / std::max(total, 1e-9));
  }
  std::printf("\n");
}

}  // namespace

void run_cuda_shape(const char* name, const HfModelConfig& config, const CudaBenchOptions& options) {
  static const double copy_bandwidth = bench::measure_copy_bandwidth();
  Clock::time_point start = Clock::now();
  const KvGeometry kv{config.num_layers, config.num_kv_heads, config.head_dim, runtime::DType::f16};
  std::unique_ptr<CudaForwardPass> forward;
  double embedding_bytes = 0.0;
  {
    const InMemoryCheckpoint checkpoint = make_random_checkpoint(config, 1234);
    const ModelWeights weights = load_model_weights(checkpoint.config, checkpoint.finder(), name);
    embedding_bytes = static_cast<double>(weights.embedding.nbytes());
    forward = std::make_unique<CudaForwardPass>(config, weights, kv, nullptr);
  }  // host copies freed; the pass keeps only device buffers (and `config`)
  const double weight_bytes = static_cast<double>(forward->device_weight_bytes()) - embedding_bytes;
  std::printf("%s on %s: %u layers, hidden %u, int4 g128 (tiled) + fp16 lm_head: %.2f GB of weights read per step; "
              "copy bandwidth %.2f TB/s (built in %.1f s)\n",
              name, runtime::cuda::device_name().c_str(), config.num_layers, config.hidden_size, weight_bytes / 1e9,
              copy_bandwidth / 1e12, seconds_since(start));

  cuda::CublasContext cublas;
  auto report = [&](int batch, int context, const StepFigures& figures) {
    const double kv_bytes = static_cast<double>(batch) * (context + 1) * config.num_layers *
                            static_cast<double>(kv.bytes_per_token_per_layer());
    const double roofline = (weight_bytes + kv_bytes) / copy_bandwidth;
    const double f16_us = cublas_f16_step_us(config, batch, cublas);
    std::printf("  decode batch %2d ctx %5d: %9.1f tok/s %7.3f ms/step | greedy (argmax copied) %9.1f tok/s %7.3f "
                "ms/step | roofline %9.1f tok/s (%4.1f%%) | cublas f16 linears alone %9.1f tok/s | host %5.1f us/step "
                "| %zu graph replays\n",
                batch, context, batch / figures.seconds, figures.seconds * 1e3, batch / figures.greedy_seconds,
                figures.greedy_seconds * 1e3, batch / roofline, 100.0 * roofline / figures.seconds,
                batch * 1e6 / f16_us, figures.host_seconds * 1e6, figures.replays);
  };
  for (int batch : {1, 16, 64}) {
    report(batch, options.context, time_decode(*forward, config, kv, batch, options.context, options.decode_steps));
    if (options.stages) print_stages(*forward, config, kv, batch, options.context, options.decode_steps);
  }
  for (int context : options.long_contexts) {
    report(16, context, time_decode(*forward, config, kv, 16, context, std::max(3, options.decode_steps / 4)));
  }

  DeviceKvArena arena(kv, 1, options.prefill_tokens);
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
