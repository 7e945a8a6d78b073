#pragma once
// The auditors' pages: GET /admin/audit (filters, keyset paging, newest first) and
// GET /admin/audit.csv (the same filter as a CSV file for Excel). Both need
// auth::Permission::kAuditView and show only events of units in the auditor's scope; events
// without a unit (logins, pruning, system events) only to an auditor whose subtree grant sits at
// a root of the org tree.

#include "web/module.hpp"

namespace zhenwu::audit {

void RegisterRoutes(web::ModuleContext& ctx);

}  // namespace zhenwu::audit
