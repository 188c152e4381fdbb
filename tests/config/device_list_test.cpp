// citadel.yaml `devices` with logical devices ({name, device, pool_mb}):
// what is read, and every malformed entry reported with its line and field;
// a models.d `device` that citadel.yaml does not list is an error too.
#include <catch2/catch.hpp>

#include "config/config_fixture.hpp"

using citadel::config::DeviceSpec;
using citadel::test::ConfigFixture;
using Lines = std::vector<std::string>;

TEST_CASE("devices takes plain physical devices and logical devices with their own pool", "[config][devices]") {
  ConfigFixture fixture;
  fixture.write_host("plugins_dir: ../plugins\nmodels_dir: models.d\n"
                     "devices:\n"
                     "  - cuda:1\n"
                     "  - {name: cuda:0/a, device: cuda:0, pool_mb: 8192}\n"
                     "  - {name: cuda:0/b, device: \"cuda\"}\n"
                     "  - {name: cpu/a, device: cpu, pool_mb: 64}\n"
                     "  - {name: cuda:2, device: cuda:2, pool_mb: 100}\n");
  const auto devices = fixture.load().host.devices;
  REQUIRE(devices.size() == 5);
  CHECK(devices[0] == DeviceSpec{"cuda:1", "cuda:1"});
  CHECK_FALSE(devices[0].logical());
  CHECK(devices[1] == DeviceSpec{"cuda:0/a", "cuda:0", 8192});
  CHECK(devices[1].logical());
  CHECK(devices[1].where.line == 5);
  CHECK(devices[2] == DeviceSpec{"cuda:0/b", "cuda:0", 0});
  CHECK(devices[3] == DeviceSpec{"cpu/a", "cpu", 64});
  CHECK(devices[4] == DeviceSpec{"cuda:2", "cuda:2", 100});  // a physical device with its size
  CHECK_FALSE(devices[4].logical());
}

TEST_CASE("malformed device entries are reported with line and field", "[config][devices]") {
  ConfigFixture fixture;
  fixture.write_host("plugins_dir: ../plugins\nmodels_dir: models.d\n"
                     "devices:\n"
                     "  - {name: gpu-a, device: cuda:0}\n"
                     "  - {name: gpu-a, device: cuda:0}\n"
                     "  - {name: x, device: tpu:0}\n"
                     "  - {name: cuda:3, device: cuda:0}\n"
                     "  - {device: cpu}\n"
                     "  - {name: auto, device: cpu}\n"
                     "  - {name: y, device: cpu, pool_mb: 0, colour: red}\n"
                     "  - npu\n"
                     "  - cpu\n"
                     "  - cpu\n");
  const std::string file = fixture.path("etc/citadel.yaml");
  CHECK(fixture.problems() ==
        Lines{file + ":5: devices[1]: device \"gpu-a\" is listed twice (also at line 4)",
              file + ":6: devices[2].device: must be the physical device \"cpu\" or \"cuda:N\" (got \"tpu:0\")",
              file + ":7: devices[3].name: \"cuda:3\" is the name of a physical device; a logical device on "
                     "cuda:0 needs another name (like \"cuda:0/a\")",
              file + ":8: devices[4].name: required key is missing",
              file + ":9: devices[5].name: must be 1 to 64 of A-Z a-z 0-9 . _ : / - starting with a letter or "
                     "digit, not \"auto\" (got \"auto\")",
              file + ":10: devices[6].colour: unknown key (expected one of: name, device, pool_mb)",
              file + ":10: devices[6].pool_mb: must be an integer between 1 and 17592186044415 (got 0)",
              file + ":11: devices[7]: must be \"cpu\", \"cuda:N\" or a logical device {name, device, pool_mb} "
                     "(got \"npu\")",
              file + ":13: devices[9]: device \"cpu\" is listed twice (also at line 12)"});
}

TEST_CASE("a model's device must be listed in devices", "[config][devices]") {
  ConfigFixture fixture;
  fixture.write_plugin("llm", "name: llm\ndefaults:\n  cache: {size_mb: 64}\n");
  fixture.write_host("plugins_dir: ../plugins\nmodels_dir: models.d\n"
                     "devices: [{name: cpu/a, device: cpu}, {name: cpu/b, device: cpu}]\n");
  fixture.write_model("a.yaml", "name: a\nplugin: llm\ndevice: cpu/a\n");
  fixture.write_model("c.yaml", "name: c\nplugin: llm\ndevice: cpu\n");
  fixture.write_model("d.yaml", "name: d\nplugin: llm\n");
  CHECK(fixture.load().models.at("a").device == "cpu/a");
  fixture.write_model("b.yaml", "name: b\nplugin: llm\n\ndevice: cpu/c\n");
  fixture.write_model("e.yaml", "name: e\nplugin: llm\ndevice: \"cpu/a b\"\n");
  CHECK(fixture.problems() ==
        Lines{fixture.path("etc/models.d/b.yaml") + ":4: device: \"cpu/c\" is not in the devices of " +
                  fixture.host_path() + " (cpu/a, cpu/b, cpu)",
              fixture.path("etc/models.d/e.yaml") +
                  ":3: device: must be auto, cpu, cuda:N or the name of a device in citadel.yaml's devices "
                  "(got \"cpu/a b\")"});
}

TEST_CASE("with devices empty a model may name any cuda:N but no logical device", "[config][devices]") {
  ConfigFixture fixture;
  fixture.write_plugin("llm", "name: llm\ndefaults:\n  cache: {size_mb: 64}\n");
  fixture.write_model("a.yaml", "name: a\nplugin: llm\ndevice: cuda:3\n");
  CHECK(fixture.load().models.at("a").device == "cuda:3");
  fixture.write_model("b.yaml", "name: b\nplugin: llm\ndevice: gpu-a\n");
  CHECK(fixture.problems() == Lines{fixture.path("etc/models.d/b.yaml") + ":3: device: \"gpu-a\" is not a device "
                                    "of this host: " + fixture.host_path() +
                                    " lists no devices (every GPU found, and cpu)"});
}
