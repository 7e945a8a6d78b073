#pragma once
// The demonstration tree from the Pingzheng study: 玉林市 → 北流市 → 平政镇 with its 9
// service-centre windows and 19 village committees (placeholder names 示例一村 … 示例十九村), each
// with the 9 windows of a village service centre. Every unit is marked demo.

#include "core/clock.hpp"
#include "core/result.hpp"
#include "db/db.hpp"

namespace zhenwu::org {

// Creates the demo tree inside the caller's write transaction (with audit entries by "system").
// Does nothing when a unit with code PZ exists already (idempotent). Fails when a code it needs
// is taken by another unit, or when the database does.
Status LoadDemoTree(db::Conn& conn, const Clock& clock);

}  // namespace zhenwu::org
