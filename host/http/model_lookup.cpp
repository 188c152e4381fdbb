// Model lookup by name and task for the endpoint handlers.
#include "host/http/model_lookup.h"

#include "host/http/api_error.h"

#include <algorithm>

namespace citadel::http {

std::optional<sched::ModelListing> find_model(const std::vector<sched::ModelListing>& models,
                                              const std::string& name) {
  std::optional<sched::ModelListing> found;
  for (const sched::ModelListing& model : models) {
    if (model.name != name) continue;
    if (!found || (found->state != "serving" && model.state == "serving")) found = model;
  }
  return found;
}

void require_task(const std::vector<sched::ModelListing>& models, const std::string& model,
                  const std::vector<std::string_view>& tasks, std::string_view endpoint) {
  const std::optional<sched::ModelListing> listing = find_model(models, model);
  if (!listing) throw model_not_found(model);
  if (std::find(tasks.begin(), tasks.end(), listing->task) == tasks.end())
    throw bad_request("The model '" + model + "' is a " + listing->task + " model; " +
                          std::string(endpoint) + " needs a model of task " +
                          std::string(tasks.front()),
                      "model", "wrong_model_task");
}

std::string choose_model_for_task(const std::vector<sched::ModelListing>& models,
                                  const std::optional<std::string>& name, std::string_view task,
                                  std::string_view endpoint) {
  if (name) {
    require_task(models, *name, {task, "generic"}, endpoint);
    return *name;
  }
  for (const sched::ModelListing& model : models)
    if (model.task == task) return model.name;
  throw ApiError(404, "not_found_error",
                 "No " + std::string(task) + " model is loaded to serve " + std::string(endpoint),
                 "model", "model_not_found");
}

}  // namespace citadel::http
