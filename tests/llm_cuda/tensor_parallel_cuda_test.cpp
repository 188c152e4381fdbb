// llm-gptq's tensor parallelism on CUDA (tensor_parallel_forward.h): two
// ranks give the logits of the one-GPU CudaForwardPass within 1e-3 and the
// same greedy tokens, on random GPTQ and dense Llama / Qwen2 shapes, over
// a batch of prefills and decodes: both ranks on device 0 (sums through
// host memory, eager steps), and, with two GPUs and NCCL, on devices 0 and 1
// (the peer-memory kernel or NCCL, steps replayed as CUDA graphs). GPU only:
// tagged [cuda].
#ifdef CITADEL_HAVE_CUDA

#include "cuda_forward.h"
#include "random_model.h"
#include "tensor_parallel_forward.h"

#include "llm/small_config.hpp"

#include "runtime/cuda/device_buffer.h"
#include "runtime/cuda/nccl_all_reduce.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

using namespace citadel::llm;
namespace cuda = citadel::runtime::cuda;

namespace {

constexpr uint32_t kVocab = 96;

// Device blocks of one sequence, with host-style ids.
struct DeviceBlocks {
  DeviceBlocks(const KvGeometry& kv, size_t count, uint32_t first_id) {
    for (size_t b = 0; b < count; ++b) {
      storage.emplace_back(kv.block_bytes(), "test KV block");
      addresses.push_back(storage.back().data());
      ids.push_back(first_id + static_cast<uint32_t>(b));
    }
  }
  std::vector<cuda::DeviceBuffer> storage;
  std::vector<void*> addresses;
  std::vector<uint32_t> ids;
};

SequenceChunk chunk_of(std::span<const int32_t> tokens, uint32_t first, const DeviceBlocks& blocks) {
  SequenceChunk chunk{tokens, first, blocks.addresses, true};
  chunk.block_ids = blocks.ids;
  return chunk;
}

int32_t argmax(std::span<const float> row) {
  return static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
}

// Prefills of two prompts in one step, then greedy steps of both: the
// one-GPU pass and the ranks on `devices` compared at every step.
void check_against_one_gpu(const HfModelConfig& config, const std::vector<int>& devices, bool expect_graphs,
                           bool peer_sums = false) {
  const InMemoryCheckpoint checkpoint = make_random_checkpoint(config, 5);
  use_cuda_device(devices.front());
  const ModelWeights weights = load_model_weights(checkpoint.config, checkpoint.finder(), "random");
  const KvGeometry kv{config.num_layers, config.num_kv_heads, config.head_dim, citadel::runtime::DType::f32};
  CudaForwardPass one(checkpoint.config, weights, kv, nullptr);
  TensorParallelPlacement placement;
  placement.ranks = static_cast<int>(devices.size());
  placement.cuda_devices = devices;
  placement.peer_sums = peer_sums;
  TensorParallelForward parallel(checkpoint.config, checkpoint.finder(), "random", citadel::runtime::DType::f32,
                                 placement);
  use_cuda_device(devices.front());
  INFO(parallel.description());
  std::vector<int32_t> a, b;
  for (int i = 0; i < 21; ++i) a.push_back((3 + 7 * i) % static_cast<int32_t>(kVocab));
  for (int i = 0; i < 6; ++i) b.push_back((40 + 5 * i) % static_cast<int32_t>(kVocab));
  DeviceBlocks one_a(kv, 3, 0), one_b(kv, 3, 3);
  DeviceBlocks rank0_a(parallel.rank_kv(), 3, 0), rank0_b(parallel.rank_kv(), 3, 3);
  for (int step = 0; step < 8; ++step) {
    CAPTURE(step);
    const uint32_t first_a = step == 0 ? 0 : static_cast<uint32_t>(a.size() - 1);
    const uint32_t first_b = step == 0 ? 0 : static_cast<uint32_t>(b.size() - 1);
    const auto tail_a = std::span<const int32_t>(a).subspan(first_a);
    const auto tail_b = std::span<const int32_t>(b).subspan(first_b);
    const std::vector<float> expected =
        one.run(std::vector<SequenceChunk>{chunk_of(tail_a, first_a, one_a), chunk_of(tail_b, first_b, one_b)});
    const CudaForwardPass::StepLogits got = parallel.run_step(
        std::vector<SequenceChunk>{chunk_of(tail_a, first_a, rank0_a), chunk_of(tail_b, first_b, rank0_b)});
    REQUIRE(got.rows.size() == expected.size());
    double diff = 0.0, scale = 0.0;
    for (size_t i = 0; i < expected.size(); ++i) {
      diff = std::max(diff, std::abs(double{got.rows[i]} - expected[i]));
      scale = std::max(scale, std::abs(double{expected[i]}));
    }
    CHECK(diff / scale < 1e-3);
    const int32_t next_a = argmax(std::span<const float>(expected).first(kVocab));
    const int32_t next_b = argmax(std::span<const float>(expected).subspan(kVocab));
    CHECK(got.argmax[0] == next_a);
    CHECK(got.argmax[1] == next_b);
    a.push_back(next_a);
    b.push_back(next_b);
  }
  CHECK((parallel.rank0_cuda().graph_replays() > 0) == expect_graphs);
}

}  // namespace

TEST_CASE("tensor-parallel ranks sharing one GPU give the one-GPU logits and greedy tokens", "[cuda]") {
  REQUIRE(cuda::device_available());
  const bool quantized = GENERATE(true, false);
  const std::string type = GENERATE(std::string("llama"), std::string("qwen2"));
  CAPTURE(type, quantized);
  check_against_one_gpu(citadel::test::small_llm_config(type, kVocab, quantized), {0, 0}, /*expect_graphs=*/false);
}

TEST_CASE("tensor-parallel ranks on two GPUs (peer memory, NCCL) give the one-GPU logits and greedy tokens",
          "[cuda]") {
  REQUIRE(cuda::device_available());
  if (cuda_device_count() < 2 || !cuda::nccl_available()) {
    WARN("needs two CUDA devices and libnccl.so.2; skipped");
    return;
  }
  const bool quantized = GENERATE(true, false);
  const bool peer_sums = GENERATE(true, false);  // the one-shot kernel for a step's rows, or NCCL for all
  CAPTURE(quantized, peer_sums);
  check_against_one_gpu(citadel::test::small_llm_config("llama", kVocab, quantized), {0, 1}, /*expect_graphs=*/true,
                        peer_sums);
}

#endif  // CITADEL_HAVE_CUDA
