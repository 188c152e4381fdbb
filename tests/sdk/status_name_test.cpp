#include <catch2/catch.hpp>
#include <citadel/plugin.h>
#include <string>

TEST_CASE("every status has a distinct readable name", "[sdk]") {
  CHECK(std::string(citadel_status_name(CITADEL_OK)) == "ok");
  CHECK(std::string(citadel_status_name(CITADEL_ERR_ABI_MISMATCH)) == "abi_mismatch");
  CHECK(std::string(citadel_status_name(static_cast<citadel_status>(999))) == "unknown");
}
