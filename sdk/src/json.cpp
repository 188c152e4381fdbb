// Boost.JSON compiled once (header-only mode) into target citadel_json, which
// the SDK and the host both link: one copy, position-independent, so plugins
// (.so) can carry it too.
#include <boost/json/src.hpp>
