#pragma once
// The editable working-day calendar (节假日与调休) every deadline is counted on. Stored in the
// database (calendar_days) so every server process and every module share it; seeded on first
// start from the official schedule built into the binary (assets/calendar/holidays-cn-*.csv).
// Readers use CalendarCache, which reloads at most every few seconds and at once after a local
// edit, so several processes agree within that interval.

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "audit/audit.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/work_calendar.hpp"
#include "db/db.hpp"

namespace zhenwu::calendar {

// Every special day in the database.
Result<WorkCalendar> Load(db::Conn& conn);
// Inserts the built-in official schedule when the table is empty (first start). Returns how many
// days it inserted (0 when the table already had rows).
Result<int> SeedIfEmpty(db::Conn& conn, int64_t now_ms);
// Adds or replaces one day (kind "holiday" | "workday", name 1..50 chars). Field errors on
// "date", "kind", "name". Records "calendar.day.set".
Status SetDay(db::Conn& conn, const Clock& clock, const audit::Actor& actor, std::string_view date,
              std::string_view kind, std::string_view name);
// Removes one day (back to the weekday rule). kNotFound when it is not in the table.
Status RemoveDay(db::Conn& conn, const Clock& clock, const audit::Actor& actor,
                 std::string_view date);
// Replaces the days of a CSV in the official format (ParseCsv): all lines or none.
Result<int> ImportCsv(db::Conn& conn, const Clock& clock, const audit::Actor& actor,
                      std::string_view csv);

// A shared snapshot of the calendar with a short time-to-live.
class CalendarCache {
 public:
  explicit CalendarCache(db::Database& db, std::chrono::seconds ttl = std::chrono::seconds(10))
      : db_(db), ttl_(ttl) {}
  // The current snapshot; loads it (blocking on a read connection) when older than the TTL. Call
  // it inside a Read/Write work function with that work's Conn, or outside with none.
  std::shared_ptr<const WorkCalendar> Get(db::Conn& conn);
  std::shared_ptr<const WorkCalendar> Get();
  // Drops the snapshot (after an edit in this process).
  void Invalidate();

 private:
  db::Database& db_;
  std::chrono::seconds ttl_;
  std::mutex mu_;
  std::shared_ptr<const WorkCalendar> snapshot_;
  std::chrono::steady_clock::time_point loaded_at_{};
};

}  // namespace zhenwu::calendar
