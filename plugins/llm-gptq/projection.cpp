// Projection: dispatch to the runtime's dense or GPTQ CPU kernels.
#include "projection.h"

#include "runtime/kernels/ggml_matmul.h"
#include "runtime/kernels/matmul.h"

namespace citadel::llm {

Projection Projection::dense(std::string name, runtime::Tensor weight, runtime::Tensor bias) {
  Projection p;
  p.name_ = std::move(name);
  p.out_ = weight.dim(0);
  p.in_ = weight.dim(1);
  p.weight_bytes_ = weight.nbytes();
  p.weight_ = std::move(weight);
  p.bias_ = std::move(bias);
  return p;
}

Projection Projection::gptq(std::string name, const runtime::GptqTensors& layout,
                            runtime::Tensor qweight, runtime::Tensor qzeros, runtime::Tensor scales,
                            runtime::Tensor g_idx, runtime::Tensor bias) {
  Projection p;
  p.name_ = std::move(name);
  p.in_ = layout.in_features;
  p.out_ = layout.out_features;
  runtime::GptqTensors tensors = layout;
  tensors.qweight = qweight.data_as<int32_t>();
  tensors.qzeros = qzeros.data_as<int32_t>();
  tensors.scales = scales.data_as<uint16_t>();
  tensors.g_idx = g_idx.defined() ? g_idx.data_as<int32_t>() : nullptr;
  p.gptq_ = std::make_shared<runtime::GptqLinear>(tensors, p.name_);
  p.gptq_tensors_ = tensors;
  p.weight_bytes_ = qweight.nbytes() + qzeros.nbytes() + scales.nbytes() +
                    (g_idx.defined() ? g_idx.nbytes() : 0);
  p.qweight_ = std::move(qweight);
  p.qzeros_ = std::move(qzeros);
  p.scales_ = std::move(scales);
  p.g_idx_ = std::move(g_idx);
  p.bias_ = std::move(bias);
  return p;
}

Projection Projection::ggml(std::string name, runtime::GgmlMatrix weight, std::shared_ptr<const void> keep_alive,
                            runtime::Tensor bias, std::vector<int32_t> row_order) {
  Projection p;
  p.name_ = std::move(name);
  p.out_ = weight.rows;
  p.in_ = weight.cols;
  p.weight_bytes_ = static_cast<uint64_t>(weight.rows * weight.row_bytes());
  p.ggml_ = weight;
  p.keep_alive_ = std::move(keep_alive);
  p.row_order_ = std::move(row_order);
  p.bias_ = std::move(bias);
  return p;
}

void Projection::forward(runtime::ThreadPool& pool, const float* x, int64_t rows, float* y) const {
  const float* bias = bias_.defined() ? bias_.data_as<float>() : nullptr;
  if (ggml_) {
    runtime::ggml_matmul(pool, x, rows, *ggml_, y, bias, row_order_.empty() ? nullptr : row_order_.data());
  } else if (gptq_) {
    gptq_->forward(pool, x, rows, y, bias);
  } else {
    runtime::matmul(pool, x, rows, in_, weight_.data(), weight_.dtype(), out_, y, bias);
  }
}

}  // namespace citadel::llm
