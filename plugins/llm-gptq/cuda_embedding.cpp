// DeviceEmbedding: upload and lookup of the token embedding table.
#include "cuda_embedding.h"

#include "runtime/cuda/ggml_rows.h"
#include "runtime/cuda/layer_kernels.h"

namespace citadel::llm {

namespace cuda = runtime::cuda;

DeviceEmbedding::DeviceEmbedding(const ModelWeights& weights, const cuda::GgmlLinearCuda* lm_head) {
  if (weights.embedding_ggml) {
    const runtime::GgmlMatrix& table = *weights.embedding_ggml;
    const runtime::GgmlMatrix* head = weights.lm_head.ggml_weight();
    const bool tied = lm_head != nullptr && head != nullptr && head->data == table.data && head->type == table.type &&
                      head->rows == table.rows && head->cols == table.cols && weights.lm_head.row_order().empty();
    if (tied) {
      shared_ = lm_head;
    } else {
      blocks_ = std::make_unique<cuda::GgmlLinearCuda>(table, "token_embd.weight");
    }
    vocab_ = table.rows;
    dim_ = table.cols;
    return;
  }
  dense_ = cuda::DeviceBuffer::from_host(weights.embedding.data(), weights.embedding.nbytes(), "embed_tokens");
  dtype_ = weights.embedding.dtype();
  vocab_ = weights.embedding.dim(0);
  dim_ = weights.embedding.dim(1);
}

void DeviceEmbedding::lookup(const int32_t* ids, int64_t count, float* out, void* stream) const {
  if (const cuda::GgmlLinearCuda* blocks = shared_ != nullptr ? shared_ : blocks_.get()) {
    cuda::ggml_embedding_lookup(blocks->matrix(), ids, count, out, stream);
  } else {
    cuda::embedding_lookup(dense_.data(), dtype_, vocab_, dim_, ids, count, out, stream);
  }
}

uint64_t DeviceEmbedding::device_bytes() const {
  if (shared_ != nullptr) return 0;
  return blocks_ ? blocks_->device_bytes() : dense_.size();
}

}  // namespace citadel::llm
