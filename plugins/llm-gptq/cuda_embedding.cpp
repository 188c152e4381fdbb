// DeviceEmbedding: upload and lookup of the token embedding table.
#include "cuda_embedding.h"

#include "runtime/cuda/ggml_rows.h"
#include "runtime/cuda/layer_kernels.h"

namespace citadel::llm {

namespace cuda = runtime::cuda;

DeviceEmbedding::DeviceEmbedding(const ModelWeights& weights) {
  if (weights.embedding_ggml) {
    blocks_ = std::make_unique<cuda::GgmlLinearCuda>(*weights.embedding_ggml, "token_embd.weight");
    vocab_ = weights.embedding_ggml->rows;
    dim_ = weights.embedding_ggml->cols;
    return;
  }
  dense_ = cuda::DeviceBuffer::from_host(weights.embedding.data(), weights.embedding.nbytes(), "embed_tokens");
  dtype_ = weights.embedding.dtype();
  vocab_ = weights.embedding.dim(0);
  dim_ = weights.embedding.dim(1);
}

void DeviceEmbedding::lookup(const int32_t* ids, int64_t count, float* out, void* stream) const {
  if (blocks_) {
    cuda::ggml_embedding_lookup(blocks_->matrix(), ids, count, out, stream);
  } else {
    cuda::embedding_lookup(dense_.data(), dtype_, vocab_, dim_, ids, count, out, stream);
  }
}

uint64_t DeviceEmbedding::device_bytes() const { return blocks_ ? blocks_->device_bytes() : dense_.size(); }

}  // namespace citadel::llm
