#include "auth/module.hpp"

#include "auth/handlers.hpp"

namespace zhenwu::auth {

web::Module MakeModule() {
  return {"auth", [](web::ModuleContext& ctx) {
            RegisterRoutes(ctx);
            RegisterTokenRoutes(ctx);
          }};
}

}  // namespace zhenwu::auth
