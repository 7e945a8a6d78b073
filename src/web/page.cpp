#include "web/page.hpp"

#include <boost/json.hpp>

#include "http/page_cache.hpp"
#include "web/once.hpp"

namespace zhenwu::web {

using http::bhttp::status;

status StatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidInput:
      return status::unprocessable_entity;
    case ErrorCode::kMalformedRequest:
      return status::bad_request;
    case ErrorCode::kUnauthenticated:
      return status::unauthorized;
    case ErrorCode::kForbidden:
      return status::forbidden;
    case ErrorCode::kNotFound:
      return status::not_found;
    case ErrorCode::kConflict:
      return status::conflict;
    case ErrorCode::kTooManyRequests:
      return status::too_many_requests;
    case ErrorCode::kUnavailable:
      return status::service_unavailable;
    case ErrorCode::kInternal:
      return status::internal_server_error;
  }
  return status::internal_server_error;
}

namespace {

std::string ContextString(const http::Request& req, std::string_view key) {
  auto it = req.context.find(key);
  if (it == req.context.end()) return {};
  if (const auto* s = std::any_cast<std::string>(&it->second)) return *s;
  return {};
}

}  // namespace

bool WantsLargeText(const http::Request& req) {
  auto value = req.Cookie(http::kTextSizeCookie);
  return value && *value == "large";
}

http::Response RenderPage(const http::Request& req, const view::View& view, std::string title,
                          std::string nav_key, std::string_view name, view::Data data,
                          status code) {
  view::PageMeta meta;
  meta.title = std::move(title);
  meta.nav_key = std::move(nav_key);
  meta.large_text = WantsLargeText(req);
  meta.path = req.raw.target();
  meta.user_name = ContextString(req, kUserNameContextKey);
  meta.csrf = ContextString(req, kCsrfContextKey);
  data.set("csrf", meta.csrf);
  // A handler may pass the token on itself (a confirmation step submitting the first page's).
  if (!data.get("once")) data.set("once", NewOnceToken());
  auto res = http::Html(code, view.Page(meta, name, std::move(data)));
  // Pages for a signed-in person are theirs alone.
  if (!meta.user_name.empty()) res.set(http::bhttp::field::cache_control, "private, no-store");
  return res;
}

http::Response ErrorPage(const http::Request& req, const view::View& view, status code) {
  const int n = static_cast<int>(code);
  std::string key = std::to_string(n);
  const bool known = view.strings().Get("error.title_" + key) != "error.title_" + key;
  if (!known) key = "other";
  view::Data data{view::Data::type::object};
  data.set("status", std::to_string(n));
  data.set("heading", view.strings().Get("error.title_" + key));
  data.set("text", view.strings().Get("error.text_" + key));
  data.set("request_id", req.request_id);
  view::PageMeta meta;
  meta.title = view.strings().Get("error.title_" + key);
  meta.large_text = WantsLargeText(req);
  meta.path = "/";
  meta.user_name = ContextString(req, kUserNameContextKey);
  meta.csrf = ContextString(req, kCsrfContextKey);
  auto res = http::Html(code, view.Page(meta, "error", std::move(data)));
  res.set(http::bhttp::field::cache_control, "no-store");
  return res;
}

http::Response LoginRedirect(const http::Request& req) {
  return http::Redirect("/login?next=" + http::PercentEncode(req.raw.target()));
}

http::Response RefusePage(const http::Request& req, const view::View& view, const Error& error) {
  if (error.code == ErrorCode::kUnauthenticated) return LoginRedirect(req);
  return ErrorPage(req, view, StatusFor(error.code));
}

http::Response JsonError(const Error& error) {
  boost::json::object inner{{"code", ErrorCodeName(error.code)}, {"message", error.message}};
  if (!error.fields.empty()) {
    inner["field"] = error.fields.front().field;
    boost::json::array fields;
    for (const auto& f : error.fields) {
      fields.push_back(boost::json::object{{"field", f.field}, {"message", f.message}});
    }
    inner["fields"] = std::move(fields);
  }
  return http::Json(StatusFor(error.code),
                    boost::json::serialize(boost::json::object{{"error", std::move(inner)}}));
}

}  // namespace zhenwu::web
