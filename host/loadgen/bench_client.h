// One benchmark request over HTTP: POST /v1/completions (streamed or whole)
// on its own connection, timed: latency, time to first token, gaps between
// streamed chunks, and the token counts the server reports in `usage`.
//
// Used by load_generator.cpp only (an Asio coroutine, run on its io_context).
#pragma once

#include "host/loadgen/synthetic_dataset.h"

// GCC 12 warns -Wmismatched-new-delete on every asio::awaitable coroutine
// (a false positive, GCC bug 109224).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace citadel::loadgen {

struct RequestOutcome {
  std::string model;
  bool success = false;
  std::string error;             // status and message when !success
  double latency_s = 0;          // send to last byte
  double ttft_s = 0;             // send to first text chunk (streaming)
  std::vector<double> gaps_s;    // between consecutive text chunks (streaming)
  uint32_t prompt_tokens = 0;
  uint32_t completion_tokens = 0;
};

struct ServerAddress {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  std::string api_key;  // sent as Authorization: Bearer when not empty
};

boost::asio::awaitable<RequestOutcome> send_completion(ServerAddress server, std::string model,
                                                       BenchRequest request, bool stream);

}  // namespace citadel::loadgen
