#include <catch2/catch.hpp>

#include "host/admin/admin_table_format.h"

using namespace citadel::admin;
namespace json = boost::json;

TEST_CASE("an array of objects becomes an aligned table with upper-case headers", "[admin]") {
  const json::array rows = json::parse(R"([
      {"name": "chat", "state": "ready", "queued": 3},
      {"name": "ocr-large", "state": "loading", "device": "cuda:0"}])").as_array();
  CHECK(format_table(rows) ==
        "NAME       STATE    QUEUED  DEVICE\n"
        "chat       ready    3       -\n"
        "ocr-large  loading  -       cuda:0\n");
  CHECK(format_table(rows, 2).rfind("  NAME", 0) == 0);
}

TEST_CASE("an object becomes key: value lines with nested objects indented", "[admin]") {
  const json::object object = json::parse(R"({
      "generation": 4, "healthy": true, "last_error": null,
      "devices": ["cpu", "cuda:0"],
      "pool": {"used_mb": 12.5, "budget": {"total_mb": 1024}},
      "models": [{"name": "a"}], "errors": []})").as_object();
  CHECK(format_object(object) ==
        "generation: 4\n"
        "healthy: true\n"
        "last_error: -\n"
        "devices: cpu, cuda:0\n"
        "pool:\n"
        "  used_mb: 12.5\n"
        "  budget:\n"
        "    total_mb: 1024\n"
        "models:\n"
        "  NAME\n"
        "  a\n"
        "errors: (none)\n");
}

TEST_CASE("a reply holding one table prints only the table, without protocol fields", "[admin]") {
  const json::object reply =
      json::parse(R"({"ok": true, "id": 3, "models": [{"name": "chat", "plugin": "llm"}]})").as_object();
  CHECK(format_reply(reply) == "NAME  PLUGIN\nchat  llm\n");
  const json::object plain = json::parse(R"({"ok": true, "id": 3, "version": "0.1.0"})").as_object();
  CHECK(format_reply(plain) == "version: 0.1.0\n");
}

TEST_CASE("nested values in table cells print as compact JSON", "[admin]") {
  const json::array rows = json::parse(R"([{"name": "a", "cache": {"size_mb": 5}}])").as_array();
  CHECK(format_table(rows) == "NAME  CACHE\na     {\"size_mb\":5}\n");
}
