// BenchFlags: the command line of a bench program, "--name value" pairs and
// value-less switches, read by name with the program's default. A value that
// is not what the flag needs, a flag without its value and (with
// reject_unknown) a flag no one asked for throw std::invalid_argument naming
// the flag; the programs print it and exit 2.
//
// Used by the main() of bench_deepseek_ocr_decode, bench_ocr_pages and
// bench-reload (more bench programs may move to it).
// Not thread-safe (one per main).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace citadel::bench {

class BenchFlags {
 public:
  // `switches`: the flags that take no value; every other "--name" takes the
  // argument after it.
  BenchFlags(int argc, char** argv, std::set<std::string> switches = {});

  bool has(const std::string& name) const;  // given at least once
  // The last value given, else `fallback`.
  int64_t integer(const std::string& name, int64_t fallback) const;
  std::string text(const std::string& name, const std::string& fallback) const;
  // "1,16,64" as numbers.
  std::vector<int> integer_list(const std::string& name, std::vector<int> fallback) const;
  // Every value of a flag that may repeat, in order.
  std::vector<std::string> all(const std::string& name) const;

  // Throws for the first flag that no call above asked about.
  void reject_unknown() const;

 private:
  std::vector<std::pair<std::string, std::string>> given_;  // (flag, value; "" for switches)
  mutable std::set<std::string> asked_;
};

}  // namespace citadel::bench
