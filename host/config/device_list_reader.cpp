// citadel.yaml `devices`. See device_list_reader.h.
#include "host/config/device_list_reader.h"

#include <algorithm>
#include <limits>
#include <regex>

#include "host/config/yaml_scalar.h"

namespace citadel::config {
namespace {

const std::vector<std::string> kLogicalDeviceKeys{"name", "device", "pool_mb"};

// {name: cuda:0/a, device: cuda:0, pool_mb: 8192}; false when invalid (reported).
bool read_logical_device(const YamlMapReader& root, const YAML::Node& item, const std::string& field,
                         DeviceSpec& spec) {
  const YamlMapReader entry(root.sink(), item, field, line_of(item), kLogicalDeviceKeys);
  if (!entry.valid()) return false;
  bool ok = true;
  if (!entry.read_string("name", spec.name)) {
    if (!entry.has("name")) entry.report_missing("name");
    ok = false;
  } else if (!is_valid_device_name(spec.name)) {
    entry.report("name", "must be 1 to 64 of A-Z a-z 0-9 . _ : / - starting with a letter or digit, not "
                         "\"auto\" (got \"" + spec.name + "\")");
    ok = false;
  }
  std::string physical;
  if (!entry.read_string("device", physical)) {
    if (!entry.has("device")) entry.report_missing("device");
    ok = false;
  } else if ((spec.physical = physical_device_name(physical)).empty()) {
    entry.report("device", "must be the physical device \"cpu\" or \"cuda:N\" (got \"" + physical + "\")");
    ok = false;
  }
  if (!entry.read_unsigned("pool_mb", spec.pool_mb, 1, std::numeric_limits<uint64_t>::max() >> 20) &&
      entry.has("pool_mb")) {
    ok = false;
  }
  // A name of the physical form means that physical device, nothing else.
  const std::string named_physical = ok ? physical_device_name(spec.name) : "";
  if (!named_physical.empty() && named_physical != spec.physical) {
    entry.report("name", "\"" + spec.name + "\" is the name of a physical device; a logical device on " +
                             spec.physical + " needs another name (like \"" + spec.physical + "/a\")");
    ok = false;
  }
  if (!named_physical.empty()) spec.name = named_physical;
  return ok;
}

}  // namespace

bool is_valid_device_name(const std::string& name) {
  static const std::regex pattern("[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}");
  return name != "auto" && std::regex_match(name, pattern);
}

std::string physical_device_name(const std::string& text) {
  static const std::regex pattern("cpu|cuda(:[0-9]{1,4})?");
  if (!std::regex_match(text, pattern)) return "";
  if (text == "cuda") return "cuda:0";
  if (text == "cpu") return text;
  return "cuda:" + std::to_string(std::stoi(text.substr(5)));  // "cuda:01" -> "cuda:1"
}

void read_device_list(const YamlMapReader& root, std::vector<DeviceSpec>& out) {
  const YAML::Node* value = root.find("devices");
  if (value == nullptr || value->IsNull()) return;
  if (!value->IsSequence()) {
    root.report("devices", "must be a list like [cpu, \"cuda:0\"] or of {name, device, pool_mb} (got " +
                               describe_value(*value) + ")");
    return;
  }
  int index = 0;
  for (const YAML::Node& item : *value) {
    const std::string field = "devices[" + std::to_string(index++) + "]";
    DeviceSpec spec;
    spec.where = SourceLocation{root.sink().file, line_of(item)};
    if (item.IsMap()) {
      if (!read_logical_device(root, item, field, spec)) continue;
    } else {
      spec.name = spec.physical = item.IsScalar() ? physical_device_name(item.Scalar()) : "";
      if (spec.name.empty()) {
        root.sink().report(line_of(item), field,
                           "must be \"cpu\", \"cuda:N\" or a logical device {name, device, pool_mb} (got " +
                               describe_value(item) + ")");
        continue;
      }
    }
    auto same_name = std::find_if(out.begin(), out.end(), [&](const DeviceSpec& d) { return d.name == spec.name; });
    if (same_name != out.end()) {
      root.sink().report(line_of(item), field,
                         "device \"" + spec.name + "\" is listed twice (also at line " +
                             std::to_string(same_name->where.line) + ")");
      continue;
    }
    out.push_back(std::move(spec));
  }
}

}  // namespace citadel::config
