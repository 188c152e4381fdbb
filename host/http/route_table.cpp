// RouteTable: exact and prefix routes, 404 / 405 errors.
#include "host/http/route_table.h"

#include "host/http/api_error.h"

#include <boost/beast/http/verb.hpp>

namespace citadel::http {

namespace bhttp = boost::beast::http;

std::string_view target_path(std::string_view target) {
  const size_t query = target.find_first_of("?#");
  return query == std::string_view::npos ? target : target.substr(0, query);
}

void RouteTable::add(bhttp::verb method, const std::string& path, Handler handler) {
  if (path.size() >= 2 && path.ends_with("/*"))
    prefixes_[path.substr(0, path.size() - 1)][method] = std::move(handler);
  else
    exact_[path][method] = std::move(handler);
}

const std::map<bhttp::verb, Handler>* RouteTable::methods_for(std::string_view path,
                                                              std::string* route) const {
  if (auto exact = exact_.find(std::string(path)); exact != exact_.end()) {
    *route = exact->first;
    return &exact->second;
  }
  for (const auto& [prefix, methods] : prefixes_) {
    if (path.size() > prefix.size() && path.starts_with(prefix)) {
      *route = prefix + "*";
      return &methods;
    }
  }
  return nullptr;
}

RouteMatch RouteTable::find(bhttp::verb method, std::string_view target) const {
  const std::string_view path = target_path(target);
  RouteMatch match;
  const auto* methods = methods_for(path, &match.route);
  if (methods == nullptr) throw route_not_found(std::string(path));
  auto found = methods->find(method);
  if (found == methods->end()) {
    std::string allowed;
    for (const auto& [verb, handler] : *methods) {
      if (!allowed.empty()) allowed += ", ";
      allowed += std::string(bhttp::to_string(verb));
    }
    throw method_not_allowed(std::string(bhttp::to_string(method)), std::string(path), allowed);
  }
  match.handler = &found->second;
  return match;
}

std::string RouteTable::route_label(std::string_view target) const {
  std::string route;
  return methods_for(target_path(target), &route) ? route : "unmatched";
}

}  // namespace citadel::http
