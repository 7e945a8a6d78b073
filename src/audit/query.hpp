#pragma once
// Reading the audit log for the auditors' pages and the CSV export: filters and keyset paging
// (newest first, by id).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit.hpp"
#include "core/result.hpp"
#include "db/db.hpp"

namespace zhenwu::audit {

struct Filter {
  std::optional<int64_t> from_ms;  // at_ms >= from_ms
  std::optional<int64_t> to_ms;    // at_ms < to_ms
  std::string actor;               // exact actor name
  std::string action_prefix;       // "people." matches every people action
  std::string entity;              // exact
  std::string entity_id;           // exact
  // The org units whose events may be shown; nullopt: every unit. Events without a unit are
  // shown only when `include_unitless`.
  std::optional<std::vector<int64_t>> unit_ids;
  bool include_unitless = true;
};

// Events matching `filter` with id < before_id (when given), newest first (by id, the order they
// were recorded in, so events not chained yet are listed too), at most `limit`.
Result<std::vector<Event>> ListEvents(db::Conn& conn, const Filter& filter,
                                      std::optional<int64_t> before_id, int limit);

}  // namespace zhenwu::audit
