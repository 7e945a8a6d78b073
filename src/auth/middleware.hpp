#pragma once
// The auth middleware: who is asking, and CSRF.
//
// - Session cookie zw_sid → the session's principal (one indexed read; none without the cookie,
//   so anonymous pages stay cheap), its CSRF token and the person's name in the request context.
//   Activity is recorded at most once a minute (idle timeout).
// - Authorization: Bearer on /api/v1/… → the token's principal; a bad token answers 401 JSON.
//   A token's principal is kept for kTokenCacheTtl, so that a client sending many requests is
//   not looked up for each (see AccountsChanged).
// - Anonymous visitors get a CSRF token in cookie zw_csrf (double submit), set only when the
//   page actually carries it, so cacheable pages without forms stay cacheable.
// - Every POST/PUT/PATCH/DELETE outside /api/ must carry the token as form field _csrf (or
//   header X-CSRF-Token), else 403 "页面已过期".
// - A person who must change their password is sent to /account/password first.

#include <chrono>

#include "auth/model.hpp"
#include "http/types.hpp"
#include "web/module.hpp"

namespace zhenwu::auth {

inline constexpr std::string_view kSessionCookie = "zw_sid";
inline constexpr std::string_view kCsrfCookie = "zw_csrf";

// The session lifetimes from the configuration.
SessionPolicy PolicyFrom(const Config& config);

// The middleware; keeps references to ctx's clock, database and view (they outlive the server).
http::Middleware MakeMiddleware(const web::ModuleContext& ctx);

// How long this process keeps the principal behind an API token it has seen.
inline constexpr std::chrono::seconds kTokenCacheTtl{3};

// After a committed change to an account, its grants or an API token (disabling, changing
// roles or units, revoking): this process forgets the token principals it keeps, so the change
// holds from the next request. A change made by another process (the command line, a second
// server on one PostgreSQL) holds within kTokenCacheTtl; an expired token is refused at once.
void AccountsChanged();

// The Set-Cookie value that stores / clears the session cookie.
std::string SessionCookie(std::string_view session_id, bool secure);
std::string ClearSessionCookie(bool secure);

}  // namespace zhenwu::auth
