// StepUploads over PinnedHostBuffer: a bump arena that grows by new pieces
// within a step and is merged into one piece at the next.
#include "runtime/cuda/step_uploads.h"

#include <algorithm>
#include <cstring>

namespace citadel::runtime::cuda {

namespace {
constexpr size_t kAlignment = 16;
constexpr size_t kFirstPiece = size_t{64} << 10;
}  // namespace

void StepUploads::begin_step() {
  // The previous step's copies are done (the contract): pieces may go.
  if (pieces_.size() > 1 || (!pieces_.empty() && pieces_.back().size() < step_bytes_)) {
    const size_t bytes = std::max(step_bytes_, kFirstPiece);
    pieces_.clear();
    pieces_.emplace_back(bytes, "step uploads");
  }
  used_ = 0;
  step_bytes_ = 0;
}

void StepUploads::copy(void* to, const void* from, size_t bytes, void* stream) {
  if (bytes == 0) return;
  const size_t at = (used_ + kAlignment - 1) / kAlignment * kAlignment;
  if (pieces_.empty() || at + bytes > pieces_.back().size()) {
    // A new piece; the full ones stay alive until the next step begins.
    const size_t previous = pieces_.empty() ? 0 : pieces_.back().size();
    pieces_.emplace_back(std::max({bytes, 2 * previous, kFirstPiece}), "step uploads");
    used_ = 0;
    copy(to, from, bytes, stream);
    return;
  }
  PinnedHostBuffer& piece = pieces_.back();
  std::memcpy(piece.as<std::byte>() + at, from, bytes);
  piece.copy_to_device_async(to, bytes, at, stream);
  used_ = at + bytes;
  step_bytes_ += bytes + kAlignment;
}

size_t StepUploads::capacity() const {
  size_t bytes = 0;
  for (const PinnedHostBuffer& piece : pieces_) bytes += piece.size();
  return bytes;
}

}  // namespace citadel::runtime::cuda
