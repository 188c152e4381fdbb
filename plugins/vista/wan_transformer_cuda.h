// CudaWanTransformer: the Wan transformer's chunk forward pass on a CUDA
// device (CUDA builds only), the counterpart of WanTransformer::forward with
// the same results within f16-GEMM tolerance: linears through cuBLAS (weights
// uploaded once as f16, f32 accumulation), norms, modulation and RoPE with
// runtime/cuda/video_kernels.h, attention on tensor cores
// (runtime/cuda/flash_attention.h) at head size 32/64/128, the self-attention history
// gathered from and the committed K/V scattered into the cache blocks in
// device memory. The per-frame time conditioning, patchify and unpatchify
// run on the host (a few rows). Used through chunk_forward_cuda.cpp (the
// plugin's backend on CUDA devices); tests/vista/wan_cuda_test.cpp checks it
// against the reference. Attention reads f16 Q/K/V (converted once per
// layer) through flash_attention_f16.h; CudaPassOptions can pick the older
// f32-input kernel and attach a StageTimer (bench_vista --cuda).
// One instance per stream; not thread-safe.
#pragma once

#include "frame_kv.h"
#include "wan_transformer.h"

#include "runtime/core/thread_pool.h"
#include "runtime/cuda/cublas_matmul.h"
#include "runtime/cuda/device_buffer.h"
#include "runtime/cuda/stage_timer.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace citadel::vista {

// The cache as a chunk pass sees it on the device: the block table (a device
// array of block addresses) and the cache positions of the history tokens and
// of the chunk's own tokens.
struct DeviceChunkKv {
  void* const* block_table = nullptr;
  KvGeometry geometry;
  std::vector<int32_t> history_positions, chunk_positions;
};

// The positions FrameKv would use for a chunk (window slots, frames of tokens).
DeviceChunkKv device_chunk_kv(const KvGeometry& geometry, void* const* block_table, int64_t tokens_per_frame,
                              const FrameWindow& window, int64_t first_frame, int64_t frames);

// Which attention kernel a pass uses at head size 32/64/128 (others: the
// f32 dense kernel), and where its stage times go (null: not timed):
// f16 operands on warpgroup tensor cores where the device has them (sm_90a,
// head size 64/128; else mma.sync), f16 on mma.sync, or the f32 WMMA kernel.
// mma.sync stays the default until the wgmma kernel has run on an H200
// (bench/README.md, "Flash attention on wgmma").
enum class CudaAttentionKernel { f16_wgmma, f16_mma, f32_wmma };
// fused_epilogues: the GEMMs read f16 inputs written by the pass before them
// (the modulated norms, the FFN's GELU) and leave their biases to the pass
// after them (runtime/cuda/video_epilogues.h), the same values as the
// separate conversions and bias passes; off until measured on an H200.
struct CudaPassOptions {
  CudaAttentionKernel attention = CudaAttentionKernel::f16_mma;
  runtime::cuda::StageTimer* stages = nullptr;  // made by make_stage_timer
  bool fused_epilogues = false;
};
// The stages a pass reports: their order is the StageTimer's indices.
enum class PassStage { host, linears, self_attention, cross_attention, norms, kv_and_convert, count };
std::vector<std::string> pass_stage_names();

class CudaWanTransformer {
 public:
  // `model` (the CPU transformer) stays alive and supplies the weights and
  // the host-side conditioning.
  CudaWanTransformer(const WanTransformer& model, void* stream, CudaPassOptions options = {});

  struct Text {
    int64_t tokens = 0;
    std::vector<runtime::cuda::DeviceBuffer> keys, values;  // per layer [tokens, dim] f32
    std::vector<runtime::cuda::DeviceBuffer> keys_f16, values_f16;  // the same as f16
  };
  Text prepare_text(runtime::ThreadPool& pool, const float* text_embeds, int64_t tokens);

  // As WanTransformer::forward; latents and the result on the host.
  std::vector<float> forward(runtime::ThreadPool& pool, const float* latents, const ChunkShape& shape,
                             const float* frame_timesteps, int64_t first_frame, const Text& text,
                             const DeviceChunkKv& kv, bool commit);

  // Device bytes of the uploaded weights and RoPE tables (not the pass's
  // scratch).
  uint64_t weight_bytes() const;

 private:
  struct DeviceLinear {
    runtime::cuda::DeviceBuffer weight, bias;  // f16 [out, in], f32 [out]
    int64_t in = 0, out = 0;
  };
  struct DeviceAttention {
    DeviceLinear q, k, v, o;
    runtime::cuda::DeviceBuffer norm_q, norm_k;
  };
  struct DeviceBlock {
    DeviceAttention self_attention, cross_attention;
    runtime::cuda::DeviceBuffer cross_norm_weight, cross_norm_bias;
    DeviceLinear ffn_in, ffn_out;
  };
  // A pass's device buffers, kept and grown between passes.
  struct PassBuffers {
    runtime::cuda::DeviceBuffer frames, rows, columns, history, chunk, input;
    runtime::cuda::DeviceBuffer x, normed, delta, q, mixed, keys, values, hidden, modulation;
    runtime::cuda::DeviceBuffer q16, k16, v16, out;
    runtime::cuda::DeviceBuffer normed16, hidden16;  // fused_epilogues: the GEMMs' f16 inputs
  };
  DeviceLinear upload(const Linear& linear);
  void linear(const DeviceLinear& layer, const float* x, int64_t rows, float* y);
  // y = x (f16) . W, without the bias (left to the pass after it).
  void linear_no_bias(const DeviceLinear& layer, const uint16_t* x, int64_t rows, float* y);
  static const float* bias_of(const DeviceLinear& layer);
  void mark(PassStage stage);
  bool use_f16_attention(int64_t head_dim) const;

  CudaPassOptions options_;

  const WanTransformer& model_;
  void* stream_;
  runtime::cuda::CublasContext cublas_;
  DeviceLinear patch_embedding_, text_1_, text_2_, proj_out_;
  std::vector<DeviceBlock> blocks_;
  runtime::cuda::DeviceBuffer rope_cos_, rope_sin_;
  runtime::Rope3dTable rope_;
  PassBuffers pass_;
};

// make_cuda_chunk_forward (chunk_forward.h) with pass options: the kernel
// choice and stage timing of bench_vista --cuda.
class ChunkForward;
std::unique_ptr<ChunkForward> make_cuda_chunk_forward(const WanTransformer& model, runtime::ThreadPool& pool,
                                                      void* stream, CudaPassOptions options);

}  // namespace citadel::vista
