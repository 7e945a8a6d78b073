#include "calendar/module.hpp"

#include <stdexcept>

#include "calendar/store.hpp"

namespace zhenwu::calendar {

namespace {

void Register(web::ModuleContext& ctx) {
  // The first start of a new database loads the official holiday schedule; an admin edits it
  // from then on (/admin/calendar).
  const int64_t now = ctx.clock.NowMs();
  auto seeded = ctx.db.WriteSync<int>([now](db::Conn& conn) { return SeedIfEmpty(conn, now); });
  if (!seeded) throw std::runtime_error("节假日日历初始化失败：" + seeded.error().message);
}

}  // namespace

web::Module MakeModule() { return {"calendar", Register}; }

}  // namespace zhenwu::calendar
