#pragma once
// The Pingzheng demo catalogue: realistic services for the 9 windows of the town's service
// centre and the village windows of every demo village, marked as demo data.

#include "core/result.hpp"
#include "db/db.hpp"
#include "services/service.hpp"

namespace zhenwu::services {

// Creates the demo services under the demo town (code "PZ") unless they exist (idempotent:
// services are matched by code). Returns how many it created. kNotFound when the demo tree is
// not loaded.
Result<int> LoadDemoCatalogue(db::Conn& conn, const Deps& deps);

}  // namespace zhenwu::services
