// The CPU decoder backend: DecoderPass on the instance's thread pool.
#include "decoder_backend.h"

namespace citadel::deepseek_ocr {
namespace {

class CpuDecoder final : public DecoderBackend {
 public:
  CpuDecoder(DecoderPass& pass, runtime::ThreadPool& pool) : pass_(pass), pool_(pool) {}
  std::vector<float> run(std::span<const DecoderChunk> chunks) override { return pass_.run(chunks, pool_); }
  StepLogits run_step(std::span<const DecoderChunk> chunks) override {
    logits_ = pass_.run(chunks, pool_);
    return StepLogits{logits_, {}};
  }

 private:
  DecoderPass& pass_;
  runtime::ThreadPool& pool_;
  std::vector<float> logits_;  // the last step's
};

}  // namespace

std::unique_ptr<DecoderBackend> make_cpu_decoder(DecoderPass& pass, runtime::ThreadPool& pool) {
  return std::make_unique<CpuDecoder>(pass, pool);
}

}  // namespace citadel::deepseek_ocr
