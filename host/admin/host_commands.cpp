#include "host/admin/host_commands.h"

#include "host/admin/admin_protocol.h"
#include "host/admin/admin_server.h"
#include "host/admin/benchmark_command.h"
#include "host/cache/pool_stats.h"
#include "host/core/host.h"
#include "host/plugins/plugin_model_instance.h"

#include <boost/json.hpp>

#include <memory>
#include <mutex>
#include <thread>

namespace citadel::admin {
namespace {

using boost::json::array;
using boost::json::object;

std::string string_argument(const object& request, const char* key) {
  const boost::json::value* value = request.if_contains(key);
  if (value == nullptr || !value->is_string() || value->as_string().empty()) {
    throw AdminCommandError(error_code::bad_request,
                            std::string("\"") + key + "\" must be a non-empty string");
  }
  return std::string(value->as_string());
}

object listing_json(const sched::ModelListing& listing) {
  return object{{"name", listing.name},
                {"plugin", listing.plugin},
                {"plugin_version", listing.plugin_version},
                {"task", listing.task},
                {"state", listing.state},
                {"generation", listing.generation},
                {"max_context_tokens", listing.max_context_tokens},
                {"device_weight_bytes", listing.device_weight_bytes},
                {"failure", listing.failure}};
}

object scheduler_stats_json(const sched::ModelSchedulerStats& stats) {
  return object{{"queued", stats.queued},
                {"running", stats.running},
                {"swapped", stats.swapped},
                {"in_flight", stats.in_flight},
                {"steps", stats.steps},
                {"deferred_items", stats.deferred_items},
                {"finished", stats.finished},
                {"preemptions_swap", stats.preemptions_swap},
                {"preemptions_recompute", stats.preemptions_recompute}};
}

// One row per replica of `model` (the `models` and `model` replies).
void append_replica_rows(const std::string& model, const sched::ReplicaSet& set, array& rows) {
  for (const sched::ReplicaStatus& replica : set.status()) {
    rows.push_back(object{{"model", model},
                          {"replica", replica.index},
                          {"device", replica.device},
                          {"state", replica.state},
                          {"generation", replica.generation},
                          {"queued", replica.stats.queued},
                          {"running", replica.stats.running},
                          {"in_flight", replica.stats.in_flight},
                          {"finished", replica.stats.finished},
                          {"routed", replica.routed}});
  }
}

array string_array(const std::vector<std::string>& items) {
  array result;
  for (const std::string& item : items) result.emplace_back(item);
  return result;
}

// A reload report as a reply: ok with the report, or failed with the errors
// in the message and the report beside it.
void reply_with_report(AdminReply& reply, const core::ReloadReport& report) {
  object line{{"report", report.to_json()}};
  if (!report.ok) {
    std::string message = "reload rejected, generation " + std::to_string(report.generation) +
                          " keeps serving:";
    for (const std::string& error : report.errors) message += "\n" + error;
    line["ok"] = false;
    line["error"] = object{{"code", "reload_failed"}, {"message", message}};
  }
  reply.finish(std::move(line));
}

object status_json(core::Host& host) {
  core::ReloadCoordinator& coordinator = host.coordinator();
  // One snapshot: a reload finishing between two reads could otherwise pair
  // its report with the generation before it.
  const core::ReloadState reloads = coordinator.state();
  object status{{"version", CITADEL_VERSION},
                {"uptime_s", host.uptime_seconds()},
                {"generation", reloads.generation},
                {"config", host.config_path()},
                {"models", host.router().model_names().size()},
                {"ready", host.router().ready()},
                {"draining", string_array(coordinator.draining_models())},
                {"config_errors", string_array(reloads.config_errors)},
                {"device_fault", host.router().device_fault()}};
  array failed;
  for (const sched::ModelListing& listing : host.router().list_models()) {
    if (listing.state == "failed") failed.push_back(object{{"name", listing.name}, {"failure", listing.failure}});
  }
  status["failed_models"] = std::move(failed);
  const auto configuration = coordinator.configuration();
  const std::chrono::seconds stall_bound(configuration ? configuration->host.step_stall_s : 120);
  status["stalled_models"] =
      string_array(host.router().stalled_models(std::chrono::steady_clock::now(), stall_bound));
  if (reloads.last_report) status["last_reload"] = reloads.last_report->to_json();
  array pools;
  for (const cache::PoolStats& pool : host.cache().stats()) {
    pools.push_back(object{{"device", pool.device},
                           {"physical_device", pool.physical_device},
                           {"budget_bytes", pool.budget_bytes},
                           {"mapped_bytes", pool.mapped_bytes},
                           {"used_bytes", pool.used_bytes},
                           {"spaces", pool.spaces.size()}});
  }
  status["pool"] = std::move(pools);
  if (host.http_port() != 0) status["http_port"] = host.http_port();
  return status;
}

object model_json(core::Host& host, const std::string& name) {
  auto scheduler = host.router().scheduler(name);
  if (!scheduler) throw AdminCommandError(error_code::not_found, "no model named " + name);
  const auto& instance = scheduler->instance();
  const config::ModelConfig& config = instance->config();
  const citadel_model_info& info = instance->info();
  object model = listing_json(scheduler->listing());
  model["file"] = config.source_file;
  model["device"] = config.device;
  model["weights"] = config.weights;
  model["describe"] = object{{"task", plugins::task_name(info.task)},
                             {"num_layers", info.num_layers},
                             {"tokens_per_block", info.tokens_per_block},
                             {"bytes_per_token_per_layer", info.bytes_per_token_per_layer},
                             {"max_context_tokens", info.max_context_tokens},
                             {"max_batch_requests", info.max_batch_requests},
                             {"max_step_tokens", info.max_step_tokens},
                             {"device_weight_bytes", info.device_weight_bytes},
                             // false: CITADEL_CACHE_NO_SWAP, preemption recomputes
                             {"cache_swappable", !CITADEL_HAS_MEMBER(&info, citadel_model_info, cache_flags) ||
                                                     (info.cache_flags & CITADEL_CACHE_NO_SWAP) == 0},
                             {"model_version", info.model_version ? info.model_version : ""}};
  model["cache_settings"] = object{{"size_mb", config.cache.size_mb},
                                   {"reserved_mb", config.cache.reserved_mb},
                                   {"eviction", config::to_string(config.cache.eviction)},
                                   {"gc_threshold", config.cache.gc_threshold}};
  array claims;  // ABI 2.4: memory the model keeps on other devices (tensor-parallel ranks)
  if (CITADEL_HAS_MEMBER(&info, citadel_model_info, device_claims)) {
    for (uint32_t i = 0; i < info.num_device_claims; ++i) {
      const citadel_device_claim& claim = info.device_claims[i];
      claims.push_back(object{
          {"device", claim.kind == CITADEL_DEVICE_CUDA ? "cuda:" + std::to_string(claim.ordinal) : std::string("cpu")},
          {"fixed_bytes", claim.fixed_bytes},
          {"bytes_per_block", claim.bytes_per_block},
          {"blocks_per_chunk", claim.blocks_per_chunk}});
    }
  }
  model["describe"].as_object()["device_claims"] = std::move(claims);
  if (auto space = instance->cache_space()) model["cache"] = cache::to_json(space->stats());
  model["scheduler"] = scheduler_stats_json(scheduler->stats());
  array replicas;
  if (auto set = host.router().replica_set(name)) append_replica_rows(name, *set, replicas);
  model["replicas"] = std::move(replicas);
  return model;
}

// infer: one request through the Router; streamed as token lines when asked.
void run_infer(core::Host& host, const object& request, std::shared_ptr<AdminReply> reply) {
  sched::InferenceRequest inference;
  inference.model = string_argument(request, "model");
  const boost::json::value* input = request.if_contains("input");
  if (input == nullptr || !input->is_object()) {
    throw AdminCommandError(error_code::bad_request, "\"input\" must be a JSON object");
  }
  inference.input_json = boost::json::serialize(*input);
  bool stream = false;
  if (const boost::json::value* flag = request.if_contains("stream")) {
    if (!flag->is_bool()) throw AdminCommandError(error_code::bad_request, "\"stream\" must be a boolean");
    stream = flag->as_bool();
  }
  struct Collected {
    std::mutex mutex;
    std::string text;
  };
  auto collected = std::make_shared<Collected>();
  sched::Submission submission = host.router().submit(
      std::move(inference), [reply, collected, stream](const sched::InferenceEvent& event) {
        std::string text_so_far;
        {
          std::lock_guard lock(collected->mutex);
          collected->text += event.text;
          text_so_far = collected->text;
        }
        if (stream && !event.text.empty()) {
          reply->send(object{{"event", "token"}, {"text", event.text}});
        }
        if (!event.final) return;
        if (event.finish_reason == sched::FinishReason::error) {
          reply->fail(event.error_code.empty() ? "inference_failed" : event.error_code,
                      event.error_message);
          return;
        }
        reply->finish(object{
            {"event", "done"},
            {"request_id", event.request_id},
            {"text", text_so_far},
            {"finish_reason", sched::to_string(event.finish_reason)},
            {"usage", object{{"prompt_tokens", event.usage.prompt_tokens},
                             {"completion_tokens", event.usage.completion_tokens},
                             {"cached_prompt_tokens", event.usage.cached_prompt_tokens}}}});
      });
  if (!submission) {
    reply->fail(sched::to_string(submission.rejection.reason), submission.rejection.message);
    return;
  }
  std::weak_ptr<sched::RequestHandle> handle = submission.handle;
  reply->on_cancel([handle] {
    if (auto alive = handle.lock()) alive->cancel();
  });
}

}  // namespace

void register_host_commands(AdminServer& server, core::Host& host) {
  server.add_command("status", "host version, uptime, generation, last reload, config errors, pool",
                     [&host](const object&, std::shared_ptr<AdminReply> reply) {
                       reply->finish(object{{"status", status_json(host)}});
                     });
  server.add_command("version", "citadel and plugin ABI versions",
                     [](const object&, std::shared_ptr<AdminReply> reply) {
                       reply->finish(object{
                           {"version", CITADEL_VERSION},
                           {"abi", std::to_string(CITADEL_ABI_VERSION_MAJOR) + "." +
                                       std::to_string(CITADEL_ABI_VERSION_MINOR)}});
                     });
  server.add_command("models", "the models being served",
                     [&host](const object&, std::shared_ptr<AdminReply> reply) {
                       array models;
                       array replicas;
                       for (const auto& listing : host.router().list_models()) {
                         object row = listing_json(listing);
                         if (auto set = host.router().replica_set(listing.name)) {
                           row["replicas"] = set->replicas().size();
                           append_replica_rows(listing.name, *set, replicas);
                         }
                         models.push_back(std::move(row));
                       }
                       reply->finish(object{{"models", std::move(models)}, {"replicas", std::move(replicas)}});
                     });
  server.add_command("model", "one model's details: {\"cmd\":\"model\",\"name\":NAME}",
                     [&host](const object& request, std::shared_ptr<AdminReply> reply) {
                       reply->finish(object{{"model", model_json(host, string_argument(request, "name"))}});
                     });
  server.add_command("pool", "cache pool statistics per device and per model",
                     [&host](const object&, std::shared_ptr<AdminReply> reply) {
                       reply->finish(object{{"pool", host.cache().stats_json()}});
                     });
  server.add_command("reload", "re-read the configuration and apply it",
                     [&host](const object&, std::shared_ptr<AdminReply> reply) {
                       reply_with_report(*reply, host.reload("admin"));
                     });
  server.add_command("load",
                     "add a models.d file, or re-enable an unloaded model, and reload: "
                     "{\"cmd\":\"load\",\"file\":PATH} or {\"cmd\":\"load\",\"name\":NAME}",
                     [&host](const object& request, std::shared_ptr<AdminReply> reply) {
                       try {
                         if (!request.contains("file") && request.contains("name")) {
                           reply_with_report(*reply,
                                             host.reload_unloaded_model(string_argument(request, "name")));
                           return;
                         }
                         reply_with_report(*reply, host.load_model_file(string_argument(request, "file")));
                       } catch (const std::invalid_argument& e) {
                         throw AdminCommandError(error_code::bad_request, e.what());
                       }
                     });
  server.add_command("unload", "remove a model and reload: {\"cmd\":\"unload\",\"name\":NAME}",
                     [&host](const object& request, std::shared_ptr<AdminReply> reply) {
                       const std::string name = string_argument(request, "name");
                       try {
                         reply_with_report(*reply, host.unload_model(name));
                       } catch (const std::invalid_argument& e) {
                         throw AdminCommandError(error_code::not_found, e.what());
                       }
                     });
  server.add_command(
      "drain", "stop admitting requests to a model and wait for its in-flight ones",
      [&host](const object& request, std::shared_ptr<AdminReply> reply) {
        const std::string name = string_argument(request, "name");
        auto set = host.router().replica_set(name);
        if (!set) throw AdminCommandError(error_code::not_found, "no model named " + name);
        std::thread([set, reply, name] {
          const auto start = std::chrono::steady_clock::now();
          for (const sched::Replica& replica : set->replicas()) replica.scheduler->drain_for(std::chrono::hours(0));
          for (const sched::Replica& replica : set->replicas()) replica.scheduler->drain();
          const double seconds =
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          reply->finish(object{{"model", name}, {"drained", true}, {"waited_s", seconds}});
        }).detach();
      });
  server.add_command("infer",
                     "run one request: {\"cmd\":\"infer\",\"model\":M,\"input\":{...},\"stream\":bool}",
                     [&host](const object& request, std::shared_ptr<AdminReply> reply) {
                       run_infer(host, request, std::move(reply));
                     });
  register_benchmark_command(server, host);
}

}  // namespace citadel::admin
