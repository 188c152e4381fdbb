// PreTokenizer: splits text into the words that BPE encodes, as a Hugging Face
// tokenizer.json "pre_tokenizer" describes: Split (regex or string; behaviors
// Isolated, Removed, MergedWithPrevious, MergedWithNext), Digits, ByteLevel
// (add_prefix_space, use_regex with the GPT-2 pattern), Metaspace
// (SentencePiece's "▁": prepend_scheme always/first/never, split),
// WhitespaceSplit and Sequence of these.
// Words are returned as raw bytes; byte_level() tells the BPE model to map
// them through the GPT-2 byte map. Internal to the Tokenizer.
#pragma once

#include "runtime/text/regex.h"

#include <boost/json.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::runtime {

class PreTokenizer {
 public:
  // `spec` is the "pre_tokenizer" value (null means: the whole text is one
  // word). Throws RuntimeError naming `source` for unsupported types.
  PreTokenizer(const boost::json::value& spec, const std::string& source);
  ~PreTokenizer();

  struct Piece {
    std::string text;
    bool at_start;  // begins at the start of the whole input (Metaspace "first")
  };
  // `at_start`: `text` begins at the start of the input to encode.
  std::vector<Piece> split(std::string_view text, bool at_start) const;
  bool byte_level() const { return byte_level_; }

 private:
  struct Step;
  void add_step(const boost::json::value& spec, const std::string& source);

  std::vector<std::unique_ptr<Step>> steps_;
  bool byte_level_ = false;
};

}  // namespace citadel::runtime
