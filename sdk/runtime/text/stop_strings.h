// StopStringMatcher: finds stop strings in streamed generated text. push()
// returns the text that is safe to emit now, holding back a tail that might
// still become the start of a stop string; once a stop string is seen, the
// text before it is returned and stopped() turns true. Used by text plugins
// for the OpenAI "stop" parameter.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace citadel::runtime {

class StopStringMatcher {
 public:
  explicit StopStringMatcher(std::vector<std::string> stop_strings);
  // Appends `text`; returns what may be emitted now (nothing after a stop).
  std::string push(std::string_view text);
  // At the end of generation: the held-back tail (empty after a stop).
  std::string flush();
  bool stopped() const { return stopped_; }
  // The stop string that matched (empty if none).
  const std::string& matched() const { return matched_; }

 private:
  std::vector<std::string> stop_strings_;
  std::string held_;
  bool stopped_ = false;
  std::string matched_;
};

}  // namespace citadel::runtime
