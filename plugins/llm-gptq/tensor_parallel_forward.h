// tensor_parallel_forward.h — llm-gptq over several ranks (Megatron-style
// tensor parallelism; option tensor_parallel_size). Each rank holds the
// shard tensor_shards.h cuts (its query and KV heads, its share of the MLP;
// embeddings, norms and lm_head whole), runs the same step on the same
// tokens, and the ranks sum the row-split projections' outputs (o, down)
// through a runtime::AllReduce: NCCL between GPUs (steps still replayed as
// CUDA graphs; optionally a one-shot kernel over peer memory for a decode
// step's few rows), host memory between CPU ranks or ranks sharing one GPU
// (what the tests use; no graphs). Rank 0 keeps its K/V in the host's cache
// blocks (describe() declares rank_kv()), the other ranks in RankKvBlocks
// keyed by the same block ids. Rank 0 runs on the calling thread, every
// other rank on a thread of its own; only rank 0 computes logits.
// Used by LlmModel (llm_model.cpp), the tests and bench/llm_decode.
#pragma once

#include "forward.h"
#include "hf_config.h"
#include "kv_layout.h"
#include "rank_kv_blocks.h"
#include "weights.h"
#ifdef CITADEL_HAVE_CUDA
#include "cuda_forward.h"
#endif

#include "runtime/core/all_reduce.h"
#include "runtime/core/thread_pool.h"

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace citadel::llm {

struct TensorParallelPlacement {
  int ranks = 2;
  // CUDA device of each rank (rank 0's first: the model's device); empty:
  // every rank on the CPU.
  std::vector<int> cuda_devices;
  void* rank0_stream = nullptr;  // the host's stream for rank 0 (CUDA)
  unsigned cpu_threads_per_rank = 1;
  // Distinct GPUs with peer access: small sums by the one-shot kernel over
  // peer memory (runtime/cuda/peer_all_reduce.h), large ones by NCCL. Off
  // (NCCL for all): on two H200s it was no faster than NCCL (bench/README.md,
  // "Peer-memory sums against NCCL"); bench_llm_decode --tp-peer turns it on.
  bool peer_sums = false;
};

class TensorParallelForward {
 public:
  // Loads every rank's shard from `full` (the whole checkpoint's tensors;
  // `config` its config) and, on CUDA, uploads it to the rank's device.
  // Throws RuntimeError when the model does not split over the ranks.
  TensorParallelForward(const HfModelConfig& config, const TensorFinder& full, const std::string& source,
                        runtime::DType kv_dtype, TensorParallelPlacement placement);
  ~TensorParallelForward();
  TensorParallelForward(const TensorParallelForward&) = delete;
  TensorParallelForward& operator=(const TensorParallelForward&) = delete;

  int ranks() const { return placement_.ranks; }
  bool on_cuda() const { return !placement_.cuda_devices.empty(); }
  // What one rank's share of a cache block holds (its KV heads).
  const KvGeometry& rank_kv() const { return rank_kv_; }
  // "2 ranks on CUDA devices 0, 1, NCCL 2.27.3" and the like, for the log.
  const std::string& description() const { return description_; }

  // CPU ranks: as ForwardPass::run. The chunks must carry block_ids.
  std::vector<float> run(std::span<const SequenceChunk> chunks);
#ifdef CITADEL_HAVE_CUDA
  // CUDA ranks: as CudaForwardPass::run_step (rank 0's results).
  CudaForwardPass::StepLogits run_step(std::span<const SequenceChunk> chunks);
  // Rank 0's pass (stage timers, graph counts, host time of a step).
  CudaForwardPass& rank0_cuda();
#endif
  // Weight bytes each rank holds on its device (CUDA), rank 0's first.
  std::vector<uint64_t> device_weight_bytes() const;
  // Bytes of the K/V blocks of ranks 1.. (not in the host's pool).
  uint64_t rank_kv_bytes() const;

  // What a rank past the first keeps outside the host's pool, for describe()'s
  // device claims: its weights on its GPU (0 for CPU ranks, whose weights,
  // like a CPU model's, are not counted), and its share of each block id,
  // allocated blocks_per_chunk ids at a time.
  struct RankMemory {
    int cuda_device = -1;  // -1: host memory
    uint64_t weight_bytes = 0;
    uint64_t bytes_per_block = 0;
    uint32_t blocks_per_chunk = 1;
  };
  std::vector<RankMemory> other_ranks_memory() const;

 private:
  struct Rank;
  class Threads;
  // Runs `work(rank)` for every rank at once; on a failure the group is
  // aborted so the other ranks return, and the first error is rethrown.
  void on_every_rank(const std::function<void(Rank&)>& work);
  // The chunks rank `rank` runs: `chunks` themselves for rank 0, else a
  // copy with the rank's own blocks and no logits.
  std::span<const SequenceChunk> rank_chunks(Rank& rank, std::span<const SequenceChunk> chunks);

  TensorParallelPlacement placement_;
  HfModelConfig shard_config_;
  KvGeometry rank_kv_;
  std::unique_ptr<runtime::AllReduce> group_;
  bool group_broken_ = false;  // an aborted group that cannot be reset (NCCL)
  std::vector<Rank> ranks_;
  std::unique_ptr<Threads> threads_;
  std::string description_;
};

}  // namespace citadel::llm
