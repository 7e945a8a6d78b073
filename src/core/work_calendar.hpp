#pragma once
// The working-day calendar: weekdays work, weekends rest, except the dates an admin enters —
// public holidays (no work) and 调休 weekend days that are worked. Every legal or promised
// deadline (办件时限, 依申请公开, 热线) is counted in these working days.

#include <map>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace zhenwu {

enum class DayKind { kHoliday, kWorkday };

struct SpecialDay {
  DayKind kind = DayKind::kHoliday;
  std::string name;  // e.g. 春节, 春节调休上班
};

class WorkCalendar {
 public:
  // Parses the official schedule format of shared/data/holidays-cn-*.csv: lines of
  // "date,kind,name" with kind `holiday` or `workday`; '#' lines and the header are skipped.
  // Fails with kInvalidInput naming the line number of the first bad line; nothing is kept then.
  static Result<WorkCalendar> ParseCsv(std::string_view csv);

  void Set(Date date, SpecialDay day) { special_[date] = std::move(day); }
  void Remove(Date date) { special_.erase(date); }
  const std::map<Date, SpecialDay>& special_days() const { return special_; }

  bool IsWorkingDay(Date date) const;
  // The n-th working day after `start` (start itself is not counted; n >= 0; n == 0 -> start).
  Date AddWorkingDays(Date start, int n) const;
  // Working days in the half-open range (from, to]; negative when `to` is before `from`.
  int WorkingDaysBetween(Date from, Date to) const;

 private:
  std::map<Date, SpecialDay> special_;
};

}  // namespace zhenwu
