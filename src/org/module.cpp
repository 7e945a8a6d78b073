#include "org/module.hpp"

#include "org/handlers.hpp"

namespace zhenwu::org {

web::Module MakeModule() { return {"org", RegisterRoutes}; }

}  // namespace zhenwu::org
