// The /v1/ocr response objects: the whole document at once, or the stream
// chunks of its pages (page by page, with page numbers), and the page
// outcomes both are built from.
//
// Called by ocr_endpoint.cpp and the [http] tests. Pure functions.
#pragma once

#include "host/http/grounding_parser.h"
#include "host/http/ocr_pages.h"
#include "host/sched/request.h"

#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace citadel::http {

// What one page's request produced.
struct OcrPageOutcome {
  uint32_t number = 1;
  uint32_t width = 0;
  uint32_t height = 0;
  double dpi = 0;
  std::string text;
  std::vector<GroundingBox> boxes;
  sched::FinishReason finish_reason = sched::FinishReason::none;
  sched::Usage usage;
};

// {"id", "object": "ocr", "created", "model", "text" (the pages' texts
// joined by a blank line), "pages": [{"page", "width", "height", "dpi"?,
// "text", "boxes"? (with grounding), "finish_reason", "usage"}],
// "finish_reason" ("length" when any page ran out of tokens, else "stop"),
// "usage" (summed)}.
boost::json::object ocr_document_response(const std::string& id, int64_t created, const std::string& model,
                                          const std::vector<OcrPageOutcome>& pages, bool grounding);

// One streamed piece of a page: {"id", "object": "ocr.chunk", "model",
// "page", "text"?, "boxes"? (spans this piece completed), "final" (the
// page's last chunk), "finish_reason"?, "usage"? (the page's, on its final)}.
boost::json::object ocr_page_chunk(const std::string& id, const std::string& model, uint32_t page,
                                   const sched::InferenceEvent& event, const std::vector<GroundingBox>* boxes);

// The last chunk of a stream: {"id", "object": "ocr.done", "model",
// "pages", "finish_reason", "usage"} with the totals.
boost::json::object ocr_done_chunk(const std::string& id, const std::string& model,
                                   const std::vector<OcrPageOutcome>& pages);

}  // namespace citadel::http
