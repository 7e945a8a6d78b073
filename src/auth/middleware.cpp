#include "auth/middleware.hpp"

#include "auth/password.hpp"
#include "auth/service.hpp"
#include "core/ttl_cache.hpp"
#include "web/page.hpp"

namespace zhenwu::auth {

namespace {

using http::bhttp::field;
using http::bhttp::status;
using http::bhttp::verb;

constexpr int64_t kTouchEveryMs = 60 * 1000;

// The principals behind the API tokens this process has seen, by the token's SHA-256.
TtlCache<TokenUse>& TokenUses() {
  static TtlCache<TokenUse> cache{kTokenCacheTtl};
  return cache;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool Unsafe(verb method) {
  return method == verb::post || method == verb::put || method == verb::patch ||
         method == verb::delete_;
}

bool WellFormedToken(std::string_view token) {
  if (token.size() < 32 || token.size() > 64) return false;
  for (char c : token) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// The _csrf field of a multipart body: the part named _csrf, found without a full parse.
std::string MultipartCsrf(const http::Request& req) {
  const std::string& body = req.raw.body();
  const auto name = body.find("name=\"_csrf\"");
  if (name == std::string::npos) return {};
  const auto start = body.find("\r\n\r\n", name);
  if (start == std::string::npos) return {};
  const auto end = body.find("\r\n", start + 4);
  if (end == std::string::npos) return {};
  return body.substr(start + 4, end - start - 4);
}

std::string SentCsrf(const http::Request& req) {
  const std::string_view type = req.Header("Content-Type");
  if (StartsWith(type, "multipart/form-data")) {
    if (auto v = MultipartCsrf(req); !v.empty()) return v;
  } else if (auto v = req.BodyForm().Get("_csrf")) {
    return *v;
  }
  return std::string(req.Header("X-CSRF-Token"));
}

// Paths a person who must change their password may still use.
bool AllowedBeforePasswordChange(std::string_view path) {
  return path == "/account/password" || path == "/logout" || path == "/logout/everywhere" ||
         StartsWith(path, "/static/") || path == "/healthz";
}

http::Response CsrfFailed(const http::Request& req, const view::View& view) {
  view::Data data{view::Data::type::object};
  return web::RenderPage(req, view, view.strings().Get("auth.csrf_title"), "", "auth/csrf_expired",
                         std::move(data), status::forbidden);
}

struct State {
  const Clock& clock;
  db::Database& db;
  const view::View& view;
  SessionPolicy policy;
};

asio::awaitable<http::Response> Handle(const State& st, http::Request& req,
                                       const http::Handler& next) {
  const bool api = StartsWith(req.path, "/api/");
  if (StartsWith(req.path, "/api/v1/")) {
    const std::string_view authz = req.Header("Authorization");
    if (!authz.empty()) {
      const Error bad{ErrorCode::kUnauthenticated, "API 令牌无效、已过期或已吊销", {}};
      if (!StartsWith(authz, "Bearer ")) co_return web::JsonError(bad);
      const std::string token(authz.substr(7));
      const std::string key = Sha256Hex(token);
      TtlCache<TokenUse>& cache = TokenUses();
      const uint64_t generation = cache.Generation();
      const auto touch_due = [&st](const TokenUse& u) {
        return !u.last_used_ms || st.clock.NowMs() - *u.last_used_ms >= kTouchEveryMs;
      };
      std::optional<TokenUse> use = cache.Get(key);
      // The request that records the token's use (once a minute) reads it afresh as well.
      if (use && touch_due(*use)) use.reset();
      if (use) {
        if (use->expires_ms && *use->expires_ms <= st.clock.NowMs()) {
          co_return web::JsonError(bad);
        }
      } else {
        auto zw_work1 = [&st, token](db::Conn& c) { return UseToken(c, st.clock, token); };
        auto found = co_await st.db.Read<std::optional<TokenUse>>(zw_work1);
        if (!found) co_return web::JsonError(found.error());
        if (!*found) co_return web::JsonError(bad);
        use = std::move(**found);
        if (touch_due(*use)) {
          // "Last used" for the token list, written at most once a minute per token.
          auto zw_touch = [&st, id = use->token_id](db::Conn& c) -> Result<int> {
            if (auto s = TouchToken(c, st.clock, id); !s) return std::move(s).error();
            return 1;
          };
          auto touched = co_await st.db.Write<int>(zw_touch);
          if (touched) use->last_used_ms = st.clock.NowMs();
        }
        cache.Put(key, generation, *use);
      }
      Principal& p = use->principal;
      req.context.insert_or_assign(std::string(web::kUserNameContextKey), p.display_name);
      SetCurrentPrincipal(req, std::move(p));
      co_return co_await next(req);
    }
  }

  std::string csrf;
  bool clear_sid = false;
  if (auto sid = req.Cookie(kSessionCookie)) {
    if (WellFormedToken(*sid)) {
      auto zw_work2 = [&st, id = *sid](db::Conn& c) {
        return LoadSession(c, st.clock, st.policy, id);
      };
      auto loaded = co_await st.db.Read<std::optional<SessionView>>(zw_work2);
      if (!loaded) {
        co_return web::ErrorPage(req, st.view, web::StatusFor(loaded.error().code));
      }
      if (*loaded) {
        SessionView& session = **loaded;
        if (st.clock.NowMs() - session.last_seen_ms >= kTouchEveryMs) {
          // Awaited so that the idle clock is right for the next request; at most once a minute.
          auto zw_work3 = [&st, h = session.id_hash](db::Conn& c) -> Result<int> {
            if (auto s = TouchSession(c, st.clock, h); !s) return std::move(s).error();
            return 1;
          };
          auto touched = co_await st.db.Write<int>(zw_work3);
          (void)touched;
        }
        csrf = session.csrf;
        req.context.insert_or_assign(std::string(web::kUserNameContextKey),
                                     session.principal.display_name);
        SetCurrentPrincipal(req, std::move(session.principal));
      } else {
        clear_sid = true;
      }
    } else {
      clear_sid = true;
    }
  }
  std::string fresh_csrf;
  if (csrf.empty()) {
    auto cookie = req.Cookie(kCsrfCookie);
    if (cookie && WellFormedToken(*cookie)) {
      csrf = *cookie;
    } else {
      fresh_csrf = RandomToken(32);
      csrf = fresh_csrf;
    }
  }
  req.context.insert_or_assign(std::string(web::kCsrfContextKey), csrf);

  http::Response res;
  const Principal* who = CurrentPrincipal(req);
  // A request no route takes (404, 405) changes nothing, so it gets its own status, not 403.
  const bool routed = !req.route.empty();
  if (routed && Unsafe(req.method()) && !api &&
      (!fresh_csrf.empty() || !SecureEquals(SentCsrf(req), csrf))) {
    res = CsrfFailed(req, st.view);
  } else if (who && who->must_change_password && !AllowedBeforePasswordChange(req.path)) {
    res = http::Redirect("/account/password");
  } else {
    res = co_await next(req);
  }
  if (clear_sid) res.insert(field::set_cookie, ClearSessionCookie(req.secure));
  // The anonymous token goes out with every page that carries it; such a page is never cached
  // (a cached copy would hand one visitor's token to the next).
  if (!CurrentPrincipal(req) && res.body().find(csrf) != std::string::npos) {
    res.insert(field::set_cookie, http::SetCookieValue(kCsrfCookie, csrf, -1, true, req.secure));
    res.set(field::cache_control, "private, no-store");
  }
  co_return res;
}

}  // namespace

SessionPolicy PolicyFrom(const Config& config) {
  SessionPolicy p;
  p.idle_ms = config.session_idle_min * 60 * 1000;
  p.max_ms = config.session_max_hours * 3600 * 1000;
  return p;
}

std::string SessionCookie(std::string_view session_id, bool secure) {
  return http::SetCookieValue(kSessionCookie, session_id, -1, true, secure);
}

std::string ClearSessionCookie(bool secure) {
  return http::SetCookieValue(kSessionCookie, "", 0, true, secure);
}

void AccountsChanged() { TokenUses().Invalidate(); }

http::Middleware MakeMiddleware(const web::ModuleContext& ctx) {
  auto state = std::make_shared<State>(State{ctx.clock, ctx.db, ctx.view, PolicyFrom(ctx.config)});
  return [state](http::Request& req, const http::Handler& next) -> asio::awaitable<http::Response> {
    return Handle(*state, req, next);
  };
}

}  // namespace zhenwu::auth
