#include "http/router.hpp"

#include <boost/container/small_vector.hpp>

#include <algorithm>
#include <map>
#include <stdexcept>

namespace zhenwu::http {
namespace {

struct Route {
  bhttp::verb method;
  std::string pattern;
  Handler handler;
  RouteOptions options;
  std::vector<std::string> names;  // parameter names in path order
};

// Values of the parameters met on the way down, in path order; a handful at most.
using Values = boost::container::small_vector<std::string_view, 6>;

bool IsIdentifier(std::string_view s) {
  if (s.empty()) return false;
  auto ok_first = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
  };
  auto ok_rest = [&](char c) { return ok_first(c) || (c >= '0' && c <= '9'); };
  return ok_first(s[0]) && std::all_of(s.begin() + 1, s.end(), ok_rest);
}

[[noreturn]] void Malformed(std::string_view pattern, std::string_view why) {
  throw std::invalid_argument("route pattern \"" + std::string(pattern) +
                              "\": " + std::string(why));
}

// The route among `routes` that answers `method`; HEAD falls back to GET.
const Route* ForMethod(const std::vector<Route>& routes, bhttp::verb method) {
  const Route* get = nullptr;
  for (const Route& r : routes) {
    if (r.method == method) return &r;
    if (r.method == bhttp::verb::get) get = &r;
  }
  return method == bhttp::verb::head ? get : nullptr;
}

}  // namespace

struct Router::Node {
  std::map<std::string, std::unique_ptr<Node>, std::less<>> literals;
  std::unique_ptr<Node> param;     // "{name}": any one non-empty segment
  std::vector<Route> routes;       // routes whose pattern ends at this node
  std::vector<Route> rest_routes;  // routes whose final "{name...}" starts below this node

  // Calls `visit(routes, values)` for each route set matching `rest` (the path after this
  // node, without its leading '/'), best first: literal, then parameter, then rest. Stops and
  // returns true when `visit` does.
  template <class Visit>
  bool Walk(std::string_view rest, bool at_end, Values& values, const Visit& visit) const {
    if (at_end) return !routes.empty() && visit(routes, values);
    auto slash = rest.find('/');
    std::string_view segment = rest.substr(0, slash);
    bool next_at_end = slash == std::string_view::npos;
    std::string_view next = next_at_end ? std::string_view{} : rest.substr(slash + 1);
    if (auto it = literals.find(segment); it != literals.end()) {
      if (it->second->Walk(next, next_at_end, values, visit)) return true;
    }
    if (param && !segment.empty()) {
      values.push_back(segment);
      if (param->Walk(next, next_at_end, values, visit)) return true;
      values.pop_back();
    }
    if (!rest_routes.empty() && !rest.empty()) {
      values.push_back(rest);
      if (visit(rest_routes, values)) return true;
      values.pop_back();
    }
    return false;
  }
};

Router::Router() : root_(std::make_unique<Node>()) {}
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

void Router::Add(bhttp::verb method, std::string_view pattern, Handler handler,
                 RouteOptions options) {
  if (!handler) Malformed(pattern, "empty handler");
  if (method == bhttp::verb::unknown) Malformed(pattern, "unknown method");
  if (pattern.empty() || pattern[0] != '/') Malformed(pattern, "must start with '/'");

  Route route{method, std::string(pattern), std::move(handler), options, {}};
  Node* node = root_.get();
  std::vector<Route>* target = &node->routes;
  std::string_view rest = pattern.substr(1);
  bool last = rest.empty();  // "/" has no segments
  while (!last) {
    auto slash = rest.find('/');
    last = slash == std::string_view::npos;
    std::string_view segment = rest.substr(0, slash);
    rest = last ? std::string_view{} : rest.substr(slash + 1);
    if (segment.empty()) Malformed(pattern, "empty segment");

    if (segment.front() == '{') {
      if (segment.back() != '}') Malformed(pattern, "unclosed '{'");
      std::string_view name = segment.substr(1, segment.size() - 2);
      bool is_rest = name.ends_with("...");
      if (is_rest) name.remove_suffix(3);
      if (!IsIdentifier(name)) Malformed(pattern, "parameter names are identifiers");
      if (std::find(route.names.begin(), route.names.end(), name) != route.names.end()) {
        Malformed(pattern, "parameter named twice");
      }
      route.names.emplace_back(name);
      if (is_rest) {
        if (!last) Malformed(pattern, "\"{name...}\" must be the last segment");
        target = &node->rest_routes;
        break;
      }
      if (!node->param) node->param = std::make_unique<Node>();
      node = node->param.get();
    } else {
      if (segment.find_first_of("{}") != std::string_view::npos) {
        Malformed(pattern, "'{' and '}' only around a whole segment");
      }
      auto it = node->literals.find(segment);
      if (it == node->literals.end()) {
        it = node->literals.emplace(std::string(segment), std::make_unique<Node>()).first;
      }
      node = it->second.get();
    }
    target = &node->routes;
  }

  for (const Route& existing : *target) {
    if (existing.method == method) {
      throw std::invalid_argument("duplicate route " + std::string(bhttp::to_string(method)) + " " +
                                  std::string(pattern) + " (same as " + existing.pattern + ")");
    }
  }
  target->push_back(std::move(route));
}

Router::Match Router::Find(bhttp::verb method, std::string_view path) const {
  Match match;
  if (path.empty() || path[0] != '/') return match;
  std::string_view rest = path.substr(1);
  bool at_end = rest.empty();

  Values values;
  bool found =
      root_->Walk(rest, at_end, values, [&](const std::vector<Route>& routes, const Values& vals) {
        const Route* route = ForMethod(routes, method);
        if (!route) return false;
        match.handler = &route->handler;
        match.pattern = &route->pattern;
        match.options = route->options;
        match.params.reserve(vals.size());
        for (std::size_t i = 0; i < vals.size() && i < route->names.size(); ++i) {
          match.params.emplace_back(route->names[i], std::string(vals[i]));
        }
        return true;
      });
  if (found) return match;

  // The path may exist under other methods: collect them for a 405 Allow header.
  std::vector<std::string_view> methods;
  values.clear();
  root_->Walk(rest, at_end, values, [&](const std::vector<Route>& routes, const Values&) {
    for (const Route& r : routes) {
      methods.push_back(bhttp::to_string(r.method));
      if (r.method == bhttp::verb::get) methods.push_back(bhttp::to_string(bhttp::verb::head));
    }
    return false;
  });
  std::sort(methods.begin(), methods.end());
  methods.erase(std::unique(methods.begin(), methods.end()), methods.end());
  for (std::string_view m : methods) {
    if (!match.allowed.empty()) match.allowed.append(", ");
    match.allowed.append(m);
  }
  return match;
}

}  // namespace zhenwu::http
