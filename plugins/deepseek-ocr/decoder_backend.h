// decoder_backend.h — the one compute interface the model (ocr_model.cpp)
// runs its steps through, chosen once at load: the CPU decoder pass
// (decoder_pass.h on the instance's thread pool) or, in CUDA builds, the
// CUDA decoder pass (cuda_decoder_pass.cpp: f16 weights through cuBLAS, the
// SDK's CUDA layer and paged-attention kernels, routed experts grouped per
// layer). Both take the same chunks and return the same logits (within the
// [cuda] test's tolerance); the CUDA pass also gives each row's argmax.
// Used by the model and the [cuda] test.
#pragma once

#include "decoder_pass.h"

#include "runtime/core/thread_pool.h"

#include <memory>
#include <span>
#include <vector>

namespace citadel::deepseek_ocr {

class DecoderBackend {
 public:
  virtual ~DecoderBackend() = default;
  // Logits [chunks wanting logits, vocab] on the host, in chunk order. On
  // CUDA the chunks' blocks are device addresses and run() returns after the
  // stream has finished.
  virtual std::vector<float> run(std::span<const DecoderChunk> chunks) = 0;

  // The model's step: rows as run() returns them, in memory the backend
  // keeps until its next call, except that the rows of argmax_only chunks
  // may be left unwritten; argmax holds each row's argmax (lowest index
  // among equals, as runtime::argmax) where the backend computed it (CUDA:
  // on the device, so a greedy row costs 4 bytes of copy instead of 129,280
  // floats), else it is empty and the caller takes the argmax of the row.
  struct StepLogits {
    std::span<float> rows;
    std::span<const int32_t> argmax;
  };
  virtual StepLogits run_step(std::span<const DecoderChunk> chunks) = 0;
};

// The CPU pass; `pass` and `pool` must outlive the backend.
std::unique_ptr<DecoderBackend> make_cpu_decoder(DecoderPass& pass, runtime::ThreadPool& pool);

struct CudaDecoderOptions {
  // Steps of up to this many rows route their experts on the device (no
  // wait for the host in the step); larger steps (prefills) route on the
  // host and run the experts through cuBLAS. 0: every step on the host.
  int64_t device_routing_max_rows = 256;
  // Decode steps routed on the device replayed as CUDA graphs (only on a
  // stream other than the legacy default one).
  bool step_graphs = true;
};

// The CUDA pass on device `ordinal`, issuing work on `stream` (a
// cudaStream_t). Throws RuntimeError (UNSUPPORTED) in a build without CUDA.
// `config` and `weights` (host copies; uploaded here) must outlive it.
std::unique_ptr<DecoderBackend> make_cuda_decoder(const DecoderConfig& config, const DecoderWeights& weights,
                                                  runtime::DType kv_dtype, int ordinal, void* stream,
                                                  const CudaDecoderOptions& options = {});

}  // namespace citadel::deepseek_ocr
