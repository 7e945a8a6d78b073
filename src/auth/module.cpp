#include "auth/module.hpp"

namespace zhenwu::auth {

web::Module MakeModule() { return {"auth", nullptr}; }

}  // namespace zhenwu::auth
