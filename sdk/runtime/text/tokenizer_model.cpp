// make_tokenizer_model and the byte-token spelling shared by the models.
#include "runtime/text/tokenizer_model.h"

#include "runtime/core/error.h"
#include "runtime/formats/json_file.h"
#include "runtime/text/bpe_model.h"
#include "runtime/text/unigram_model.h"

namespace citadel::runtime {

std::unique_ptr<TokenizerModel> make_tokenizer_model(const boost::json::value& spec, const std::string& source) {
  const std::string where = source + ": model";
  const auto& object = as_object(spec, where);
  const std::string type = optional_string(object, "type", where).value_or("BPE");
  if (type == "BPE") return std::make_unique<BpeModel>(spec, source);
  if (type == "Unigram") return std::make_unique<UnigramModel>(spec, source);
  throw_unsupported(where + ": model type \"" + type + "\" is not supported (BPE and Unigram are)");
}

bool parse_byte_token(std::string_view token, uint8_t& byte) {
  if (token.size() != 6 || token.substr(0, 3) != "<0x" || token[5] != '>') return false;
  unsigned value = 0;
  for (size_t i = 3; i < 5; ++i) {
    const char c = token[i];
    value <<= 4;
    if (c >= '0' && c <= '9') value |= static_cast<unsigned>(c - '0');
    else if (c >= 'A' && c <= 'F') value |= static_cast<unsigned>(c - 'A' + 10);
    else if (c >= 'a' && c <= 'f') value |= static_cast<unsigned>(c - 'a' + 10);
    else return false;
  }
  byte = static_cast<uint8_t>(value);
  return true;
}

std::string byte_token_name(uint8_t byte) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  return std::string{'<', '0', 'x', kHex[byte >> 4], kHex[byte & 15], '>'};
}

}  // namespace citadel::runtime
