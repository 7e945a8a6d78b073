#pragma once
// Time comes from an injected Clock so that tests and jobs move time instead of sleeping.
// Times are stored as UTC epoch milliseconds; dates shown to people are in Asia/Shanghai (UTC+8,
// no daylight saving).

#include <atomic>
#include <cstdint>
#include <string>

namespace zhenwu {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since 1970-01-01T00:00:00Z.
  virtual int64_t NowMs() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override;
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_ms) : now_ms_(now_ms) {}
  int64_t NowMs() const override { return now_ms_.load(); }
  void Set(int64_t now_ms) { now_ms_.store(now_ms); }
  void Advance(int64_t ms) { now_ms_.fetch_add(ms); }

 private:
  std::atomic<int64_t> now_ms_;
};

// A calendar day.
struct Date {
  int year = 1970;
  int month = 1;
  int day = 1;
  auto operator<=>(const Date&) const = default;
};

constexpr int64_t kShanghaiOffsetMs = 8 * 3600 * 1000;

// Days since 1970-01-01 for a civil date, and back (proleptic Gregorian).
int64_t DaysFromCivil(Date d);
Date CivilFromDays(int64_t days);
// 0 = Monday ... 6 = Sunday.
int Weekday(Date d);
Date AddDays(Date d, int64_t days);
// The Shanghai calendar day of a UTC instant, and the UTC instant of a Shanghai midnight.
Date ShanghaiDate(int64_t epoch_ms);
int64_t ShanghaiMidnightMs(Date d);
// "2026-11-28"; ParseDate accepts exactly that form and validates the day of month.
std::string FormatDate(Date d);
bool ParseDate(std::string_view text, Date* out);
// "2026年11月28日", the form GB/T 9704 uses for dates.
std::string FormatDateChinese(Date d);
// "2026-11-28 14:05" in Shanghai time.
std::string FormatShanghaiMinute(int64_t epoch_ms);

}  // namespace zhenwu
