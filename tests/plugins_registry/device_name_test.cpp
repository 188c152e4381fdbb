// Device strings of models.d files and their resolution.
#include "host/common/device_name.h"

#include <catch2/catch.hpp>

using citadel::common::DeviceName;

TEST_CASE("device names parse cpu and cuda:N and refuse anything else", "[plugins]") {
  CHECK(DeviceName::parse("cpu") == DeviceName{CITADEL_DEVICE_CPU, -1});
  CHECK(DeviceName::parse("cuda:3") == DeviceName{CITADEL_DEVICE_CUDA, 3});
  CHECK(DeviceName::parse("cuda") == DeviceName{CITADEL_DEVICE_CUDA, 0});
  CHECK(DeviceName::parse("cuda:1").to_string() == "cuda:1");
  CHECK_THROWS_WITH(DeviceName::parse("gpu0"), Catch::Contains("\"gpu0\""));
  CHECK_THROWS(DeviceName::parse("cuda:-1"));
  CHECK_THROWS(DeviceName::parse("cuda:1x"));
}
