// llm-gptq's weight-offload options (weight_offload.h): parsing of
// gpu_layers / cpu_offload_gb with bad values refused naming the option,
// the layer split they give, and the real plugin refusing a bad value at
// create through the ABI (plugin_harness.hpp). CPU only.
#include "weight_offload.h"

#include "plugin_harness.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <filesystem>

using namespace citadel::llm;
using Catch::Matchers::Contains;

namespace {

std::string tiny_model() {
  const auto path = citadel::test::source_dir() / "tests/data/llm/llama3-gptq";
  REQUIRE(std::filesystem::exists(path / "config.json"));
  return path.string();
}

WeightOffload parse(const char* json) { return WeightOffload::parse(boost::json::parse(json).as_object()); }

}  // namespace

TEST_CASE("weight offload options parse gpu_layers and cpu_offload_gb", "[llm][offload]") {
  CHECK_FALSE(parse("{}").requested());
  CHECK_FALSE(parse(R"({"gpu_layers": null})").requested());
  CHECK(parse(R"({"gpu_layers": 12})").gpu_layers == 12);
  CHECK(parse(R"({"gpu_layers": -1})").gpu_layers == -1);
  CHECK(parse(R"({"gpu_layers": 0})").gpu_layers == 0);
  CHECK(parse(R"({"gpu_layers": 8.0})").gpu_layers == 8);
  CHECK(parse(R"({"cpu_offload_gb": 2.5})").cpu_offload_gb == 2.5);
  CHECK(parse(R"({"cpu_offload_gb": 0})").cpu_offload_gb == 0.0);
}

TEST_CASE("bad weight offload options are refused naming the option", "[llm][offload]") {
  CHECK_THROWS_WITH(parse(R"({"gpu_layers": -2})"), Contains("'gpu_layers'") && Contains("-2"));
  CHECK_THROWS_WITH(parse(R"({"gpu_layers": "half"})"), Contains("'gpu_layers'") && Contains("half"));
  CHECK_THROWS_WITH(parse(R"({"gpu_layers": 2.5})"), Contains("'gpu_layers'"));
  CHECK_THROWS_WITH(parse(R"({"cpu_offload_gb": -1})"), Contains("'cpu_offload_gb'"));
  CHECK_THROWS_WITH(parse(R"({"cpu_offload_gb": "4GB"})"), Contains("'cpu_offload_gb'") && Contains("4GB"));
  CHECK_THROWS_WITH(parse(R"({"gpu_layers": 4, "cpu_offload_gb": 1})"),
                    Contains("'gpu_layers'") && Contains("'cpu_offload_gb'"));
}

TEST_CASE("the layer split keeps the first gpu_layers and offloads cpu_offload_gb from the last layers", "[llm][offload]") {
  const std::array<uint64_t, 4> bytes = {1'000'000'000, 1'000'000'000, 1'000'000'000, 500'000'000};
  CHECK(resident_layer_count(parse("{}"), bytes) == 4);
  CHECK(resident_layer_count(parse(R"({"gpu_layers": -1})"), bytes) == 4);
  CHECK(resident_layer_count(parse(R"({"gpu_layers": 999})"), bytes) == 4);  // as llama.cpp's -ngl 999
  CHECK(resident_layer_count(parse(R"({"gpu_layers": 3})"), bytes) == 3);
  CHECK(resident_layer_count(parse(R"({"gpu_layers": 0})"), bytes) == 0);
  CHECK(resident_layer_count(parse(R"({"cpu_offload_gb": 0})"), bytes) == 4);
  CHECK(resident_layer_count(parse(R"({"cpu_offload_gb": 0.5})"), bytes) == 3);   // the last layer is 0.5 GB
  CHECK(resident_layer_count(parse(R"({"cpu_offload_gb": 0.6})"), bytes) == 2);   // reaches the asked amount
  CHECK(resident_layer_count(parse(R"({"cpu_offload_gb": 100})"), bytes) == 0);
  CHECK(describe_split(2, bytes) == "2 of 4 layers on the GPU, 2 streamed from host memory (1.50 GB)");
}

TEST_CASE("the llm-gptq plugin refuses a bad gpu_layers at create, naming it", "[llm][offload]") {
  citadel::test::PluginHarness plugin(tiny_model(), R"({"gpu_layers": "all"})");
  CHECK(plugin.create_status() == CITADEL_ERR_INVALID_ARGUMENT);
  CHECK_THAT(plugin.create_error(), Contains("gpu_layers"));
  citadel::test::PluginHarness fine(tiny_model(), R"({"gpu_layers": 1})");  // no-op on the CPU
  CHECK(fine.create_status() == CITADEL_OK);
}
