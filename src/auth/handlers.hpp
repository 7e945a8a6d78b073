#pragma once
// The auth pages (/login, /logout, /account/password, /admin, /admin/users…) and GET /api/v1/me.

#include "web/module.hpp"

namespace zhenwu::auth {

void RegisterRoutes(web::ModuleContext& ctx);

}  // namespace zhenwu::auth
