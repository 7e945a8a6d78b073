#include "people/module.hpp"

namespace zhenwu::people {

web::Module MakeModule() { return {"people", nullptr}; }

}  // namespace zhenwu::people
