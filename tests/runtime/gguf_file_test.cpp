// Tests of runtime/formats/gguf_file: the committed blocks.gguf (written by
// the `gguf` PyPI package's writer, tools/make_gguf_test_files.py) read back
// with every metadata value type, and hand-made broken files whose errors
// must name the file and the key or tensor.
#include <catch2/catch.hpp>

#include "runtime/core/error.h"
#include "runtime/formats/gguf_file.h"
#include "support/test_support.hpp"

#include <cstring>
#include <string>

using namespace citadel::runtime;
using citadel::test::TempDir;
using Catch::Matchers::Contains;

namespace {

std::filesystem::path blocks_file() { return citadel::test::source_dir() / "tests/data/gguf/blocks.gguf"; }

// Little-endian writer for hand-made GGUF files.
struct Bytes {
  std::string data;
  template <typename T>
  Bytes& put(T value) {
    data.append(reinterpret_cast<const char*>(&value), sizeof(T));
    return *this;
  }
  Bytes& str(const std::string& text) {
    put<uint64_t>(text.size());
    data += text;
    return *this;
  }
};

// A valid file: one u32 key, one F32 tensor [2, 32] at offset 0.
Bytes header(uint32_t version = 3, uint64_t tensors = 1, uint64_t kvs = 1) {
  Bytes b;
  b.put<uint32_t>(0x46554747).put<uint32_t>(version).put<uint64_t>(tensors).put<uint64_t>(kvs);
  return b;
}

std::string valid_file(uint32_t type = 0, uint64_t offset = 0, uint64_t cols = 32, size_t data_bytes = 256) {
  Bytes b = header();
  b.str("general.architecture").put<uint32_t>(8).str("llama");
  b.str("w").put<uint32_t>(2).put<uint64_t>(cols).put<uint64_t>(2).put<uint32_t>(type).put<uint64_t>(offset);
  while (b.data.size() % 32 != 0) b.data.push_back('\0');
  b.data.append(data_bytes, '\0');
  return b.data;
}

void expect_error(const std::string& bytes, const std::string& fragment) {
  TempDir dir;
  const auto path = dir.write("bad.gguf", bytes);
  REQUIRE_THROWS_WITH(GgufFile(path), Contains(path.string()) && Contains(fragment));
}

}  // namespace

TEST_CASE("GgufFile reads every metadata value type as the gguf package wrote it", "[runtime][gguf]") {
  const GgufFile file(blocks_file());
  CHECK(file.version() == 3);
  CHECK(file.alignment() == 64);
  CHECK(file.data_offset() % 64 == 0);
  CHECK(file.get_string("general.architecture") == "test");
  CHECK(file.value("test.u8").type() == GgufValueType::u8);
  CHECK(file.get_uint("test.u8") == 200);
  CHECK(file.value("test.i8").to_int("i8") == -100);
  CHECK(file.get_uint("test.u16") == 60000);
  CHECK(file.value("test.i16").to_int("i16") == -30000);
  CHECK(file.get_uint("test.u32") == 4000000000u);
  CHECK(file.value("test.i32").to_int("i32") == -2000000000);
  CHECK(file.get_double("test.f32") == 0.15625);
  CHECK(file.get_bool("test.bool") == true);
  CHECK(file.get_string("test.string") == "h\xc3\xa9llo w\xc3\xb6rld");
  CHECK(file.get_uint("test.u64") == 18000000000000000000ull);
  CHECK(file.value("test.i64").to_int("i64") == -9000000000000000000ll);
  CHECK(file.get_double("test.f64") == -2.5e-300);
  CHECK(file.get_int_array("test.array_i32") == std::vector<int64_t>{1, -2, 3});
  CHECK(file.get_double_array("test.array_f32") == std::vector<double>{0.5, -1.25});
  CHECK(file.get_string_array("test.array_string") == std::vector<std::string>{"a", "", "ccc"});
  const auto& bools = file.value("test.array_bool").items("bools");
  REQUIRE(bools.size() == 2);
  CHECK((bools[0].to_bool("b") && !bools[1].to_bool("b")));
  const GgufValue& nested = file.value("test.array_array");
  CHECK(nested.element_type() == GgufValueType::array);
  REQUIRE(nested.items("nested").size() == 2);
  CHECK(nested.items("nested")[0].items("inner").size() == 2);
  CHECK(nested.items("nested")[1].items("inner")[0].to_int("x") == 3);
  CHECK(file.get_uint("test.missing", 7) == 7);
}

TEST_CASE("GgufFile tensor infos, dense views and typed getter errors", "[runtime][gguf]") {
  const GgufFile file(blocks_file());
  CHECK(file.tensors().size() == 21);
  const GgufTensorInfo& q4k = file.tensor("Q4_K");
  CHECK(q4k.type == GgmlType::q4_k);
  CHECK(q4k.dims == std::vector<int64_t>{512, 3});
  CHECK(q4k.shape() == Shape{3, 512});
  CHECK(q4k.nbytes == 3 * 2 * 144);
  CHECK(q4k.offset % 64 == 0);
  const Tensor f32 = file.dense_tensor("F32");
  CHECK(f32.dtype() == DType::f32);
  CHECK(f32.shape() == Shape{3, 512});
  CHECK(file.dense_tensor("F16").dtype() == DType::f16);
  CHECK_THROWS_WITH(file.dense_tensor("Q4_K"), Contains("tensor 'Q4_K' is Q4_K"));
  CHECK_THROWS_WITH(file.tensor("nope"), Contains("missing tensor 'nope'"));
  CHECK_THROWS_WITH(file.get_uint("test.string"), Contains("metadata key 'test.string' is STRING"));
  CHECK_THROWS_WITH(file.get_uint("test.i8"), Contains("'test.i8'") && Contains("non-negative"));
  CHECK_THROWS_WITH(file.get_string("absent.key"), Contains("metadata key 'absent.key' is missing"));
  const GgmlMatrix m = file.matrix("Q6_K");
  CHECK((m.rows == 3 && m.cols == 512 && m.row_bytes() == 2 * 210));
}

TEST_CASE("GgufFile accepts a minimal hand-made file", "[runtime][gguf]") {
  TempDir dir;
  const GgufFile file(dir.write("ok.gguf", valid_file()));
  CHECK(file.tensor("w").rows() == 2);
  CHECK(file.tensor("w").nbytes == 256);
}

TEST_CASE("GgufFile rejects broken files naming the file and the key or tensor", "[runtime][gguf]") {
  expect_error("GG", "truncated");
  expect_error(std::string("GGUX\x03\0\0\0", 8) + std::string(16, '\0'), "not a GGUF file");
  {
    Bytes b = header(1, 0, 0);
    expect_error(b.data, "GGUF version 1 is not supported");
  }
  {
    Bytes b = header(0x03000000u, 0, 0);
    expect_error(b.data, "big-endian");
  }
  {
    Bytes b = header(3, 0, 1);
    b.str("general.name").put<uint32_t>(8).put<uint64_t>(1000).data += "short";
    expect_error(b.data, "metadata key 'general.name'");
  }
  {
    Bytes b = header(3, 0, 1);
    b.str("weird").put<uint32_t>(13).put<uint32_t>(0);
    expect_error(b.data, "metadata key 'weird' has unknown value type 13");
  }
  {
    Bytes b = header(3, 0, 1);
    b.str("tokens").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(1ull << 60);
    expect_error(b.data, "metadata key 'tokens' claims");
  }
  {
    Bytes b = header(3, 0, 2);
    b.str("a").put<uint32_t>(4).put<uint32_t>(1);
    b.str("a").put<uint32_t>(4).put<uint32_t>(2);
    expect_error(b.data, "metadata key 'a' appears twice");
  }
  {
    Bytes b = header(3, 0, 1);
    b.str("general.alignment").put<uint32_t>(4).put<uint32_t>(24);
    expect_error(b.data, "not a power of two");
  }
  expect_error(valid_file(0, 0, 32, 100), "tensor 'w'");                   // data truncated
  expect_error(valid_file(0, 0, 32, 100), "runs past the end");
  expect_error(valid_file(0, 16), "not a multiple of the alignment");    // misaligned
  expect_error(valid_file(99), "tensor 'w' has ggml type");               // unknown type
  expect_error(valid_file(10), "Q2_K");                                   // known to ggml, not read here
  expect_error(valid_file(12, 0, 32), "not whole Q4_K blocks");
  expect_error(valid_file(0, 0, 1ull << 62), "overflows");
  // 2^62 F32 values: the element count fits, their 2^64 bytes wrapped to 0
  // and passed the bounds check (found by tests/fuzz gguf).
  expect_error(valid_file(0, 0, 1ull << 61), "the byte count overflows");
}
