// JPEG DHT segments and PNG chunks read as stb_image reads them.
#include "stb_input_guards.h"

#include <cstring>

namespace citadel::deepseek_ocr {

namespace {

// A chunk type for a message: its four bytes, anything unprintable as '?'.
std::string printable(std::string type) {
  for (char& c : type)
    if (c < 0x20 || c > 0x7e) c = '?';
  return type;
}

}  // namespace

namespace {

// A JPEG as stb_image 2.27 walks it, from SOI to the first scan's entropy
// data: stb_image's get_marker, process_marker, frame and scan headers.
class JpegWalk {
 public:
  explicit JpegWalk(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  std::optional<std::string> problem() {
    while (at_ < bytes_.size() && bytes_[at_] == 0xff) ++at_;  // fill bytes, then SOI
    if (at_ == 0 || at_ >= bytes_.size() || bytes_[at_] != 0xd8) return std::nullopt;
    ++at_;
    bool frame = false;
    for (;;) {
      const int marker = next_marker();
      const size_t start = at_ - 2;
      if (marker < 0 || marker == 0xd9) return std::nullopt;  // the end, EOI
      if (marker == 0xc4) {
        if (std::optional<std::string> problem = huffman_segment(start)) return problem;
        if (!ok_) return std::nullopt;
      } else if (marker == 0xdb) {
        quantization_segment();
      } else if (marker == 0xdd || (frame && marker == 0xdc)) {  // DRI, DNL
        at_ += 4;
      } else if ((marker >= 0xe0 && marker <= 0xef) || marker == 0xfe) {  // APPn, COM: skipped
        const uint32_t length = u16(at_);
        at_ = length < 2 ? bytes_.size() : at_ + length;
      } else if (!frame && (marker == 0xc0 || marker == 0xc1 || marker == 0xc2)) {
        frame = true;
        progressive_ = marker == 0xc2;
        at_ += u16(at_);
      } else if (frame && marker == 0xda) {
        if (std::optional<std::string> problem = scan_tables(start)) return problem;
        break;
      } else {
        return std::nullopt;  // stb refuses the file here
      }
      if (!ok_) return std::nullopt;
    }
    // After a scan stb resumes where its entropy decoding stopped, which
    // depends on the data: every FF C4 from here on may be a DHT it reads.
    for (size_t marker = at_; marker + 1 < bytes_.size(); ++marker) {
      if (bytes_[marker] != 0xff || bytes_[marker + 1] != 0xc4) continue;
      at_ = marker + 2;
      ok_ = true;
      if (std::optional<std::string> problem = huffman_segment(marker)) return problem;
    }
    return std::nullopt;
  }

 private:
  uint32_t byte(size_t at) const { return at < bytes_.size() ? bytes_[at] : 0; }  // stb reads 0 past the end
  uint32_t u16(size_t at) const { return (byte(at) << 8) | byte(at + 1); }

  // stb's get_marker, with the resynchronisation on non-marker bytes of its
  // callers; -1 at the end.
  int next_marker() {
    for (;;) {
      if (at_ >= bytes_.size()) return -1;
      if (bytes_[at_++] != 0xff) continue;
      while (at_ < bytes_.size() && bytes_[at_] == 0xff) ++at_;
      if (at_ >= bytes_.size()) return -1;
      return bytes_[at_++];
    }
  }

  // A DHT segment whose marker is at `start`, read by its contents as stb
  // reads it (tables while the declared length lasts).
  std::optional<std::string> huffman_segment(size_t start) {
    int64_t left = static_cast<int64_t>(u16(at_)) - 2;
    at_ += 2;
    while (left > 0) {
      const uint32_t table = byte(at_++);
      if ((table >> 4) > 1 || (table & 15) > 3) {  // stb refuses the segment
        ok_ = false;
        return std::nullopt;
      }
      uint32_t codes = 0;
      for (int length = 0; length < 16; ++length) codes += byte(at_++);
      if (codes > 256) {
        return "DHT table at byte " + std::to_string(start) + " (" + ((table >> 4) == 0 ? "DC" : "AC") +
               " table " + std::to_string(table & 15) + ") declares " + std::to_string(codes) + " codes; at most 256";
      }
      defined_[table >> 4][table & 15] = true;
      at_ += codes;
      left -= 17 + static_cast<int64_t>(codes);
    }
    ok_ = left == 0;
    return std::nullopt;
  }

  void quantization_segment() {
    int64_t left = static_cast<int64_t>(u16(at_)) - 2;
    at_ += 2;
    while (left > 0) {
      const uint32_t table = byte(at_++);
      if ((table >> 4) > 1 || (table & 15) > 3) break;
      const bool sixteen = (table >> 4) == 1;
      at_ += sixteen ? 128 : 64;
      left -= sixteen ? 129 : 65;
    }
    ok_ = left == 0;
  }

  // The first scan header: the tables its blocks are decoded with must have
  // been defined (stb would decode with uninitialised tables otherwise).
  std::optional<std::string> scan_tables(size_t start) {
    const uint32_t length = u16(at_);
    const uint32_t components = byte(at_ + 2);
    if (components < 1 || components > 4 || length != 6 + 2 * components) {
      ok_ = false;
      return std::nullopt;
    }
    const size_t spectral = at_ + 3 + 2 * components;
    const bool uses_dc = !progressive_ || byte(spectral) == 0;
    const bool uses_ac = !progressive_ || byte(spectral + 1) > 0;
    for (uint32_t c = 0; c < components; ++c) {
      const uint32_t tables = byte(at_ + 4 + 2 * c);
      const uint32_t dc = tables >> 4, ac = tables & 15;
      if (dc > 3 || ac > 3) return std::nullopt;  // stb refuses the scan
      if (uses_dc && !defined_[0][dc]) return undefined(start, "DC", dc);
      if (uses_ac && !defined_[1][ac]) return undefined(start, "AC", ac);
    }
    at_ += length;
    return std::nullopt;
  }

  static std::string undefined(size_t start, const char* kind, uint32_t table) {
    return "the scan at byte " + std::to_string(start) + " uses " + kind + " table " + std::to_string(table) +
           ", which no DHT segment before it defines";
  }

  std::span<const uint8_t> bytes_;
  size_t at_ = 0;
  bool ok_ = true;  // false once stb would have refused the file
  bool progressive_ = false;
  bool defined_[2][4] = {};  // [DC, AC][table]
};

}  // namespace

std::optional<std::string> jpeg_huffman_problem(std::span<const uint8_t> bytes) { return JpegWalk(bytes).problem(); }

std::optional<std::string> oversized_pnm_header_number(std::span<const uint8_t> bytes) {
  if (bytes.size() < 2 || bytes[0] != 'P' || (bytes[1] != '5' && bytes[1] != '6')) return std::nullopt;
  auto at_byte = [&](size_t at) -> int { return at < bytes.size() ? bytes[at] : -1; };
  auto space = [](int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; };
  size_t at = 2;
  for (const char* field : {"width", "height", "maximum value"}) {
    for (;;) {  // whitespace, then a comment to the end of its line, again
      while (space(at_byte(at))) ++at;
      if (at_byte(at) != '#') break;
      while (at_byte(at) >= 0 && at_byte(at) != '\n' && at_byte(at) != '\r') ++at;
    }
    size_t digits = 0;
    for (; at_byte(at) >= '0' && at_byte(at) <= '9'; ++at) ++digits;
    if (digits > 9) return std::string(field);
  }
  return std::nullopt;
}

std::optional<std::string> png_chunk_problem(std::span<const uint8_t> bytes) {
  static const uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (bytes.size() < 8 || std::memcmp(bytes.data(), kSignature, 8) != 0) return std::nullopt;
  bool seen_idat = false;
  size_t at = 8;
  while (at + 8 <= bytes.size()) {
    const uint64_t length = (uint64_t{bytes[at]} << 24) | (uint64_t{bytes[at + 1]} << 16) |
                            (uint64_t{bytes[at + 2]} << 8) | bytes[at + 3];
    const std::string type(reinterpret_cast<const char*>(bytes.data() + at + 4), 4);
    if (type == "IEND") break;
    if (at + 12 + length > bytes.size()) {
      return "chunk '" + printable(type) + "' at byte " + std::to_string(at) + " declares " +
             std::to_string(length) + " bytes, past the end of the data";
    }
    if (type == "IDAT" && !seen_idat && length == 0) return "its first IDAT chunk is empty";
    seen_idat = seen_idat || type == "IDAT";
    at += 12 + length;  // length, type, data, CRC
  }
  return std::nullopt;
}

}  // namespace citadel::deepseek_ocr
