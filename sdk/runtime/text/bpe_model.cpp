// BpeModel: vocabulary, merges and the merge loop.
#include "runtime/text/bpe_model.h"

#include "runtime/core/error.h"
#include "runtime/formats/json_file.h"
#include "runtime/text/utf8.h"

#include <functional>
#include <limits>
#include <queue>

namespace citadel::runtime {
namespace json = boost::json;

BpeModel::BpeModel(const json::value& spec, const std::string& source) : byte_ids_(256, -1) {
  const std::string where = source + ": model";
  const auto& object = as_object(spec, where);
  const std::string type = optional_string(object, "type", where).value_or("BPE");
  if (type != "BPE") throw_unsupported(where + ": model type \"" + type + "\" is not supported (BPE only)");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (auto value = optional_string(object, key, where); value && !value->empty()) {
      throw_unsupported(where + ": \"" + key + "\" is not supported");
    }
  }
  ignore_merges_ = optional_bool(object, "ignore_merges", where).value_or(false);
  byte_fallback_ = optional_bool(object, "byte_fallback", where).value_or(false);
  fuse_unk_ = optional_bool(object, "fuse_unk", where).value_or(false);

  const auto* vocab = object.if_contains("vocab");
  if (vocab == nullptr || !vocab->is_object()) throw_invalid(where + ": \"vocab\" must be an object");
  for (const auto& entry : vocab->get_object()) {
    const auto id = optional_int(vocab->get_object(), entry.key(), where + ".vocab");
    if (!id || *id < 0 || *id > std::numeric_limits<int32_t>::max()) {
      throw_invalid(where + ".vocab: token \"" + std::string(entry.key()) + "\" has an invalid id");
    }
    add_vocab_token(static_cast<int32_t>(*id), std::string(entry.key()));
  }
  if (auto unk = optional_string(object, "unk_token", where)) {
    auto id = find_in_vocab(*unk);
    if (!id) throw_invalid(where + ": unk_token \"" + *unk + "\" is not in the vocabulary");
    unk_id_ = *id;
  }

  const auto* merges = object.if_contains("merges");
  if (merges == nullptr || !merges->is_array()) throw_invalid(where + ": \"merges\" must be an array");
  int32_t rank = 0;
  for (const auto& merge : merges->get_array()) {
    const std::string merge_where = where + ".merges[" + std::to_string(rank) + "]";
    if (merge.is_string()) {
      const std::string text(merge.get_string());
      const size_t space = text.find(' ');
      if (space == std::string::npos || text.find(' ', space + 1) != std::string::npos) {
        throw_invalid(merge_where + ": \"" + text + "\" is not of the form \"a b\"");
      }
      add_merge(text.substr(0, space), text.substr(space + 1), rank, merge_where);
    } else if (merge.is_array() && merge.get_array().size() == 2 && merge.get_array()[0].is_string() &&
               merge.get_array()[1].is_string()) {
      add_merge(std::string(merge.get_array()[0].get_string()),
                std::string(merge.get_array()[1].get_string()), rank, merge_where);
    } else {
      throw_invalid(merge_where + ": a merge must be \"a b\" or [\"a\", \"b\"]");
    }
    ++rank;
  }
}

void BpeModel::add_vocab_token(int32_t id, const std::string& content) {
  vocab_[content] = id;
  if (uint8_t byte = 0; parse_byte_token(content, byte)) byte_ids_[byte] = id;
  if (static_cast<size_t>(id) >= id_to_token_.size()) id_to_token_.resize(static_cast<size_t>(id) + 1);
  id_to_token_[static_cast<size_t>(id)] = content;
}

void BpeModel::add_token(int32_t id, const std::string& content) {
  added_tokens_[content] = id;
  if (static_cast<size_t>(id) < id_to_token_.size() && !id_to_token_[static_cast<size_t>(id)].empty()) return;
  if (static_cast<size_t>(id) >= id_to_token_.size()) id_to_token_.resize(static_cast<size_t>(id) + 1);
  id_to_token_[static_cast<size_t>(id)] = content;
}

void BpeModel::add_merge(const std::string& a, const std::string& b, int32_t rank,
                         const std::string& where) {
  const auto id_a = find_in_vocab(a), id_b = find_in_vocab(b), merged = find_in_vocab(a + b);
  if (!id_a || !id_b) throw_invalid(where + ": \"" + a + " " + b + "\" uses a token missing from the vocabulary");
  if (!merged) throw_invalid(where + ": merged token \"" + a + b + "\" is missing from the vocabulary");
  merges_.emplace(pair_key(*id_a, *id_b), Merge{rank, *merged});  // the first (best) rank wins
}

std::optional<int32_t> BpeModel::find_in_vocab(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

std::optional<int32_t> BpeModel::token_to_id(std::string_view token) const {
  if (auto id = find_in_vocab(token)) return id;
  auto it = added_tokens_.find(token);
  if (it == added_tokens_.end()) return std::nullopt;
  return it->second;
}

const std::string& BpeModel::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size()) return empty_;
  return id_to_token_[static_cast<size_t>(id)];
}

std::vector<int32_t> BpeModel::initial_symbols(std::string_view word) const {
  // As HF's BPE::merge_word: a known character is one symbol; an unknown one
  // becomes its byte tokens (when all exist) or an unk symbol, consecutive
  // unknowns fused into one with fuse_unk. A pending unk is only written
  // before the next known character (byte tokens do not flush it, as in HF).
  std::vector<int32_t> symbols;
  symbols.reserve(word.size());
  bool pending_unk = false;
  for (std::string_view character : utf8::characters(word)) {
    if (auto id = find_in_vocab(character)) {
      if (pending_unk) symbols.push_back(*unk_id_);
      pending_unk = false;
      symbols.push_back(*id);
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (char c : character) all = all && byte_ids_[static_cast<uint8_t>(c)] >= 0;
      if (all) {
        for (char c : character) symbols.push_back(byte_ids_[static_cast<uint8_t>(c)]);
        continue;
      }
    }
    if (!unk_id_) continue;  // no unk token: the character is dropped, as in HF
    if (pending_unk && !fuse_unk_) symbols.push_back(*unk_id_);
    pending_unk = true;
  }
  if (pending_unk) symbols.push_back(*unk_id_);
  return symbols;
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    if (auto id = find_in_vocab(word)) {
      out.push_back(*id);
      return;
    }
  }
  // Symbols in a linked list; a min-heap of candidate merges, ordered by rank
  // then position, applies the best merge first as HF does; entries made
  // stale by earlier merges are skipped when popped. O(n log n).
  const std::vector<int32_t> initial = initial_symbols(word);
  struct Symbol {
    int32_t id;
    int32_t prev, next;
    bool alive;
  };
  std::vector<Symbol> symbols(initial.size());
  for (size_t i = 0; i < initial.size(); ++i) {
    symbols[i] = {initial[i], static_cast<int32_t>(i) - 1,
                  i + 1 < initial.size() ? static_cast<int32_t>(i + 1) : -1, true};
  }
  struct Candidate {
    int32_t rank, position, merged_id;
    bool operator>(const Candidate& other) const {
      return rank != other.rank ? rank > other.rank : position > other.position;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  auto consider = [&](int32_t position) {
    if (position < 0) return;
    const int32_t next = symbols[static_cast<size_t>(position)].next;
    if (next < 0) return;
    const int32_t a = symbols[static_cast<size_t>(position)].id, b = symbols[static_cast<size_t>(next)].id;
    auto it = merges_.find(pair_key(a, b));
    if (it != merges_.end()) heap.push({it->second.rank, position, it->second.merged_id});
  };
  for (size_t i = 0; i + 1 < symbols.size(); ++i) consider(static_cast<int32_t>(i));
  while (!heap.empty()) {
    const Candidate top = heap.top();
    heap.pop();
    Symbol& left = symbols[static_cast<size_t>(top.position)];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = symbols[static_cast<size_t>(left.next)];
    auto it = merges_.find(pair_key(left.id, right.id));
    if (it == merges_.end() || it->second.rank != top.rank || it->second.merged_id != top.merged_id) continue;
    left.id = top.merged_id;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) symbols[static_cast<size_t>(right.next)].prev = top.position;
    consider(left.prev);
    consider(top.position);
  }
  for (const Symbol& symbol : symbols) {
    if (symbol.alive) out.push_back(symbol.id);
  }
}

}  // namespace citadel::runtime
