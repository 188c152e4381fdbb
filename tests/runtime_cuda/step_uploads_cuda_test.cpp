// [cuda] StepUploads: copies queued without waiting land on the device
// intact, also when a step outgrows the arena and a new piece is taken
// mid-step, and the host's source may be overwritten as soon as copy()
// returns; the next step reuses one merged piece.
#ifdef CITADEL_HAVE_CUDA
#include <catch2/catch.hpp>

#include "runtime/cuda/device_buffer.h"
#include "runtime/cuda/step_uploads.h"

#include <cuda_runtime_api.h>

#include <cstdint>
#include <numeric>
#include <vector>

using citadel::runtime::cuda::DeviceBuffer;
using citadel::runtime::cuda::StepUploads;

TEST_CASE("cuda StepUploads queues copies that arrive intact across arena pieces", "[cuda]") {
  cudaStream_t stream = nullptr;
  REQUIRE(cudaStreamCreate(&stream) == cudaSuccess);
  StepUploads uploads;
  // Sizes that overflow the first 64 KB piece several times within a step.
  const std::vector<size_t> counts = {1, 7, 1000, 20000, 3, 70000, 5, 150000};
  for (int step = 0; step < 3; ++step) {
    uploads.begin_step();
    std::vector<DeviceBuffer> targets;
    std::vector<int32_t> source;
    for (size_t i = 0; i < counts.size(); ++i) {
      source.resize(counts[i]);
      std::iota(source.begin(), source.end(), static_cast<int32_t>(1000 * i + step));
      targets.emplace_back(counts[i] * sizeof(int32_t), "test target");
      uploads.copy(targets.back().data(), source.data(), counts[i] * sizeof(int32_t), stream);
      std::fill(source.begin(), source.end(), -1);  // the copy must not read this
    }
    REQUIRE(cudaStreamSynchronize(stream) == cudaSuccess);
    for (size_t i = 0; i < counts.size(); ++i) {
      const std::vector<int32_t> got = targets[i].to_vector<int32_t>(counts[i]);
      std::vector<int32_t> expected(counts[i]);
      std::iota(expected.begin(), expected.end(), static_cast<int32_t>(1000 * i + step));
      REQUIRE(got == expected);
    }
    size_t total = 0;
    for (size_t count : counts) total += count * sizeof(int32_t);
    CHECK(uploads.capacity() >= total);
  }
  cudaStreamDestroy(stream);
}
#endif
