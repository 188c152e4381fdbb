// A model with device: auto on the real host with the shipped default
// `devices: []` (every GPU found, else the CPU): its cache space lands on the
// device the host chose — the CPU on a machine without a GPU, a GPU where
// there is one — and the log names the choice and why.
#include "host/cache/page_backend.h"
#include "integration/host_tree.hpp"

#include <catch2/catch.hpp>

TEST_CASE("a model with device: auto is placed and the log line names the choice", "[integration]") {
  citadel::test::HostTree tree;
  tree.write_raw("citadel.yaml",
                 "admin: {socket: run/admin.sock}\n"
                 "plugins_dir: plugins\n"
                 "models_dir: models.d\n"
                 "runtime_dir: run/runtime\n"
                 "http: {listen: \"\"}\n"
                 "devices: []\n"
                 "gpu_memory_utilization: 0.05\n"
                 "cpu_cache_mb: 64\n");
  tree.write_raw("models.d/anywhere.yaml", "name: anywhere\nplugin: echo\ndevice: auto\n");
  auto host = tree.start();
  const bool gpu = citadel::cache::cuda_device_count() > 0;
  const std::string expected = gpu ? "cuda:" : "cpu";  // which GPU: the freest
  INFO(host->log());
  CHECK_THAT(host->log(), Catch::Contains("model anywhere (") &&
                              Catch::Contains("device auto -> " + expected) &&
                              Catch::Contains(gpu ? "most free cache pool memory" : "no CUDA device"));
  const boost::json::object pool = host->request({{"cmd", "pool"}});
  std::string placed;
  for (const boost::json::value& device : pool.at("pool").at("devices").as_array())
    for (const boost::json::value& space : device.at("spaces").as_array())
      if (std::string(space.at("model").as_string()).starts_with("anywhere@"))
        placed = std::string(device.at("device").as_string());
  CHECK(placed.starts_with(expected));
  CHECK(citadel::test::infer(*host, "anywhere", "abc", 3).at("text").as_string() == "abc");
}
