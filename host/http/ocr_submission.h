// The steps the image endpoints (/v1/ocr, and /v1/chat/completions for
// image_to_text models) share: reading an upload into checked pages on a
// small thread pool of its own (PDF rendering takes time the two io threads
// must not lose), and submitting the pages as one RequestGroup, one
// scheduler request per page in page order, cancelled if the client leaves.
//
// Called by ocr_endpoint.cpp and image_chat_endpoint.cpp.
#pragma once

#include "host/config/input_limits.h"
#include "host/http/exchange.h"
#include "host/http/ocr_pages.h"
#include "host/http/request_group.h"

#include "host/http/awaitable.h"

#include <memory>
#include <string>
#include <vector>

namespace citadel::http {

// prepare_ocr_pages() run on the document pool; its ApiErrors are rethrown here.
boost::asio::awaitable<std::vector<OcrPage>> read_pages_off_io_thread(std::vector<uint8_t> document,
                                                                      std::string field, OcrOptions options,
                                                                      config::InputLimits limits, bool allow_pdf);

// Submits every page (its payload moved out) with `input_json`; throws the
// scheduler's refusal as an ApiError.
std::shared_ptr<RequestGroup> submit_pages(Exchange& exchange, const std::string& model,
                                           std::vector<OcrPage>& pages, const std::string& input_json);

}  // namespace citadel::http
