// bench_tokenizer: encodes and decodes a text (default: the Debian licence
// texts under /usr/share/common-licenses, or the files given as arguments)
// with the tokenizers under tests/data/tokenizer, one of each kind, and
// prints MB/s of UTF-8 text and tokens per byte; never asserts. --reps N.
#include "runtime/formats/json_file.h"
#include "runtime/text/gguf_vocab.h"
#include "runtime/text/tokenizer.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace citadel::runtime;
namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

GgufVocab read_gguf_vocab(const fs::path& path) {
  const auto root = read_json_file(path);
  const auto& o = root.as_object();
  GgufVocab vocab;
  vocab.model = std::string(o.at("model").as_string());
  for (const auto& t : o.at("tokens").as_array()) vocab.tokens.emplace_back(t.as_string());
  for (const auto& s : o.at("scores").as_array()) vocab.scores.push_back(static_cast<float>(s.to_number<double>()));
  for (const auto& t : o.at("token_type").as_array()) vocab.token_type.push_back(static_cast<int32_t>(t.as_int64()));
  vocab.bos_token_id = static_cast<int32_t>(o.at("bos_token_id").as_int64());
  return vocab;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void bench(const char* name, const Tokenizer& tokenizer, const std::vector<std::string>& texts, int reps) {
  size_t bytes = 0, tokens = 0;
  for (const auto& t : texts) bytes += t.size();
  std::vector<std::vector<int32_t>> ids(texts.size());
  double best_encode = 1e30, best_decode = 1e30;
  for (int r = 0; r < reps; ++r) {
    auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < texts.size(); ++i) ids[i] = tokenizer.encode(texts[i], false);
    best_encode = std::min(best_encode, seconds_since(start));
    start = std::chrono::steady_clock::now();
    size_t decoded = 0;
    for (const auto& v : ids) decoded += tokenizer.decode(v).size();
    best_decode = std::min(best_decode, seconds_since(start));
    if (decoded == 0) std::printf("(nothing decoded)\n");
  }
  for (const auto& v : ids) tokens += v.size();
  std::printf("%-28s encode %7.2f MB/s  decode %7.2f MB/s  %.3f tokens/byte\n", name, bytes / best_encode / 1e6,
              bytes / best_decode / 1e6, static_cast<double>(tokens) / static_cast<double>(bytes));
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 3;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--reps" && i + 1 < argc) reps = std::stoi(argv[++i]);
    else files.emplace_back(arg);
  }
  if (files.empty() && fs::is_directory("/usr/share/common-licenses")) {
    for (const auto& entry : fs::directory_iterator("/usr/share/common-licenses")) {
      if (entry.is_regular_file() && !entry.is_symlink()) files.push_back(entry.path());
    }
  }
  std::vector<std::string> texts;
  size_t total = 0;
  for (const auto& f : files) {
    // One text per paragraph, as prompts come.
    std::string content = read_file(f), paragraph;
    std::istringstream lines(content);
    for (std::string line; std::getline(lines, line);) {
      paragraph += line + "\n";
      if (line.empty() || paragraph.size() > 4096) {
        total += paragraph.size();
        texts.push_back(std::move(paragraph));
        paragraph.clear();
      }
    }
    if (!paragraph.empty()) {
      total += paragraph.size();
      texts.push_back(std::move(paragraph));
    }
  }
  std::printf("%zu texts, %.2f MB, best of %d\n", texts.size(), total / 1e6, reps);
  const fs::path data = fs::path(CITADEL_SOURCE_DIR) / "tests/data/tokenizer";
  bench("byte-level BPE (llama3)", Tokenizer::from_file(data / "llama3/tokenizer.json"), texts, reps);
  bench("SentencePiece BPE (llama2)", Tokenizer::from_file(data / "spm/spm_llama2/tokenizer.json"), texts, reps);
  bench("SentencePiece BPE (mistral)", Tokenizer::from_file(data / "spm/spm_mistral/tokenizer.json"), texts, reps);
  bench("Unigram (t5, charsmap)", Tokenizer::from_file(data / "spm/unigram_t5/tokenizer.json"), texts, reps);
  bench("GGUF llama vocabulary", make_tokenizer_from_gguf_vocab(read_gguf_vocab(data / "spm/gguf_llama/vocab.json"), "vocab.json"),
        texts, reps);
  return 0;
}
