#pragma once

#include "web/module.hpp"

namespace zhenwu::org {

// The org module: its name, migrations folder and routes.
web::Module MakeModule();

}  // namespace zhenwu::org
