#include "calendar/store.hpp"

#include <algorithm>

#include "view/embedded.hpp"

namespace zhenwu::calendar {

namespace {

std::string_view KindText(DayKind kind) {
  return kind == DayKind::kHoliday ? "holiday" : "workday";
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return std::string(s);
}

// Counts UTF-8 code points.
std::size_t Chars(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

Status Upsert(db::Conn& conn, Date date, DayKind kind, std::string_view name, int64_t now_ms) {
  auto r = conn.Exec(
      "INSERT INTO calendar_days (day, kind, name, updated_at_ms) VALUES ($1, $2, $3, $4) "
      "ON CONFLICT (day) DO UPDATE SET kind = excluded.kind, name = excluded.name, "
      "updated_at_ms = excluded.updated_at_ms",
      {FormatDate(date), std::string(KindText(kind)), std::string(name), now_ms});
  if (!r) return std::move(r).error();
  return {};
}

}  // namespace

Result<WorkCalendar> Load(db::Conn& conn) {
  auto rows = conn.Query("SELECT day, kind, name FROM calendar_days ORDER BY day");
  if (!rows) return std::move(rows).error();
  WorkCalendar cal;
  for (const auto& row : rows->rows) {
    Date d;
    if (!ParseDate(row.Text(0), &d)) continue;  // the table's CHECK keeps kinds; dates we wrote
    cal.Set(d, SpecialDay{row.Text(1) == "holiday" ? DayKind::kHoliday : DayKind::kWorkday,
                          row.Text(2)});
  }
  return cal;
}

Result<int> SeedIfEmpty(db::Conn& conn, int64_t now_ms) {
  auto any = conn.QueryOne("SELECT day FROM calendar_days LIMIT 1");
  if (!any) return std::move(any).error();
  if (*any) return 0;
  int inserted = 0;
  for (const auto& file : embedded::Files()) {
    if (file.path.rfind("assets/calendar/", 0) != 0 || file.path.size() < 4 ||
        file.path.substr(file.path.size() - 4) != ".csv") {
      continue;
    }
    auto cal = WorkCalendar::ParseCsv(file.data);
    if (!cal) return std::move(cal).error();
    for (const auto& [date, day] : cal->special_days()) {
      if (auto s = Upsert(conn, date, day.kind, day.name, now_ms); !s) return std::move(s).error();
      ++inserted;
    }
  }
  return inserted;
}

Status SetDay(db::Conn& conn, const Clock& clock, const audit::Actor& actor, std::string_view date,
              std::string_view kind, std::string_view name) {
  Error error{ErrorCode::kInvalidInput, "请检查日期设置", {}};
  Date d;
  const std::string date_text = Trim(date);
  if (!ParseDate(date_text, &d))
    error.fields.push_back({"date", "请填写正确的日期，如 2026-10-01"});
  const std::string kind_text = Trim(kind);
  DayKind k = DayKind::kHoliday;
  if (kind_text == "holiday") {
    k = DayKind::kHoliday;
  } else if (kind_text == "workday") {
    k = DayKind::kWorkday;
  } else {
    error.fields.push_back({"kind", "请选择放假或调休上班"});
  }
  const std::string name_text = Trim(name);
  if (name_text.empty() || Chars(name_text) > 50) {
    error.fields.push_back({"name", "请填写名称（50 字以内），如 国庆节"});
  }
  if (!error.fields.empty()) {
    if (error.fields.size() == 1) error.message = error.fields.front().message;
    return error;
  }
  if (auto s = Upsert(conn, d, k, name_text, clock.NowMs()); !s) return s;
  audit::Entry entry;
  entry.action = "calendar.day.set";
  entry.entity = "calendar_day";
  entry.entity_id = date_text;
  entry.summary =
      "设置" + date_text + (k == DayKind::kHoliday ? " 放假：" : " 调休上班：") + name_text;
  return audit::Record(conn, clock, actor, entry);
}

Status RemoveDay(db::Conn& conn, const Clock& clock, const audit::Actor& actor,
                 std::string_view date) {
  Date d;
  if (!ParseDate(date, &d)) return Error::Invalid("date", "请填写正确的日期，如 2026-10-01");
  auto n = conn.Exec("DELETE FROM calendar_days WHERE day = $1", {FormatDate(d)});
  if (!n) return std::move(n).error();
  if (*n == 0) return Error::NotFound("日历中没有这一天");
  audit::Entry entry;
  entry.action = "calendar.day.remove";
  entry.entity = "calendar_day";
  entry.entity_id = FormatDate(d);
  entry.summary = "删除日历设置 " + FormatDate(d);
  return audit::Record(conn, clock, actor, entry);
}

Result<int> ImportCsv(db::Conn& conn, const Clock& clock, const audit::Actor& actor,
                      std::string_view csv) {
  auto cal = WorkCalendar::ParseCsv(csv);
  if (!cal) {
    Error e = std::move(cal).error();
    if (e.fields.empty()) e.fields.push_back({"file", e.message});
    return e;
  }
  if (cal->special_days().empty()) return Error::Invalid("file", "文件中没有任何日期");
  int n = 0;
  for (const auto& [date, day] : cal->special_days()) {
    if (auto s = Upsert(conn, date, day.kind, day.name, clock.NowMs()); !s) {
      return std::move(s).error();
    }
    ++n;
  }
  audit::Entry entry;
  entry.action = "calendar.import";
  entry.entity = "calendar_day";
  entry.summary = "导入节假日安排 " + std::to_string(n) + " 天";
  if (auto s = audit::Record(conn, clock, actor, entry); !s) return std::move(s).error();
  return n;
}

std::shared_ptr<const WorkCalendar> CalendarCache::Get(db::Conn& conn) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    if (snapshot_ && now - loaded_at_ < ttl_) return snapshot_;
  }
  auto cal = Load(conn);
  std::lock_guard lock(mu_);
  if (cal) {
    snapshot_ = std::make_shared<const WorkCalendar>(std::move(cal).value());
    loaded_at_ = now;
  } else if (!snapshot_) {
    // Without any snapshot the weekday rule still gives sensible deadlines; retry next time.
    return std::make_shared<const WorkCalendar>();
  }
  return snapshot_;
}

std::shared_ptr<const WorkCalendar> CalendarCache::Get() {
  {
    std::lock_guard lock(mu_);
    if (snapshot_ && std::chrono::steady_clock::now() - loaded_at_ < ttl_) return snapshot_;
  }
  std::shared_ptr<const WorkCalendar> out;
  auto r = db_.ReadSync<bool>([&](db::Conn& conn) -> Result<bool> {
    out = Get(conn);
    return true;
  });
  if (!r || !out) return std::make_shared<const WorkCalendar>();
  return out;
}

void CalendarCache::Invalidate() {
  std::lock_guard lock(mu_);
  snapshot_.reset();
}

}  // namespace zhenwu::calendar
