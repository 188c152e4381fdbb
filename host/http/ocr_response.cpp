// /v1/ocr response objects and stream chunks.
#include "host/http/ocr_response.h"

#include "host/http/openai_translate.h"

#include <boost/json.hpp>

namespace citadel::http {

namespace json = boost::json;

namespace {

json::value finish_value(sched::FinishReason reason) {
  const char* name = openai_finish_reason(reason);
  return *name ? json::value(name) : json::value(nullptr);
}

json::array boxes_json(const std::vector<GroundingBox>& boxes) {
  json::array list;
  for (const GroundingBox& box : boxes) list.push_back(grounding_box_json(box));
  return list;
}

sched::Usage summed_usage(const std::vector<OcrPageOutcome>& pages) {
  sched::Usage total;
  for (const OcrPageOutcome& page : pages) {
    total.prompt_tokens += page.usage.prompt_tokens;
    total.completion_tokens += page.usage.completion_tokens;
    total.cached_prompt_tokens += page.usage.cached_prompt_tokens;
  }
  return total;
}

sched::FinishReason overall_finish(const std::vector<OcrPageOutcome>& pages) {
  for (const OcrPageOutcome& page : pages)
    if (page.finish_reason == sched::FinishReason::length) return sched::FinishReason::length;
  return sched::FinishReason::stop;
}

}  // namespace

json::object ocr_document_response(const std::string& id, int64_t created, const std::string& model,
                                   const std::vector<OcrPageOutcome>& pages, bool grounding) {
  std::string text;
  json::array page_list;
  for (const OcrPageOutcome& page : pages) {
    if (!text.empty() && !page.text.empty()) text += "\n\n";
    text += page.text;
    json::object entry{{"page", page.number}, {"width", page.width}, {"height", page.height}};
    if (page.dpi > 0) entry["dpi"] = page.dpi;
    entry["text"] = page.text;
    if (grounding) entry["boxes"] = boxes_json(page.boxes);
    entry["finish_reason"] = finish_value(page.finish_reason);
    entry["usage"] = usage_json(page.usage);
    page_list.push_back(std::move(entry));
  }
  return json::object{{"id", id},
                      {"object", "ocr"},
                      {"created", created},
                      {"model", model},
                      {"text", std::move(text)},
                      {"pages", std::move(page_list)},
                      {"finish_reason", finish_value(overall_finish(pages))},
                      {"usage", usage_json(summed_usage(pages))}};
}

json::object ocr_page_chunk(const std::string& id, const std::string& model, uint32_t page,
                            const sched::InferenceEvent& event, const std::vector<GroundingBox>* boxes) {
  json::object chunk{{"id", id}, {"object", "ocr.chunk"}, {"model", model}, {"page", page}};
  if (!event.text.empty()) chunk["text"] = event.text;
  if (boxes != nullptr && !boxes->empty()) chunk["boxes"] = boxes_json(*boxes);
  chunk["final"] = event.final;
  if (event.final) {
    chunk["finish_reason"] = finish_value(event.finish_reason);
    chunk["usage"] = usage_json(event.usage);
  }
  return chunk;
}

json::object ocr_done_chunk(const std::string& id, const std::string& model,
                            const std::vector<OcrPageOutcome>& pages) {
  return json::object{{"id", id},
                      {"object", "ocr.done"},
                      {"model", model},
                      {"pages", pages.size()},
                      {"finish_reason", finish_value(overall_finish(pages))},
                      {"usage", usage_json(summed_usage(pages))}};
}

}  // namespace citadel::http
