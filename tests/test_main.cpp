// The Catch2 main of citadel-tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
