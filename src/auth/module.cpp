#include "auth/module.hpp"

#include "auth/handlers.hpp"

namespace zhenwu::auth {

web::Module MakeModule() { return {"auth", RegisterRoutes}; }

}  // namespace zhenwu::auth
