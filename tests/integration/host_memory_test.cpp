// Out of memory, against the real citadel binary: many clients sending long
// requests into a cache pool far smaller than they need together. Every reply
// is 200 or a refusal by design (429/503 in the OpenAI shape, Retry-After on
// 429), the process stays up, and it serves normally afterwards.
#include "integration/serving_tree.hpp"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

using citadel::test::HttpResponse;
using citadel::test::ServingTree;

TEST_CASE("a pool filled from many clients answers 200 or 429/503 and the host serves afterwards",
          "[integration][memory]") {
  // 2 KiB per token, 32 KiB blocks: a request holds up to 6 of the 64 blocks
  // of its 2 MB cache space; 32 clients at once would need three times that.
  ServingTree serving("", /*cpu_cache_mb=*/8);
  serving.tree.write_raw("models.d/big.yaml",
                         "name: big\nplugin: echo\ndevice: cpu\n"
                         "options: {num_layers: 2, bytes_per_token_per_layer: 1024}\n"
                         "cache: {size_mb: 2}\n"
                         "scheduler: {max_queue: 8}\n");
  serving.start();

  constexpr int kClients = 32;
  constexpr int kRequestsEach = 2;
  std::mutex mutex;
  std::map<unsigned, int> statuses;
  std::vector<std::string> unexpected;
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int r = 0; r < kRequestsEach; ++r) {
        const std::string prompt(40 + (c % 8), static_cast<char>('a' + c % 26));
        HttpResponse reply;
        try {
          reply = serving.complete("big", prompt, 40);
        } catch (const std::exception& e) {
          std::lock_guard lock(mutex);
          unexpected.push_back(std::string("transport: ") + e.what());
          continue;
        }
        std::lock_guard lock(mutex);
        ++statuses[reply.status];
        const bool refused = reply.status == 429 || reply.status == 503;
        if (reply.status != 200 && !refused) unexpected.push_back(reply.body);
        if (reply.status == 429 && reply.header("retry-after").empty()) unexpected.push_back("429 without Retry-After");
        if (refused && !reply.json().as_object().contains("error")) unexpected.push_back(reply.body);
      }
    });
  }
  for (std::thread& client : clients) client.join();
  for (const auto& [status, count] : statuses) UNSCOPED_INFO("HTTP " << status << ": " << count);
  CHECK(unexpected.empty());
  for (const std::string& problem : unexpected) UNSCOPED_INFO(problem);
  CHECK(statuses[200] > 0);
  CHECK(!serving.process->poll_exit());

  const HttpResponse after = serving.complete("big", "abc", 5);
  REQUIRE(after.status == 200);
  CHECK(after.json().at("choices").at(0).at("text").as_string() == "abcab");
}
