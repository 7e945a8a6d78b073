#pragma once
// Routes of the platform itself: /healthz, /metrics and the large-text setting.

#include "web/module.hpp"

namespace zhenwu::app {

void AddSiteRoutes(web::ModuleContext& ctx);

}  // namespace zhenwu::app
