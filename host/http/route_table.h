// RouteTable: maps (method, path) to an endpoint handler. Unknown paths are
// 404 and known paths with another method 405 (with Allow), both as ApiError.
// A path registered with a trailing "/*" matches every path under it
// (/v1/models/* for one model). The query string is ignored for matching.
//
// Filled by HttpServer (endpoints.cpp's register_endpoints); read by the
// session for every request. Immutable once the server starts.
#pragma once

#include "host/http/awaitable.h"
#include <boost/beast/http/verb.hpp>

#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace citadel::http {

class Exchange;
using Handler = std::function<boost::asio::awaitable<void>(Exchange&)>;

struct RouteMatch {
  const Handler* handler = nullptr;
  std::string route;  // the registered path, for metrics labels
};

class RouteTable {
 public:
  void add(boost::beast::http::verb method, const std::string& path, Handler handler);

  // The handler for the request, or throws ApiError (404 / 405).
  RouteMatch find(boost::beast::http::verb method, std::string_view target) const;

  // The registered path a target falls under, or "unmatched" (metrics label).
  std::string route_label(std::string_view target) const;

 private:
  const std::map<boost::beast::http::verb, Handler>* methods_for(std::string_view path,
                                                                 std::string* route) const;
  std::map<std::string, std::map<boost::beast::http::verb, Handler>> exact_;
  std::map<std::string, std::map<boost::beast::http::verb, Handler>> prefixes_;  // without "*"
};

// The path of a request target without its query string.
std::string_view target_path(std::string_view target);

}  // namespace citadel::http
