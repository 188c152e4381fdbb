// DeviceProjection: upload (GPTQ through GptqLinearCuda, GGUF block formats
// through GgmlLinearCuda, dense weights as f16), fusion of GPTQ projections,
// and the forward with an epilogue.
#include "cuda_projection.h"

#include "runtime/core/error.h"
#include "runtime/core/half.h"
#include "runtime/kernels/ggml_dequantize.h"

#include <cstring>
#include <vector>

namespace citadel::llm {

namespace cuda = runtime::cuda;

namespace {

// A dense weight as f16 bits on the device (f16 as is, f32/bf16 converted).
cuda::DeviceBuffer upload_as_f16(const runtime::Tensor& tensor, const std::string& name) {
  const auto n = static_cast<size_t>(tensor.numel());
  if (tensor.dtype() == runtime::DType::f16) return cuda::DeviceBuffer::from_host(tensor.data(), n * 2, name.c_str());
  std::vector<float> values(n);
  if (tensor.dtype() == runtime::DType::f32) {
    std::memcpy(values.data(), tensor.data(), n * sizeof(float));
  } else if (tensor.dtype() == runtime::DType::bf16) {
    runtime::bfloat16_to_float(tensor.data_as<uint16_t>(), values.data(), n);
  } else {
    runtime::throw_invalid(name + ": dense weight " + tensor.description() + " is not f32, f16 or bf16");
  }
  std::vector<uint16_t> half(n);
  runtime::float_to_half(values.data(), half.data(), n);
  return cuda::DeviceBuffer::from_vector(half, name.c_str());
}

bool ggml_is_blocks(const runtime::GgmlMatrix& matrix) {
  return runtime::ggml_type_traits(static_cast<uint32_t>(matrix.type)).quantized;
}

// A GGUF F32/F16/BF16 weight as f16 bits on the device, rows in `order`
// (empty: as stored); these stay on cuBLAS.
cuda::DeviceBuffer upload_ggml_as_f16(const runtime::GgmlMatrix& matrix, const std::vector<int32_t>& order,
                                      const std::string& name) {
  std::vector<float> row(static_cast<size_t>(matrix.cols));
  std::vector<uint16_t> half(static_cast<size_t>(matrix.rows * matrix.cols));
  for (int64_t r = 0; r < matrix.rows; ++r) {
    runtime::dequantize_row(matrix.type, matrix.row(order.empty() ? r : order[static_cast<size_t>(r)]), matrix.cols,
                            row.data());
    runtime::float_to_half(row.data(), half.data() + r * matrix.cols, row.size());
  }
  return cuda::DeviceBuffer::from_vector(half, name.c_str());
}

// The projection's f32 bias on the host, or null.
const float* host_bias(const Projection& projection) {
  const runtime::Tensor& bias = projection.bias();
  if (!bias.defined()) return nullptr;
  if (bias.dtype() != runtime::DType::f32) {
    runtime::throw_invalid(projection.name() + ".bias: expected an f32 tensor, got " + bias.description());
  }
  return bias.data_as<float>();
}

bool simple_store(const cuda::LinearEpilogue& e) {
  return e.kind == cuda::LinearEpilogue::Kind::store && e.segments == 1;
}

}  // namespace

DeviceProjection::DeviceProjection(const Projection& projection)
    : in_(projection.in_features()), out_(projection.out_features()) {
  const float* bias = host_bias(projection);
  if (const runtime::GptqTensors* tensors = projection.gptq_tensors()) {
    gptq_ = std::make_unique<cuda::GptqLinearCuda>(*tensors, projection.name(), bias);
  } else if (const runtime::GgmlMatrix* matrix = projection.ggml_weight(); matrix && ggml_is_blocks(*matrix)) {
    const std::vector<int32_t>& order = projection.row_order();
    ggml_ = std::make_unique<cuda::GgmlLinearCuda>(*matrix, projection.name(), order.empty() ? nullptr : order.data(),
                                                   bias);
  } else {
    weight_ = matrix ? upload_ggml_as_f16(*matrix, projection.row_order(), projection.name())
                     : upload_as_f16(projection.dense_weight(), projection.name());
    if (bias != nullptr) {
      bias_ = cuda::DeviceBuffer::from_host(bias, static_cast<size_t>(out_) * sizeof(float),
                                            (projection.name() + ".bias").c_str());
    }
  }
}

std::unique_ptr<DeviceProjection> DeviceProjection::fused(std::span<const Projection* const> parts,
                                                          cuda::GptqLinearCuda::Fusion fusion,
                                                          const std::string& name) {
  std::vector<const runtime::GptqTensors*> tensors;
  std::vector<const float*> biases;
  for (const Projection* part : parts) {
    if (part->gptq_tensors() == nullptr) return nullptr;
    tensors.push_back(part->gptq_tensors());
    biases.push_back(host_bias(*part));
  }
  if (!cuda::GptqLinearCuda::can_fuse(tensors, fusion)) return nullptr;
  auto projection = std::make_unique<DeviceProjection>();
  projection->gptq_ = std::make_unique<cuda::GptqLinearCuda>(tensors, biases, fusion, name);
  projection->in_ = projection->gptq_->in_features();
  projection->out_ = projection->gptq_->columns();
  return projection;
}

void DeviceProjection::forward(cuda::CublasContext& cublas, const float* x, int64_t rows,
                               const cuda::LinearEpilogue& epilogue, void* stream) const {
  if (gptq_) {
    gptq_->forward(cublas, x, rows, epilogue, stream);
    return;
  }
  if (ggml_) {
    ggml_->forward(cublas, x, rows, epilogue, stream);
    return;
  }
  const float* bias = bias_.size() > 0 ? bias_.as<float>() : nullptr;
  if (simple_store(epilogue)) {
    cuda::matmul_f16(cublas, x, rows, in_, weight_.as<uint16_t>(), cuda::WeightLayout::out_in, out_, epilogue.out[0],
                     bias, stream);
    return;
  }
  float* result = cublas.result_scratch(static_cast<size_t>(rows * out_));
  cuda::matmul_f16(cublas, x, rows, in_, weight_.as<uint16_t>(), cuda::WeightLayout::out_in, out_, result, bias,
                   stream);
  cuda::linear_epilogue_apply(result, rows, out_, epilogue, stream);
}

bool DeviceProjection::forward_normed(const float* x, int64_t rows, const float* norm_weight, float eps,
                                      const cuda::LinearEpilogue& epilogue, void* stream) const {
  return gptq_ && gptq_->forward_normed(x, rows, cuda::RmsNormInput{norm_weight, eps}, epilogue, stream);
}

void DeviceProjection::forward(cuda::CublasContext& cublas, const float* x, int64_t rows, float* y,
                               void* stream) const {
  forward(cublas, x, rows, cuda::LinearEpilogue::single(y, out_), stream);
}

uint64_t DeviceProjection::device_bytes() const {
  if (ggml_) return ggml_->device_bytes();
  return (gptq_ ? gptq_->device_bytes() : weight_.size()) + bias_.size();
}

}  // namespace citadel::llm
