#pragma once
// 信息服务 public portal. So far: the home page. News, policies, jobs, knowledge, 政务公开,
// search and feeds grow here.

#include "web/module.hpp"

namespace zhenwu::portal {

web::Module MakeModule();

}  // namespace zhenwu::portal
