// bench_llm_decode: builds random-weight Llama models of real shapes in
// memory (no files), then times the llm-gptq forward pass on the CPU:
// decode steps at batch 1, 16 and 64 (tokens/s, and weight bytes read per
// step / step time as achieved GB/s) and one 512-token prefill (tokens/s).
// --quick (default) runs the TinyLlama-1.1B shape with few steps; --full adds
// Llama-3-8B. --cuda (CUDA builds) times the CUDA forward pass instead, both
// shapes, KV blocks in device memory (bench_cuda.cpp; --no-pdl: int4 GEMV
// launches without programmatic dependent launch; --mma-f16-rows N: the
// int4 GEMM with f16 activations up to N rows, 0 for dequantize + cuBLAS
// past 24; --mma-f16-from N: that GEMM from N rows on, in place of the
// f32-exact kernels up to 24; --mma-exact-from N: the f32-exact int4 GEMM
// from N rows (default 8) in place of the GEMVs; --wgmma: the int4 GEMM on
// wgmma on sm_90a (default: mma.sync); --mma-plan M B S: the
// GEMM's splits hold at least M stages of 64 inputs (default 4), aim at B
// blocks per SM (0: its occupancy), at most S splits (up to 8); --attention-waves W: the tensor-core
// attention's splits fill up to W waves (default 2); --stages: where a decode step's time goes, per
// part of the layers, from CUDA events around eager steps); --offload times a
// 32B-shape int4 model under a 16 GB (--budget-gb) GPU weight budget with
// the other layers streamed from host memory (bench_offload.cpp).
// --tensor-parallel N [--tp-devices A,B] times greedy decode on one GPU and
// over N tensor-parallel ranks (bench_tensor_parallel.cpp). --gguf FILE times a
// GGUF model file instead (weights in their stored block types; the load
// time is printed too); with --perplexity TEXT it instead prints the file's
// perplexity on that text (its own tokenizer, no special tokens, windows of
// 512 tokens, at most 8192 tokens, as tools/perplexity.py scores). Figures
// are printed, never checked.
#include "forward.h"
#include "gguf_model.h"
#include "random_model.h"
#ifdef CITADEL_HAVE_CUDA
#include "bench_cuda.h"
#include "bench_offload.h"
#include "bench_tensor_parallel.h"
#include "cuda_tuning_flags.h"
#endif

#include "runtime/core/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <span>
#include <sstream>
#include <string>
#include <vector>

using namespace citadel::llm;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  bool full = false;
  unsigned threads = 0;
  int decode_steps = 2;
  int prefill_tokens = 512;
  int context = 128;  // positions each decoding sequence already holds
  std::vector<int> batches{1, 16, 64};  // CPU decode batches (--batches 1,16)
};

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU seconds of the whole process (all threads): on a shared machine a
// steadier measure of the work than the wall time.
double process_cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

// Cache blocks for `sequences` sequences of up to `positions` tokens (zeros:
// a valid f16 cache).
class BlockArena {
 public:
  BlockArena(const KvGeometry& kv, size_t sequences, size_t positions)
      : blocks_per_sequence_((positions + kTokensPerBlock - 1) / kTokensPerBlock),
        storage_(sequences * blocks_per_sequence_ * kv.block_bytes()) {
    for (size_t b = 0; b < sequences * blocks_per_sequence_; ++b) {
      addresses_.push_back(storage_.data() + b * kv.block_bytes());
    }
  }
  std::span<void* const> sequence(size_t i) const {
    return std::span<void* const>(addresses_).subspan(i * blocks_per_sequence_, blocks_per_sequence_);
  }

 private:
  size_t blocks_per_sequence_;
  std::vector<std::byte> storage_;
  std::vector<void*> addresses_;
};

// Decode at batch 1/16/64 and one prefill over `weights`.
void time_forward(const HfModelConfig& config, const ModelWeights& weights, const Options& options,
                  citadel::runtime::ThreadPool& pool) {
  Clock::time_point start;
  const KvGeometry kv{config.num_layers, config.num_kv_heads, config.head_dim, citadel::runtime::DType::f16};
  ForwardPass forward(config, weights, kv);
  const double weight_gb = static_cast<double>(weights.bytes_per_decode_step()) / 1e9;

  for (int batch : options.batches) {
    BlockArena arena(kv, batch, options.context + options.decode_steps + 1);
    std::vector<int32_t> tokens(batch);
    std::vector<SequenceChunk> chunks(batch);
    auto make_step = [&](int step) {
      for (int i = 0; i < batch; ++i) {
        tokens[i] = (i * 31 + step * 7) % static_cast<int32_t>(config.vocab_size);
        chunks[i] = SequenceChunk{std::span<const int32_t>(&tokens[i], 1),
                                  static_cast<uint32_t>(options.context + step), arena.sequence(i), true};
      }
    };
    make_step(0);
    forward.run(chunks, pool);  // warm-up
    start = Clock::now();
    const double cpu_start = process_cpu_seconds();
    for (int step = 1; step <= options.decode_steps; ++step) {
      make_step(step);
      forward.run(chunks, pool);
    }
    const double per_step = seconds_since(start) / options.decode_steps;
    const double cpu_per_step = (process_cpu_seconds() - cpu_start) / options.decode_steps;
    const double kv_gb = static_cast<double>(batch) * (options.context + 1) * config.num_layers *
                         kv.bytes_per_token_per_layer() / 1e9;
    std::printf("  decode batch %2d: %8.2f tokens/s  %6.1f ms/step  %6.2f GB/s (weights %.2f GB + KV %.3f GB per step)"
                "  cpu %.1f ms/step\n",
                batch, batch / per_step, per_step * 1e3, (weight_gb + kv_gb) / per_step, weight_gb, kv_gb,
                cpu_per_step * 1e3);
  }

  BlockArena arena(kv, 1, options.prefill_tokens);
  std::vector<int32_t> prompt(options.prefill_tokens);
  for (int i = 0; i < options.prefill_tokens; ++i) prompt[i] = (i * 13) % static_cast<int32_t>(config.vocab_size);
  start = Clock::now();
  forward.run(std::vector<SequenceChunk>{{prompt, 0, arena.sequence(0), true}}, pool);
  const double prefill = seconds_since(start);
  std::printf("  prefill %d tokens: %8.1f tokens/s  (%.2f s)\n", options.prefill_tokens,
              options.prefill_tokens / prefill, prefill);
}

void run_shape(const char* name, const HfModelConfig& config, const Options& options,
               citadel::runtime::ThreadPool& pool) {
  const Clock::time_point start = Clock::now();
  const InMemoryCheckpoint checkpoint = make_random_checkpoint(config, 1234);
  const ModelWeights weights = load_model_weights(checkpoint.config, checkpoint.finder(), name);
  std::printf("%s: %u layers, hidden %u, int4 g128 + fp16 lm_head: %.2f GB read per decode step "
              "(built in %.1f s, %u threads)\n",
              name, config.num_layers, config.hidden_size, static_cast<double>(weights.bytes_per_decode_step()) / 1e9,
              seconds_since(start), pool.size());
  time_forward(checkpoint.config, weights, options, pool);
}

void run_gguf(const std::string& path, const Options& options, citadel::runtime::ThreadPool& pool) {
  const Clock::time_point start = Clock::now();
  const GgufModel model = load_gguf_model(path, "auto", "");
  std::printf("%s (%s): %u layers, hidden %u, %.3f GB read per decode step (loaded in %.3f s, %u threads)\n",
              path.c_str(), model.version.c_str(), model.config.num_layers, model.config.hidden_size,
              static_cast<double>(model.weights.bytes_per_decode_step()) / 1e9, seconds_since(start), pool.size());
  time_forward(model.config, model.weights, options, pool);
}

// Perplexity over non-overlapping windows: each window runs as one step of
// single-token chunks over the same blocks (each sees the ones before it), so
// every position's logits come out of one batched forward.
void run_perplexity(const std::string& path, const std::string& text_file, citadel::runtime::ThreadPool& pool) {
  const GgufModel model = load_gguf_model(path, "auto", "");
  std::ifstream in(text_file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  std::vector<int32_t> ids = model.text->tokenizer().encode(text.str(), false);
  if (ids.size() > 8192) ids.resize(8192);
  const int64_t window = 512, vocab = model.config.vocab_size;
  const KvGeometry kv{model.config.num_layers, model.config.num_kv_heads, model.config.head_dim,
                      citadel::runtime::DType::f16};
  ForwardPass forward(model.config, model.weights, kv);
  double total = 0.0;
  int64_t count = 0;
  const Clock::time_point start = Clock::now();
  for (size_t begin = 0; begin + 1 < ids.size(); begin += window) {
    const size_t n = std::min<size_t>(window, ids.size() - begin);
    if (n < 2) break;
    BlockArena arena(kv, 1, n);
    std::vector<SequenceChunk> chunks;
    for (size_t t = 0; t + 1 < n; ++t) {
      chunks.push_back({std::span<const int32_t>(&ids[begin + t], 1), static_cast<uint32_t>(t), arena.sequence(0), true});
    }
    const std::vector<float> logits = forward.run(chunks, pool);
    for (size_t t = 0; t + 1 < n; ++t) {
      const float* row = logits.data() + t * vocab;
      const double top = *std::max_element(row, row + vocab);
      double sum = 0.0;
      for (int64_t v = 0; v < vocab; ++v) sum += std::exp(row[v] - top);
      total -= row[ids[begin + t + 1]] - top - std::log(sum);
      ++count;
    }
  }
  std::printf("%s: perplexity %.3f over %lld tokens of %s (%.1f s)\n", path.c_str(), std::exp(total / count),
              static_cast<long long>(count), text_file.c_str(), seconds_since(start));
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // figures appear as they are measured
  Options options;
  [[maybe_unused]] bool cuda = false;  // --cuda (CUDA builds)
  [[maybe_unused]] int cuda_steps = 20;
  [[maybe_unused]] bool offload = false;  // --offload (CUDA builds)
  [[maybe_unused]] bool stages = false;  // --stages (with --cuda)
  [[maybe_unused]] double budget_gb = 16.0;  // --budget-gb G
#ifdef CITADEL_HAVE_CUDA
  TensorParallelBenchOptions tensor_parallel;  // --tensor-parallel N [--tp-devices A,B,..]
  bool tensor_parallel_wanted = false;
#endif
  std::string gguf;  // --gguf FILE
  std::string perplexity_text;  // --perplexity TEXT
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> int {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return std::atoi(argv[++i]);
    };
#ifdef CITADEL_HAVE_CUDA
    if (const int taken = apply_cuda_tuning_flag(argc, argv, i); taken > 0) {
      i += taken - 1;
      continue;
    }
#endif
    if (arg == "--cuda") {
#ifdef CITADEL_HAVE_CUDA
      cuda = true;
      continue;
#else
      std::fprintf(stderr, "--cuda: this build has no CUDA support\n");
      return 2;
#endif
    }
    if (arg == "--offload" || arg == "--budget-gb") {
#ifdef CITADEL_HAVE_CUDA
      offload = true;
      if (arg == "--budget-gb") {
        if (i + 1 >= argc) return 2;
        budget_gb = std::atof(argv[++i]);
      }
      continue;
#else
      std::fprintf(stderr, "%s: this build has no CUDA support\n", arg.c_str());
      return 2;
#endif
    }
    if (arg == "--tp-peer") {  // with --tensor-parallel: small sums by the peer-memory kernel, not NCCL
#ifdef CITADEL_HAVE_CUDA
      tensor_parallel.peer_sums = true;
#endif
      continue;
    }
    if (arg == "--tensor-parallel" || arg == "--tp-devices") {
#ifdef CITADEL_HAVE_CUDA
      tensor_parallel_wanted = true;
      if (i + 1 >= argc) return 2;
      const std::string list = argv[++i];
      if (arg == "--tensor-parallel") {
        tensor_parallel.ranks = std::max(1, std::atoi(list.c_str()));
      } else {
        for (size_t at = 0; at < list.size();) {
          const size_t comma = std::min(list.find(',', at), list.size());
          tensor_parallel.devices.push_back(std::atoi(list.substr(at, comma - at).c_str()));
          at = comma + 1;
        }
      }
      continue;
#else
      std::fprintf(stderr, "%s: this build has no CUDA support\n", arg.c_str());
      return 2;
#endif
    }
    if (arg == "--stages") {  // with --cuda: a per-part table of each decode batch (eager steps, CUDA events)
      stages = true;
      continue;
    }
    if (arg == "--quick") options.full = false;
    else if (arg == "--full") options.full = true;
    else if (arg == "--gguf" && i + 1 < argc) gguf = argv[++i];
    else if (arg == "--perplexity" && i + 1 < argc) perplexity_text = argv[++i];
    else if (arg == "--threads") options.threads = static_cast<unsigned>(value());
    else if (arg == "--steps") options.decode_steps = cuda_steps = std::max(1, value());
    else if (arg == "--prefill") options.prefill_tokens = std::max(1, value());
    else if (arg == "--context") options.context = std::max(0, value());
    else if (arg == "--batches" && i + 1 < argc) {
      options.batches.clear();
      std::stringstream list(argv[++i]);
      for (std::string item; std::getline(list, item, ',');) {
        const int batch = std::atoi(item.c_str());
        if (batch < 1) {
          std::fprintf(stderr, "bench_llm_decode: --batches: '%s' is not a positive batch size\n", item.c_str());
          return 2;
        }
        options.batches.push_back(batch);
      }
    }
    else {
      std::printf("usage: bench_llm_decode [--quick|--full] [--threads N] [--batches 1,16,64] [--steps N] [--prefill N] [--context N] [--cuda [--no-pdl] [--ring] [--mma-f16-rows N] [--mma-f16-from N] [--mma-exact-from N] [--wgmma] [--attention-waves W] [--mma-plan MIN_STAGES BLOCKS_PER_SM MAX_SPLITS] [--stages]] [--offload [--budget-gb G]] [--tensor-parallel N [--tp-devices A,B] [--tp-peer]] [--gguf FILE [--perplexity TEXT]]\n"
                  "  --quick (default): TinyLlama-1.1B shape only; --full: also Llama-3-8B\n"
                  "  --cuda: the CUDA forward pass, TinyLlama-1.1B and Llama-3-8B (CUDA builds); with --full\n"
                  "          also Llama-3-8B at batch 16 and contexts 8k and 32k\n"
                  "  --offload: a Qwen2.5-32B-shape int4 model under a G GB (16) GPU weight budget, the other\n"
                  "          layers streamed from pinned host memory, beside the pinned H2D limit and fully resident\n"
                  "  --tensor-parallel N: greedy decode on one GPU and over N ranks (devices 0..N-1 or --tp-devices;\n"
                  "          --tp-peer: a decode step's sums by the peer-memory kernel, not NCCL),\n"
                  "          TinyLlama-1.1B, with --full also Llama-3-8B\n");
      return arg == "--help" ? 0 : 2;
    }
  }
#ifdef CITADEL_HAVE_CUDA
  if (tensor_parallel_wanted) {
    tensor_parallel.decode_steps = cuda_steps;
    tensor_parallel.context = options.context;
    std::printf("llm-gptq tensor-parallel decode benchmark (random weights; figures only)\n");
    run_tensor_parallel_shape("TinyLlama-1.1B", tinyllama_1b_shape(), tensor_parallel);
    if (options.full) run_tensor_parallel_shape("Llama-3-8B", llama3_8b_shape(), tensor_parallel);
    return 0;
  }
  if (offload) {
    run_offload_bench(OffloadBenchOptions{budget_gb, std::min(cuda_steps, 10), options.context});
    return 0;
  }
  if (cuda) {
    CudaBenchOptions cuda_options{cuda_steps, options.prefill_tokens, options.context, {}, stages};
    std::printf("llm-gptq CUDA decode benchmark (random weights; figures only)\n");
    run_cuda_shape("TinyLlama-1.1B", tinyllama_1b_shape(), cuda_options);
    HfModelConfig llama3 = llama3_8b_shape();
    if (options.full) {  // --full: batch 16 at long contexts too (the shape's window raised to fit them)
      cuda_options.long_contexts = {8192, 32768};
      llama3.max_position_embeddings = 32768 + 64;
    }
    run_cuda_shape("Llama-3-8B", llama3, cuda_options);
    return 0;
  }
#endif
  citadel::runtime::ThreadPool pool(options.threads);
  if (!gguf.empty() && !perplexity_text.empty()) {
    run_perplexity(gguf, perplexity_text, pool);
    return 0;
  }
  if (!gguf.empty()) {
    std::printf("llm-gptq CPU decode benchmark of a GGUF file (figures only)\n");
    run_gguf(gguf, options, pool);
    return 0;
  }
  std::printf("llm-gptq CPU decode benchmark (random weights; figures only)\n");
  run_shape("TinyLlama-1.1B", tinyllama_1b_shape(), options, pool);
  if (options.full) run_shape("Llama-3-8B", llama3_8b_shape(), options, pool);
  return 0;
}
