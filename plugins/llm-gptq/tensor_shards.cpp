// Splitting a checkpoint's projections over tensor-parallel ranks (see tensor_shards.h).
#include "tensor_shards.h"

#include "runtime/core/error.h"
#include "runtime/kernels/gptq.h"

#include <cstddef>
#include <cstring>
#include <optional>

namespace citadel::llm {
namespace {

using runtime::DType;
using runtime::Shape;
using runtime::Tensor;

std::string ranks_text(int ranks) { return std::to_string(ranks) + " tensor_parallel ranks"; }

// `field` (value `value`) must divide over the ranks.
void check_divides(const char* field, int64_t value, int ranks) {
  if (value % ranks != 0) {
    runtime::throw_invalid(std::string(field) + " " + std::to_string(value) + " does not divide over " +
                           ranks_text(ranks));
  }
}

// A per-rank size of GPTQ rows or columns must be a multiple of `multiple`.
void check_gptq_multiple(const std::string& what, int64_t per_rank, int64_t multiple, const std::string& unit) {
  if (per_rank % multiple != 0) {
    runtime::throw_invalid("GPTQ: " + what + " = " + std::to_string(per_rank) + " is not a multiple of " + unit +
                           " " + std::to_string(multiple));
  }
}

enum class Split { column, row };

// One projection's place in the split and its full sizes.
struct SplitProjection {
  Split split;
  int64_t in, out;
};

// The full model's sizes that decide how each tensor is sliced.
struct ShardPlan {
  int rank = 0, ranks = 1;
  int64_t hidden = 0, q_dim = 0, kv_dim = 0, ffn = 0;
  bool gptq = false;
  int64_t pack = 1;         // GPTQ values per int32
  int64_t group_size = -1;  // GPTQ, -1: one group

  // The projection `module` ("self_attn.q_proj", ...) if it is split.
  std::optional<SplitProjection> projection(const std::string& module) const {
    if (module == "self_attn.q_proj") return SplitProjection{Split::column, hidden, q_dim};
    if (module == "self_attn.k_proj" || module == "self_attn.v_proj") {
      return SplitProjection{Split::column, hidden, kv_dim};
    }
    if (module == "mlp.gate_proj" || module == "mlp.up_proj") return SplitProjection{Split::column, hidden, ffn};
    if (module == "self_attn.o_proj") return SplitProjection{Split::row, q_dim, hidden};
    if (module == "mlp.down_proj") return SplitProjection{Split::row, ffn, hidden};
    return std::nullopt;
  }
};

// "model.layers.<N>.<module>.<suffix>" split into module and suffix; nullopt for other names.
std::optional<std::pair<std::string, std::string>> layer_tensor(const std::string& name) {
  static const std::string kLayers = "model.layers.";
  if (name.compare(0, kLayers.size(), kLayers) != 0) return std::nullopt;
  size_t pos = kLayers.size();
  const size_t digits_begin = pos;
  while (pos < name.size() && name[pos] >= '0' && name[pos] <= '9') ++pos;
  if (pos == digits_begin || pos >= name.size() || name[pos] != '.') return std::nullopt;
  const std::string rest = name.substr(pos + 1);
  const size_t dot = rest.rfind('.');
  if (dot == std::string::npos) return std::nullopt;
  return std::make_pair(rest.substr(0, dot), rest.substr(dot + 1));
}

void expect_shape(const Tensor& tensor, const std::string& name, const Shape& shape, int ranks) {
  if (tensor.shape() != shape) {
    runtime::throw_invalid("tensor '" + name + "' has shape " + runtime::shape_string(tensor.shape()) +
                           ", expected " + runtime::shape_string(shape) + " (the full model's) to split it over " +
                           ranks_text(ranks));
  }
}

const std::byte* bytes(const Tensor& tensor) { return static_cast<const std::byte*>(tensor.data()); }

// Rows [begin, begin + count) of a 1-D or 2-D tensor, as a new owning tensor.
Tensor slice_rows(const Tensor& tensor, int64_t begin, int64_t count) {
  const size_t row_bytes = (tensor.rank() == 2 ? static_cast<size_t>(tensor.dim(1)) : size_t{1}) *
                           runtime::dtype_size(tensor.dtype());
  Shape shape = tensor.shape();
  shape[0] = count;
  return Tensor::copy_of(tensor.dtype(), std::move(shape), bytes(tensor) + static_cast<size_t>(begin) * row_bytes);
}

// Columns [begin, begin + count) of a 2-D tensor, as a new owning tensor.
Tensor slice_columns(const Tensor& tensor, int64_t begin, int64_t count) {
  const int64_t rows = tensor.dim(0), columns = tensor.dim(1);
  const size_t element = runtime::dtype_size(tensor.dtype());
  Tensor slice = Tensor::zeros(tensor.dtype(), {rows, count});
  std::byte* out = static_cast<std::byte*>(slice.data());
  const size_t row_bytes = static_cast<size_t>(count) * element;
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(out + static_cast<size_t>(r) * row_bytes,
                bytes(tensor) + static_cast<size_t>(r * columns + begin) * element, row_bytes);
  }
  return slice;
}

// A row split's g_idx: the rank's inputs, renumbered from the rank's first group.
Tensor shard_group_index(const Tensor& g_idx, const std::string& name, const ShardPlan& plan,
                         int64_t in) {
  if (g_idx.dtype() != DType::i32) {
    runtime::throw_invalid("tensor '" + name + "' has dtype " + std::string(runtime::dtype_name(g_idx.dtype())) +
                           ", expected i32");
  }
  const int64_t shard_in = in / plan.ranks;
  const int64_t first_input = plan.rank * shard_in;
  const int64_t first_group = plan.group_size < 0 ? 0 : first_input / plan.group_size;
  const int64_t shard_groups = runtime::gptq_num_groups(shard_in, plan.group_size);
  Tensor slice = slice_rows(g_idx, first_input, shard_in);
  int32_t* groups = slice.data_as<int32_t>();
  for (int64_t i = 0; i < shard_in; ++i) {
    const int64_t group = int64_t{groups[i]} - first_group;
    if (group < 0 || group >= shard_groups) {
      runtime::throw_invalid("tensor '" + name + "' puts input " + std::to_string(first_input + i) + " of rank " +
                             std::to_string(plan.rank) + " in group " + std::to_string(groups[i]) +
                             ", outside the rank's groups [" + std::to_string(first_group) + ", " +
                             std::to_string(first_group + shard_groups) +
                             "): act-order GPTQ checkpoints (desc_act) cannot be split over tensor_parallel ranks");
    }
    groups[i] = static_cast<int32_t>(group);
  }
  return slice;
}

// Rank `plan.rank`'s slice of `tensor`, the full checkpoint's tensor `name`
// (suffix `suffix`) of the split projection `projection`.
Tensor shard_tensor(const Tensor& tensor, const std::string& name, const std::string& suffix,
                    const SplitProjection& projection, const ShardPlan& plan) {
  const bool gptq_tensor = suffix == "qweight" || suffix == "qzeros" || suffix == "scales" || suffix == "g_idx";
  if (gptq_tensor && !plan.gptq) {
    runtime::throw_invalid("tensor '" + name + "' is GPTQ-packed but the config has no GPTQ settings, so it cannot "
                           "be split over " + ranks_text(plan.ranks));
  }
  const int64_t in = projection.in, out = projection.out, ranks = plan.ranks, rank = plan.rank;
  const int64_t groups = plan.gptq ? runtime::gptq_num_groups(in, plan.group_size) : 1;
  if (projection.split == Split::column) {
    const int64_t count = out / ranks, begin = rank * count;
    if (suffix == "weight") {
      expect_shape(tensor, name, {out, in}, plan.ranks);
      return slice_rows(tensor, begin, count);
    }
    if (suffix == "bias") {
      expect_shape(tensor, name, {out}, plan.ranks);
      return slice_rows(tensor, begin, count);
    }
    if (suffix == "qweight" || suffix == "scales") {
      expect_shape(tensor, name, {suffix == "qweight" ? in / plan.pack : groups, out}, plan.ranks);
      return slice_columns(tensor, begin, count);
    }
    if (suffix == "qzeros") {
      expect_shape(tensor, name, {groups, out / plan.pack}, plan.ranks);
      return slice_columns(tensor, begin / plan.pack, count / plan.pack);
    }
    return tensor;  // g_idx: every rank reads all inputs
  }
  const int64_t count = in / ranks, begin = rank * count;
  if (suffix == "weight") {
    expect_shape(tensor, name, {out, in}, plan.ranks);
    return slice_columns(tensor, begin, count);
  }
  if (suffix == "bias") return rank == 0 ? tensor : Tensor{};
  if (suffix == "qweight") {
    expect_shape(tensor, name, {in / plan.pack, out}, plan.ranks);
    return slice_rows(tensor, begin / plan.pack, count / plan.pack);
  }
  if (suffix == "qzeros" || suffix == "scales") {
    expect_shape(tensor, name, {groups, suffix == "qzeros" ? out / plan.pack : out}, plan.ranks);
    if (plan.group_size < 0) return tensor;  // one group, the same for every rank
    return slice_rows(tensor, begin / plan.group_size, count / plan.group_size);
  }
  if (suffix == "g_idx") {
    expect_shape(tensor, name, {in}, plan.ranks);
    return shard_group_index(tensor, name, plan, in);
  }
  return tensor;
}

}  // namespace

void check_tensor_parallel(const HfModelConfig& config, int ranks) {
  if (ranks < 1) runtime::throw_invalid("tensor_parallel ranks must be at least 1, got " + std::to_string(ranks));
  if (ranks == 1) return;
  check_divides("num_heads", config.num_heads, ranks);
  check_divides("num_kv_heads", config.num_kv_heads, ranks);
  check_divides("intermediate_size", config.intermediate_size, ranks);
  if (!config.gptq) return;
  const GptqSettings& gptq = *config.gptq;
  if (gptq.bits == 0 || 32 % gptq.bits != 0) {
    runtime::throw_invalid("GPTQ bits " + std::to_string(gptq.bits) + " do not pack into 32-bit words");
  }
  if (gptq.group_size != -1 && gptq.group_size <= 0) {
    runtime::throw_invalid("GPTQ group_size " + std::to_string(gptq.group_size) + " must be positive or -1");
  }
  const int64_t pack = 32 / gptq.bits;
  const std::string packing = std::to_string(gptq.bits) + "-bit packing";
  const int64_t q_shard = int64_t{config.num_heads} * config.head_dim / ranks;
  const int64_t kv_shard = int64_t{config.num_kv_heads} * config.head_dim / ranks;
  const int64_t ffn_shard = int64_t{config.intermediate_size} / ranks;
  const std::string per_rank = " / " + ranks_text(ranks);
  // Column shards: output columns of q, k/v, gate/up (qzeros packs them).
  check_gptq_multiple("num_heads * head_dim" + per_rank + " (q_proj output columns per rank)", q_shard, pack,
                      "the " + packing);
  check_gptq_multiple("num_kv_heads * head_dim" + per_rank + " (k_proj/v_proj output columns per rank)", kv_shard,
                      pack, "the " + packing);
  check_gptq_multiple("intermediate_size" + per_rank + " (gate_proj/up_proj output columns per rank)", ffn_shard,
                      pack, "the " + packing);
  // Row shards: input rows of o and down (qweight packs them, scales/qzeros group them).
  if (gptq.group_size != -1) {
    check_gptq_multiple("num_heads * head_dim" + per_rank + " (o_proj input rows per rank)", q_shard,
                        gptq.group_size, "group_size");
    check_gptq_multiple("intermediate_size" + per_rank + " (down_proj input rows per rank)", ffn_shard,
                        gptq.group_size, "group_size");
  }
}

HfModelConfig shard_config(const HfModelConfig& config, int ranks) {
  check_tensor_parallel(config, ranks);
  HfModelConfig shard = config;
  shard.num_heads /= static_cast<uint32_t>(ranks);
  shard.num_kv_heads /= static_cast<uint32_t>(ranks);
  shard.intermediate_size /= static_cast<uint32_t>(ranks);
  return shard;
}

TensorFinder shard_finder(TensorFinder full, const HfModelConfig& config, int rank, int ranks) {
  check_tensor_parallel(config, ranks);
  if (rank < 0 || rank >= ranks) {
    runtime::throw_invalid("tensor_parallel rank " + std::to_string(rank) + " is outside [0, " +
                           std::to_string(ranks) + ")");
  }
  if (ranks == 1) return full;
  ShardPlan plan;
  plan.rank = rank;
  plan.ranks = ranks;
  plan.hidden = config.hidden_size;
  plan.q_dim = int64_t{config.num_heads} * config.head_dim;
  plan.kv_dim = int64_t{config.num_kv_heads} * config.head_dim;
  plan.ffn = config.intermediate_size;
  if (config.gptq) {
    plan.gptq = true;
    plan.pack = 32 / config.gptq->bits;
    plan.group_size = config.gptq->group_size;
  }
  return [full = std::move(full), plan](const std::string& name) -> Tensor {
    Tensor tensor = full(name);
    if (!tensor.defined()) return tensor;
    const auto parts = layer_tensor(name);
    if (!parts) return tensor;
    const std::optional<SplitProjection> projection = plan.projection(parts->first);
    if (!projection) return tensor;
    return shard_tensor(tensor, name, parts->second, *projection, plan);
  };
}

}  // namespace citadel::llm
