// Tests of runtime/formats/safetensors: files written by hand in the test,
// the writer's round trip, sharded checkpoints and error messages.
#include <catch2/catch.hpp>

#include "runtime/core/error.h"
#include "runtime/core/half.h"
#include "runtime/formats/safetensors.h"
#include "support/test_support.hpp"

#include <cstring>
#include <string>

using namespace citadel::runtime;
using citadel::test::TempDir;
using Catch::Matchers::Contains;

namespace {

// 8-byte little-endian header length + header + data, exactly as the format says.
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

template <typename T>
std::string raw(std::initializer_list<T> values) {
  std::string out(values.size() * sizeof(T), '\0');
  std::memcpy(out.data(), values.begin(), out.size());
  return out;
}

std::string two_tensor_file() {
  const std::string header =
      R"({"__metadata__":{"format":"pt"},)"
      R"("a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
      R"("b.weight":{"dtype":"F16","shape":[3],"data_offsets":[16,22]}})";
  const std::string data = raw<float>({1.0f, 2.0f, 3.0f, 4.0f}) +
                           raw<uint16_t>({float_to_half(0.5f), float_to_half(-1.0f), float_to_half(8.0f)});
  return safetensors_bytes(header, data);
}

std::string error_of(const std::filesystem::path& path) {
  try {
    SafetensorsFile file(path);
  } catch (const RuntimeError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("a hand-written safetensors file reads back tensor by tensor", "[runtime]") {
  TempDir dir;
  const auto path = dir.write("m.safetensors", two_tensor_file());
  SafetensorsFile file(path);
  CHECK(file.names() == std::vector<std::string>{"a", "b.weight"});
  CHECK(file.metadata().at("format") == "pt");
  CHECK(file.has("a"));
  CHECK_FALSE(file.has("c"));
  Tensor a = file.tensor("a");
  CHECK(a.description() == "f32[2, 2]");
  CHECK(a.data_as<float>()[3] == 4.0f);
  Tensor b = file.tensor("b.weight");
  CHECK(b.dtype() == DType::f16);
  CHECK(half_to_float(b.data_as<uint16_t>()[1]) == -1.0f);
  CHECK(file.entry("b.weight").data_begin == 16);
  CHECK_THROWS_WITH(file.tensor("c"), Contains("m.safetensors") && Contains("\"c\""));
}

TEST_CASE("views keep the mapping alive after the file object is gone", "[runtime]") {
  TempDir dir;
  const auto path = dir.write("m.safetensors", two_tensor_file());
  Tensor a;
  {
    SafetensorsFile file(path);
    a = file.tensor("a");
  }
  CHECK(a.data_as<float>()[0] == 1.0f);
}

TEST_CASE("tensors misaligned in the mapping are copied to aligned memory, aligned ones are views",
          "[runtime]") {
  TempDir dir;
  // Header of 150 bytes: the data starts at byte 158 of the file, so the f32
  // tensor sits 2 bytes off a multiple of 4 while the f16 one is aligned.
  SafetensorsFile file(dir.write("m.safetensors", two_tensor_file()));
  REQUIRE(file.entry("a").data_begin == 0);
  const Tensor a = file.tensor("a");
  CHECK(reinterpret_cast<uintptr_t>(a.data()) % alignof(float) == 0);
  CHECK(a.data() != file.tensor("a").data());  // a copy each time
  CHECK(a.data_as<float>()[0] == 1.0f);
  CHECK(a.data_as<float>()[3] == 4.0f);
  const Tensor b = file.tensor("b.weight");
  CHECK(b.data() == file.tensor("b.weight").data());  // a view of the mapping
  CHECK(half_to_float(b.data_as<uint16_t>()[2]) == 8.0f);

  // The same tensors after a header padded to 8 bytes, as writers should: views.
  std::string padded = two_tensor_file();
  const std::string data = padded.substr(8 + 150);
  padded = safetensors_bytes(padded.substr(8, 150) + std::string(2, ' '), data);
  SafetensorsFile aligned(dir.write("aligned.safetensors", padded));
  CHECK(aligned.tensor("a").data() == aligned.tensor("a").data());
  CHECK(aligned.tensor("a").data_as<float>()[2] == 3.0f);
}

TEST_CASE("typed access to misaligned tensor memory is refused", "[runtime]") {
  alignas(8) uint8_t bytes[24] = {};
  const Tensor misaligned = Tensor::view(DType::f32, {4}, bytes + 2);
  CHECK_THROWS_WITH(misaligned.data_as<float>(), Contains("f32[4]") && Contains("not aligned to 4 bytes"));
  CHECK(Tensor::view(DType::u8, {4}, bytes + 3).data_as<uint8_t>() == bytes + 3);
}

TEST_CASE("write_safetensors round-trips tensors and metadata", "[runtime]") {
  TempDir dir;
  std::vector<float> values = {1, -2, 3.5f, 0, 7, 8};
  Tensor w = Tensor::copy_of(DType::f32, {2, 3}, values.data());
  Tensor h = w.converted(DType::bf16);
  std::vector<int32_t> ints = {5, -6};
  Tensor i = Tensor::copy_of(DType::i32, {2}, ints.data());
  write_safetensors(dir.path() / "out.safetensors", {{"w", w}, {"h", h}, {"i", i}}, {{"k", "v"}});
  SafetensorsFile file(dir.path() / "out.safetensors");
  CHECK(file.metadata().at("k") == "v");
  CHECK(std::memcmp(file.tensor("w").data(), values.data(), 24) == 0);
  CHECK(bfloat16_to_float(file.tensor("h").data_as<uint16_t>()[2]) == 3.5f);
  CHECK(file.tensor("i").data_as<int32_t>()[1] == -6);
  // The data section is 8-byte aligned after the padded header.
  CHECK(reinterpret_cast<uintptr_t>(file.tensor("w").data()) % 8 == 0);
}

TEST_CASE("truncated and corrupt safetensors files fail with the file and tensor named", "[runtime]") {
  TempDir dir;
  const std::string good = two_tensor_file();
  // Data cut short: tensor b ends beyond the data section.
  CHECK_THAT(error_of(dir.write("short.safetensors", good.substr(0, good.size() - 3))),
             Contains("short.safetensors") && Contains("\"b.weight\"") && Contains("truncated"));
  CHECK_THAT(error_of(dir.write("tiny.safetensors", "abc")), Contains("tiny.safetensors") && Contains("too short"));
  // Header length larger than the file.
  CHECK_THAT(error_of(dir.write("len.safetensors", safetensors_bytes("{}", "").substr(0, 8) + "{")),
             Contains("len.safetensors"));
  std::string huge = good;
  huge[4] = 1;  // header length ~ 4 GiB
  CHECK_THAT(error_of(dir.write("huge.safetensors", huge)), Contains("exceeds the file size"));
  CHECK_THAT(error_of(dir.write("json.safetensors", safetensors_bytes("{\"a\":", "xxxx"))),
             Contains("json.safetensors") && Contains("invalid JSON"));
  CHECK_THAT(error_of(dir.write("size.safetensors",
                                safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", "xxxx"))),
             Contains("\"a\"") && Contains("needs 8 bytes"));
  CHECK_THAT(error_of(dir.write("dtype.safetensors",
                                safetensors_bytes(R"({"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,2]}})", "xx"))),
             Contains("\"a\"") && Contains("Q4"));
  CHECK_THAT(error_of(dir.write("order.safetensors",
                                safetensors_bytes(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[2,1]}})", "xx"))),
             Contains("end before begin"));
  CHECK_THAT(error_of(dir.path() / "missing.safetensors"), Contains("missing.safetensors"));
}

TEST_CASE("a checkpoint folder opens a single model.safetensors", "[runtime]") {
  TempDir dir;
  dir.write("model.safetensors", two_tensor_file());
  SafetensorsCheckpoint checkpoint(dir.path());
  CHECK(checkpoint.num_files() == 1);
  CHECK(checkpoint.has("b.weight"));
  CHECK(checkpoint.tensor("a").data_as<float>()[1] == 2.0f);
  CHECK_THROWS_WITH(checkpoint.tensor("lm_head.weight"), Contains("lm_head.weight") && Contains(dir.path().string()));
}

TEST_CASE("a sharded checkpoint follows model.safetensors.index.json", "[runtime]") {
  TempDir dir;
  std::vector<float> one = {1}, two = {2, 2};
  write_safetensors(dir.path() / "model-00001-of-00002.safetensors",
                    {{"x", Tensor::copy_of(DType::f32, {1}, one.data())}});
  write_safetensors(dir.path() / "model-00002-of-00002.safetensors",
                    {{"y", Tensor::copy_of(DType::f32, {2}, two.data())}});
  dir.write("model.safetensors.index.json",
            R"({"metadata":{"total_size":12},"weight_map":{"x":"model-00001-of-00002.safetensors",)"
            R"("y":"model-00002-of-00002.safetensors"}})");
  SafetensorsCheckpoint checkpoint(dir.path());
  CHECK(checkpoint.num_files() == 2);
  CHECK(checkpoint.names() == std::vector<std::string>{"x", "y"});
  CHECK(checkpoint.tensor("y").data_as<float>()[1] == 2.0f);
  CHECK(checkpoint.file_of("x").filename() == "model-00001-of-00002.safetensors");

  // An index that promises a tensor its shard lacks is an error naming both.
  dir.write("model.safetensors.index.json",
            R"({"weight_map":{"x":"model-00001-of-00002.safetensors","z":"model-00002-of-00002.safetensors"}})");
  CHECK_THROWS_WITH(SafetensorsCheckpoint(dir.path()), Contains("\"z\"") && Contains("model-00002-of-00002"));
  dir.write("model.safetensors.index.json", R"({"weight_map":{"x":"model-00009.safetensors"}})");
  CHECK_THROWS_WITH(SafetensorsCheckpoint(dir.path()), Contains("model-00009.safetensors"));
}

TEST_CASE("a folder without safetensors files is a not-found error", "[runtime]") {
  TempDir dir;
  try {
    SafetensorsCheckpoint checkpoint(dir.path());
    FAIL("no error");
  } catch (const RuntimeError& e) {
    CHECK(e.status() == CITADEL_ERR_NOT_FOUND);
    CHECK_THAT(e.what(), Contains("model.safetensors"));
  }
}

TEST_CASE("a shape whose size overflows 64 bits is refused naming the tensor", "[runtime]") {
  // 2^62 f32 elements are 2^64 bytes: the size wraps to 0, matching empty data_offsets.
  TempDir dir;
  CHECK_THAT(error_of(dir.write("wrap.safetensors",
                                safetensors_bytes(R"({"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})", ""))),
             Contains("wrap.safetensors") && Contains("\"a\"") && Contains("larger than 2^64 bytes"));
  CHECK_THROWS_WITH(shape_numel({1ll << 40, 1ll << 40}), Contains("more elements than fit in 64 bits"));
}
