// DeepEncoder::load_cuda and make_cuda_encoder in builds without CUDA (CITADEL_HAVE_CUDA unset):
// the CUDA encoder is deep_encoder_cuda.cpp, compiled only with CUDA.
#include "deep_encoder.h"
#include "random_weights.h"

namespace citadel::deepseek_ocr {

std::unique_ptr<DeepEncoder> DeepEncoder::load_cuda(const std::filesystem::path& checkpoint, runtime::ThreadPool&) {
  runtime::throw_unsupported("deepseek-ocr: " + checkpoint.string() +
                             ": the CUDA DeepEncoder needs a build with CUDA (CITADEL_CUDA=ON)");
}

std::unique_ptr<DeepEncoder> make_cuda_encoder(EncoderWeights) {
  runtime::throw_unsupported("deepseek-ocr: the CUDA DeepEncoder needs a build with CUDA (CITADEL_CUDA=ON)");
}

}  // namespace citadel::deepseek_ocr
