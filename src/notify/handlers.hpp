#pragma once
// The notification pages:
//   GET  /account/inbox                 the signed-in person's messages, newest first
//   POST /account/inbox/{id}/read       mark one read (open=1: then go to its link)
//   POST /account/inbox/read-all        mark all read
//   GET  /api/v1/inbox                  the same list as JSON (bearer token)
//   GET  /admin/outbox                  the SMS queue (system administrators)
//   POST /admin/outbox/{id}/retry       put a failed SMS back in the queue (audited)

#include "web/module.hpp"

namespace zhenwu::notify {

void RegisterRoutes(web::ModuleContext& ctx);

}  // namespace zhenwu::notify
