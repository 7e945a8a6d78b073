#include "notify/module.hpp"

#include "notify/handlers.hpp"

namespace zhenwu::notify {

web::Module MakeModule() { return {"notify", RegisterRoutes}; }

}  // namespace zhenwu::notify
