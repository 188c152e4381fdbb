#include "host/config/model_file_reader.h"

#include <filesystem>
#include <regex>

#include "host/config/device_list_reader.h"
#include "host/config/settings_readers.h"
#include "host/config/yaml_map_reader.h"
#include "host/config/yaml_scalar.h"

namespace citadel::config {
namespace {

// Upper bound of `replicas` (a typo like 1000 should not start 1000 instances).
constexpr uint32_t kMaxReplicas = 64;

// Overlays `update` on `base`: objects merge key by key (recursively), any
// other value replaces.
void merge_json(boost::json::object& base, const boost::json::object& update) {
  for (const auto& field : update) {
    boost::json::value* existing = base.if_contains(field.key());
    if (existing != nullptr && existing->is_object() && field.value().is_object()) {
      merge_json(existing->as_object(), field.value().as_object());
    } else {
      base[field.key()] = field.value();
    }
  }
}

void read_name(const YamlMapReader& root, const std::string& file, ModelFileResult& result) {
  result.model.name = std::filesystem::path(file).stem().string();
  result.name_line = 1;
  if (root.read_string("name", result.model.name)) {
    result.name_line = root.line("name");
    if (!is_valid_model_name(result.model.name)) {
      root.report("name", "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (got \"" +
                              result.model.name + "\")");
    }
  } else if (!root.has("name") && !is_valid_model_name(result.model.name)) {
    root.sink().report(1, "name",
                       "the file name \"" + result.model.name +
                           "\" is not a valid model name; set name: (letters, digits, '.', '_', '-')");
  }
}

const PluginManifest* read_plugin(const YamlMapReader& root, const PluginLookup& plugins,
                                  const std::string& plugins_dir, ModelConfig& model) {
  if (!root.has("plugin")) {
    root.report_missing("plugin");
    return nullptr;
  }
  if (!root.read_string("plugin", model.plugin)) return nullptr;
  auto found = plugins.find(model.plugin);
  if (found == plugins.end()) {
    std::string known;
    for (const auto& [name, manifest] : plugins) known += (known.empty() ? "" : ", ") + name;
    root.report("plugin", "no plugin \"" + model.plugin + "\" in " + plugins_dir + " (no " +
                              resolve_path(plugins_dir, model.plugin + "/plugin.yaml") + " nor a library reporting that name; plugins there: " +
                              (known.empty() ? "none" : known) + ")");
    return nullptr;
  }
  return found->second;
}

void read_options(const YamlMapReader& root, const PluginManifest* manifest, ModelConfig& model) {
  boost::json::object options;
  if (manifest != nullptr && !manifest->default_options_json.empty()) {
    boost::system::error_code error;
    boost::json::value defaults = boost::json::parse(manifest->default_options_json, error);
    if (error)  // the manifest reader only stores what it checked; never abort a load on it
      root.report("plugin", "plugin \"" + model.plugin + "\": its manifest's defaults.options are not JSON (" +
                                error.message() + ")");
    else if (defaults.is_object())
      options = std::move(defaults.as_object());
  }
  if (const YAML::Node* node = root.find("options")) {
    if (node->IsMap()) {
      boost::json::value update =
          yaml_to_json(*node, root.sink().file, "options", *root.sink().problems);
      merge_json(options, update.as_object());
    } else if (!node->IsNull()) {
      root.report("options", "must be a mapping of plugin options (got " + describe_value(*node) + ")");
    }
  }
  model.options_json = boost::json::serialize(options);
}

}  // namespace

bool is_valid_model_name(const std::string& name) {
  static const std::regex pattern("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  return std::regex_match(name, pattern);
}

ModelFileResult read_model_file(const YAML::Node& root_node, const std::string& file,
                                const PluginLookup& plugins, const std::string& plugins_dir,
                                std::vector<ConfigProblem>& problems) {
  ModelFileResult result;
  ModelConfig& model = result.model;
  model.source_file = file;
  model.device = "auto";
  model.options_json = "{}";
  const std::string base_dir = std::filesystem::path(file).parent_path().string();

  const ProblemSink sink{file, &problems};
  const YamlMapReader root(sink, root_node, "", 1,
                           {"name", "plugin", "weights", "device", "replicas", "cache", "scheduler", "inputs", "options"});
  if (!root.valid()) {
    model.name = std::filesystem::path(file).stem().string();
    return result;
  }
  read_name(root, file, result);
  const PluginManifest* manifest = read_plugin(root, plugins, plugins_dir, model);
  if (manifest != nullptr) model.cache = manifest->cache_defaults;

  root.read_path("weights", base_dir, model.weights);
  std::string device;
  if (root.read_string("device", device)) {
    result.device_line = root.line("device");
    if (device == "auto" || is_valid_device_name(device)) {
      const std::string physical = physical_device_name(device);
      model.device = physical.empty() ? device : physical;
    } else {
      root.report("device", "must be auto, cpu, cuda:N or the name of a device in citadel.yaml's devices (got \"" +
                                device + "\")");
    }
  }
  root.read_unsigned("replicas", model.replicas, 1, kMaxReplicas);
  const std::optional<YamlMapReader> cache = root.read_map("cache", kCacheKeys);
  if (cache) read_cache_settings(*cache, model.cache);
  check_cache_settings(root, cache, model.cache);
  if (auto scheduler = root.read_map("scheduler", kSchedulerKeys)) {
    read_scheduler_settings(*scheduler, model.scheduler);
  }
  if (auto inputs = root.read_map("inputs", kInputKeys)) read_input_limits(*inputs, model.inputs);
  read_options(root, manifest, model);
  return result;
}

}  // namespace citadel::config
