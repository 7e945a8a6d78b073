#pragma once
// 政务服务 (services): the service catalogue, cases (办件) with working-day deadlines, 代办,
// tracking and ratings (好差评). See docs/services.md.

#include "web/module.hpp"

namespace zhenwu::services {

web::Module MakeModule();

}  // namespace zhenwu::services
