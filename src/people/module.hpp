#pragma once

#include "web/module.hpp"

namespace zhenwu::people {

// The people module: its name, migrations folder and routes.
web::Module MakeModule();

}  // namespace zhenwu::people
