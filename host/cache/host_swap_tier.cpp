// HostSwapTier: chunks allocated at construction; regions carved first-fit
// from each chunk's free-range map and merged with their neighbours on free.
#include "host/cache/host_swap_tier.h"

#include <stdexcept>
#include <string>

namespace citadel::cache {
namespace {

constexpr size_t kRegionAlignment = 256;

size_t aligned(size_t bytes) { return (bytes + kRegionAlignment - 1) / kRegionAlignment * kRegionAlignment; }

}  // namespace

HostSwapTier::HostSwapTier(uint64_t capacity_bytes, std::shared_ptr<PageBackend> allocator, bool pinned)
    : allocator_(std::move(allocator)), pinned_(pinned) {
  uint64_t remaining = capacity_bytes / kRegionAlignment * kRegionAlignment;
  try {
    while (remaining > 0) {
      size_t bytes = static_cast<size_t>(std::min<uint64_t>(remaining, kChunkBytes));
      Chunk chunk;
      chunk.memory = static_cast<std::byte*>(allocator_->allocate_host(bytes));
      chunk.bytes = bytes;
      chunk.free_ranges[0] = bytes;
      chunks_.push_back(std::move(chunk));
      capacity_bytes_ += bytes;
      remaining -= bytes;
    }
  } catch (const std::exception& error) {
    for (Chunk& chunk : chunks_) allocator_->free_host(chunk.memory);
    throw std::runtime_error("swap_space_gb: cannot allocate " + std::to_string(capacity_bytes) +
                             " bytes of host swap memory: " + error.what());
  }
}

HostSwapTier::~HostSwapTier() {
  for (Chunk& chunk : chunks_) allocator_->free_host(chunk.memory);
}

void* HostSwapTier::take_region(size_t bytes) {
  for (Chunk& chunk : chunks_) {
    for (auto range = chunk.free_ranges.begin(); range != chunk.free_ranges.end(); ++range) {
      if (range->second < bytes) continue;
      size_t offset = range->first;
      size_t rest = range->second - bytes;
      chunk.free_ranges.erase(range);
      if (rest > 0) chunk.free_ranges[offset + bytes] = rest;
      return chunk.memory + offset;
    }
  }
  return nullptr;
}

void HostSwapTier::give_back_region(void* region, size_t bytes) {
  auto* address = static_cast<std::byte*>(region);
  for (Chunk& chunk : chunks_) {
    if (address < chunk.memory || address >= chunk.memory + chunk.bytes) continue;
    size_t offset = static_cast<size_t>(address - chunk.memory);
    auto next = chunk.free_ranges.lower_bound(offset);
    if (next != chunk.free_ranges.end() && next->first == offset + bytes) {
      bytes += next->second;
      next = chunk.free_ranges.erase(next);
    }
    if (next != chunk.free_ranges.begin()) {
      auto previous = std::prev(next);
      if (previous->first + previous->second == offset) {
        previous->second += bytes;
        return;
      }
    }
    chunk.free_ranges[offset] = bytes;
    return;
  }
  throw std::logic_error("HostSwapTier: region outside every chunk");
}

std::optional<uint64_t> HostSwapTier::reserve(uint64_t owner, uint32_t count, size_t bytes_each) {
  std::lock_guard lock(mutex_);
  size_t bytes = aligned(bytes_each);
  if (count == 0 || bytes == 0 || used_bytes_ + uint64_t{count} * bytes > capacity_bytes_) {
    return std::nullopt;
  }
  Ticket ticket{owner, bytes_each, {}};
  for (uint32_t i = 0; i < count; ++i) {
    void* region = take_region(bytes);
    if (region == nullptr) {
      for (void* taken : ticket.regions) give_back_region(taken, bytes);
      return std::nullopt;
    }
    ticket.regions.push_back(region);
  }
  used_bytes_ += uint64_t{count} * bytes;
  uint64_t id = next_ticket_++;
  tickets_.emplace(id, std::move(ticket));
  return id;
}

const HostSwapTier::Ticket& HostSwapTier::find(uint64_t owner, uint64_t ticket) const {
  auto found = tickets_.find(ticket);
  if (found == tickets_.end() || found->second.owner != owner) {
    throw std::invalid_argument("swap tier: ticket " + std::to_string(ticket) + " is not held by this cache space");
  }
  return found->second;
}

const std::vector<void*>& HostSwapTier::regions(uint64_t owner, uint64_t ticket) const {
  std::lock_guard lock(mutex_);
  return find(owner, ticket).regions;
}

size_t HostSwapTier::region_bytes(uint64_t owner, uint64_t ticket) const {
  std::lock_guard lock(mutex_);
  return find(owner, ticket).bytes_each;
}

void HostSwapTier::release_locked(std::map<uint64_t, Ticket>::iterator ticket) {
  size_t bytes = aligned(ticket->second.bytes_each);
  for (void* region : ticket->second.regions) give_back_region(region, bytes);
  used_bytes_ -= bytes * ticket->second.regions.size();
  tickets_.erase(ticket);
}

void HostSwapTier::release(uint64_t owner, uint64_t ticket) {
  std::lock_guard lock(mutex_);
  find(owner, ticket);
  release_locked(tickets_.find(ticket));
}

void HostSwapTier::release_owner(uint64_t owner) {
  std::lock_guard lock(mutex_);
  for (auto ticket = tickets_.begin(); ticket != tickets_.end();) {
    auto next = std::next(ticket);
    if (ticket->second.owner == owner) release_locked(ticket);
    ticket = next;
  }
}

SwapTierStats HostSwapTier::stats() const {
  std::lock_guard lock(mutex_);
  return {capacity_bytes_, used_bytes_, tickets_.size(), static_cast<uint32_t>(chunks_.size()), pinned_};
}

}  // namespace citadel::cache
