#pragma once
// The working-day calendar (节假日与调休): its table, seeded on first start from the official
// schedule built into the binary. Its admin page lives with the services desk for now.

#include "web/module.hpp"

namespace zhenwu::calendar {

web::Module MakeModule();

}  // namespace zhenwu::calendar
