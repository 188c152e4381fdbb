// Which loaded model serves a request: checks that a named model exists and
// does the kind of work an endpoint needs (text generation for /v1/chat,
// image_to_text for /v1/ocr, text_to_video for /v1/videos), or picks one.
//
// Called by the endpoint handlers; throws ApiError (404 unknown model or no
// model of that task, 400 a model of another task).
#pragma once

#include "host/sched/request.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace citadel::http {

// The listing of `name` (its serving instance preferred), if loaded.
std::optional<sched::ModelListing> find_model(const std::vector<sched::ModelListing>& models,
                                              const std::string& name);

// Throws unless `model` is loaded and its task is one of `tasks`.
void require_task(const std::vector<sched::ModelListing>& models, const std::string& model,
                  const std::vector<std::string_view>& tasks, std::string_view endpoint);

// The named model (checked as require_task does), or when none is named the
// first loaded model with `task`; 404 naming the task when there is none.
std::string choose_model_for_task(const std::vector<sched::ModelListing>& models,
                                  const std::optional<std::string>& name, std::string_view task,
                                  std::string_view endpoint);

}  // namespace citadel::http
