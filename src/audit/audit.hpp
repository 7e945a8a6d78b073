#pragma once
// The audit log (等保 2.0 安全审计): an append-only record of security-relevant and data-changing
// events, hash-chained row by row so that any change to a stored row, or a row removed from the
// middle, is detected by Verify(). Pruning old rows keeps the chain verifiable through an anchor.
// Events are recorded unchained (no lock, so audited writers do not queue on each other) and
// linked into the chain shortly after they commit by Chain() (docs/audit.md, "The chain").

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
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
// describes commit together (or neither does). It is inserted unchained (one INSERT, no lock on
// the chain head, so concurrent writers do not wait for each other); Chain() later gives it its
// seq and hash. Text is stored as valid UTF-8 (invalid bytes become U+FFFD, NUL bytes are
// dropped) so that what is hashed is exactly what either database keeps. Fails with the
// database's error; the caller's transaction must then roll back (Database::Write does).
Status Record(db::Conn& conn, const Clock& clock, const Actor& actor, const Entry& entry);

// Links up to `max_rows` unchained events that this transaction can see (committed ones, and
// its own), oldest id first, inside the caller's write transaction: locks the chain head row
// (so two chainers, in one process or several, never fork the chain; the second continues from
// where the first ended), gives each event the next seq and the previous hash, computes its
// hash over the fields as stored, and moves the head. Returns the number of events chained.
// The chain's order is the chainer's: an event whose transaction commits late simply gets a
// later seq than events with higher ids.
Result<int64_t> Chain(db::Conn& conn, int max_rows = 1000);

// Chains every event committed so far, in short write transactions of up to `batch` events each
// (the background job runs this every second in `zhenwu serve`; Verify runs it first). Returns
// the number chained.
Result<int64_t> ChainPending(db::Database& db, int batch = 1000);

// The genesis value of prev_hash (and of the anchor before any pruning): 64 zeros.
extern const std::string kZeroHash;

// One stored event, as read back.
struct Event {
  int64_t id = 0;   // identity in insertion order (not hashed; the pages' cursor)
  int64_t seq = 0;  // place in the chain; 0 while not yet chained (prev_hash, hash then "")
  int64_t at_ms = 0;
  Actor actor;
  Entry entry;
  std::string prev_hash;  // lowercase hex SHA-256
  std::string hash;
};

// The columns of audit_events an Event is read from, in EventFromRow's order.
inline constexpr std::string_view kEventColumns =
    "id, seq, at_ms, actor_user_id, actor_name, ip, request_id, action, entity, entity_id, "
    "unit_id, summary, before_json, after_json, prev_hash, hash";
// One row of "SELECT <kEventColumns> FROM audit_events".
Event EventFromRow(const db::Row& row);

// The canonical, unambiguous byte encoding of every stored field of `event` except its own
// hash: a version tag, then each field in a fixed order as "<byte length>:<bytes>;" ("-;" for a
// null number). Exposed for tests and for tools that re-verify an export.
std::string CanonicalEncoding(const Event& event);
// hex(SHA-256(CanonicalEncoding(event))); prev_hash is part of the encoding.
std::string EventHash(const Event& event);

// What Verify() found.
struct VerifyReport {
  enum class Problem {
    kNone,
    kHashMismatch,    // a row's stored fields do not give its stored hash (row altered)
    kLinkMismatch,    // a row's prev_hash is not the previous row's hash
    kMissingRows,     // seq jumps: rows were deleted
    kHeadMismatch,    // the chain ends before / elsewhere than the head row says (tail cut)
    kAnchorMismatch,  // the pruning anchor is not the one the last pruning event recorded
  };
  bool intact = false;
  int64_t checked = 0;     // rows whose hash was checked
  int64_t anchor_seq = 0;  // rows up to here were pruned
  int64_t last_seq = 0;    // the head's last seq
  int64_t pending = 0;     // events recorded but not yet chained: not checked, not tampering
  Problem problem = Problem::kNone;
  int64_t broken_seq = 0;  // the first row found wrong (or the seq expected there)
  std::string detail;      // what is wrong, in Chinese
};

// First chains what is pending (ChainPending), then walks the whole chain in keyset pages of
// `page_size` rows (one read transaction per page, never all rows at once) from the pruning anchor
// to the head, and reports the first broken link or that the chain is intact with the number of
// rows checked. Rows appended while it runs are beyond the head it read first and are not checked;
// events still unchained (their transactions committed after the chaining) are counted in
// `pending`. Fails only when the database does; a broken chain is a report, not an error.
// With chain_first = false nothing is written (a read-only role or replica): events not chained
// yet are then only counted in `pending`.
Result<VerifyReport> Verify(db::Database& db, int page_size = 1000, bool chain_first = true);

// The report in Chinese, one or two lines, for `zhenwu audit verify`.
std::string FormatReport(const VerifyReport& report);

// The shortest retention 等保 2.0 allows: six months.
inline constexpr int kMinKeepDays = 180;

// Deletes, inside the caller's write transaction, the oldest events: first chains what is
// pending, then deletes the longest prefix of the chain recorded more than keep_days days before
// clock.NowMs(). The seq and hash of the last
// deleted row become the chain's anchor (so Verify still proves everything kept), and the
// pruning itself is recorded (and chained, in the same transaction) as an "audit.prune" event
// naming that anchor. Returns the number
// of rows deleted. Fails with kInvalidInput (field keep_days) when keep_days < 180.
Result<int64_t> Prune(db::Conn& conn, const Clock& clock, int keep_days);

}  // namespace zhenwu::audit
