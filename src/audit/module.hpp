#pragma once

#include "web/module.hpp"

namespace zhenwu::audit {

// The audit module: its name, migrations folder and routes.
web::Module MakeModule();

}  // namespace zhenwu::audit
