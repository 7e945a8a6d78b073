#include "org/module.hpp"

namespace zhenwu::org {

web::Module MakeModule() { return {"org", nullptr}; }

}  // namespace zhenwu::org
