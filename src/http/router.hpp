#pragma once
// Routes by method and path pattern. Patterns are literal segments, "{name}" for one segment
// and a final "{name...}" for the rest of the path: "/cases/{id}", "/static/{path...}".
// Lookup is a walk down a segment tree; literal segments win over parameters.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/types.hpp"

namespace zhenwu::http {

struct RouteOptions {
  // An anonymous GET of this route may be answered from the rendered-page cache.
  bool cacheable = false;
};

class Router {
 public:
  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  // Adds a route; a GET route also answers HEAD. Throws std::invalid_argument on a malformed
  // pattern or a duplicate (method, pattern): wiring mistakes are programming errors.
  void Add(bhttp::verb method, std::string_view pattern, Handler handler,
           RouteOptions options = {});
  void Get(std::string_view pattern, Handler handler, RouteOptions options = {}) {
    Add(bhttp::verb::get, pattern, std::move(handler), options);
  }
  void Post(std::string_view pattern, Handler handler, RouteOptions options = {}) {
    Add(bhttp::verb::post, pattern, std::move(handler), options);
  }

  struct Match {
    const Handler* handler = nullptr;  // null: no route for this method (see allowed) or path
    const std::string* pattern = nullptr;
    RouteOptions options;
    std::vector<std::pair<std::string, std::string>> params;
    std::string allowed;  // for 405: "GET, HEAD, POST" — empty when the path matched nothing
  };
  // `path` is percent-decoded.
  Match Find(bhttp::verb method, std::string_view path) const;

 private:
  struct Node;
  std::unique_ptr<Node> root_;
};

}  // namespace zhenwu::http
