#include "audit/module.hpp"

#include "audit/handlers.hpp"

namespace zhenwu::audit {

web::Module MakeModule() { return {"audit", RegisterRoutes}; }

}  // namespace zhenwu::audit
