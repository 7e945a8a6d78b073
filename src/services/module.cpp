#include "services/module.hpp"

#include "services/handlers.hpp"

namespace zhenwu::services {

namespace {

void Register(web::ModuleContext& ctx) {
  auto env = std::make_shared<Env>(Env{
      .config = ctx.config,
      .clock = ctx.clock,
      .db = ctx.db,
      .view = ctx.view,
      .page_cache = ctx.page_cache,
      .keys = ctx.people_keys,
      .files = ctx.files.get(),
      .calendar = std::make_shared<calendar::CalendarCache>(ctx.db),
      .due_soon_days = static_cast<int>(ctx.config.due_soon_days),
      .followup_days = static_cast<int>(ctx.config.followup_days),
      .max_upload_bytes = ctx.config.max_upload_mb * 1024 * 1024,
      .caches = std::make_shared<CaseCaches>(),
  });
  RegisterPublicRoutes(ctx, env);
  RegisterDeskRoutes(ctx, env);
  RegisterAdminRoutes(ctx, env);
  RegisterApiRoutes(ctx, env);
  const auto& s = ctx.view.strings();
  ctx.view.AddNav({"services", s.Get("services.nav"), "/services", 10});
  ctx.view.AddNav({"track", s.Get("services.nav_track"), "/track", 20});
  ctx.view.AddAdminNav({"desk", s.Get("services.nav_desk"), "/desk", 5});
  ctx.view.AddAdminNav({"catalogue", s.Get("services.nav_catalogue"), "/admin/services", 40});
  ctx.view.AddAdminNav({"calendar", s.Get("services.nav_calendar"), "/admin/calendar", 45});
}

}  // namespace

web::Module MakeModule() {
  return {"services",
          Register,
          {"SELECT sha256 FROM services_case_files",
           "SELECT sample_sha256 FROM services_materials WHERE sample_sha256 <> ''"}};
}

}  // namespace zhenwu::services
