// PeerAllReduce: the one-shot kernel over peer memory and its setup.
#include "runtime/cuda/peer_all_reduce.h"

#include "runtime/cuda/cuda_check.h"

#include <cuda_runtime.h>

#include <set>
#include <string>

namespace citadel::runtime::cuda {
namespace {

constexpr int kMaxRanks = 8;
constexpr int kMaxBlocks = 64;
constexpr int kThreads = 256;
constexpr unsigned long long kGiveUpNs = 10ull * 1000 * 1000 * 1000;

struct PeerPointers {
  const float* staging[kMaxRanks];  // each rank's [2][max] staging buffer
  unsigned* flags[kMaxRanks];       // each rank's [2][ranks][kMaxBlocks] flags
};

__device__ __forceinline__ void store_release_system(unsigned* address, unsigned value) {
  asm volatile("st.release.sys.global.u32 [%0], %1;" ::"l"(address), "r"(value) : "memory");
}

__device__ __forceinline__ unsigned load_acquire_system(const unsigned* address) {
  unsigned value;
  asm volatile("ld.acquire.sys.global.u32 %0, [%1];" : "=r"(value) : "l"(address) : "memory");
  return value;
}

__device__ __forceinline__ unsigned long long global_ns() {
  unsigned long long ns;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(ns));
  return ns;
}

// Block b owns float4s [b * per_block, ...) of the message. epoch[0] is the
// number of calls so far (the same on every rank), epoch[1] counts the
// blocks done with this one; the last block advances epoch[0].
__global__ void peer_all_reduce_kernel(PeerPointers peers, int rank, int ranks, float* data, int64_t count4,
                                       unsigned* epoch) {
  __shared__ unsigned call;
  if (threadIdx.x == 0) call = *reinterpret_cast<volatile unsigned*>(epoch) + 1;
  __syncthreads();
  const unsigned parity = call & 1u;
  const int64_t per_block = (count4 + gridDim.x - 1) / gridDim.x;
  const int64_t begin = blockIdx.x * per_block;
  const int64_t end = begin + per_block < count4 ? begin + per_block : count4;
  const size_t half = kPeerAllReduceMaxFloats / 4;  // float4s of one parity
  auto* mine = reinterpret_cast<float4*>(const_cast<float*>(peers.staging[rank])) + parity * half;
  const auto* input = reinterpret_cast<const float4*>(data);
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) mine[i] = input[i];
  __syncthreads();
  // Tell every rank this block's part is staged; wait for theirs.
  if (threadIdx.x < ranks && threadIdx.x != rank) {
    unsigned* flag = peers.flags[threadIdx.x] + (parity * ranks + rank) * kMaxBlocks + blockIdx.x;
    store_release_system(flag, call);
    const unsigned* theirs = peers.flags[rank] + (parity * ranks + threadIdx.x) * kMaxBlocks + blockIdx.x;
    const unsigned long long start = global_ns();
    while (load_acquire_system(theirs) != call) {
      if (global_ns() - start > kGiveUpNs) break;  // a rank never came: the group is broken (abort)
    }
  }
  __syncthreads();
  auto* output = reinterpret_cast<float4*>(data);
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    float4 total = __ldcg(reinterpret_cast<const float4*>(peers.staging[0]) + parity * half + i);
    for (int r = 1; r < ranks; ++r) {
      const float4 part = __ldcg(reinterpret_cast<const float4*>(peers.staging[r]) + parity * half + i);
      total.x += part.x;
      total.y += part.y;
      total.z += part.z;
      total.w += part.w;
    }
    output[i] = total;
  }
  if (threadIdx.x == 0) {
    __threadfence();
    if (atomicAdd(&epoch[1], 1u) == gridDim.x - 1) {
      epoch[1] = 0;
      epoch[0] = call;
    }
  }
}

}  // namespace

bool PeerAllReduce::supported(const std::vector<int>& devices) {
  if (devices.size() < 2 || devices.size() > kMaxRanks) return false;
  if (std::set<int>(devices.begin(), devices.end()).size() != devices.size()) return false;
  for (int a : devices) {
    for (int b : devices) {
      int can = 0;
      if (a != b && (cudaDeviceCanAccessPeer(&can, a, b) != cudaSuccess || can == 0)) return false;
    }
  }
  return true;
}

PeerAllReduce::PeerAllReduce(std::vector<int> devices, std::unique_ptr<AllReduce> large, bool shared_device)
    : devices_(std::move(devices)), large_(std::move(large)) {
  const bool one_device = std::set<int>(devices_.begin(), devices_.end()).size() == 1;
  if (!supported(devices_) && !(shared_device && one_device && devices_.size() >= 2 && devices_.size() <= kMaxRanks)) {
    fail_invalid("PeerAllReduce: the devices are not distinct GPUs with peer access both ways");
  }
  int current = 0;
  check_cuda(cudaGetDevice(&current), "cudaGetDevice");
  ranks_.resize(devices_.size());
  const size_t ranks = devices_.size();
  for (size_t r = 0; r < ranks; ++r) {
    check_cuda(cudaSetDevice(devices_[r]), "cudaSetDevice");
    for (int peer : devices_) {
      if (peer == devices_[r]) continue;
      const cudaError_t enabled = cudaDeviceEnablePeerAccess(peer, 0);
      if (enabled == cudaErrorPeerAccessAlreadyEnabled) {
        cudaGetLastError();  // clears it
      } else {
        check_cuda(enabled, "cudaDeviceEnablePeerAccess");
      }
    }
    Rank& rank = ranks_[r];
    rank.staging = DeviceBuffer(2 * kPeerAllReduceMaxFloats * sizeof(float), "peer all-reduce staging");
    rank.flags = DeviceBuffer(2 * ranks * kMaxBlocks * sizeof(unsigned), "peer all-reduce flags");
    rank.epoch = DeviceBuffer(2 * sizeof(unsigned), "peer all-reduce epoch");
    check_cuda(cudaMemset(rank.flags.data(), 0, rank.flags.size()), "cudaMemset (peer all-reduce flags)");
    check_cuda(cudaMemset(rank.epoch.data(), 0, rank.epoch.size()), "cudaMemset (peer all-reduce epoch)");
    // Load the kernel now: a first launch under lazy module loading may wait
    // for the device, where another rank's kernel may be waiting for this one.
    cudaFuncAttributes attributes{};
    check_cuda(cudaFuncGetAttributes(&attributes, peer_all_reduce_kernel), "cudaFuncGetAttributes (peer all-reduce)");
  }
  for (size_t r = 0; r < ranks; ++r) {
    check_cuda(cudaSetDevice(devices_[r]), "cudaSetDevice");
    check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize (peer all-reduce setup)");
  }
  check_cuda(cudaSetDevice(current), "cudaSetDevice");
}

PeerAllReduce::~PeerAllReduce() = default;

void PeerAllReduce::sum(int rank, float* data, size_t count, void* stream) {
  if (aborted_.load()) fail_invalid("tensor-parallel all-reduce aborted: another rank failed");
  if (count > kPeerAllReduceMaxFloats || count % 4 != 0) {
    large_->sum(rank, data, count, stream);
    return;
  }
  if (count == 0) return;
  PeerPointers peers{};
  for (size_t r = 0; r < ranks_.size(); ++r) {
    peers.staging[r] = ranks_[r].staging.as<float>();
    peers.flags[r] = ranks_[r].flags.as<unsigned>();
  }
  const auto count4 = static_cast<int64_t>(count / 4);
  const int64_t wanted = (count4 + kThreads * 4 - 1) / (kThreads * 4);  // about 4 float4s a thread
  const int blocks = static_cast<int>(wanted < 1 ? 1 : (wanted > kMaxBlocks ? kMaxBlocks : wanted));
  peer_all_reduce_kernel<<<blocks, kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      peers, rank, static_cast<int>(ranks_.size()), data, count4,
      ranks_[static_cast<size_t>(rank)].epoch.as<unsigned>());
  check_cuda(cudaGetLastError(), "peer all-reduce launch");
}

void PeerAllReduce::abort() {
  aborted_ = true;
  large_->abort();
}

void PeerAllReduce::reset() {
  if (aborted_.load()) fail_invalid("cannot reset an aborted peer all-reduce group (its flags no longer agree)");
  large_->reset();
}

}  // namespace citadel::runtime::cuda
