// deepseek-ocr through the real citadel binary: the plugin .so installed in a
// throw-away tree, a models.d file on the tiny checkpoint, page images POSTed
// to /v1/ocr (base64 JSON). The greedy text is the reference's; the same
// image asked twice is served from the prefix cache (usage reports the
// cached prompt tokens), a different image behind the same placeholder ids
// never is, and its text is what the plugin's pipeline computes for it
// in-process; pages sent at once each get their own text (the vision encoder
// on the step thread or on the plugin's encoder thread); the shipped
// models.d example serves; bad images and prompts are 400s naming the problem.
#include "deepseek_ocr/ocr_reference.hpp"
#include "integration/host_tree.hpp"
#include "support/http_client.hpp"

#include "decoder_config.h"
#include "decoder_pass.h"
#include "decoder_weights.h"
#include "host/http/base64.h"
#include "prompt_layout.h"
#include "vision/deep_encoder.h"

#include "runtime/text/tokenizer.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>

namespace json = boost::json;
using namespace citadel;

namespace {

std::vector<uint8_t> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// models.d/ocr.yaml on the tiny checkpoint: the given text, or by default a
// small cache and tiny mode.
struct OcrServing {
  explicit OcrServing(const std::string& model_yaml = "", int cpu_cache_mb = 64) {
    tree.write_raw("citadel.yaml",
                   "admin:\n  socket: run/admin.sock\nplugins_dir: plugins\nmodels_dir: models.d\n"
                   "runtime_dir: run/runtime\nhttp:\n  listen: 127.0.0.1:0\n"
                   "devices: [cpu]\ncpu_cache_mb: " + std::to_string(cpu_cache_mb) + "\nlog_level: info\n");
    const std::filesystem::path plugin = tree.root() / "plugins" / "deepseek-ocr";
    std::filesystem::create_directories(plugin);
    std::filesystem::copy_file(test::binary_dir() / "plugins/deepseek-ocr/deepseek-ocr.so", plugin / "deepseek-ocr.so");
    std::filesystem::copy_file(test::source_dir() / "plugins/deepseek-ocr/plugin.yaml", plugin / "plugin.yaml");
    tree.write_raw("models.d/ocr.yaml", !model_yaml.empty() ? model_yaml
                                        : "name: ocr\nplugin: deepseek-ocr\ndevice: cpu\nweights: " +
                                              test::ocr_model_dir().string() +
                                              "\ncache:\n  size_mb: 16\noptions: {threads: 2, default_mode: tiny}\n");
    process = tree.start();
    for (int attempt = 0; attempt < 400 && port == 0; ++attempt) {
      const json::object status = process->request({{"cmd", "status"}}).at("status").as_object();
      if (const json::value* http_port = status.if_contains("http_port")) port = http_port->to_number<uint16_t>();
      else std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE(port != 0);
  }

  test::HttpResponse ocr(const std::string& image_file, const std::string& prompt, int max_tokens = 32) {
    const std::vector<uint8_t> bytes = read_bytes(test::ocr_data_dir() / image_file);
    json::object body{{"model", "ocr"}, {"image", http::base64_encode(bytes)}, {"prompt", prompt},
                      {"max_tokens", max_tokens}, {"temperature", 0}};
    test::HttpClient client("127.0.0.1", port);
    return client.post_json("/v1/ocr", json::serialize(body));
  }

  test::HostTree tree;
  std::unique_ptr<test::CitadelProcess> process;
  uint16_t port = 0;
};

int64_t cached_tokens(const json::value& reply) {
  const json::object& usage = reply.at("usage").as_object();
  const json::value* details = usage.if_contains("prompt_tokens_details");
  return details ? details->at("cached_tokens").to_number<int64_t>() : 0;
}

// The greedy text the plugin's own pipeline gives for a page (tiny mode), in-process.
std::string pipeline_text(const std::string& image_file, const std::string& prompt, size_t tokens) {
  const deepseek_ocr::DecoderConfig config = deepseek_ocr::load_decoder_config(test::ocr_model_dir());
  const runtime::SafetensorsCheckpoint checkpoint(test::ocr_model_dir());
  const deepseek_ocr::DecoderWeights weights = deepseek_ocr::load_decoder_weights(config, checkpoint);
  const runtime::Tokenizer tokenizer = runtime::Tokenizer::from_file(test::ocr_model_dir() / "tokenizer.json");
  runtime::ThreadPool pool(2);
  auto encoder = deepseek_ocr::DeepEncoder::load_cpu(test::ocr_model_dir(), pool);
  const deepseek_ocr::PreparedImage image =
      deepseek_ocr::prepare_image(read_bytes(test::ocr_data_dir() / image_file), deepseek_ocr::ResolutionMode::tiny);
  deepseek_ocr::PromptLayout layout = deepseek_ocr::layout_prompt(
      tokenizer, prompt, config.bos_token_id, 128815, static_cast<uint32_t>(image.num_image_tokens));
  const std::vector<float> rows = encoder->encode(image);
  deepseek_ocr::DecoderPass pass(config, weights, runtime::DType::f16);
  test::TestBlocks blocks(deepseek_ocr::kTokensPerBlock * config.num_layers * pass.bytes_per_token_per_layer(),
                          deepseek_ocr::kTokensPerBlock);
  std::vector<int32_t>& sequence = layout.ids;
  const size_t prompt_tokens = sequence.size();
  deepseek_ocr::DecoderChunk prompt_chunk;
  prompt_chunk.tokens = sequence;
  prompt_chunk.blocks = blocks.cover(sequence.size());
  prompt_chunk.image = deepseek_ocr::EmbeddingRun{layout.image_begin, layout.image_tokens, rows.data()};
  prompt_chunk.want_logits = true;
  test::greedy_continue(pass, blocks, sequence, pass.run(std::span(&prompt_chunk, 1), pool), tokens, pool);
  return tokenizer.decode(std::span(sequence).subspan(prompt_tokens), /*skip_special_tokens=*/false);
}

}  // namespace

TEST_CASE("POST /v1/ocr gives the reference's greedy text and caches an image's prefix by its content",
          "[deepseek-ocr][integration]") {
  OcrServing serving;
  const json::object index = test::ocr_index();
  const json::object& small = index.at("cases").at("small-tiny").as_object();
  const std::string prompt(small.at("prompt").as_string());

  const test::HttpResponse first = serving.ocr("images/small.png", prompt);
  INFO(first.body);
  REQUIRE(first.status == 200);
  const json::value reply = first.json();
  CHECK(reply.at("object").as_string() == "ocr");
  CHECK(reply.at("text").as_string() == small.at("greedy_text").as_string());
  CHECK(reply.at("finish_reason").as_string() == "length");
  CHECK(reply.at("usage").at("prompt_tokens").to_number<int64_t>() == small.at("n_prompt_tokens").to_number<int64_t>());
  CHECK(reply.at("usage").at("completion_tokens").to_number<int64_t>() == 32);
  CHECK(cached_tokens(reply) == 0);

  // The same image again: every full block of its 88-token prompt is cached.
  const test::HttpResponse again = serving.ocr("images/small.png", prompt);
  REQUIRE(again.status == 200);
  CHECK(cached_tokens(again.json()) == 80);
  CHECK(again.json().at("text") == reply.at("text"));

  // Another page in the same mode has the same 88 prompt ids; its placeholder
  // run starts at position 1, so not even the first block is shared.
  const test::HttpResponse other = serving.ocr("images/tall.png", prompt);
  INFO(other.body);
  REQUIRE(other.status == 200);
  CHECK(other.json().at("usage").at("prompt_tokens") == reply.at("usage").at("prompt_tokens"));
  CHECK(cached_tokens(other.json()) == 0);
  const std::string other_text(other.json().at("text").as_string());
  CHECK(other_text == pipeline_text("images/tall.png", prompt, 32));
  CHECK(other_text != std::string(reply.at("text").as_string()));
  const test::HttpResponse other_again = serving.ocr("images/tall.png", prompt);
  CHECK(cached_tokens(other_again.json()) == 80);
  CHECK(other_again.json().at("text").as_string() == other_text);
}

TEST_CASE("pages sent at once (batched as the scheduler sees fit) each get their own reference text", "[deepseek-ocr][integration]") {
  // The encoder on the step thread (the CPU's default), on its own thread,
  // and on its own thread with prefills deferred while their images are
  // encoded (the other pages' steps go on).
  const std::string encoder_thread =
      GENERATE(as<std::string>{}, "auto", "true", "true, defer_unready_images: true");
  INFO("vision_encoder_thread: " << encoder_thread);
  OcrServing serving("name: ocr\nplugin: deepseek-ocr\ndevice: cpu\nweights: " + test::ocr_model_dir().string() +
                     "\ncache:\n  size_mb: 16\noptions: {threads: 2, default_mode: tiny, vision_encoder_thread: " +
                     encoder_thread + "}\n");
  const json::object index = test::ocr_index();
  const std::vector<std::string> pages{"small-tiny", "tall-tiny", "wide-tiny"};
  std::vector<test::HttpResponse> responses(pages.size());
  std::vector<std::thread> clients;
  for (size_t i = 0; i < pages.size(); ++i) {
    clients.emplace_back([&, i] {
      const json::object& entry = index.at("cases").at(pages[i]).as_object();
      responses[i] = serving.ocr(std::string(entry.at("image").as_string()), std::string(entry.at("prompt").as_string()));
    });
  }
  for (std::thread& client : clients) client.join();
  for (size_t i = 0; i < pages.size(); ++i) {
    INFO(pages[i] << ": " << responses[i].body);
    REQUIRE(responses[i].status == 200);
    CHECK(responses[i].json().at("text") == index.at("cases").at(pages[i]).at("greedy_text"));
  }
}

// The shipped example, its name and weights replaced.
std::string example_model_yaml() {
  std::ifstream in(test::source_dir() / "config/models.d/deepseek-ocr.yaml.example");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  const size_t name = text.find("name: deepseek-ocr\n");
  REQUIRE(name != std::string::npos);
  text.replace(name, std::string("name: deepseek-ocr").size(), "name: ocr");
  const size_t weights = text.find("weights: ");
  REQUIRE(weights != std::string::npos);
  text.replace(weights, text.find('\n', weights) - weights, "weights: " + test::ocr_model_dir().string());
  return text;
}

TEST_CASE("the shipped models.d example serves; bad images and prompts are 400s naming the problem",
          "[deepseek-ocr][integration]") {
  OcrServing serving(example_model_yaml(), 320);  // the example's 256 MB cache
  test::HttpClient client("127.0.0.1", serving.port);
  // The native input through /inference picks the mode (the example's default is gundam).
  const std::vector<uint8_t> png = read_bytes(test::ocr_data_dir() / "images/small.png");
  const json::object index = test::ocr_index();
  const json::object& small_tiny = index.at("cases").at("small-tiny").as_object();
  const test::HttpResponse native = client.post_json(
      "/inference", json::serialize(json::object{
                        {"model", "ocr"}, {"image", http::base64_encode(png)},
                        {"input", json::object{{"prompt", small_tiny.at("prompt")}, {"mode", "tiny"}, {"max_tokens", 32}}}}));
  INFO(native.body);
  REQUIRE(native.status == 200);
  CHECK(native.json().at("output").at("text") == small_tiny.at("greedy_text"));
  CHECK(native.json().at("usage").at("completion_tokens").to_number<int64_t>() == 32);
  // The default mode: 480x360 is not tiled in Gundam mode, so the 1024 global view alone (273 tokens).
  const test::HttpResponse gundam = serving.ocr("images/small.png", "<image>\nFree OCR.", 2);
  REQUIRE(gundam.status == 200);
  CHECK(gundam.json().at("usage").at("prompt_tokens").to_number<int64_t>() == 1 + 273 + 4);

  const std::string not_an_image = http::base64_encode(std::vector<uint8_t>{'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o'});
  const test::HttpResponse garbage = client.post_json(
      "/v1/ocr", json::serialize(json::object{{"model", "ocr"}, {"image", not_an_image}, {"max_tokens", 4}}));
  INFO(garbage.body);
  CHECK(garbage.status == 400);
  const test::HttpResponse bad_mode = client.post_json(
      "/inference", json::serialize(json::object{{"model", "ocr"}, {"image", http::base64_encode(png)},
                                                 {"input", json::object{{"mode", "huge"}}}}));
  INFO(bad_mode.body);
  CHECK(bad_mode.status == 400);
  CHECK(bad_mode.body.find("mode") != std::string::npos);
  const test::HttpResponse two_images = client.post_json(
      "/v1/ocr", json::serialize(json::object{{"model", "ocr"}, {"image", http::base64_encode(png)},
                                              {"prompt", "<image><image> twice"}, {"max_tokens", 4}}));
  INFO(two_images.body);
  CHECK(two_images.status == 400);
  CHECK(two_images.body.find("exactly one <image>") != std::string::npos);
  // The model keeps serving.
  const test::HttpResponse fine = serving.ocr("images/small.png", "<image>\nFree OCR.", 2);
  CHECK(fine.status == 200);
}
