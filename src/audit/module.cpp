#include "audit/module.hpp"

namespace zhenwu::audit {

web::Module MakeModule() { return {"audit", nullptr}; }

}  // namespace zhenwu::audit
