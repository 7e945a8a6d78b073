#pragma once
// The audit log (等保 2.0 安全审计): an append-only record of security-relevant and data-changing
// events, hash-chained row by row so that any change to a stored row, or a row removed from the
// middle, is detected by Verify(). Pruning old rows keeps the chain verifiable through an anchor.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "db/db.hpp"

namespace zhenwu::audit {

// Who did it, from where.
struct Actor {
  std::optional<int64_t> user_id;  // none: anonymous visitor or the system
  std::string name;                // login or "system"
  std::string ip;
  std::string request_id;
};

// What happened to which record.
struct Entry {
  std::string action;  // "org.unit.create", "auth.login.failed", "people.id_card.reveal", …
  std::string entity;  // "org_unit", "user", "resident", …; empty for events without a record
  std::string entity_id;
  std::optional<int64_t> unit_id;  // the org unit the record belongs to, for scoped browsing
  std::string summary;             // one line in Chinese for people reading the log
  std::string before;              // short JSON summaries; never secrets, personal data masked
  std::string after;
};

// Appends one event inside the caller's write transaction, so the event and the change it
// describes commit together (or neither does). Serialises appenders on the chain head row.
Status Record(db::Conn& conn, const Clock& clock, const Actor& actor, const Entry& entry);

}  // namespace zhenwu::audit
