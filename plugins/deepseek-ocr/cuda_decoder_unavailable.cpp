// make_cuda_decoder in builds without CUDA: says so.
#include "decoder_backend.h"

#include "runtime/core/error.h"

namespace citadel::deepseek_ocr {

std::unique_ptr<DecoderBackend> make_cuda_decoder(const DecoderConfig&, const DecoderWeights&, runtime::DType, int,
                                                  void*,
                                                  const CudaDecoderOptions&) {
  runtime::throw_unsupported("deepseek-ocr: this build has no CUDA decoder (configure with CITADEL_CUDA=ON on a "
                             "machine with the CUDA toolkit), set device: cpu");
}

}  // namespace citadel::deepseek_ocr
