// TensorParallelForward: the ranks' shards, their threads, and one step
// across them.
#include "tensor_parallel_forward.h"

#include "tensor_shards.h"

#include "runtime/core/error.h"
#include "runtime/core/thread_all_reduce.h"
#ifdef CITADEL_HAVE_CUDA
#include "runtime/cuda/nccl_all_reduce.h"
#include "runtime/cuda/peer_all_reduce.h"
#include "runtime/cuda/staged_all_reduce.h"
#endif

#include <condition_variable>
#include <exception>
#include <mutex>
#include <set>
#include <thread>

namespace citadel::llm {

struct TensorParallelForward::Rank {
  int index = 0;
  int cuda_device = -1;
  ModelWeights weights;
  std::unique_ptr<runtime::ThreadPool> pool;  // CPU ranks
  std::unique_ptr<ForwardPass> cpu;
#ifdef CITADEL_HAVE_CUDA
  std::unique_ptr<CudaForwardPass> cuda;
#endif
  std::unique_ptr<RankKvBlocks> kv_blocks;  // ranks 1..
  // Ranks past the first: the step's chunks as the rank runs them, and their block addresses.
  std::vector<SequenceChunk> chunks;
  std::vector<void*> addresses;
  std::vector<float> logits;  // CPU rank 0's result
};

// One thread per rank past the first, each waiting for the step's work.
class TensorParallelForward::Threads {
 public:
  explicit Threads(size_t count) {
    for (size_t i = 0; i < count; ++i) threads_.emplace_back([this, i] { loop(i); });
  }
  ~Threads() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& thread : threads_) thread.join();
  }
  // Starts work(i) on thread i for every thread; wait() collects them.
  void start(const std::function<void(size_t)>& work) {
    std::lock_guard lock(mutex_);
    work_ = &work;
    pending_ = threads_.size();
    ++round_;
    wake_.notify_all();
  }
  void wait() {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [this] { return pending_ == 0; });
    work_ = nullptr;
  }

 private:
  void loop(size_t i) {
    uint64_t seen = 0;
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stopping_ || round_ != seen; });
      if (stopping_) return;
      seen = round_;
      const std::function<void(size_t)>* work = work_;
      lock.unlock();
      (*work)(i);  // never throws: on_every_rank catches
      lock.lock();
      if (--pending_ == 0) done_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> threads_;
  const std::function<void(size_t)>* work_ = nullptr;
  size_t pending_ = 0;
  uint64_t round_ = 0;
  bool stopping_ = false;
};

TensorParallelForward::TensorParallelForward(const HfModelConfig& config, const TensorFinder& full,
                                             const std::string& source, runtime::DType kv_dtype,
                                             TensorParallelPlacement placement)
    : placement_(std::move(placement)) {
  const int count = placement_.ranks;
  if (count < 1) runtime::throw_invalid("tensor parallelism needs at least one rank, got " + std::to_string(count));
  if (on_cuda() && placement_.cuda_devices.size() != static_cast<size_t>(count)) {
    runtime::throw_invalid("tensor parallelism over " + std::to_string(count) + " ranks was given " +
                           std::to_string(placement_.cuda_devices.size()) + " CUDA devices");
  }
  check_tensor_parallel(config, count);
  shard_config_ = shard_config(config, count);
  rank_kv_ = KvGeometry{shard_config_.num_layers, shard_config_.num_kv_heads, shard_config_.head_dim, kv_dtype};

  description_ = std::to_string(count) + " ranks";
  if (!on_cuda()) {
    group_ = std::make_unique<runtime::ThreadAllReduce>(count);
    description_ += " on the CPU, " + std::to_string(placement_.cpu_threads_per_rank) + " threads each";
  } else {
#ifdef CITADEL_HAVE_CUDA
    const std::set<int> distinct(placement_.cuda_devices.begin(), placement_.cuda_devices.end());
    std::string devices;
    for (int device : placement_.cuda_devices) devices += (devices.empty() ? "" : ", ") + std::to_string(device);
    description_ += " on CUDA devices " + devices;
    const bool peer = placement_.peer_sums && runtime::cuda::PeerAllReduce::supported(placement_.cuda_devices);
    if (distinct.size() == placement_.cuda_devices.size() && runtime::cuda::nccl_available()) {
      group_ = std::make_unique<runtime::cuda::NcclAllReduce>(placement_.cuda_devices);
      description_ += peer ? ", sums over peer memory up to 2 MB, NCCL " + runtime::cuda::nccl_version() + " past"
                           : ", NCCL " + runtime::cuda::nccl_version();
      if (peer) group_ = std::make_unique<runtime::cuda::PeerAllReduce>(placement_.cuda_devices, std::move(group_));
    } else if (peer) {
      group_ = std::make_unique<runtime::cuda::PeerAllReduce>(
          placement_.cuda_devices, std::make_unique<runtime::cuda::StagedAllReduce>(placement_.cuda_devices));
      description_ += ", sums over peer memory up to 2 MB, through host memory past (no NCCL), no CUDA graphs";
    } else {
      group_ = std::make_unique<runtime::cuda::StagedAllReduce>(placement_.cuda_devices);
      description_ += distinct.size() == placement_.cuda_devices.size()
                          ? ", sums through host memory (no NCCL: libnccl.so.2 not found), no CUDA graphs"
                          : ", sums through host memory (a device holds several ranks), no CUDA graphs";
    }
#else
    runtime::throw_invalid("tensor parallelism on CUDA devices needs a CUDA build");
#endif
  }

  ranks_.resize(static_cast<size_t>(count));
  for (int r = 0; r < count; ++r) {
    Rank& rank = ranks_[static_cast<size_t>(r)];
    rank.index = r;
    rank.weights = load_model_weights(shard_config_, shard_finder(full, config, r, count),
                                      source + " (tensor-parallel rank " + std::to_string(r) + " of " +
                                          std::to_string(count) + ")");
    if (!on_cuda()) {
      rank.pool = std::make_unique<runtime::ThreadPool>(std::max(1u, placement_.cpu_threads_per_rank));
      rank.cpu = std::make_unique<ForwardPass>(shard_config_, rank.weights, rank_kv_);
      rank.cpu->set_tensor_parallel(group_.get(), r);
    }
#ifdef CITADEL_HAVE_CUDA
    if (on_cuda()) {
      rank.cuda_device = placement_.cuda_devices[static_cast<size_t>(r)];
      use_cuda_device(rank.cuda_device);
      rank.cuda = std::make_unique<CudaForwardPass>(shard_config_, rank.weights, rank_kv_,
                                                    r == 0 ? placement_.rank0_stream : nullptr, UINT32_MAX,
                                                    TensorParallelRank{group_.get(), r});
      rank.weights = ModelWeights{};  // on the device now
    }
#endif
    if (r > 0) rank.kv_blocks = std::make_unique<RankKvBlocks>(rank_kv_.block_bytes(), rank.cuda_device);
  }
#ifdef CITADEL_HAVE_CUDA
  if (on_cuda()) use_cuda_device(placement_.cuda_devices.front());
#endif
  threads_ = std::make_unique<Threads>(ranks_.size() - 1);
}

TensorParallelForward::~TensorParallelForward() {
  threads_.reset();  // before the passes the threads may still point at
}

void TensorParallelForward::on_every_rank(const std::function<void(Rank&)>& work) {
  if (group_broken_) {
    runtime::throw_invalid("the tensor-parallel group was aborted after a failed step; reload the model");
  }
  // The error of the rank that failed first: the others then fail in their
  // sums only because the group was aborted.
  std::exception_ptr first_error;
  std::mutex error_mutex;
  auto run_rank = [&](size_t r) {
    try {
#ifdef CITADEL_HAVE_CUDA
      if (ranks_[r].cuda_device >= 0) use_cuda_device(ranks_[r].cuda_device);
#endif
      work(ranks_[r]);
    } catch (...) {
      {
        std::lock_guard lock(error_mutex);
        if (!first_error) first_error = std::current_exception();
      }
      group_->abort();  // ranks waiting in a sum return
    }
  };
  const std::function<void(size_t)> others = [&](size_t i) { run_rank(i + 1); };
  threads_->start(others);
  run_rank(0);
  threads_->wait();
  if (!first_error) return;
  try {
    group_->reset();
  } catch (...) {
    group_broken_ = true;
  }
  std::rethrow_exception(first_error);
}

std::span<const SequenceChunk> TensorParallelForward::rank_chunks(Rank& rank, std::span<const SequenceChunk> chunks) {
  if (rank.index == 0) return chunks;  // the host's blocks, its logits
  rank.chunks.assign(chunks.begin(), chunks.end());
  rank.addresses.clear();
  size_t total = 0;
  for (const SequenceChunk& chunk : chunks) total += chunk.blocks.size();
  rank.addresses.reserve(total);  // no reallocation below: spans point into it
  for (SequenceChunk& chunk : rank.chunks) {
    if (chunk.block_ids.size() != chunk.blocks.size()) {
      runtime::throw_invalid("a tensor-parallel step needs the host's block ids of every chunk (" +
                             std::to_string(chunk.block_ids.size()) + " ids for " +
                             std::to_string(chunk.blocks.size()) + " blocks)");
    }
    const size_t first = rank.addresses.size();
    rank.kv_blocks->addresses(chunk.block_ids, rank.addresses);
    chunk.blocks = std::span<void* const>(rank.addresses.data() + first, chunk.block_ids.size());
    chunk.want_logits = chunk.all_logits = chunk.argmax_only = false;
  }
  return rank.chunks;
}

std::vector<float> TensorParallelForward::run(std::span<const SequenceChunk> chunks) {
  if (on_cuda()) runtime::throw_invalid("TensorParallelForward::run is for CPU ranks; CUDA ranks use run_step");
  on_every_rank([&](Rank& rank) {
    const std::span<const SequenceChunk> mine = rank_chunks(rank, chunks);
    rank.logits = rank.cpu->run(mine, *rank.pool);
  });
  return std::move(ranks_.front().logits);
}

#ifdef CITADEL_HAVE_CUDA
CudaForwardPass::StepLogits TensorParallelForward::run_step(std::span<const SequenceChunk> chunks) {
  if (!on_cuda()) runtime::throw_invalid("TensorParallelForward::run_step is for CUDA ranks; CPU ranks use run");
  CudaForwardPass::StepLogits result;
  on_every_rank([&](Rank& rank) {
    const std::span<const SequenceChunk> mine = rank_chunks(rank, chunks);
    CudaForwardPass::StepLogits logits = rank.cuda->run_step(mine);  // synchronizes the rank's stream
    if (rank.index == 0) result = logits;
  });
  return result;
}

CudaForwardPass& TensorParallelForward::rank0_cuda() {
  if (!on_cuda()) runtime::throw_invalid("the tensor-parallel ranks run on the CPU");
  return *ranks_.front().cuda;
}
#endif

std::vector<uint64_t> TensorParallelForward::device_weight_bytes() const {
  std::vector<uint64_t> bytes;
#ifdef CITADEL_HAVE_CUDA
  for (const Rank& rank : ranks_) bytes.push_back(rank.cuda ? rank.cuda->device_weight_bytes() : 0);
#else
  bytes.assign(ranks_.size(), 0);
#endif
  return bytes;
}

std::vector<TensorParallelForward::RankMemory> TensorParallelForward::other_ranks_memory() const {
  const std::vector<uint64_t> weights = device_weight_bytes();
  std::vector<RankMemory> memory;
  for (size_t r = 1; r < ranks_.size(); ++r) {
    memory.push_back({ranks_[r].cuda_device, weights[r], rank_kv_.block_bytes(), RankKvBlocks::kBlocksPerSlab});
  }
  return memory;
}

uint64_t TensorParallelForward::rank_kv_bytes() const {
  uint64_t bytes = 0;
  for (const Rank& rank : ranks_) bytes += rank.kv_blocks ? rank.kv_blocks->bytes() : 0;
  return bytes;
}

}  // namespace citadel::llm
