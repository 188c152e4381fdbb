// ThreadAllReduce: every rank ends with the rank-ordered sum, bit for bit,
// over consecutive sums of several sizes (empty, and sizes the ranks do not
// divide); mismatched counts are refused on every rank; abort() wakes a
// waiting rank with an error and reset() makes the group usable again.
#include <catch2/catch.hpp>

#include "runtime/core/error.h"
#include "runtime/core/thread_all_reduce.h"

#include <chrono>
#include <cstring>
#include <exception>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

using citadel::runtime::RuntimeError;
using citadel::runtime::ThreadAllReduce;
using Catch::Matchers::Contains;

namespace {

// Runs body(rank) on `ranks` threads at once; rethrows the first failure.
void run_ranks(int ranks, const std::function<void(int)>& body) {
  std::vector<std::exception_ptr> errors(static_cast<size_t>(ranks));
  std::vector<std::thread> threads;
  for (int rank = 0; rank < ranks; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        body(rank);
      } catch (...) {
        errors[static_cast<size_t>(rank)] = std::current_exception();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);
  }
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

}  // namespace

TEST_CASE("ThreadAllReduce gives every rank the rank-ordered sum, bit for bit", "[runtime][all_reduce]") {
  const std::vector<size_t> counts = {7, 0, 1, 1000, 3, 4099};  // 4099: beyond one block, odd
  for (int ranks = 1; ranks <= 4; ++ranks) {
    CAPTURE(ranks);
    ThreadAllReduce group(ranks);
    CHECK(group.ranks() == ranks);
    CHECK_FALSE(group.capturable());
    // inputs[step][rank]; magnitudes far apart so that the order of the
    // additions shows in the low bits.
    std::mt19937 rng(1234 + static_cast<unsigned>(ranks));
    std::vector<std::vector<std::vector<float>>> inputs(counts.size());
    std::vector<std::vector<float>> expected(counts.size());
    for (size_t step = 0; step < counts.size(); ++step) {
      for (int rank = 0; rank < ranks; ++rank) {
        std::normal_distribution<float> dist(0.0f, rank % 2 == 0 ? 1.0f : 1e4f);
        std::vector<float> values(counts[step]);
        for (float& value : values) value = dist(rng);
        inputs[step].push_back(std::move(values));
      }
      expected[step] = inputs[step][0];
      for (int rank = 1; rank < ranks; ++rank) {
        for (size_t i = 0; i < counts[step]; ++i) expected[step][i] += inputs[step][static_cast<size_t>(rank)][i];
      }
    }
    std::vector<std::vector<std::vector<float>>> results(counts.size(),
                                                         std::vector<std::vector<float>>(static_cast<size_t>(ranks)));
    run_ranks(ranks, [&](int rank) {
      for (size_t step = 0; step < counts.size(); ++step) {
        std::vector<float> buffer = inputs[step][static_cast<size_t>(rank)];
        group.sum(rank, buffer.data(), buffer.size(), nullptr);
        results[step][static_cast<size_t>(rank)] = std::move(buffer);
      }
    });
    for (size_t step = 0; step < counts.size(); ++step) {
      for (int rank = 0; rank < ranks; ++rank) {
        CAPTURE(step, rank);
        CHECK(same_bits(results[step][static_cast<size_t>(rank)], expected[step]));
      }
    }
  }
}

TEST_CASE("ThreadAllReduce refuses ranks that pass different counts, on every rank", "[runtime][all_reduce]") {
  ThreadAllReduce group(2);
  std::vector<std::string> messages(2);
  std::vector<std::vector<float>> buffers = {{1.0f, 2.0f, 3.0f}, {10.0f, 20.0f}};
  run_ranks(2, [&](int rank) {
    std::vector<float>& buffer = buffers[static_cast<size_t>(rank)];
    try {
      group.sum(rank, buffer.data(), buffer.size(), nullptr);
    } catch (const RuntimeError& error) {
      messages[static_cast<size_t>(rank)] = error.what();
    }
  });
  for (const std::string& message : messages) {
    CHECK_THAT(message, Contains("rank 0 sums 3 floats") && Contains("rank 1 sums 2"));
  }
  CHECK(buffers[0] == std::vector<float>{1.0f, 2.0f, 3.0f});  // untouched
  CHECK(buffers[1] == std::vector<float>{10.0f, 20.0f});
  // The group still works afterwards.
  std::vector<std::vector<float>> again = {{1.0f, 2.0f}, {10.0f, 20.0f}};
  run_ranks(2, [&](int rank) {
    group.sum(rank, again[static_cast<size_t>(rank)].data(), 2, nullptr);
  });
  CHECK(again[0] == std::vector<float>{11.0f, 22.0f});
  CHECK(again[1] == std::vector<float>{11.0f, 22.0f});
}

TEST_CASE("ThreadAllReduce abort wakes a waiting rank with an error; reset makes it usable",
          "[runtime][all_reduce]") {
  ThreadAllReduce group(2);
  std::string waiter_error;
  std::vector<float> lonely = {1.0f, 2.0f};
  std::thread waiter([&] {
    try {
      group.sum(0, lonely.data(), lonely.size(), nullptr);  // rank 1 never comes
    } catch (const RuntimeError& error) {
      waiter_error = error.what();
    }
  });
  // Rank 0 may or may not be waiting yet: abort() wakes it or it finds the
  // flag on arrival; either way it throws.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  group.abort();
  waiter.join();
  CHECK_THAT(waiter_error, Contains("aborted") && Contains("another rank failed"));
  CHECK(lonely == std::vector<float>{1.0f, 2.0f});
  // Later calls throw too, until reset().
  CHECK_THROWS_WITH(group.sum(1, lonely.data(), lonely.size(), nullptr), Contains("aborted"));
  group.reset();
  std::vector<std::vector<float>> buffers = {{1.0f, 2.0f}, {0.5f, 0.25f}};
  run_ranks(2, [&](int rank) {
    group.sum(rank, buffers[static_cast<size_t>(rank)].data(), 2, nullptr);
  });
  CHECK(buffers[0] == std::vector<float>{1.5f, 2.25f});
  CHECK(buffers[1] == std::vector<float>{1.5f, 2.25f});
}

TEST_CASE("ThreadAllReduce refuses a group of no ranks and a rank outside the group", "[runtime][all_reduce]") {
  CHECK_THROWS_WITH(ThreadAllReduce(0), Contains("0 ranks"));
  ThreadAllReduce group(2);
  float value = 1.0f;
  CHECK_THROWS_WITH(group.sum(2, &value, 1, nullptr), Contains("rank 2"));
  CHECK_THROWS_WITH(group.sum(-1, &value, 1, nullptr), Contains("rank -1"));
}
