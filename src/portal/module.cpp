#include "portal/module.hpp"

#include "web/page.hpp"

namespace zhenwu::portal {

namespace {

void RegisterRoutes(web::ModuleContext& ctx) {
  const view::View& view = ctx.view;
  ctx.router.Get(
      "/",
      [&view](http::Request& req) -> asio::awaitable<http::Response> {
        co_return web::RenderPage(req, view, view.strings().Get("home.title"), "home",
                                  "portal/home", view::Data{view::Data::type::object});
      },
      http::RouteOptions{.cacheable = true});
}

}  // namespace

web::Module MakeModule() { return {"portal", RegisterRoutes}; }

}  // namespace zhenwu::portal
