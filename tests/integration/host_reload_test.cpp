// Reloads of the real citadel binary: YAML edits + SIGHUP, a swapped .so
// serving its new version while requests on the old one complete, and every
// kind of bad configuration rejected with the old one still serving.
#include "integration/host_tree.hpp"

#include <citadel/plugin.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

using citadel::test::HostTree;

namespace {

std::vector<std::string> model_names(citadel::test::CitadelProcess& host) {
  std::vector<std::string> names;
  const boost::json::object reply = host.request({{"cmd", "models"}});
  for (const auto& model : reply.at("models").as_array()) {
    names.emplace_back(model.at("name").as_string());
  }
  return names;
}

std::string joined_errors(const boost::json::object& status) {
  std::string text;
  for (const auto& error : status.at("config_errors").as_array()) {
    text += std::string(error.as_string()) + "\n";
  }
  return text;
}

}  // namespace

TEST_CASE("a YAML edit and SIGHUP add, remove and change models", "[integration]") {
  HostTree tree;
  tree.write_model("keep", "echo");
  tree.write_model("change", "echo");
  tree.write_model("drop", "echo");
  auto host = tree.start();
  const int64_t before = citadel::test::last_reload_ms(*host);

  tree.remove_model("drop");
  tree.write_model("change", "echo", "tokens_per_block: 4");
  tree.write_model("fresh", "echo");
  host->signal(SIGHUP);
  auto status = citadel::test::wait_for_reload(*host, before);

  CHECK(status.at("generation").to_number<int>() == 2);
  const auto& report = status.at("last_reload").as_object();
  CHECK(report.at("ok").as_bool());
  CHECK(report.at("trigger").as_string() == "SIGHUP");
  CHECK(report.at("added") == boost::json::array{"fresh"});
  CHECK(report.at("removed") == boost::json::array{"drop"});
  CHECK(report.at("changed") == boost::json::array{"change"});
  CHECK(model_names(*host) == std::vector<std::string>{"change", "fresh", "keep"});

  auto changed = host->request({{"cmd", "model"}, {"name", "change"}}).at("model").as_object();
  CHECK(changed.at("generation").to_number<int>() == 2);
  CHECK(changed.at("describe").at("tokens_per_block").to_number<int>() == 4);
  auto kept = host->request({{"cmd", "model"}, {"name", "keep"}}).at("model").as_object();
  CHECK(kept.at("generation").to_number<int>() == 1);
  CHECK(citadel::test::infer(*host, "fresh", "new", 3).at("text").as_string() == "new");
  CHECK(citadel::test::infer(*host, "drop", "x", 1).at("error").at("code").as_string() ==
        "unknown_model");
}

// Regression: `status` read the generation and the last reload's report
// separately, so a reload finishing between the two reads paired its report
// with the generation before it (CI, stop 26, under ASan: a waiter saw the
// SIGHUP reload finished and generation 1).
TEST_CASE("status never pairs a reload's report with an older generation", "[integration]") {
  HostTree tree;
  tree.write_model("chat", "echo");
  auto host = tree.start();

  std::atomic<bool> reloading{true};
  std::atomic<int> snapshots{0};
  std::vector<std::string> mismatches;
  std::thread reader([&] {
    try {
      while (reloading) {
        const auto status = host->request({{"cmd", "status"}}).at("status").as_object();
        ++snapshots;
        const auto* last = status.if_contains("last_reload");
        if (last == nullptr) continue;
        const auto shown = status.at("generation").to_number<uint64_t>();
        const auto reported = last->at("generation").to_number<uint64_t>();
        if (reported > shown) {
          mismatches.push_back("generation " + std::to_string(shown) + " with the report of " +
                               std::to_string(reported));
        }
      }
    } catch (const std::exception& error) {
      mismatches.push_back(std::string("status failed: ") + error.what());
    }
  });
  constexpr int kReloads = 40;
  int reloaded = 0;
  for (int index = 0; index < kReloads; ++index) {
    tree.write_model("chat", "echo", "tokens_per_block: " + std::to_string(index % 2 == 0 ? 4 : 8));
    if (!host->request({{"cmd", "reload"}}).at("ok").as_bool()) break;
    ++reloaded;
  }
  reloading = false;
  reader.join();
  CHECK(reloaded == kReloads);
  INFO((mismatches.empty() ? std::string() : mismatches.front()));
  CHECK(mismatches.empty());
  CHECK(snapshots > 0);
  CHECK(citadel::test::generation_of(*host) == 1 + kReloads);
}

TEST_CASE("a replaced .so serves its new version while requests on the old one complete",
          "[integration]") {
  HostTree tree;
  tree.write_model("chat", "echo", "step_delay_ms: 15");
  auto host = tree.start();

  // A long streamed request on v1.
  auto old_connection = host->connect();
  auto first = citadel::test::start_streamed_infer(old_connection, "chat", "old", 30);
  REQUIRE(first.at("event").as_string() == "token");
  CHECK(first.at("text").as_string() == "o");

  tree.install_plugin("echo", "echo-v2");
  auto reload = host->request({{"cmd", "reload"}});
  REQUIRE(reload.at("ok").as_bool());
  CHECK(reload.at("report").at("changed") == boost::json::array{"chat"});
  // How long it took is reported (speed is bench/'s business, not a test's).
  CHECK(reload.at("report").at("duration_ms").to_number<double>() > 0.0);

  auto fresh = citadel::test::infer(*host, "chat", "new", 3);
  REQUIRE(fresh.at("ok").as_bool());
  CHECK(fresh.at("text").as_string() == "v2:new");
  CHECK(host->request({{"cmd", "models"}}).at("models").at(0).at("plugin_version").as_string() ==
        "2.0.0");

  auto last = citadel::test::read_final_line(old_connection);
  REQUIRE(last.at("ok").as_bool());
  CHECK(last.at("text").as_string() == "oldoldoldoldoldoldoldoldoldold");
  CHECK(last.at("finish_reason").as_string() == "length");
}

// Asks for a reload (admin, then SIGHUP) of a configuration that must be
// refused with `expected` in its errors while generation 1 keeps serving.
static void check_rejected(HostTree& tree, citadel::test::CitadelProcess& host,
                    const std::string& expected) {
  tree.write_model("chat", "echo", "tokens_per_block: 8");  // a change that must not apply

  auto reply = host.request({{"cmd", "reload"}});
  CHECK_FALSE(reply.at("ok").as_bool());
  CHECK(reply.at("error").at("code").as_string() == "reload_failed");
  CHECK_THAT(std::string(reply.at("error").at("message").as_string()), Catch::Contains(expected));

  auto status = host.request({{"cmd", "status"}}).at("status").as_object();
  CHECK(status.at("generation").to_number<int>() == 1);
  CHECK_THAT(joined_errors(status), Catch::Contains(expected));
  CHECK_FALSE(status.at("last_reload").at("ok").as_bool());
  CHECK(model_names(host) == std::vector<std::string>{"chat"});
  CHECK(host.request({{"cmd", "model"}, {"name", "chat"}})
            .at("model").at("describe").at("tokens_per_block").to_number<int>() == 16);
  CHECK(citadel::test::infer(host, "chat", "still", 5).at("text").as_string() == "still");
  CHECK_THAT(host.log(), Catch::Contains(expected));

  // SIGHUP takes the same path and reports the same way.
  const int64_t before = citadel::test::last_reload_ms(host);
  host.signal(SIGHUP);
  status = citadel::test::wait_for_reload(host, before);
  CHECK(status.at("generation").to_number<int>() == 1);
  CHECK_THAT(joined_errors(status), Catch::Contains(expected));
}

TEST_CASE("bad configurations are rejected and the old one keeps serving", "[integration]") {
  HostTree tree;
  tree.write_model("chat", "echo");
  auto host = tree.start();

  SECTION("malformed YAML") {
    tree.write_raw("models.d/broken.yaml", "name: broken\nplugin: [echo\n");
    check_rejected(tree, *host, "broken.yaml:");
  }
  SECTION("a plugin speaking another ABI") {
    tree.install_plugin("badabi", "echo-badabi");
    tree.write_model("newer", "badabi");
    check_rejected(tree, *host, "speaks ABI 99." + std::to_string(CITADEL_ABI_VERSION_MINOR) + ", host speaks " + std::to_string(CITADEL_ABI_VERSION_MAJOR) + ".");
  }
  SECTION("a plugin without the entry symbol") {
    tree.install_plugin("noentry", "echo-noentry");
    tree.write_model("newer", "noentry");
    check_rejected(tree, *host, "does not export citadel_plugin_entry");
  }
  SECTION("a plugin whose create fails") {
    tree.write_model("newer", "echo", "fail_create: true");
    check_rejected(tree, *host, "create failed");
  }
  SECTION("a model naming a plugin that does not exist") {
    tree.write_model("newer", "no-such-plugin");
    check_rejected(tree, *host, "no-such-plugin");
  }
}

TEST_CASE("load and unload edit models.d and reload", "[integration]") {
  HostTree tree;
  tree.write_model("chat", "echo");
  auto host = tree.start();
  tree.write_raw("incoming/extra.yaml", "name: extra\nplugin: echo\n");

  auto loaded = host->request({{"cmd", "load"}, {"file", (tree.root() / "incoming/extra.yaml").string()}});
  REQUIRE(loaded.at("ok").as_bool());
  CHECK(loaded.at("report").at("added") == boost::json::array{"extra"});
  CHECK(std::filesystem::exists(tree.models_dir() / "extra.yaml"));

  auto unloaded = host->request({{"cmd", "unload"}, {"name", "chat"}});
  REQUIRE(unloaded.at("ok").as_bool());
  CHECK(unloaded.at("report").at("removed") == boost::json::array{"chat"});
  CHECK(model_names(*host) == std::vector<std::string>{"extra"});
  CHECK(host->request({{"cmd", "unload"}, {"name", "chat"}}).at("error").at("code").as_string() ==
        "not_found");

  // `load NAME` brings an unloaded model back.
  auto reloaded = host->request({{"cmd", "load"}, {"name", "chat"}});
  REQUIRE(reloaded.at("ok").as_bool());
  CHECK(reloaded.at("report").at("added") == boost::json::array{"chat"});
  CHECK(model_names(*host) == std::vector<std::string>{"chat", "extra"});
  CHECK(host->request({{"cmd", "load"}, {"name", "nosuch"}}).at("error").at("code").as_string() ==
        "bad_request");

  // A file that does not validate is taken back out.
  tree.write_raw("incoming/bad.yaml", "name: bad\nplugin: echo\nbogus_key: 1\n");
  auto refused = host->request({{"cmd", "load"}, {"file", (tree.root() / "incoming/bad.yaml").string()}});
  CHECK_FALSE(refused.at("ok").as_bool());
  CHECK_FALSE(std::filesystem::exists(tree.models_dir() / "bad.yaml"));
}
