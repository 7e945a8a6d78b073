#pragma once
// The services module's HTTP side, split by audience; module.cpp wires them:
//   public_handlers.cpp  citizens: catalogue, apply, receipt, tracking, 补正, rating
//   desk_handlers.cpp    staff: desks (clerk, village cadre, leader), case actions, 代办 and
//                        walk-in applications, follow-ups, ledger exports
//   admin_handlers.cpp   editors: the catalogue editor; admins: the holiday calendar
//   api_handlers.cpp     JSON API /api/v1/services, /api/v1/cases
// All of them share one Env.

#include <memory>

#include "calendar/store.hpp"
#include "services/desk_cache.hpp"
#include "services/service.hpp"
#include "web/module.hpp"

namespace zhenwu::files {
class FileStore;
}

namespace zhenwu::services {

struct Env {
  const Config& config;
  const Clock& clock;
  db::Database& db;
  const view::View& view;
  http::PageCache& page_cache;
  std::shared_ptr<const people::Keys> keys;
  files::FileStore* files = nullptr;
  std::shared_ptr<calendar::CalendarCache> calendar;
  int due_soon_days = 2;
  int followup_days = 5;
  int64_t max_upload_bytes = 10 * 1024 * 1024;  // per file
  // The desks' counts and overview for a few seconds; CasesChanged() after every committed
  // write of a case, a rating or a follow-up.
  std::shared_ptr<CaseCaches> caches = std::make_shared<CaseCaches>();

  // Deps for one piece of work, with the calendar snapshot read through `conn`.
  struct Bound {
    std::shared_ptr<const WorkCalendar> calendar;
    Deps deps;
  };
  Bound Bind(db::Conn& conn) const {
    auto cal = calendar->Get(conn);
    return Bound{cal, Deps{clock, *keys, *cal, due_soon_days, followup_days}};
  }
};

void RegisterPublicRoutes(web::ModuleContext& ctx, std::shared_ptr<Env> env);
void RegisterDeskRoutes(web::ModuleContext& ctx, std::shared_ptr<Env> env);
void RegisterAdminRoutes(web::ModuleContext& ctx, std::shared_ptr<Env> env);
void RegisterApiRoutes(web::ModuleContext& ctx, std::shared_ptr<Env> env);

}  // namespace zhenwu::services
