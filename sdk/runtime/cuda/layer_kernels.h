// CUDA versions of the small layer kernels of runtime/kernels/ on f32 device
// activations: embedding, RMSNorm, RoPE, SiLU·mul, residual/bias add, f16
// and bf16 conversion, greedy argmax. Each takes device pointers and a
// cudaStream_t as void* (null: default stream), queues its kernel and
// returns; launch errors throw RuntimeError. Called by llm-gptq's CUDA path, the vista plugin's CUDA
// passes and the [cuda] tests.
#pragma once

#include "runtime/core/dtype.h"

#include <cstdint>

namespace citadel::runtime::cuda {

// out[t, :] = table[ids[t], :] as f32; table [vocab, dim] in f32/f16/bf16.
// ids live on the device and must already be checked to lie in [0, vocab)
// (the caller has them on the host); an id outside gives a row of zeros.
void embedding_lookup(const void* table, DType table_dtype, int64_t vocab, int64_t dim,
                      const int32_t* ids, int64_t num_ids, float* out, void* stream);

// y[r, :] = x[r, :] / sqrt(mean(x[r, :]²) + eps) * weight (f32); y may equal x.
void rms_norm(const float* x, int64_t rows, int64_t dim, const float* weight, float eps, float* y,
              void* stream);

// Rotate-half RoPE in place on x [tokens, heads, head_dim]; token t at
// positions[t] (device); inv_freq (device, rotary_dim/2 entries) is the table
// of runtime::rope_inv_freq (llama3/linear scaling already applied).
void apply_rope(float* x, int64_t num_tokens, int64_t num_heads, int64_t head_dim,
                const int32_t* positions, const float* inv_freq, int64_t rotary_half, void* stream);

// out[i] = silu(gate[i]) * up[i]; out may equal gate or up.
void silu_mul(const float* gate, const float* up, int64_t n, float* out, void* stream);
// y[i] += x[i].
void add_in_place(float* y, const float* x, int64_t n, void* stream);
// y[r, c] += bias[c] over rows x cols.
void add_bias(float* y, const float* bias, int64_t rows, int64_t cols, void* stream);

// f32 <-> f16 (bits), round to nearest even.
void float_to_half(const float* in, uint16_t* out, int64_t n, void* stream);
void half_to_float(const uint16_t* in, float* out, int64_t n, void* stream);
// f32 -> bf16 (bits), round to nearest even: the operand of matmul_bf16 for
// activations outside f16's range (T5's).
void float_to_bf16(const float* in, uint16_t* out, int64_t n, void* stream);
// in = high + low to ~2^-17: high = bf16(in), low = bf16(in - high); two
// bf16 GEMMs (high, then low accumulated) give a near-f32 activation.
void float_to_bf16_split(const float* in, uint16_t* high, uint16_t* low, int64_t n, void* stream);

// out[r] = index of the largest of logits[r, 0..vocab) (lowest index among
// equals, as runtime::argmax). For temperature/top-k/top-p sampling, copy the
// logits row to the host and use runtime::Sampler (sampling.h).
void argmax_rows(const float* logits, int64_t rows, int64_t vocab, int32_t* out, void* stream);

}  // namespace citadel::runtime::cuda
