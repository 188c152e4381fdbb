// Log-softmax scores, top-k lists and their export to the step output.
#include "token_logprobs.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace citadel::llm {

PositionScores score_position(std::span<const float> logits, int32_t token, uint32_t top) {
  double max_logit = -std::numeric_limits<double>::infinity();
  for (float value : logits) max_logit = std::max<double>(max_logit, value);
  double sum = 0.0;
  for (float value : logits) sum += std::exp(static_cast<double>(value) - max_logit);
  const double log_normalizer = max_logit + std::log(sum);
  auto logprob = [&](int32_t id) { return static_cast<float>(static_cast<double>(logits[id]) - log_normalizer); };

  PositionScores scores;
  scores.token.token = token;
  scores.token.logprob = token >= 0 && static_cast<size_t>(token) < logits.size()
                             ? logprob(token)
                             : -std::numeric_limits<float>::infinity();
  const size_t count = std::min<size_t>(top, logits.size());
  if (count == 0) return scores;
  // The `count` best ids, kept sorted (highest logit, then lower id, first).
  auto better = [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  std::vector<int32_t> best;
  best.reserve(count + 1);
  for (int32_t id = 0; id < static_cast<int32_t>(logits.size()); ++id) {
    if (best.size() == count && !better(id, best.back())) continue;
    best.insert(std::upper_bound(best.begin(), best.end(), id, better), id);
    if (best.size() > count) best.pop_back();
  }
  for (int32_t id : best) scores.top.push_back({id, logprob(id)});
  return scores;
}

TokenTexts::TokenTexts(const runtime::Tokenizer& tokenizer, size_t logits_vocab)
    : tokenizer_(tokenizer), texts_(std::max(logits_vocab, tokenizer.vocab_size())),
      known_(texts_.size(), false) {}

const std::string& TokenTexts::text(int32_t id) {
  static const std::string none;
  if (id < 0 || static_cast<size_t>(id) >= texts_.size()) return none;
  if (!known_[id]) {
    if (static_cast<size_t>(id) < tokenizer_.vocab_size()) {
      try {
        texts_[id] = tokenizer_.token_bytes(id);
      } catch (const std::exception&) {
        texts_[id].clear();  // a hole in the vocabulary: no bytes
      }
    }
    known_[id] = true;
  }
  return texts_[id];
}

void StepLogprobs::clear() {
  entries_.clear();
  positions_.clear();
  tops_.clear();
  first_position_ = 0;
}

void StepLogprobs::add(uint32_t position, PositionScores scores) {
  if (entries_.empty()) first_position_ = position;
  entries_.push_back(std::move(scores));
}

void StepLogprobs::add_prompt_rows(RequestLogprobs& request, std::span<const int32_t> prompt,
                                   const SequenceChunk& chunk, std::span<const float> rows, size_t vocab) {
  const uint32_t prompt_tokens = static_cast<uint32_t>(prompt.size());
  if (request.next_prompt_position == 0 && chunk.first_position == 0 && prompt_tokens > 0) {
    PositionScores first;
    first.token = {prompt[0], std::numeric_limits<float>::quiet_NaN()};
    add(0, std::move(first));
    request.next_prompt_position = 1;
  }
  const size_t row_count = rows.size() / vocab;
  for (size_t r = 0; r < row_count; ++r) {
    // Row r holds the logits after position first + r: they score the next.
    const uint32_t target = chunk.first_position + static_cast<uint32_t>(r) + 1;
    if (target >= prompt_tokens) break;
    if (target != request.next_prompt_position) continue;
    add(target, score_position(rows.subspan(r * vocab, vocab), prompt[target], request.options.top));
    request.next_prompt_position = target + 1;
  }
}

void StepLogprobs::add_sampled(const RequestLogprobs& request, uint32_t position, int32_t token,
                               std::span<const float> logits) {
  if (!request.options.sampled) return;
  add(position, score_position(logits, token, request.options.top));
}

void StepLogprobs::export_to(citadel_step_output& output, TokenTexts& texts) {
  if (entries_.empty()) return;
  size_t top_total = 0;
  for (const PositionScores& entry : entries_) top_total += entry.top.size();
  tops_.clear();
  tops_.reserve(top_total);  // no reallocation below: the positions point into it
  positions_.clear();
  auto abi_token = [&](const TokenScore& score) {
    const std::string& text = texts.text(score.token);
    return citadel_token_logprob{score.token, score.logprob, text.data(), static_cast<uint32_t>(text.size())};
  };
  for (const PositionScores& entry : entries_) {
    citadel_position_logprobs position{};
    position.token = abi_token(entry.token);
    position.num_top = static_cast<uint32_t>(entry.top.size());
    position.top = tops_.data() + tops_.size();
    for (const TokenScore& score : entry.top) tops_.push_back(abi_token(score));
    positions_.push_back(position);
  }
  output.logprobs_first_position = first_position_;
  output.num_logprobs = static_cast<uint32_t>(positions_.size());
  output.logprobs = positions_.data();
}

}  // namespace citadel::llm
