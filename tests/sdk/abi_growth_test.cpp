// The SDK's side of ABI growth, driven through the C table it builds (the
// trampolines of CITADEL_REGISTER_PLUGIN) as a host would: host services are
// checked by the table's struct_size (a plugin on an older host fails create
// cleanly, naming the service), and step items and outputs are walked with
// the batch's strides, whatever size the host's structs have; describe()
// fills only as much of the model info as the host's struct_size covers;
// a step item is deferred only in a batch whose flags (ABI 2.2) allow it.
#include <citadel/sdk.hpp>
#include <citadel/step_outputs.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

using namespace citadel;

namespace {

// A model that answers each item with its position count as the token.
class StrideModel : public sdk::Model {
 public:
  StrideModel(const sdk::Host&, const sdk::ModelConfig&) {}
  citadel_model_info describe() override {
    citadel_model_info info{};
    info.vocab_size = 7;
    info.device_weight_bytes = 0x5555;  // ABI 2.1
    return info;
  }
  sdk::RequestPlan open_request(uint64_t, std::string_view, std::span<const uint8_t>) override { return {}; }
  void step(const citadel_step_batch& batch, citadel_step_output* outputs) override {
    for (uint32_t i = 0; i < batch.num_items; ++i) {
      outputs[i].token_id = static_cast<int32_t>(batch.items[i].num_computed_tokens + batch.items[i].num_new_tokens);
      outputs[i].appended_tokens = 1;
      outputs[i].num_logprobs = 0;
    }
  }
  void close_request(uint64_t) override {}
};

void host_log(citadel_host_context*, citadel_log_level, const char*) {}
void* host_block(citadel_host_context*, uint32_t) { return nullptr; }
citadel_status host_device(citadel_host_context*, citadel_device_info*) { return CITADEL_OK; }

citadel_host_api full_host() {
  citadel_host_api api{};
  api.struct_size = sizeof(api);
  api.abi_major = CITADEL_ABI_VERSION_MAJOR;
  api.abi_minor = CITADEL_ABI_VERSION_MINOR;
  api.log = host_log;
  api.cache_block_address = host_block;
  api.device_info = host_device;
  return api;
}

const citadel_plugin_api* plugin_for(const citadel_host_api* host) {
  return sdk::detail::make_plugin_api(host, "stride", "1.0.0",
                                      [](const sdk::Host& h, const sdk::ModelConfig& c) -> sdk::Model* {
                                        return new StrideModel(h, c);
                                      });
}

// A host whose items and outputs are larger than this SDK's (a newer host).
struct NewerItem {
  citadel_step_item item;
  uint64_t field_from_the_future;
};
struct NewerOutput {
  citadel_step_output output;
  uint64_t field_from_the_future;
};

}  // namespace

TEST_CASE("a plugin on a host whose table lacks a service fails create, naming it", "[sdk]") {
  citadel_host_api host = full_host();
  host.struct_size = static_cast<uint32_t>(offsetof(citadel_host_api, device_info));  // an older host
  host.device_info = host_device;  // present in memory, but not covered: must not be used
  const citadel_plugin_api* api = plugin_for(&host);
  citadel_instance* instance = nullptr;
  citadel_error error{};
  CHECK(api->create(nullptr, "{}", &instance, &error) == CITADEL_ERR_UNSUPPORTED);
  CHECK(instance == nullptr);
  CHECK_THAT(std::string(error.message), Catch::Contains("device_info") && Catch::Contains("upgrade the host"));

  host.abi_major = CITADEL_ABI_VERSION_MAJOR - 1;
  host.struct_size = sizeof(host);
  CHECK(api->create(nullptr, "{}", &instance, &error) == CITADEL_ERR_ABI_MISMATCH);
  CHECK_THAT(std::string(error.message), Catch::Contains("host ABI 1."));
}

TEST_CASE("step walks a newer host's items and outputs by the batch's strides", "[sdk]") {
  const citadel_host_api host = full_host();
  const citadel_plugin_api* api = plugin_for(&host);
  REQUIRE(CITADEL_HAS_MEMBER(api, citadel_plugin_api, detokenize));
  citadel_instance* instance = nullptr;
  citadel_error error{};
  REQUIRE(api->create(nullptr, "{}", &instance, &error) == CITADEL_OK);

  std::vector<NewerItem> items(3);
  for (uint32_t i = 0; i < items.size(); ++i) {
    items[i].item.struct_size = sizeof(NewerItem);
    items[i].item.request_id = 100 + i;
    items[i].item.num_computed_tokens = 10 * i;
    items[i].item.num_new_tokens = 1;
    items[i].field_from_the_future = 0xfeedfacecafebeefull;
  }
  std::vector<NewerOutput> outputs(3);
  for (NewerOutput& output : outputs) {
    std::memset(&output, 0, sizeof(output));
    output.output.struct_size = sizeof(NewerOutput);
    output.field_from_the_future = 0x1234;  // the SDK must leave it alone
  }
  const citadel_step_batch batch{sizeof(citadel_step_batch), 3, sizeof(NewerItem), sizeof(NewerOutput),
                                 &items[0].item};
  REQUIRE(api->step(instance, &batch, &outputs[0].output, &error) == CITADEL_OK);
  for (uint32_t i = 0; i < outputs.size(); ++i) {
    CHECK(outputs[i].output.request_id == 100 + i);
    CHECK(outputs[i].output.token_id == static_cast<int32_t>(10 * i + 1));
    CHECK(outputs[i].output.struct_size == sizeof(NewerOutput));
    CHECK(outputs[i].field_from_the_future == 0x1234);
  }

  // An older host: outputs end before the logprob fields; nothing is
  // written past them.
  const size_t older_size = offsetof(citadel_step_output, logprobs_first_position);
  std::vector<unsigned char> older(3 * older_size + 16, 0xAB);
  for (uint32_t i = 0; i < 3; ++i) std::memset(older.data() + i * older_size, 0, older_size);
  const citadel_step_batch older_batch{sizeof(citadel_step_batch), 3, sizeof(NewerItem),
                                       static_cast<uint32_t>(older_size), &items[0].item};
  REQUIRE(api->step(instance, &older_batch, reinterpret_cast<citadel_step_output*>(older.data()), &error) ==
          CITADEL_OK);
  citadel_step_output second{};
  std::memcpy(&second, older.data() + older_size, older_size);
  CHECK(second.request_id == 101);
  CHECK(second.token_id == 11);
  for (size_t b = 3 * older_size; b < older.size(); ++b) CHECK(older[b] == 0xAB);

  // Tokenizer operations exist in the table and say this model has none.
  citadel_token_ids ids{};
  ids.struct_size = sizeof(ids);
  CHECK(api->tokenize(instance, R"({"prompt": "x"})", &ids, &error) == CITADEL_ERR_UNSUPPORTED);
  CHECK_THAT(std::string(error.message), Catch::Contains("no tokenizer"));
  api->destroy(instance);
}

TEST_CASE("describe writes only the fields the host's model info covers", "[sdk]") {
  const citadel_host_api host = full_host();
  const citadel_plugin_api* api = plugin_for(&host);
  citadel_instance* instance = nullptr;
  citadel_error error{};
  REQUIRE(api->create(nullptr, "{}", &instance, &error) == CITADEL_OK);
  citadel_model_info current{};
  current.struct_size = sizeof(current);
  REQUIRE(api->describe(instance, &current, &error) == CITADEL_OK);
  CHECK(current.struct_size == sizeof(current));
  CHECK(current.device_weight_bytes == 0x5555);

  // An ABI 2.0 host: its struct ends before device_weight_bytes.
  const size_t older_size = offsetof(citadel_model_info, device_weight_bytes);
  std::vector<unsigned char> older(older_size + 16, 0xAB);
  std::memset(older.data(), 0, older_size);
  reinterpret_cast<citadel_model_info*>(older.data())->struct_size = static_cast<uint32_t>(older_size);
  REQUIRE(api->describe(instance, reinterpret_cast<citadel_model_info*>(older.data()), &error) == CITADEL_OK);
  citadel_model_info seen{};
  std::memcpy(&seen, older.data(), older_size);
  CHECK(seen.vocab_size == 7);
  CHECK(seen.struct_size == older_size);
  for (size_t b = older_size; b < older.size(); ++b) CHECK(older[b] == 0xAB);
  api->destroy(instance);
}

namespace {

// Defers every item where the batch allows it (sdk::StepOutputs), else
// appends token 1; with `force`, defers regardless (which the SDK refuses).
class DeferModel : public sdk::Model {
 public:
  DeferModel(const sdk::Host&, const sdk::ModelConfig& config) : force_(config.options.contains("force")) {}
  citadel_model_info describe() override { return citadel_model_info{}; }
  sdk::RequestPlan open_request(uint64_t, std::string_view, std::span<const uint8_t>) override { return {}; }
  void step(const citadel_step_batch& batch, citadel_step_output* outputs) override {
    outputs_.begin(batch, outputs);
    for (size_t i = 0; i < batch.num_items; ++i) {
      if (outputs_.may_defer() || force_) {
        outputs_.defer(i);
      } else {
        outputs_.append(i, 1, "x");
      }
    }
    outputs_.publish();
  }
  void close_request(uint64_t) override {}

 private:
  bool force_;
  sdk::StepOutputs outputs_;
};

}  // namespace

TEST_CASE("a plugin defers step items only where the host's batch allows it", "[sdk]") {
  const citadel_host_api host = full_host();
  const citadel_plugin_api* api = sdk::detail::make_plugin_api(
      &host, "defer", "1.0.0",
      [](const sdk::Host& h, const sdk::ModelConfig& c) -> sdk::Model* { return new DeferModel(h, c); });
  citadel_instance* instance = nullptr;
  citadel_error error{};
  REQUIRE(api->create(nullptr, R"({"options": {}})", &instance, &error) == CITADEL_OK);
  citadel_step_item item{};
  item.struct_size = sizeof(item);
  item.request_id = 7;
  item.num_new_tokens = 1;
  auto run = [&](citadel_step_batch batch) {
    citadel_step_output output{};
    output.struct_size = sizeof(output);
    REQUIRE(api->step(instance, &batch, &output, &error) == CITADEL_OK);
    return output;
  };
  citadel_step_batch batch{sizeof(citadel_step_batch), 1, sizeof(item), sizeof(citadel_step_output), &item,
                           CITADEL_STEP_MAY_DEFER};
  const citadel_step_output deferred = run(batch);
  CHECK(deferred.state == CITADEL_REQUEST_DEFERRED);
  CHECK(deferred.appended_tokens == 0);
  CHECK(deferred.text_len == 0);

  batch.flags = 0;  // a host that reschedules nothing
  CHECK(run(batch).state == CITADEL_REQUEST_RUNNING);
  CHECK(run(batch).appended_tokens == 1);

  // An ABI 2.1 host: its batch ends before flags, whatever lies after it.
  batch.flags = CITADEL_STEP_MAY_DEFER;
  batch.struct_size = static_cast<uint32_t>(offsetof(citadel_step_batch, flags));
  CHECK(run(batch).state == CITADEL_REQUEST_RUNNING);
  api->destroy(instance);

  // Deferring where the batch does not allow it fails the step, not the host.
  REQUIRE(api->create(nullptr, R"({"options": {"force": true}})", &instance, &error) == CITADEL_OK);
  citadel_step_output output{};
  output.struct_size = sizeof(output);
  batch.struct_size = sizeof(citadel_step_batch);
  batch.flags = 0;
  CHECK(api->step(instance, &batch, &output, &error) == CITADEL_ERR_INTERNAL);
  CHECK_THAT(std::string(error.message), Catch::Contains("does not allow"));
  api->destroy(instance);
}
