// [cuda] The device all-reduces: StagedAllReduce with two ranks on device 0
// (two threads, each with its own stream and buffer) leaves the serial sum
// in both buffers, and so does PeerAllReduce's kernel with its two ranks on
// device 0; NcclAllReduce and PeerAllReduce (NCCL past its size) do the same
// over devices 0 and 1 where the machine has two GPUs and libnccl.so.2
// (NCCL: one rank, and abort, on one GPU), and NCCL refuses a device listed
// twice.
#ifdef CITADEL_HAVE_CUDA
#include <catch2/catch.hpp>

#include "runtime/core/all_reduce.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/device_buffer.h"
#include "runtime/cuda/nccl_all_reduce.h"
#include "runtime/cuda/peer_all_reduce.h"
#include "runtime/cuda/staged_all_reduce.h"
#include "runtime_cuda/cuda_test_support.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <barrier>
#include <exception>
#include <functional>
#include <memory>
#include <random>
#include <thread>
#include <vector>

using citadel::runtime::AllReduce;
using citadel::runtime::cuda::check_cuda;
using citadel::runtime::cuda::DeviceBuffer;
using citadel::runtime::cuda::device_available;
using citadel::runtime::cuda::nccl_available;
using citadel::runtime::cuda::nccl_version;
using citadel::runtime::cuda::NcclAllReduce;
using citadel::runtime::cuda::PeerAllReduce;
using citadel::runtime::cuda::StagedAllReduce;
using citadel::runtime::cuda::test::random_floats;
using Catch::Matchers::Contains;

namespace {

// Two ranks on `devices`, each on its own thread with its own stream, run
// consecutive sums of several sizes, a buffer each; every buffer must end
// with the serial sum (the rank-ordered float sum: two terms, so any order
// gives the same bits). The inputs are copied in before the first sum and
// the results out after the last, both ranks meeting at a host barrier in
// between: a copy from pageable memory, a cudaFree or a kernel's first
// launch may wait for the whole device, where the other rank's
// PeerAllReduce kernel may be waiting for this rank (two ranks on one GPU).
// No Catch2 assertion runs on the rank threads (Catch2 is not thread-safe):
// they throw, and the test rethrows.
void check_two_rank_sums(AllReduce& group, const std::vector<int>& devices,
                         const std::vector<size_t>& counts = {4096, 1, 0, 100003, 33}) {
  std::mt19937 rng(99);
  std::vector<std::vector<std::vector<float>>> inputs(counts.size());
  for (size_t step = 0; step < counts.size(); ++step) {
    for (int rank = 0; rank < 2; ++rank) inputs[step].push_back(random_floats(counts[step], rng));
  }
  std::vector<std::vector<std::vector<float>>> results(counts.size(), std::vector<std::vector<float>>(2));
  std::vector<std::exception_ptr> errors(2);
  std::barrier phases(2);
  std::vector<std::thread> threads;
  for (int rank = 0; rank < 2; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        check_cuda(cudaSetDevice(devices[static_cast<size_t>(rank)]), "test: cudaSetDevice");
        cudaStream_t stream = nullptr;
        check_cuda(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "test: cudaStreamCreate");
        std::vector<DeviceBuffer> buffers;
        for (size_t step = 0; step < counts.size(); ++step) {
          const std::vector<float>& input = inputs[step][static_cast<size_t>(rank)];
          buffers.emplace_back(std::max<size_t>(1, input.size()) * sizeof(float), "all-reduce test buffer");
          buffers.back().upload(input.data(), input.size() * sizeof(float), 0, stream);
        }
        check_cuda(cudaStreamSynchronize(stream), "test: cudaStreamSynchronize");
        phases.arrive_and_wait();  // both ranks' inputs are in
        for (size_t step = 0; step < counts.size(); ++step) {
          group.sum(rank, buffers[step].as<float>(), counts[step], stream);
        }
        check_cuda(cudaStreamSynchronize(stream), "test: cudaStreamSynchronize");
        phases.arrive_and_wait();  // every sum of both ranks is done
        for (size_t step = 0; step < counts.size(); ++step) {
          results[step][static_cast<size_t>(rank)] = buffers[step].to_vector<float>(counts[step], stream);
        }
        cudaStreamDestroy(stream);
      } catch (...) {
        errors[static_cast<size_t>(rank)] = std::current_exception();
        group.abort();              // the other rank must not wait for this one forever
        phases.arrive_and_drop();  // nor at the barrier
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);
  }
  for (size_t step = 0; step < counts.size(); ++step) {
    std::vector<float> expected = inputs[step][0];
    for (size_t i = 0; i < expected.size(); ++i) expected[i] += inputs[step][1][i];
    for (int rank = 0; rank < 2; ++rank) {
      CAPTURE(step, rank);
      CHECK(results[step][static_cast<size_t>(rank)] == expected);
    }
  }
}

}  // namespace

TEST_CASE("cuda StagedAllReduce sums two ranks on one device", "[cuda][all_reduce]") {
  REQUIRE(device_available());
  StagedAllReduce group({0, 0});
  CHECK(group.ranks() == 2);
  CHECK_FALSE(group.capturable());
  check_two_rank_sums(group, {0, 0});
}

TEST_CASE("cuda NcclAllReduce sums two ranks on two devices", "[cuda][all_reduce]") {
  REQUIRE(device_available());
  int devices = 0;
  REQUIRE(cudaGetDeviceCount(&devices) == cudaSuccess);
  // NCCL needs a GPU per rank and the library at run time: a one-GPU machine,
  // or one without libnccl.so.2, has nothing to check here (StagedAllReduce
  // is what runs there).
  if (devices < 2 || !nccl_available()) {
    WARN("NcclAllReduce not checked: " << devices << " device(s), NCCL " << nccl_version());
    return;
  }
  INFO("NCCL " << nccl_version());
  NcclAllReduce group({0, 1});
  CHECK(group.ranks() == 2);
  CHECK(group.capturable());
  check_two_rank_sums(group, {0, 1});
}

TEST_CASE("cuda PeerAllReduce's kernel sums two ranks sharing one device, its halves and flags reused",
          "[cuda][all_reduce]") {
  REQUIRE(device_available());
  CHECK_THROWS_WITH(PeerAllReduce({0, 0}, std::make_unique<StagedAllReduce>(std::vector<int>{0, 0})),
                    Contains("peer access"));
  PeerAllReduce group({0, 0}, std::make_unique<StagedAllReduce>(std::vector<int>{0, 0}), /*shared_device=*/true);
  CHECK_FALSE(group.capturable());  // its large sums go through host memory here
  const size_t largest = citadel::runtime::cuda::kPeerAllReduceMaxFloats;
  check_two_rank_sums(group, {0, 0}, {4096, 8, 4096, 262144, largest, 4096, 1024, largest + 4, 33, 0, 16384, 16384});
}

TEST_CASE("cuda PeerAllReduce sums two ranks on two devices, NCCL past its size", "[cuda][all_reduce]") {
  REQUIRE(device_available());
  int devices = 0;
  REQUIRE(cudaGetDeviceCount(&devices) == cudaSuccess);
  if (devices < 2 || !nccl_available() || !PeerAllReduce::supported({0, 1})) {
    WARN("PeerAllReduce not checked: " << devices << " device(s), NCCL " << nccl_version());
    return;
  }
  CHECK_FALSE(PeerAllReduce::supported({0, 0}));
  PeerAllReduce group({0, 1}, std::make_unique<NcclAllReduce>(std::vector<int>{0, 1}));
  CHECK(group.capturable());
  // The kernel's sizes (one block, many blocks, its largest), calls in a row
  // (both staging halves, twice), then NCCL's (past the largest, odd counts).
  const size_t largest = citadel::runtime::cuda::kPeerAllReduceMaxFloats;
  check_two_rank_sums(group, {0, 1},
                      {4096, 8, 4096, 262144, largest, 4096, 1024, largest + 4, 33, 0, 16384, 16384, 16384});
}

TEST_CASE("cuda NcclAllReduce of one rank keeps the buffer; after abort it throws and cannot reset",
          "[cuda][all_reduce]") {
  REQUIRE(device_available());
  // One GPU is enough for the library path (dlopen, ncclCommInitAll,
  // ncclAllReduce, ncclCommAbort); a machine without libnccl.so.2 skips it.
  if (!nccl_available()) {
    WARN("NcclAllReduce not checked: NCCL " << nccl_version());
    return;
  }
  { NcclAllReduce unused({0}); }  // created and destroyed (ncclCommDestroy)
  NcclAllReduce group({0});
  CHECK(group.ranks() == 1);
  std::mt19937 rng(5);
  const std::vector<float> input = random_floats(1000, rng);
  DeviceBuffer buffer = DeviceBuffer::from_vector(input, "all-reduce test buffer");
  group.sum(0, buffer.as<float>(), input.size(), nullptr);
  CHECK(buffer.to_vector<float>(input.size()) == input);
  group.reset();  // never aborted: nothing to do
  group.abort();
  CHECK_THROWS_WITH(group.sum(0, buffer.as<float>(), input.size(), nullptr), Contains("aborted"));
  CHECK_THROWS_WITH(group.reset(), Contains("cannot reset an aborted NCCL group"));
}

TEST_CASE("cuda NcclAllReduce refuses a device listed twice", "[cuda][all_reduce]") {
  CHECK_THROWS_WITH(NcclAllReduce({0, 0}), Contains("device 0 appears twice") && Contains("[0, 0]"));
}
#endif
