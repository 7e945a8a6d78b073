#include "core/clock.hpp"

#include <chrono>
#include <cstdio>

namespace zhenwu {

int64_t SystemClock::NowMs() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Howard Hinnant's days_from_civil / civil_from_days.
int64_t DaysFromCivil(Date d) {
  int64_t y = d.year - (d.month <= 2 ? 1 : 0);
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t mp = (d.month + 9) % 12;
  const int64_t doy = (153 * mp + 2) / 5 + d.day - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

Date CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return Date{static_cast<int>(yoe + era * 400 + (m <= 2 ? 1 : 0)), m, d};
}

int Weekday(Date d) {
  // 1970-01-01 was a Thursday (3 when Monday is 0).
  const int64_t days = DaysFromCivil(d);
  return static_cast<int>(((days % 7) + 7 + 3) % 7);
}

Date AddDays(Date d, int64_t days) { return CivilFromDays(DaysFromCivil(d) + days); }

static int64_t FloorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

Date ShanghaiDate(int64_t epoch_ms) {
  return CivilFromDays(FloorDiv(epoch_ms + kShanghaiOffsetMs, 86400000));
}

int64_t ShanghaiMidnightMs(Date d) { return DaysFromCivil(d) * 86400000 - kShanghaiOffsetMs; }

std::string FormatDate(Date d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", d.year, d.month, d.day);
  return buf;
}

static bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

bool ParseDate(std::string_view text, Date* out) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  auto digits = [&](std::size_t pos, std::size_t len, int* value) {
    int v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      v = v * 10 + (text[i] - '0');
    }
    *value = v;
    return true;
  };
  Date d;
  if (!digits(0, 4, &d.year) || !digits(5, 2, &d.month) || !digits(8, 2, &d.day)) return false;
  if (d.year < 1900 || d.month < 1 || d.month > 12 || d.day < 1 ||
      d.day > DaysInMonth(d.year, d.month)) {
    return false;
  }
  *out = d;
  return true;
}

std::string FormatDateChinese(Date d) {
  return std::to_string(d.year) + "年" + std::to_string(d.month) + "月" + std::to_string(d.day) +
         "日";
}

std::string FormatShanghaiMinute(int64_t epoch_ms) {
  const int64_t local = epoch_ms + kShanghaiOffsetMs;
  const Date d = CivilFromDays(FloorDiv(local, 86400000));
  const int64_t ms_of_day = local - FloorDiv(local, 86400000) * 86400000;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s %02d:%02d", FormatDate(d).c_str(),
                static_cast<int>(ms_of_day / 3600000), static_cast<int>(ms_of_day / 60000 % 60));
  return buf;
}

}  // namespace zhenwu
