// Tensor: owned and viewed contiguous memory.
#include "runtime/core/tensor.h"

#include "runtime/core/error.h"
#include "runtime/core/half.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace citadel::runtime {
namespace {

std::shared_ptr<void> allocate_zeroed(size_t bytes) {
  const size_t rounded = (bytes + 63) / 64 * 64;
  void* memory = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
  if (memory == nullptr) {
    throw RuntimeError(CITADEL_ERR_OUT_OF_MEMORY,
                       "tensor allocation of " + std::to_string(bytes) + " bytes failed");
  }
  std::memset(memory, 0, rounded == 0 ? 64 : rounded);
  return std::shared_ptr<void>(memory, [](void* p) { std::free(p); });
}

}  // namespace

std::string shape_string(const Shape& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (__builtin_mul_overflow(n, d, &n)) {
      throw_invalid("tensor shape " + shape_string(shape) + " has more elements than fit in 64 bits");
    }
  }
  return n;
}

Tensor Tensor::zeros(DType dtype, Shape shape) {
  for (int64_t d : shape) {
    if (d < 0) throw_invalid("tensor shape " + shape_string(shape) + " has a negative dimension");
  }
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  auto storage = allocate_zeroed(t.nbytes());
  t.data_ = storage.get();
  t.storage_ = std::move(storage);
  return t;
}

Tensor Tensor::copy_of(DType dtype, Shape shape, const void* data) {
  Tensor t = zeros(dtype, std::move(shape));
  if (t.nbytes() > 0) std::memcpy(t.data_, data, t.nbytes());
  return t;
}

Tensor Tensor::view(DType dtype, Shape shape, void* data, std::shared_ptr<const void> keep_alive) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.data_ = data;
  t.storage_ = std::move(keep_alive);
  return t;
}

int64_t Tensor::dim(int64_t i) const {
  const int64_t r = rank();
  const int64_t index = i < 0 ? i + r : i;
  if (index < 0 || index >= r) {
    throw_invalid("dimension " + std::to_string(i) + " out of range for " + description());
  }
  return shape_[static_cast<size_t>(index)];
}

Tensor Tensor::reshaped(Shape shape) const {
  if (shape_numel(shape) != numel()) {
    throw_invalid("cannot reshape " + description() + " to " + shape_string(shape));
  }
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const { return copy_of(dtype_, shape_, data_); }

Tensor Tensor::to_f32() const {
  Tensor out = zeros(DType::f32, shape_);
  const size_t n = static_cast<size_t>(numel());
  float* dst = static_cast<float*>(out.data_);
  switch (dtype_) {
    case DType::f32:
      if (n > 0) std::memcpy(dst, data_, n * sizeof(float));
      break;
    case DType::f16:
      half_to_float(static_cast<const uint16_t*>(data_), dst, n);
      break;
    case DType::bf16:
      bfloat16_to_float(static_cast<const uint16_t*>(data_), dst, n);
      break;
    case DType::f64:
      for (size_t i = 0; i < n; ++i) dst[i] = static_cast<float>(static_cast<const double*>(data_)[i]);
      break;
    default:
      throw_unsupported("cannot convert " + description() + " to f32");
  }
  return out;
}

Tensor Tensor::converted(DType target) const {
  if (dtype_ != DType::f32) return to_f32().converted(target);
  const size_t n = static_cast<size_t>(numel());
  const float* src = static_cast<const float*>(data_);
  Tensor out = zeros(target, shape_);
  switch (target) {
    case DType::f32:
      if (n > 0) std::memcpy(out.data_, src, n * sizeof(float));
      break;
    case DType::f16:
      float_to_half(src, static_cast<uint16_t*>(out.data_), n);
      break;
    case DType::bf16:
      float_to_bfloat16(src, static_cast<uint16_t*>(out.data_), n);
      break;
    default:
      throw_unsupported("cannot convert " + description() + " to " + std::string(dtype_name(target)));
  }
  return out;
}

std::string Tensor::description() const {
  return std::string(dtype_name(dtype_)) + shape_string(shape_);
}

void Tensor::check_typed_access(size_t size, size_t alignment) const {
  if (size != dtype_size(dtype_)) {
    throw_invalid("tensor " + description() + " accessed with an element size of " +
                  std::to_string(size) + " bytes");
  }
  if (reinterpret_cast<uintptr_t>(data_) % alignment != 0) {
    throw_invalid("tensor " + description() + " is not aligned to " + std::to_string(alignment) +
                  " bytes for typed access");
  }
}

}  // namespace citadel::runtime
