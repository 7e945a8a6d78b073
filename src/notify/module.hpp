#pragma once
// The notify module: its tables (notify_inbox, notify_outbox) and pages. The dispatcher that
// delivers the outbox is built and run by the App (dispatcher.hpp).

#include "web/module.hpp"

namespace zhenwu::notify {

web::Module MakeModule();

}  // namespace zhenwu::notify
