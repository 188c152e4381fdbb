// Tensor: a dtype, a shape and contiguous row-major memory, either owned
// (heap, 64-byte aligned) or viewed (e.g. a slice of a mapped safetensors
// file, kept alive through a shared keep-alive handle). Copies share memory
// (like torch); clone() copies the bytes. Used by the safetensors reader,
// the plugins' weight stores and the tests; kernels take raw pointers.
#pragma once

#include "runtime/core/dtype.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace citadel::runtime {

using Shape = std::vector<int64_t>;

// "[2, 3, 4]"
std::string shape_string(const Shape& shape);
// Product of the dimensions (1 for a scalar shape []); throws RuntimeError
// when it overflows int64.
int64_t shape_numel(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;  // empty: defined() is false

  // Owning tensor, bytes set to zero.
  static Tensor zeros(DType dtype, Shape shape);
  // Owning tensor holding a copy of `data` (numel * dtype_size bytes).
  static Tensor copy_of(DType dtype, Shape shape, const void* data);
  // Non-owning view of `data`; `keep_alive` (may be null) is held as long as
  // any copy of the tensor lives.
  static Tensor view(DType dtype, Shape shape, void* data,
                     std::shared_ptr<const void> keep_alive = nullptr);

  bool defined() const { return data_ != nullptr || !shape_.empty(); }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  // Size of dimension i; negative i counts from the end. Throws when out of range.
  int64_t dim(int64_t i) const;
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }

  void* data() const { return data_; }
  // Typed pointer; throws when sizeof(T) differs from the element size or
  // the data is not aligned for T (readers hand out aligned tensors only).
  template <typename T>
  T* data_as() const {
    check_typed_access(sizeof(T), alignof(T));
    return static_cast<T*>(data_);
  }

  // Same memory, new shape with the same numel (throws otherwise).
  Tensor reshaped(Shape shape) const;
  // Deep copy into owned memory.
  Tensor clone() const;
  // f32/f16/bf16 (and f64) converted to a new owned f32 tensor.
  Tensor to_f32() const;
  // f32 converted to a new owned f16 or bf16 (or f32) tensor.
  Tensor converted(DType target) const;

  std::string description() const;  // "f16[4096, 11008]"

 private:
  void check_typed_access(size_t size, size_t alignment) const;

  DType dtype_ = DType::f32;
  Shape shape_;
  void* data_ = nullptr;
  std::shared_ptr<const void> storage_;
};

}  // namespace citadel::runtime
