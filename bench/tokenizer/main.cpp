// bench_tokenizer: encodes and decodes a text (default: the Debian licence
// texts under /usr/share/common-licenses, or the files given as arguments)
// with the tokenizers under tests/data/tokenizer, one of each kind, and
// prints MB/s of UTF-8 text per CPU second of one thread and tokens per
// byte; never asserts. --reps N. --load FILE: also the time to load that
// tokenizer.json (e.g. a real 256k-piece UMT5 file) and its speed.
#include "runtime/formats/json_file.h"
#include "runtime/text/gguf_vocab.h"
#include "runtime/text/tokenizer.h"

#include <chrono>
#include <ctime>
#include <optional>
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

// CPU time of this thread: figures that hold on a shared, busy machine.
double thread_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

void bench(const char* name, const Tokenizer& tokenizer, const std::vector<std::string>& texts, int reps) {
  size_t bytes = 0, tokens = 0;
  for (const auto& t : texts) bytes += t.size();
  std::vector<std::vector<int32_t>> ids(texts.size());
  double best_encode = 1e30, best_decode = 1e30;
  for (int r = 0; r < reps; ++r) {
    double start = thread_seconds();
    for (size_t i = 0; i < texts.size(); ++i) ids[i] = tokenizer.encode(texts[i], false);
    best_encode = std::min(best_encode, thread_seconds() - start);
    start = thread_seconds();
    size_t decoded = 0;
    for (const auto& v : ids) decoded += tokenizer.decode(v).size();
    best_decode = std::min(best_decode, thread_seconds() - start);
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
  std::optional<fs::path> load;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--reps" && i + 1 < argc) reps = std::stoi(argv[++i]);
    else if (arg == "--load" && i + 1 < argc) load = argv[++i];
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
  std::printf("%zu texts, %.2f MB, best of %d, MB per thread CPU second\n", texts.size(), total / 1e6, reps);
  const fs::path data = fs::path(CITADEL_SOURCE_DIR) / "tests/data/tokenizer";
  bench("byte-level BPE (llama3)", Tokenizer::from_file(data / "llama3/tokenizer.json"), texts, reps);
  bench("SentencePiece BPE (llama2)", Tokenizer::from_file(data / "spm/spm_llama2/tokenizer.json"), texts, reps);
  bench("SentencePiece BPE (mistral)", Tokenizer::from_file(data / "spm/spm_mistral/tokenizer.json"), texts, reps);
  bench("Unigram (t5, charsmap)", Tokenizer::from_file(data / "spm/unigram_t5/tokenizer.json"), texts, reps);
  bench("GGUF llama vocabulary", make_tokenizer_from_gguf_vocab(read_gguf_vocab(data / "spm/gguf_llama/vocab.json"), "vocab.json"),
        texts, reps);
  if (load) {
    const auto start = std::chrono::steady_clock::now();
    const Tokenizer tokenizer = Tokenizer::from_file(*load);
    std::printf("%s: loaded in %.0f ms, %zu tokens\n", load->string().c_str(),
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count(),
                tokenizer.vocab_size());
    bench(load->filename().string().c_str(), tokenizer, texts, reps);
  }
  return 0;
}
