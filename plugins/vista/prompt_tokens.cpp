// Prompt cleaning, tokenization and padding (see prompt_tokens.h).
#include "prompt_tokens.h"

#include "runtime/core/error.h"

#include <array>
#include <cctype>
#include <cstdlib>
#include <utility>

namespace citadel::vista {
namespace {

void append_utf8(std::string& out, uint32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xc0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3f));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xe0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (code & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (code & 0x3f));
  }
}

// One pass of html.unescape for &amp; &lt; &gt; &quot; &apos; &#39; &nbsp;
// and numeric references (&#NNN; &#xHH;); other text is kept.
std::string unescape_html(std::string_view text) {
  static const std::array<std::pair<std::string_view, uint32_t>, 6> named = {
      {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}, {"nbsp;", 0xa0}}};
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out += text[i];
      continue;
    }
    const std::string_view rest = text.substr(i + 1);
    bool replaced = false;
    for (const auto& [name, code] : named) {
      if (rest.substr(0, name.size()) == name) {
        append_utf8(out, code);
        i += name.size();
        replaced = true;
        break;
      }
    }
    if (!replaced && !rest.empty() && rest[0] == '#') {
      const bool hex = rest.size() > 1 && (rest[1] == 'x' || rest[1] == 'X');
      const size_t digits_at = hex ? 2 : 1;
      size_t end = digits_at;
      while (end < rest.size() && end < digits_at + 8 && std::isxdigit(static_cast<unsigned char>(rest[end])) &&
             (hex || std::isdigit(static_cast<unsigned char>(rest[end]))))
        ++end;
      if (end > digits_at && end < rest.size() && rest[end] == ';') {
        const uint32_t code = static_cast<uint32_t>(
            std::strtoul(std::string(rest.substr(digits_at, end - digits_at)).c_str(), nullptr, hex ? 16 : 10));
        if (code > 0 && code < 0x110000 && (code < 0xd800 || code > 0xdfff)) {
          append_utf8(out, code);
          i += end + 1;
          replaced = true;
        }
      }
    }
    if (!replaced) out += '&';
  }
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

}  // namespace

std::string clean_prompt(std::string_view prompt) {
  const std::string unescaped = unescape_html(unescape_html(prompt));
  std::string out;
  bool pending_space = false;
  for (char c : unescaped) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

PromptTokens tokenize_prompt(const runtime::Tokenizer& tokenizer, std::string_view prompt, int64_t max_length,
                             int32_t pad_id) {
  const std::string cleaned = clean_prompt(prompt);
  std::vector<int32_t> with_specials = tokenizer.encode(cleaned, true);
  const std::vector<int32_t> plain = tokenizer.encode(cleaned, false);
  const size_t added = with_specials.size() - plain.size();
  PromptTokens tokens;
  if (static_cast<int64_t>(with_specials.size()) > max_length) {
    // Truncate the text, keep the special tokens appended after it.
    std::vector<int32_t> kept(plain.begin(), plain.begin() + (max_length - static_cast<int64_t>(added)));
    kept.insert(kept.end(), with_specials.end() - static_cast<ptrdiff_t>(added), with_specials.end());
    with_specials = std::move(kept);
  }
  if (with_specials.empty()) runtime::throw_invalid("prompt: encodes to no tokens");
  tokens.valid = static_cast<int64_t>(with_specials.size());
  tokens.ids = std::move(with_specials);
  tokens.ids.resize(static_cast<size_t>(max_length), pad_id);
  return tokens;
}

}  // namespace citadel::vista
