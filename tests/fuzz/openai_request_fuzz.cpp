// Fuzz target: request bodies of the OpenAI and task endpoints. The first
// byte picks the endpoint (completions, chat, ocr, videos, inference), the
// rest is the JSON body; see request_translation.hpp for what is checked.
#include "fuzz_support.hpp"
#include "request_translation.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace citadel::fuzz;
  const Selected input = select_first_byte(data, size);
  translate_request(static_cast<Endpoint>(input.selector % kEndpointCount), input.rest);
  return 0;
}
