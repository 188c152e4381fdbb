// Dropping a bare plugin library into plugins_dir (no folder, no manifest):
// the next reload finds it, names it by what its entry table reports
// (plugin_name, plugin_version) and serves the model that names it over
// HTTP. Libraries that are no usable plugin, and two plugins with one name,
// are refused naming the file, while the running models keep serving.
#include "integration/host_tree.hpp"
#include "support/http_client.hpp"

#include <catch2/catch.hpp>

#include <csignal>

namespace {

std::filesystem::path built_plugin(const std::string& variant) {
  return citadel::test::binary_dir() / "test-plugins" / variant / (variant + ".so");
}

// Copies a built test plugin to <plugins_dir>/<file> as an operator would
// (write beside, rename over).
void drop_library(const citadel::test::HostTree& tree, const std::string& variant,
                  const std::string& file) {
  const std::filesystem::path target = tree.root() / "plugins" / file;
  std::filesystem::copy_file(built_plugin(variant), target.string() + ".new",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::rename(target.string() + ".new", target);
}

boost::json::object reload(citadel::test::CitadelProcess& host) {
  const int64_t before = citadel::test::last_reload_ms(host);
  host.signal(SIGHUP);
  return citadel::test::wait_for_reload(host, before).at("last_reload").as_object();
}

std::string errors_of(const boost::json::object& report) {
  return boost::json::serialize(report.at("errors"));
}

}  // namespace

TEST_CASE("a bare .so copied into plugins_dir serves after SIGHUP", "[integration][plugins]") {
  citadel::test::HostTree tree("127.0.0.1:0");
  tree.write_model("folder", "echo");
  auto host = tree.start();
  citadel::test::HttpClient client("127.0.0.1", citadel::test::http_port(*host));

  drop_library(tree, "echo-bare", "echo-bare.so");
  tree.write_raw("models.d/dropped.yaml",
                 "name: dropped\nplugin: echo-bare\ndevice: cpu\ncache: {size_mb: 8}\n");
  const boost::json::object report = reload(*host);
  INFO(boost::json::serialize(report) << "\n" << host->log());
  REQUIRE(report.at("ok").as_bool());
  CHECK(report.at("added") == boost::json::array{"dropped"});

  const boost::json::object model = host->request({{"cmd", "model"}, {"name", "dropped"}}).at("model").as_object();
  CHECK(model.at("plugin").as_string() == "echo-bare");
  CHECK(model.at("plugin_version").as_string() == "3.0.0");
  const citadel::test::HttpResponse chat = client.post_json(
      "/v1/chat/completions",
      R"({"model":"dropped","messages":[{"role":"user","content":"hi"}],"max_tokens":5})");
  REQUIRE(chat.status == 200);
  CHECK(chat.json().at("choices").at(0).at("message").at("content").as_string() == "bare:hihih");
  const citadel::test::HttpResponse completion =
      client.post_json("/v1/completions", R"({"model":"folder","prompt":"abc","max_tokens":4})");
  CHECK(completion.json().at("choices").at(0).at("text").as_string() == "abca");

  SECTION("a replaced bare library is loaded again at the next reload") {
    drop_library(tree, "echo-v2", "echo-bare.so");  // reports the name "echo" now
    tree.write_raw("models.d/dropped.yaml",
                   "name: dropped\nplugin: echo\ndevice: cpu\ncache: {size_mb: 8}\n");
    const boost::json::object second = reload(*host);
    INFO(boost::json::serialize(second));
    // "echo" is also the folder plugin: two plugins with one name.
    REQUIRE_FALSE(second.at("ok").as_bool());
    CHECK_THAT(errors_of(second), Catch::Contains("two plugins named \\\"echo\\\"") &&
                                      Catch::Contains("echo-bare.so"));
    std::filesystem::remove(tree.root() / "plugins" / "echo-bare.so");
    drop_library(tree, "echo-v2", "echo-two.so");
    std::filesystem::remove_all(tree.root() / "plugins" / "echo");
    tree.write_model("folder", "echo");
    const boost::json::object third = reload(*host);
    INFO(boost::json::serialize(third));
    REQUIRE(third.at("ok").as_bool());
    CHECK(citadel::test::infer(*host, "dropped", "ab", 4).at("text").as_string() == "v2:abab");
    CHECK(citadel::test::infer(*host, "folder", "ab", 4).at("text").as_string() == "v2:abab");
  }
}

TEST_CASE("a bare .so that is no usable plugin is refused naming the file", "[integration][plugins]") {
  citadel::test::HostTree tree;
  tree.write_model("folder", "echo");
  auto host = tree.start();

  // Unused: only a warning, the reload goes through.
  drop_library(tree, "echo-badabi", "echo-badabi.so");
  const boost::json::object unused = reload(*host);
  INFO(boost::json::serialize(unused));
  CHECK(unused.at("ok").as_bool());
  CHECK_THAT(boost::json::serialize(unused.at("warnings")),
             Catch::Contains("echo-badabi.so") && Catch::Contains("ABI 99"));

  // Named by a model (under the file's stem): an error naming the file.
  tree.write_raw("models.d/bad.yaml", "name: bad\nplugin: echo-badabi\ndevice: cpu\n");
  const boost::json::object refused = reload(*host);
  INFO(boost::json::serialize(refused));
  CHECK_FALSE(refused.at("ok").as_bool());
  CHECK_THAT(errors_of(refused), Catch::Contains("echo-badabi.so") && Catch::Contains("ABI 99"));

  drop_library(tree, "echo-noentry", "echo-badabi.so");
  const boost::json::object no_entry = reload(*host);
  CHECK_THAT(errors_of(no_entry), Catch::Contains("echo-badabi.so") &&
                                      Catch::Contains("citadel_plugin_entry"));
  CHECK(citadel::test::infer(*host, "folder", "ok", 2).at("text").as_string() == "ok");
}
