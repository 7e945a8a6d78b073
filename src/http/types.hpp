#pragma once
// Request and response types every handler sees, and the handler / middleware signatures.

#include <any>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zhenwu::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

using RawRequest = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

// Ordered name/value pairs from a query string or an application/x-www-form-urlencoded body.
class Form {
 public:
  Form() = default;
  // Parses "a=1&b=%E4%B8%AD"; '+' is a space; malformed escapes are kept literally.
  static Form Parse(std::string_view encoded);
  std::optional<std::string> Get(std::string_view name) const;
  std::string GetOr(std::string_view name, std::string fallback = {}) const;
  std::vector<std::string> GetAll(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name).has_value(); }
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }
  void Add(std::string name, std::string value) {
    items_.emplace_back(std::move(name), std::move(value));
  }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

// Percent-decodes (and, when plus_is_space, turns '+' into ' '). Returns nullopt on a bad escape.
std::optional<std::string> PercentDecode(std::string_view in, bool plus_is_space);
std::string PercentEncode(std::string_view in);

struct Request {
  RawRequest raw;
  std::string path;   // percent-decoded path, without the query
  std::string query;  // raw query string, without '?'
  std::map<std::string, std::string, std::less<>> params;  // from the route pattern
  std::string route;  // the matched pattern, e.g. "/cases/{id}" ("" when none matched)
  std::string remote_ip;
  std::string request_id;
  bool secure = false;  // behind TLS (X-Forwarded-Proto: https from a trusted proxy)
  // Per-request state set by middleware (session, user, CSRF token, …) by name.
  std::map<std::string, std::any, std::less<>> context;

  bhttp::verb method() const { return raw.method(); }
  std::string_view Header(std::string_view name) const;
  std::optional<std::string> Param(std::string_view name) const;
  const Form& QueryForm() const;  // parsed once, on first use
  const Form& BodyForm() const;   // urlencoded body, parsed once, on first use
  std::optional<std::string> Cookie(std::string_view name) const;
  bool AcceptsGzip() const;

 private:
  mutable std::optional<Form> query_form_;
  mutable std::optional<Form> body_form_;
};

using Handler = std::function<asio::awaitable<Response>(Request&)>;
// A middleware either answers itself or calls next(req) and may change the response.
using Middleware = std::function<asio::awaitable<Response>(Request&, const Handler& next)>;

// Response helpers. Bodies are sent as given; `Html` sets text/html; charset=utf-8.
Response MakeResponse(bhttp::status status, std::string body, std::string_view content_type);
Response Html(bhttp::status status, std::string body);
Response Text(bhttp::status status, std::string body);
Response Json(bhttp::status status, std::string body);
// 303 See Other to a local path (never to another host: `location` must start with '/').
Response Redirect(std::string_view location);

// A cookie header value: name=value; Path=/; HttpOnly; SameSite=Lax[; Secure][; Max-Age=N].
std::string SetCookieValue(std::string_view name, std::string_view value, int64_t max_age_s,
                           bool http_only, bool secure);

}  // namespace zhenwu::http
