// deepseek-ocr image input: what is not an image, a truncated PNG, and images
// over the size limits (checked from the header, before decoding: a
// decompression bomb's pixels are never allocated) give ImageInputError with
// a clear message; WebP decodes like PNG, JPEG close to the source; the
// content hash separates images and modes and ignores the container format.
#include <catch2/catch.hpp>

#include "deep_encoder.h"
#include "deepseek_ocr/ocr_fixtures.hpp"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb/stb_image_write.h>
#include <webp/encode.h>

#include <cstdlib>

#include <string>

using namespace citadel::deepseek_ocr;
using namespace citadel::test::ocr;
using Catch::Matchers::Contains;

namespace {

std::vector<uint8_t> small_png() { return read_bytes(data_dir() / "images/small.png"); }

// The PNG with its IHDR width and height (big-endian, bytes 16..23) replaced:
// the header promises a huge image while the data stays small.
std::vector<uint8_t> with_png_size(std::vector<uint8_t> png, uint32_t width, uint32_t height) {
  for (int i = 0; i < 4; ++i) {
    png[16 + i] = static_cast<uint8_t>(width >> (24 - 8 * i));
    png[20 + i] = static_cast<uint8_t>(height >> (24 - 8 * i));
  }
  return png;
}

std::vector<uint8_t> lossless_webp(const DecodedImage& image) {
  uint8_t* out = nullptr;
  const size_t size = WebPEncodeLosslessRGB(image.rgb.data(), image.width, image.height, image.width * 3, &out);
  REQUIRE(size > 0);
  std::vector<uint8_t> bytes(out, out + size);
  WebPFree(out);
  return bytes;
}

}  // namespace

TEST_CASE("deepseek-ocr rejects data that is not an image", "[deepseek-ocr]") {
  const std::string text = "{\"model\": \"deepseek-ocr\", \"prompt\": \"this is JSON, not a picture\"}";
  const std::vector<uint8_t> bytes(text.begin(), text.end());
  CHECK_THROWS_AS(decode_image(bytes), ImageInputError);
  CHECK_THROWS_WITH(decode_image(bytes), Contains("not an image") && Contains("PNG, JPEG, WebP"));
  CHECK_THROWS_WITH(decode_image({}), Contains("empty"));
}

TEST_CASE("deepseek-ocr rejects a truncated PNG as corrupt", "[deepseek-ocr]") {
  std::vector<uint8_t> png = small_png();
  png.resize(png.size() / 2);
  CHECK_THROWS_AS(decode_image(png), ImageInputError);
  CHECK_THROWS_WITH(decode_image(png), Contains("corrupt or truncated"));
  CHECK_THROWS_WITH(prepare_image(png, ResolutionMode::base), Contains("corrupt or truncated"));
}

TEST_CASE("deepseek-ocr refuses images over the limits from their header", "[deepseek-ocr]") {
  // A header of 100000 x 100000 over a few KB of data: refused by side, not
  // decoded (the data would be reported corrupt otherwise).
  CHECK_THROWS_WITH(decode_image(with_png_size(small_png(), 100000, 100000)),
                    Contains("100000x100000") && Contains("16384"));
  // Within the side limit but 256 megapixels: refused by area.
  CHECK_THROWS_WITH(decode_image(with_png_size(small_png(), 16000, 16000)),
                    Contains("16000x16000") && Contains("50000000 pixels"));
  ImageLimits tight;
  tight.max_side = 400;
  CHECK_THROWS_WITH(decode_image(small_png(), tight), Contains("480x360") && Contains("400"));
  tight = {};
  tight.max_encoded_bytes = 1000;
  CHECK_THROWS_WITH(decode_image(small_png(), tight), Contains("1000 bytes"));
  const DecodedImage ok = decode_image(small_png());
  CHECK(ok.width == 480);
  CHECK(ok.height == 360);
}

TEST_CASE("deepseek-ocr decodes WebP, and the content hash ignores the container", "[deepseek-ocr]") {
  const DecodedImage png = decode_image(small_png());
  const std::vector<uint8_t> webp = lossless_webp(png);
  const DecodedImage decoded = decode_image(webp);
  CHECK(decoded.width == png.width);
  CHECK(decoded.height == png.height);
  CHECK(decoded.rgb == png.rgb);
  CHECK_THROWS_WITH(decode_image(std::span(webp).first(webp.size() / 2)), Contains("corrupt or truncated"));

  const PreparedImage from_png = prepare_image(small_png(), ResolutionMode::base);
  const PreparedImage from_webp = prepare_image(webp, ResolutionMode::base);
  CHECK(from_png.content_hash == from_webp.content_hash);
  CHECK(from_png.content_hash == prepare_image(png, ResolutionMode::base).content_hash);
  // Another mode or another picture: another key.
  CHECK_FALSE(from_png.content_hash == prepare_image(png, ResolutionMode::large).content_hash);
  DecodedImage changed = png;
  changed.rgb[changed.rgb.size() / 2] ^= 0x40;
  CHECK_FALSE(from_png.content_hash == prepare_image(changed, ResolutionMode::base).content_hash);
  CHECK((from_png.content_hash.low != 0 || from_png.content_hash.high != 0));
}

TEST_CASE("deepseek-ocr decodes JPEG close to the source pixels", "[deepseek-ocr]") {
  const DecodedImage png = decode_image(small_png());
  std::vector<uint8_t> jpeg;
  auto sink = [](void* context, void* data, int size) {
    auto* out = static_cast<std::vector<uint8_t>*>(context);
    out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
  };
  REQUIRE(stbi_write_jpg_to_func(sink, &jpeg, png.width, png.height, 3, png.rgb.data(), 95) != 0);
  const DecodedImage decoded = decode_image(jpeg);
  REQUIRE(decoded.width == png.width);
  REQUIRE(decoded.height == png.height);
  double total = 0.0;
  for (size_t i = 0; i < png.rgb.size(); ++i) total += std::abs(int{decoded.rgb[i]} - int{png.rgb[i]});
  CHECK(total / static_cast<double>(png.rgb.size()) < 4.0);  // lossy at quality 95: a few levels on average
  CHECK(prepare_image(jpeg, ResolutionMode::small).num_image_tokens == 111);
}

// Found by tests/fuzz image_decode (corpus regress-jpeg-dht-overflow.jpg):
// stb 2.27 writes past its Huffman arrays when a DHT table's code counts add
// up to more than 256 (nothings/stb#1289).
TEST_CASE("deepseek-ocr refuses a JPEG whose Huffman table has more than 256 codes", "[deepseek-ocr]") {
  const DecodedImage png = decode_image(small_png());
  std::vector<uint8_t> jpeg;
  auto sink = [](void* context, void* data, int size) {
    auto* out = static_cast<std::vector<uint8_t>*>(context);
    out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
  };
  REQUIRE(stbi_write_jpg_to_func(sink, &jpeg, png.width, png.height, 3, png.rgb.data(), 90) != 0);
  size_t dht = 0;
  while (dht + 1 < jpeg.size() && !(jpeg[dht] == 0xff && jpeg[dht + 1] == 0xc4)) ++dht;
  REQUIRE(dht + 21 < jpeg.size());
  for (size_t i = 0; i < 16; ++i) jpeg[dht + 5 + i] = 0xff;  // 16 x 255 = 4080 codes
  CHECK_THROWS_AS(decode_image(jpeg), ImageInputError);
  CHECK_THROWS_WITH(decode_image(jpeg), Contains("Huffman table") && Contains("4080 codes; at most 256"));
  jpeg.insert(jpeg.begin(), {0xff, 0xff});  // fill bytes before SOI: still a JPEG to stb
  CHECK_THROWS_WITH(decode_image(jpeg), Contains("Huffman table") && Contains("4080 codes"));
}

// Found by tests/fuzz image_decode (corpus regress-jpeg-undefined-table.jpg,
// which crashed only with some heap contents): a scan using a Huffman table
// that no DHT segment defined made stb decode with uninitialised tables and
// index outside them. The first scan's tables are checked (this test); a
// later scan's, which stb reaches at a data-dependent point, are zeroed
// memory (stb's allocations are calloc'ed), as the seed shows under ASan.
TEST_CASE("deepseek-ocr refuses a JPEG scan that uses an undefined Huffman table", "[deepseek-ocr]") {
  const DecodedImage png = decode_image(small_png());
  std::vector<uint8_t> jpeg;
  auto sink = [](void* context, void* data, int size) {
    auto* out = static_cast<std::vector<uint8_t>*>(context);
    out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
  };
  REQUIRE(stbi_write_jpg_to_func(sink, &jpeg, png.width, png.height, 3, png.rgb.data(), 90) != 0);
  size_t sos = 0;
  while (sos + 1 < jpeg.size() && !(jpeg[sos] == 0xff && jpeg[sos + 1] == 0xda)) ++sos;
  REQUIRE(sos + 6 < jpeg.size());
  CHECK(decode_image(jpeg).width == png.width);
  jpeg[sos + 6] = 0x33;  // the first component: DC table 3, AC table 3 (stb defines 0 and 1)
  CHECK_THROWS_WITH(decode_image(jpeg), Contains("Huffman tables") &&
                                            Contains("uses DC table 3, which no DHT segment before it defines"));
}

// Found by tests/fuzz image_decode (corpus regress-pgm16-grey.pgm): stb 2.27
// converts a 16-bit PGM to RGB as if its samples were 8-bit, reading past
// its buffer (and reads 16-bit PNM samples in the wrong byte order).
TEST_CASE("deepseek-ocr refuses 16-bit PGM and PPM images and overlong header numbers by name", "[deepseek-ocr]") {
  for (const std::string header : {"P5\n3 2\n65535\n", "P6\n3 2\n1000\n"}) {
    INFO(header);
    std::vector<uint8_t> pnm(header.begin(), header.end());
    pnm.resize(pnm.size() + 3 * 2 * 2 * (header[1] == '6' ? 3 : 1), 0x41);
    CHECK_THROWS_AS(decode_image(pnm), ImageInputError);
    CHECK_THROWS_WITH(decode_image(pnm), Contains("16-bit PGM/PPM"));
  }
  // Found by the same target (corpus regress-pnm-width-overflow.pgm): stb
  // reads header numbers into an int without a bound.
  const std::string long_width = "P5\n# comment\n11111111111 2\n255\n";
  CHECK_THROWS_WITH(decode_image(std::vector<uint8_t>(long_width.begin(), long_width.end())),
                    Contains("PGM/PPM") && Contains("width has more than 9 digits"));
  // 8-bit PNM still decodes.
  const std::string header = "P5\n3 2\n255\n";
  std::vector<uint8_t> pgm(header.begin(), header.end());
  for (uint8_t v : {1, 32, 64, 128, 160, 255}) pgm.push_back(v);
  const DecodedImage decoded = decode_image(pgm);
  REQUIRE(decoded.rgb.size() == 18);
  CHECK(decoded.rgb[0] == 1);
  CHECK(decoded.rgb[17] == 255);
}

// Found by tests/fuzz image_decode (corpus regress-png-empty-first-idat.png,
// regress-png-idat-past-end.png): stb 2.27 copies an empty first IDAT chunk
// to a null buffer (undefined behaviour), and sizes its buffer for an IDAT
// chunk's declared length before reading it (2 GiB for a 100-byte file).
// Both are refused by name; the picture without them still decodes.
TEST_CASE("deepseek-ocr refuses a PNG with an empty first IDAT or a chunk past the end", "[deepseek-ocr]") {
  const std::vector<uint8_t> original = small_png();
  size_t at = 8;  // the first IDAT chunk
  auto chunk_length = [&](size_t chunk) {
    return (size_t{original[chunk]} << 24) | (size_t{original[chunk + 1]} << 16) | (size_t{original[chunk + 2]} << 8) |
           original[chunk + 3];
  };
  while (!(original[at + 4] == 'I' && original[at + 5] == 'D' && original[at + 6] == 'A' && original[at + 7] == 'T')) {
    at += 12 + chunk_length(at);
    REQUIRE(at + 8 < original.size());
  }
  // An empty IDAT chunk: length 0, type, CRC-32 of "IDAT".
  std::vector<uint8_t> empty_first = original;
  empty_first.insert(empty_first.begin() + static_cast<std::ptrdiff_t>(at),
                     {0, 0, 0, 0, 'I', 'D', 'A', 'T', 0x35, 0xaf, 0x06, 0x1e});
  CHECK_THROWS_AS(decode_image(empty_first), ImageInputError);
  CHECK_THROWS_WITH(decode_image(empty_first), Contains("PNG") && Contains("first IDAT chunk is empty"));
  // The first IDAT claims 2^31 - 65536 bytes.
  std::vector<uint8_t> past_end = original;
  past_end[at] = 0x7f;
  past_end[at + 1] = 0xff;
  CHECK_THROWS_WITH(decode_image(past_end), Contains("chunk 'IDAT' at byte " + std::to_string(at)) &&
                                                 Contains("past the end of the data"));
  CHECK(decode_image(original).width == 480);
}
