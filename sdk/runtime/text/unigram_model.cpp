// UnigramModel: vocabulary, piece trie and Viterbi.
#include "runtime/text/unigram_model.h"

#include "runtime/core/error.h"
#include "runtime/formats/json_file.h"
#include "runtime/text/utf8.h"

#include <limits>

namespace citadel::runtime {
namespace json = boost::json;

namespace {
constexpr double kUnkPenalty = 10.0;  // HF's K_UNK_PENALTY (SentencePiece's kUnkPenalty)
}

UnigramModel::UnigramModel(const json::value& spec, const std::string& source) {
  const std::string where = source + ": model";
  const auto& object = as_object(spec, where);
  const auto* vocab = object.if_contains("vocab");
  if (vocab == nullptr || !vocab->is_array()) throw_invalid(where + ": \"vocab\" must be an array of [piece, score]");
  pieces_.reserve(vocab->get_array().size());
  for (const auto& entry : vocab->get_array()) {
    const std::string entry_where = where + ".vocab[" + std::to_string(pieces_.size()) + "]";
    if (!entry.is_array() || entry.get_array().size() != 2 || !entry.get_array()[0].is_string()) {
      throw_invalid(entry_where + ": must be [piece, score]");
    }
    pieces_.emplace_back(std::string(entry.get_array()[0].get_string()),
                         number_value(entry.get_array()[1], entry_where));
  }
  if (const auto* unk = object.if_contains("unk_id"); unk != nullptr && !unk->is_null()) {
    unk_id_ = static_cast<int32_t>(number_value(*unk, where + ".unk_id"));
  }
  byte_fallback_ = optional_bool(object, "byte_fallback", where).value_or(false);
  build(source);
}

void UnigramModel::build(const std::string& source) {
  if (pieces_.empty()) throw_invalid(source + ": model: the Unigram vocabulary is empty");
  if (unk_id_ && (*unk_id_ < 0 || static_cast<size_t>(*unk_id_) >= pieces_.size())) {
    throw_invalid(source + ": model: unk_id " + std::to_string(*unk_id_) + " is outside the vocabulary of " +
                  std::to_string(pieces_.size()));
  }
  double min_score = std::numeric_limits<double>::infinity();
  id_to_token_.reserve(pieces_.size());
  for (size_t id = 0; id < pieces_.size(); ++id) {
    const auto& [piece, score] = pieces_[id];
    id_to_token_.push_back(piece);
    vocab_[piece] = static_cast<int32_t>(id);  // the last of duplicates wins, as in HF
    min_score = std::min(min_score, score);
  }
  trie_.emplace(pieces_);
  unk_score_ = min_score - kUnkPenalty;
}

void UnigramModel::add_token(int32_t id, const std::string& content) {
  added_tokens_[content] = id;
  if (static_cast<size_t>(id) >= id_to_token_.size()) id_to_token_.resize(static_cast<size_t>(id) + 1);
  if (id_to_token_[static_cast<size_t>(id)].empty()) id_to_token_[static_cast<size_t>(id)] = content;
}

std::optional<int32_t> UnigramModel::token_to_id(std::string_view token) const {
  if (auto it = vocab_.find(token); it != vocab_.end()) return it->second;
  if (auto it = added_tokens_.find(token); it != added_tokens_.end()) return it->second;
  return std::nullopt;
}

const std::string& UnigramModel::id_to_token(int32_t id) const {
  static const std::string empty;
  if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size()) return empty;
  return id_to_token_[static_cast<size_t>(id)];
}

void UnigramModel::append_piece(std::string_view piece, std::vector<int32_t>& out) const {
  if (auto it = vocab_.find(piece); it != vocab_.end()) {
    out.push_back(it->second);
    return;
  }
  if (byte_fallback_) {
    std::vector<int32_t> bytes;
    for (char c : piece) {
      auto it = vocab_.find(byte_token_name(static_cast<uint8_t>(c)));
      if (it == vocab_.end()) break;
      bytes.push_back(it->second);
    }
    if (bytes.size() == piece.size()) {
      out.insert(out.end(), bytes.begin(), bytes.end());
      return;
    }
  }
  if (!unk_id_) throw_invalid("Unigram model: \"" + std::string(piece) + "\" is unknown and there is no unk_id");
  out.push_back(*unk_id_);
}

void UnigramModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  // best[i]: the best path over word[0, i): its score, where its last piece
  // starts (-1: not reached yet) and that piece's id.
  struct Node {
    double score = 0;
    int64_t starts_at = -1;
    int32_t id = 0;
  };
  const size_t size = word.size();
  std::vector<Node> best(size + 1);
  size_t start = 0;
  while (start < size) {
    const double score_here = best[start].score;
    const size_t valid = utf8::valid_sequence_length(word.substr(start));
    const size_t character_length = valid == 0 ? 1 : valid;
    bool has_single_node = false;
    int32_t node = PieceTrie::kRoot;
    for (size_t end = start; end < size; ++end) {
      node = trie_->child(node, static_cast<uint8_t>(word[end]));
      if (node < 0) break;
      const int32_t id = trie_->piece(node);
      if (id < 0) continue;
      Node& target = best[end + 1];
      const double candidate = score_here + pieces_[static_cast<size_t>(id)].second;
      if (target.starts_at < 0 || candidate > target.score) {
        target = {candidate, static_cast<int64_t>(start), id};
      }
      if (end + 1 - start == character_length) has_single_node = true;
    }
    if (!has_single_node) {
      Node& target = best[start + character_length];
      const double candidate = score_here + unk_score_;
      if (target.starts_at < 0 || candidate > target.score) {
        target = {candidate, static_cast<int64_t>(start), unk_id_.value_or(-1)};
      }
    }
    start += character_length;
  }
  // Backtrack; consecutive unknown pieces are fused into one (HF's fuse_unk,
  // always on for Unigram).
  std::vector<std::string_view> pieces;
  size_t end = size;
  size_t fused_end = 0;  // end of the unknown run being collected, 0 when none
  while (end > 0) {
    const Node& n = best[end];
    const auto begin = static_cast<size_t>(n.starts_at);
    const bool unknown = n.id < 0 || (unk_id_ && n.id == *unk_id_);
    if (unknown) {
      if (fused_end == 0) fused_end = end;
    } else {
      if (fused_end != 0) pieces.push_back(word.substr(end, fused_end - end));
      fused_end = 0;
      pieces.push_back(word.substr(begin, end - begin));
    }
    end = begin;
  }
  if (fused_end != 0) pieces.push_back(word.substr(0, fused_end));
  for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) append_piece(*it, out);
}

}  // namespace citadel::runtime
