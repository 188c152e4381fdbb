// Normalizer steps.
#include "runtime/text/normalizer.h"

#include "runtime/core/error.h"
#include "runtime/formats/json_file.h"
#include "runtime/text/nfc.h"
#include "runtime/text/precompiled_charsmap.h"
#include "runtime/text/regex.h"
#include "runtime/text/replace_pattern.h"
#include "runtime/text/utf8.h"

namespace citadel::runtime {
namespace json = boost::json;

struct Normalizer::Step {
  enum class Kind { nfc, nfkc, prepend, replace, strip, precompiled };
  Kind kind = Kind::nfc;
  std::string text;                      // prepend: the prefix; replace: the content
  std::unique_ptr<Pcre2Regex> pattern;   // replace: what to replace; strip: one whitespace character
  bool left = false, right = false;      // strip
  std::unique_ptr<PrecompiledCharsmap> charsmap;

  std::string apply(std::string_view input) const {
    switch (kind) {
      case Kind::nfc:
        return nfc_normalize(input);
      case Kind::nfkc:
        return nfkc_normalize(input);
      case Kind::prepend:
        return input.empty() ? std::string() : text + std::string(input);
      case Kind::replace: {
        std::string out;
        size_t last = 0;
        for (const auto& [begin, end] : pattern->find_all(input)) {
          out.append(input.substr(last, begin - last));
          out += text;
          last = end;
        }
        out.append(input.substr(last));
        return out;
      }
      case Kind::strip: {
        const auto characters = utf8::characters(input);
        size_t first = 0, last = characters.size();
        if (left) {
          while (first < last && pattern->full_match(characters[first])) ++first;
        }
        if (right) {
          while (last > first && pattern->full_match(characters[last - 1])) --last;
        }
        if (first == last) return {};
        const size_t begin = static_cast<size_t>(characters[first].data() - input.data());
        const size_t end = static_cast<size_t>(characters[last - 1].data() - input.data()) + characters[last - 1].size();
        return std::string(input.substr(begin, end - begin));
      }
      case Kind::precompiled:
        return charsmap->normalize(input);
    }
    return std::string(input);
  }
};

Normalizer::Normalizer(const json::value& spec, const std::string& source) {
  if (!spec.is_null()) add_step(spec, source);
}

Normalizer::~Normalizer() = default;

void Normalizer::add_step(const json::value& spec, const std::string& source) {
  const std::string where = source + ": normalizer";
  const auto& object = as_object(spec, where);
  const std::string type = required_string(object, "type", where);
  if (type == "Sequence") {
    const auto* list = object.if_contains("normalizers");
    if (list == nullptr || !list->is_array()) throw_invalid(where + ": Sequence needs a \"normalizers\" array");
    for (const auto& item : list->get_array()) add_step(item, source);
    return;
  }
  auto step = std::make_unique<Step>();
  if (type == "NFC") {
    step->kind = Step::Kind::nfc;
  } else if (type == "NFKC") {
    step->kind = Step::Kind::nfkc;
  } else if (type == "Prepend") {
    step->kind = Step::Kind::prepend;
    step->text = required_string(object, "prepend", where);
  } else if (type == "Replace") {
    step->kind = Step::Kind::replace;
    step->text = required_string(object, "content", where);
    step->pattern = read_replace_pattern(object, where, source);
  } else if (type == "Strip") {
    step->kind = Step::Kind::strip;
    step->left = optional_bool(object, "strip_left", where).value_or(true);
    step->right = optional_bool(object, "strip_right", where).value_or(true);
    step->pattern = std::make_unique<Pcre2Regex>("\\s", false, source);  // Rust's char::is_whitespace
  } else if (type == "Precompiled") {
    step->kind = Step::Kind::precompiled;
    const auto* charsmap = object.if_contains("precompiled_charsmap");
    if (charsmap == nullptr || charsmap->is_null()) return;  // an empty charsmap changes nothing
    if (!charsmap->is_string()) throw_invalid(where + ": \"precompiled_charsmap\" must be a base64 string");
    if (charsmap->get_string().empty()) return;
    step->charsmap = std::make_unique<PrecompiledCharsmap>(charsmap->get_string(), where + ".precompiled_charsmap");
  } else {
    throw_unsupported(where + ": unsupported normalizer type \"" + type + "\"");
  }
  steps_.push_back(std::move(step));
}

std::string Normalizer::normalize(std::string_view text) const {
  std::string current(text);
  for (const auto& step : steps_) current = step->apply(current);
  return current;
}

}  // namespace citadel::runtime
