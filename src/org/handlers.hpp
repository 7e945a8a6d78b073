#pragma once
// The staff pages of the org tree under /admin/org.

#include "web/module.hpp"

namespace zhenwu::org {

// Adds /admin/org, /admin/org/new, /admin/org/import, /admin/org/{id} (and its POSTs) and the
// admin navigation entry.
void RegisterRoutes(web::ModuleContext& ctx);

}  // namespace zhenwu::org
