// One OCR request: lazy image encoding, guarded sampling, stop conditions.
#include "ocr_request.h"

#include "runtime/core/error.h"

#include <chrono>

namespace citadel::deepseek_ocr {

OcrRequest::OcrRequest(OcrRequestSetup setup, const runtime::Tokenizer& tokenizer)
    : sequence_(std::move(setup.prompt)),
      prompt_tokens_(static_cast<uint32_t>(sequence_.size())),
      image_begin_(setup.image_begin),
      image_tokens_(setup.image_tokens),
      content_hash_(setup.content_hash),
      image_(std::move(setup.image)),
      sampler_(setup.sampling),
      ngram_(std::move(setup.ngram)),
      max_new_tokens_(setup.max_new_tokens),
      eos_token_id_(setup.eos_token_id),
      tokenizer_vocab_(tokenizer.vocab_size()),
      decoder_(tokenizer, /*skip_special_tokens=*/false) {}

bool OcrRequest::needs_encoding(uint64_t begin, uint64_t end) const {
  return image_rows_.empty() && image_tokens_ > 0 && begin < uint64_t{image_begin_} + image_tokens_ &&
         end > image_begin_;
}

EncodeReport OcrRequest::encode(DeepEncoder& encoder) {
  EncodeReport report;
  if (!image_rows_.empty()) return report;
  if (!image_) runtime::throw_invalid("deepseek-ocr: the request's image was already released");
  ImagePreparer::Taken taken = ImagePreparer::take(image_);
  report.prepared_here = taken.prepared_by_caller;
  report.encoded_here = taken.encoded_by_caller || !taken.encoded;
  const PreparedImage& image = taken.image;
  if (!(image.content_hash == content_hash_) || image.num_image_tokens != image_tokens_)
    runtime::throw_invalid("deepseek-ocr: the image prepared for the prefill (" +
                           std::to_string(image.num_image_tokens) + " placeholders) differs from the one planned (" +
                           std::to_string(image_tokens_) + " placeholders" +
                           (image.content_hash == content_hash_ ? "" : ", another content hash") + ")");
  std::vector<float> rows;
  if (taken.encoded) {
    rows = std::move(taken.rows);
  } else {
    const auto started = std::chrono::steady_clock::now();
    rows = encoder.encode(image);
    report.encoder_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }
  if (rows.size() != static_cast<size_t>(image_tokens_) * encoder.lm_hidden())
    runtime::throw_invalid("deepseek-ocr: the encoder gave " + std::to_string(rows.size()) + " values for " +
                           std::to_string(image_tokens_) + " placeholders of width " +
                           std::to_string(encoder.lm_hidden()));
  image_rows_ = std::move(rows);
  return report;
}

SampledToken OcrRequest::sample_next(std::span<float> logits) {
  if (finished_) return finished_outcome();
  const std::span<const int32_t> generated = std::span(sequence_).subspan(prompt_tokens_);
  runtime::apply_no_repeat_ngram(logits, generated, ngram_);
  return append(sampler_.sample(logits, sequence_));
}

bool OcrRequest::picks_argmax() const {
  if (!sampler_.picks_argmax()) return false;
  return ngram_.ngram_size == 0 ||
         runtime::banned_ngram_tokens(std::span(sequence_).subspan(prompt_tokens_), ngram_).empty();
}

SampledToken OcrRequest::take_argmax(int32_t token) {
  if (finished_) return finished_outcome();
  if (!picks_argmax()) runtime::throw_invalid("deepseek-ocr: take_argmax for a request that samples otherwise");
  return append(token);
}

SampledToken OcrRequest::finished_outcome() const {
  SampledToken sampled;
  sampled.finished = true;
  sampled.reason = reason_;
  return sampled;
}

SampledToken OcrRequest::append(int32_t token) {
  SampledToken sampled;
  sampled.token = token;
  sequence_.push_back(sampled.token);
  if (sampled.token == eos_token_id_) {
    sampled.finished = true;
    sampled.reason = CITADEL_FINISH_STOP;
    sampled.text = decoder_.flush();
  } else {
    // Ids past the tokenizer (lm_head rows beyond it), or in a gap of its
    // ids, have no text; sampling may pick them when temperature > 0.
    if (static_cast<size_t>(sampled.token) < tokenizer_vocab_) {
      try {
        sampled.text = decoder_.push(sampled.token);
      } catch (const runtime::RuntimeError&) {
        sampled.text.clear();
      }
    }
    if (sequence_.size() - prompt_tokens_ >= max_new_tokens_) {
      sampled.finished = true;
      sampled.reason = CITADEL_FINISH_LENGTH;
      sampled.text += decoder_.flush();
    }
  }
  finished_ = sampled.finished;
  reason_ = sampled.reason;
  return sampled;
}

}  // namespace citadel::deepseek_ocr
