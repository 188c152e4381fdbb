#include "bench_flags.h"

#include <sstream>
#include <stdexcept>

namespace citadel::bench {
namespace {

int64_t to_integer(const std::string& name, const std::string& value) {
  size_t used = 0;
  int64_t number = 0;
  try {
    number = std::stoll(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != value.size())
    throw std::invalid_argument(name + ": '" + value + "' is not an integer");
  return number;
}

}  // namespace

BenchFlags::BenchFlags(int argc, char** argv, std::set<std::string> switches) {
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag.rfind("--", 0) != 0) throw std::invalid_argument("unexpected argument '" + flag + "'");
    if (switches.count(flag) > 0) {
      given_.emplace_back(flag, "");
      continue;
    }
    if (i + 1 >= argc) throw std::invalid_argument(flag + ": needs a value");
    given_.emplace_back(flag, argv[++i]);
  }
}

bool BenchFlags::has(const std::string& name) const {
  asked_.insert(name);
  for (const auto& [flag, value] : given_)
    if (flag == name) return true;
  return false;
}

std::vector<std::string> BenchFlags::all(const std::string& name) const {
  asked_.insert(name);
  std::vector<std::string> values;
  for (const auto& [flag, value] : given_)
    if (flag == name) values.push_back(value);
  return values;
}

std::string BenchFlags::text(const std::string& name, const std::string& fallback) const {
  const std::vector<std::string> values = all(name);
  return values.empty() ? fallback : values.back();
}

int64_t BenchFlags::integer(const std::string& name, int64_t fallback) const {
  const std::vector<std::string> values = all(name);
  return values.empty() ? fallback : to_integer(name, values.back());
}

std::vector<int> BenchFlags::integer_list(const std::string& name, std::vector<int> fallback) const {
  const std::vector<std::string> values = all(name);
  if (values.empty()) return fallback;
  std::vector<int> numbers;
  std::stringstream stream(values.back());
  for (std::string item; std::getline(stream, item, ',');)
    numbers.push_back(static_cast<int>(to_integer(name, item)));
  return numbers;
}

void BenchFlags::reject_unknown() const {
  for (const auto& [flag, value] : given_)
    if (asked_.count(flag) == 0) throw std::invalid_argument("unknown flag " + flag);
}

}  // namespace citadel::bench
