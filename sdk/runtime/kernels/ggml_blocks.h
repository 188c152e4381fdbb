// ggml tensor types and the byte layouts of their quantized blocks, as GGUF
// files store them (llama.cpp's ggml-common.h; the `gguf` PyPI package's
// GGML_QUANT_SIZES and quants.py). One definition shared by the GGUF reader
// (sdk/runtime/formats/gguf*), the CPU block kernels (ggml_dequantize.*,
// ggml_matmul.*) and CUDA kernels for the same formats. Plain C++ (no Boost,
// no exceptions), so .cu files may include it.
//
// A row of a quantized [rows, cols] tensor is cols / block_size blocks laid
// end to end; element e of a row lives in block e / block_size. All fields
// are little-endian; `d`/`m`/`dmin` are IEEE fp16 bit patterns.
//
// Block element order (value index i within the block):
//   Q4_0/Q4_1  i < 16: qs[i] & 15; i >= 16: qs[i - 16] >> 4
//   Q5_0/Q5_1  as Q4_x for the low 4 bits; bit 4 = (qh >> i) & 1
//   Q8_0       qs[i] (int8)
//   Q4_K       sub-block j = i / 32 (scale/min j), e = i % 32:
//              qs[32 * (j / 2) + e], low nibble for even j, high for odd j
//   Q5_K       as Q4_K, bit 4 = (qh[e] >> j) & 1
//   Q6_K       h = i / 128, r = i % 128: low 4 bits = ql[64 h + r % 64] >> (4 (r / 64)),
//              high 2 bits = qh[32 h + r % 32] >> (2 (r / 32)); scale = scales[i / 16]
// Dequantized values (all f32 arithmetic, one rounding per operation):
//   Q4_0 d*(q-8)  Q4_1 d*q+m  Q5_0 d*(q-16)  Q5_1 d*q+m  Q8_0 q*d
//   Q4_K/Q5_K (d*sc[j])*q - (dmin*mn[j])   Q6_K (d*scales[i/16])*(q-32)
#pragma once

#include <cstddef>
#include <cstdint>

namespace citadel::runtime {

// The ggml type ids GGUF tensor infos carry (ggml.h's enum ggml_type).
enum class GgmlType : uint32_t {
  f32 = 0,
  f16 = 1,
  q4_0 = 2,
  q4_1 = 3,
  q5_0 = 6,
  q5_1 = 7,
  q8_0 = 8,
  q8_1 = 9,
  q2_k = 10,
  q3_k = 11,
  q4_k = 12,
  q5_k = 13,
  q6_k = 14,
  q8_k = 15,
  bf16 = 30,
};

inline constexpr int64_t kQk = 32;    // values per block of the 32-value formats
inline constexpr int64_t kQkK = 256;  // values per super-block of the K-quants
inline constexpr int64_t kKScaleBytes = 12;

struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQk / 2];
};
struct BlockQ4_1 {
  uint16_t d, m;
  uint8_t qs[kQk / 2];
};
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];  // a little-endian uint32 (unaligned in the file)
  uint8_t qs[kQk / 2];
};
struct BlockQ5_1 {
  uint16_t d, m;
  uint8_t qh[4];
  uint8_t qs[kQk / 2];
};
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQk];
};
struct BlockQ4_K {
  uint16_t d, dmin;
  uint8_t scales[kKScaleBytes];  // 8 six-bit scales and 8 six-bit mins, packed
  uint8_t qs[kQkK / 2];
};
struct BlockQ5_K {
  uint16_t d, dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qh[kQkK / 8];
  uint8_t qs[kQkK / 2];
};
struct BlockQ6_K {
  uint8_t ql[kQkK / 2];
  uint8_t qh[kQkK / 4];
  int8_t scales[kQkK / 16];
  uint16_t d;
};

static_assert(sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20 && sizeof(BlockQ5_0) == 22 &&
                  sizeof(BlockQ5_1) == 24 && sizeof(BlockQ8_0) == 34,
              "32-value block sizes as in GGUF");
static_assert(sizeof(BlockQ4_K) == 144 && sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210,
              "K-quant super-block sizes as in GGUF");
static_assert(alignof(BlockQ4_0) <= 2 && alignof(BlockQ6_K) <= 2, "blocks must pack end to end");

// Scale and min of sub-block j (0..7) of a Q4_K/Q5_K super-block's 12 packed bytes.
inline constexpr void k_scale_min(const uint8_t* scales, int j, uint8_t& scale, uint8_t& min) {
  if (j < 4) {
    scale = static_cast<uint8_t>(scales[j] & 63);
    min = static_cast<uint8_t>(scales[j + 4] & 63);
  } else {
    scale = static_cast<uint8_t>((scales[j + 4] & 0x0f) | ((scales[j - 4] >> 6) << 4));
    min = static_cast<uint8_t>((scales[j + 4] >> 4) | ((scales[j] >> 6) << 4));
  }
}

struct GgmlTypeTraits {
  const char* name = nullptr;  // "Q4_K", "F16", ...; nullptr: not a type Citadel reads
  int64_t block_size = 0;      // values per block (1 for plain floats)
  int64_t type_size = 0;       // bytes per block
  bool quantized = false;
};

// Traits of the types Citadel reads: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1,
// Q8_0, Q4_K, Q5_K, Q6_K. Other ids (and unknown ones) give name == nullptr.
inline constexpr GgmlTypeTraits ggml_type_traits(uint32_t type) {
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::f32: return {"F32", 1, 4, false};
    case GgmlType::f16: return {"F16", 1, 2, false};
    case GgmlType::bf16: return {"BF16", 1, 2, false};
    case GgmlType::q4_0: return {"Q4_0", kQk, sizeof(BlockQ4_0), true};
    case GgmlType::q4_1: return {"Q4_1", kQk, sizeof(BlockQ4_1), true};
    case GgmlType::q5_0: return {"Q5_0", kQk, sizeof(BlockQ5_0), true};
    case GgmlType::q5_1: return {"Q5_1", kQk, sizeof(BlockQ5_1), true};
    case GgmlType::q8_0: return {"Q8_0", kQk, sizeof(BlockQ8_0), true};
    case GgmlType::q4_k: return {"Q4_K", kQkK, sizeof(BlockQ4_K), true};
    case GgmlType::q5_k: return {"Q5_K", kQkK, sizeof(BlockQ5_K), true};
    case GgmlType::q6_k: return {"Q6_K", kQkK, sizeof(BlockQ6_K), true};
    default: return {};
  }
}

// A [rows, cols] matrix stored in a ggml type, row-major, rows of
// cols / block_size blocks (e.g. a GGUF tensor with ne = {cols, rows}).
// Non-owning: whoever made it keeps the bytes alive (a mapped GGUF file).
struct GgmlMatrix {
  GgmlType type = GgmlType::f32;
  int64_t rows = 0;
  int64_t cols = 0;
  const uint8_t* data = nullptr;

  int64_t row_bytes() const {
    const GgmlTypeTraits traits = ggml_type_traits(static_cast<uint32_t>(type));
    return cols / traits.block_size * traits.type_size;
  }
  const uint8_t* row(int64_t r) const { return data + r * row_bytes(); }
};

// The name of any ggml type id, including those Citadel does not read
// (for error messages); "type N" for ids ggml does not define.
const char* ggml_type_name(uint32_t type);

}  // namespace citadel::runtime
