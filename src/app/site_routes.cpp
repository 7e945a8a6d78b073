#include "app/site_routes.hpp"

#include "http/page_cache.hpp"
#include "web/page.hpp"

namespace zhenwu::app {

using http::bhttp::status;

namespace {

bool IsLoopback(std::string_view ip) {
  return ip.rfind("127.", 0) == 0 || ip == "::1" || ip.rfind("::ffff:127.", 0) == 0;
}

// `path` when it is a path on this site, "/" otherwise (never "//host" or "/\\host").
std::string LocalPathOrRoot(std::string path) {
  const bool local =
      !path.empty() && path[0] == '/' && !(path.size() > 1 && (path[1] == '/' || path[1] == '\\'));
  return local ? path : std::string("/");
}

}  // namespace

void AddSiteRoutes(web::ModuleContext& ctx) {
  db::Database& db = ctx.db;
  http::Metrics& metrics = ctx.metrics;

  // 200 "ok" when the database answers a query; 503 otherwise (load balancers take us out).
  ctx.router.Get("/healthz", [&db](http::Request&) -> asio::awaitable<http::Response> {
    auto zw_work1 = [](db::Conn& c) -> Result<int> {
      auto row = c.QueryOne("SELECT 1");
      if (!row) return std::move(row).error();
      return 1;
    };
    auto ping = co_await db.Read<int>(zw_work1);
    auto res = ping ? http::Text(status::ok, "ok\n")
                    : http::Text(status::service_unavailable, "database unavailable\n");
    res.set(http::bhttp::field::cache_control, "no-store");
    co_return res;
  });

  // Scraped by the local Prometheus (or through the operator's own proxy): not for the public.
  ctx.router.Get(
      "/metrics",
      [&metrics, &config = ctx.config](http::Request& req) -> asio::awaitable<http::Response> {
        if (!IsLoopback(req.remote_ip) && !config.metrics_public) {
          co_return http::Text(status::not_found, "not found\n");
        }
        auto res = http::MakeResponse(status::ok, metrics.Render(),
                                      "text/plain; version=0.0.4; charset=utf-8");
        res.set(http::bhttp::field::cache_control, "no-store");
        co_return res;
      });

  // 适老化: the large-text switch works without JavaScript; the cookie makes it persist.
  ctx.router.Get("/settings/text-size", [](http::Request& req) -> asio::awaitable<http::Response> {
    const std::string size = req.QueryForm().GetOr("size") == "large" ? "large" : "normal";
    auto res = http::Redirect(LocalPathOrRoot(req.QueryForm().GetOr("back", "/")));
    res.set(http::bhttp::field::set_cookie,
            http::SetCookieValue(http::kTextSizeCookie, size, 365 * 24 * 3600, false, req.secure));
    res.set(http::bhttp::field::cache_control, "no-store");
    co_return res;
  });
}

}  // namespace zhenwu::app
