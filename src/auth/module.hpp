#pragma once

#include "web/module.hpp"

namespace zhenwu::auth {

// The auth module: its name, migrations folder and routes.
web::Module MakeModule();

}  // namespace zhenwu::auth
