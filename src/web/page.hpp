#pragma once
// The edge between HTTP and pages: render a page for a request (large-text mode, current path),
// and the one mapping from error codes to HTTP statuses, HTML pages and the JSON error shape.

#include <string>

#include "core/result.hpp"
#include "http/types.hpp"
#include "view/view.hpp"

namespace zhenwu::web {

// Request context keys the auth middleware fills and pages read (values are std::string).
inline constexpr std::string_view kCsrfContextKey = "csrf";
inline constexpr std::string_view kUserNameContextKey = "user_name";

// The HTTP status an error code answers with.
http::bhttp::status StatusFor(ErrorCode code);

// True when the visitor chose the large-text (适老化) mode.
bool WantsLargeText(const http::Request& req);

// Renders template `name` in the layout for `req` with status 200 (or `status`). The page's data
// also gets {{csrf}} (for <input type="hidden" name="_csrf" value="{{csrf}}">) and, unless `data`
// has one, a fresh one-time token {{once}} (for <input type="hidden" name="_once"
// value="{{once}}">, see web/once.hpp).
http::Response RenderPage(const http::Request& req, const view::View& view, std::string title,
                          std::string nav_key, std::string_view name, view::Data data,
                          http::bhttp::status status = http::bhttp::status::ok);

// The friendly error page for `status` (404, 500, …), in Chinese, with the request id.
http::Response ErrorPage(const http::Request& req, const view::View& view,
                         http::bhttp::status status);

// Sends a visitor who is not signed in to the login page: 303 to /login?next=<this request's
// target (path and query), percent-encoded>, so that signing in comes back to it.
http::Response LoginRedirect(const http::Request& req);

// The answer to a page request refused with `error`: kUnauthenticated → LoginRedirect(req);
// every other code → ErrorPage for StatusFor(error.code) (kForbidden 403, kNotFound 404,
// kConflict 409, kInternal 500, …). Only the code is used; error.message is not shown.
http::Response RefusePage(const http::Request& req, const view::View& view, const Error& error);

// {"error":{"code":"…","message":"…","field":"…"}} with the status StatusFor(error.code).
http::Response JsonError(const Error& error);

}  // namespace zhenwu::web
