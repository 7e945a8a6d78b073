#include "core/work_calendar.hpp"

#include <string>

namespace zhenwu {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

Result<WorkCalendar> WorkCalendar::ParseCsv(std::string_view csv) {
  WorkCalendar calendar;
  int line_no = 0;
  while (!csv.empty()) {
    const auto nl = csv.find('\n');
    std::string_view line = Trim(csv.substr(0, nl));
    csv = nl == std::string_view::npos ? std::string_view{} : csv.substr(nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#' || line.rfind("date,", 0) == 0) continue;
    const auto c1 = line.find(',');
    const auto c2 = c1 == std::string_view::npos ? c1 : line.find(',', c1 + 1);
    const std::string where = "第 " + std::to_string(line_no) + " 行";
    if (c2 == std::string_view::npos) {
      return Error::Invalid("csv", where + "：应为“日期,类型,名称”三列");
    }
    Date date;
    if (!ParseDate(Trim(line.substr(0, c1)), &date)) {
      return Error::Invalid("csv", where + "：日期应为 YYYY-MM-DD 格式的有效日期");
    }
    const std::string_view kind = Trim(line.substr(c1 + 1, c2 - c1 - 1));
    SpecialDay day;
    if (kind == "holiday") {
      day.kind = DayKind::kHoliday;
    } else if (kind == "workday") {
      day.kind = DayKind::kWorkday;
    } else {
      return Error::Invalid("csv", where + "：类型应为 holiday（放假）或 workday（调休上班）");
    }
    day.name = std::string(Trim(line.substr(c2 + 1)));
    calendar.Set(date, std::move(day));
  }
  return calendar;
}

bool WorkCalendar::IsWorkingDay(Date date) const {
  if (auto it = special_.find(date); it != special_.end()) {
    return it->second.kind == DayKind::kWorkday;
  }
  return Weekday(date) < 5;
}

Date WorkCalendar::AddWorkingDays(Date start, int n) const {
  Date d = start;
  while (n > 0) {
    d = AddDays(d, 1);
    if (IsWorkingDay(d)) --n;
  }
  return d;
}

int WorkCalendar::WorkingDaysBetween(Date from, Date to) const {
  if (to < from) return -WorkingDaysBetween(to, from);
  int count = 0;
  for (Date d = AddDays(from, 1); !(to < d); d = AddDays(d, 1)) {
    if (IsWorkingDay(d)) ++count;
  }
  return count;
}

}  // namespace zhenwu
