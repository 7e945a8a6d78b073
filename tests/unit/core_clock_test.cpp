#include "core/clock.hpp"

#include <gtest/gtest.h>

namespace zhenwu {
namespace {

TEST(Clock, CivilDaysRoundTrip) {
  for (int64_t days = -1000; days < 80000; days += 37) {
    EXPECT_EQ(DaysFromCivil(CivilFromDays(days)), days);
  }
  EXPECT_EQ(DaysFromCivil({1970, 1, 1}), 0);
  EXPECT_EQ(FormatDate(CivilFromDays(DaysFromCivil({2024, 2, 29}) + 1)), "2024-03-01");
}

TEST(Clock, Weekday) {
  EXPECT_EQ(Weekday({2026, 11, 28}), 5);  // Saturday
  EXPECT_EQ(Weekday({2026, 11, 30}), 0);  // Monday
  EXPECT_EQ(Weekday({1970, 1, 1}), 3);    // Thursday
}

TEST(Clock, ShanghaiDayStartsAtSixteenUtc) {
  const int64_t midnight = ShanghaiMidnightMs({2026, 11, 28});
  EXPECT_EQ(ShanghaiDate(midnight), (Date{2026, 11, 28}));
  EXPECT_EQ(ShanghaiDate(midnight - 1), (Date{2026, 11, 27}));
  EXPECT_EQ(FormatShanghaiMinute(midnight + 14 * 3600000 + 5 * 60000), "2026-11-28 14:05");
  EXPECT_EQ(ShanghaiDate(-1), (Date{1970, 1, 1}));  // 07:59:59.999 local
}

TEST(Clock, ParseDateRejectsImpossibleDates) {
  Date d;
  EXPECT_TRUE(ParseDate("2026-02-28", &d));
  EXPECT_EQ(d, (Date{2026, 2, 28}));
  EXPECT_FALSE(ParseDate("2026-02-29", &d));
  EXPECT_TRUE(ParseDate("2024-02-29", &d));
  EXPECT_FALSE(ParseDate("2026-13-01", &d));
  EXPECT_FALSE(ParseDate("2026-1-01", &d));
  EXPECT_FALSE(ParseDate("2026/01/01", &d));
  EXPECT_FALSE(ParseDate("", &d));
  EXPECT_FALSE(ParseDate("2026-04-31", &d));
}

TEST(Clock, ChineseDateHasNoLeadingZeros) {
  EXPECT_EQ(FormatDateChinese({2026, 1, 5}), "2026年1月5日");
}

TEST(Clock, FakeClockMovesOnlyWhenTold) {
  FakeClock clock(1000);
  EXPECT_EQ(clock.NowMs(), 1000);
  clock.Advance(500);
  EXPECT_EQ(clock.NowMs(), 1500);
  clock.Set(7);
  EXPECT_EQ(clock.NowMs(), 7);
}

}  // namespace
}  // namespace zhenwu
