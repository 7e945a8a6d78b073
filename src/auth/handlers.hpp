#pragma once
// The auth pages (/login, /logout, /account/password, /admin, /admin/users…) and GET /api/v1/me.

#include "web/module.hpp"

namespace zhenwu::auth {

void RegisterRoutes(web::ModuleContext& ctx);
// /admin/tokens: list, create (the secret shown once) and revoke API tokens (token_handlers.cpp).
void RegisterTokenRoutes(web::ModuleContext& ctx);

}  // namespace zhenwu::auth
