// The PTX building blocks of the tensor-core attention kernels
// (flash_attention_f16.cu, flash_decode_mma.cu): cp.async copies of 16
// bytes into shared memory (zero-filled when the source is out of range),
// their commit and wait, ldmatrix x4 (plain and transposed) and
// mma.sync m16n8k16 with f16 inputs and f32 accumulation. Fragment layouts
// are the PTX ISA's: with lane = 4 * g + t, A holds rows g and g+8, columns
// 2t, 2t+1 (+8); B columns g, rows 2t, 2t+1 (+8); C rows g and g+8, columns
// 2t, 2t+1. Sm_80 and later; CUDA sources only.
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace citadel::runtime::cuda::mma {

__device__ __forceinline__ uint32_t shared_address(const void* pointer) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(pointer));
}

// 16 bytes global -> shared; zero-filled when !valid (src is then not read).
__device__ __forceinline__ void copy_16(void* dst, const void* src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(shared_address(dst)), "l"(src),
               "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void copy_commit() { asm volatile("cp.async.commit_group;\n" ::); }
// Waits until at most N committed groups of this thread are still in flight.
template <int N>
__device__ __forceinline__ void copy_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(address)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(address)));
}

// c += a . b (16x16 f16 by 16x8 f16, f32 accumulation).
__device__ __forceinline__ void mma_16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ uint32_t pack_half2(float low, float high) {
  const __half2 h = __floats2half2_rn(low, high);
  return *reinterpret_cast<const uint32_t*>(&h);
}

// Two floats as f16 hi + lo pairs (hi = f16(x), lo = f16(x - hi)): the pair
// holds x to about 22 bits, so a product with an f16 value summed in f32 is
// as exact as an f32 product.
__device__ __forceinline__ void split_half2(float low, float high, uint32_t& hi, uint32_t& lo) {
  const __half2 h = __floats2half2_rn(low, high);
  const float2 back = __half22float2(h);
  hi = *reinterpret_cast<const uint32_t*>(&h);
  lo = pack_half2(low - back.x, high - back.y);
}

}  // namespace citadel::runtime::cuda::mma
