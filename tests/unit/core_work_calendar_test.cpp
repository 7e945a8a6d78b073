#include "core/work_calendar.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace zhenwu {
namespace {

WorkCalendar Official2026() {
  // The official schedule in shared/data, as the demo loads it.
  std::ifstream in(ZHENWU_SHARED_DATA "/holidays-cn-2026.csv");
  std::stringstream text;
  text << in.rdbuf();
  auto calendar = WorkCalendar::ParseCsv(text.str());
  EXPECT_TRUE(calendar.ok());
  return calendar.ok() ? std::move(calendar).value() : WorkCalendar{};
}

TEST(WorkCalendar, WeekendsRestWithoutSpecialDays) {
  WorkCalendar c;
  EXPECT_TRUE(c.IsWorkingDay({2026, 11, 27}));   // Friday
  EXPECT_FALSE(c.IsWorkingDay({2026, 11, 28}));  // Saturday
  EXPECT_EQ(c.AddWorkingDays({2026, 11, 27}, 1), (Date{2026, 11, 30}));
  EXPECT_EQ(c.AddWorkingDays({2026, 11, 27}, 0), (Date{2026, 11, 27}));
}

TEST(WorkCalendar, OfficialHolidaysAndAdjustedWorkdays) {
  const WorkCalendar c = Official2026();
  EXPECT_FALSE(c.IsWorkingDay({2026, 1, 1}));  // 元旦, a Thursday
  EXPECT_FALSE(c.IsWorkingDay({2026, 1, 2}));
  EXPECT_TRUE(c.IsWorkingDay({2026, 1, 4}));   // Sunday worked (调休)
  EXPECT_TRUE(c.IsWorkingDay({2026, 2, 14}));  // Saturday worked before 春节
  EXPECT_FALSE(c.IsWorkingDay({2026, 2, 16}));
  // Five working days from 2025-12-31 (Wednesday): 1–3 Jan off, 4 Jan (Sunday) worked.
  EXPECT_EQ(c.AddWorkingDays({2025, 12, 31}, 1), (Date{2026, 1, 4}));
  EXPECT_EQ(c.AddWorkingDays({2025, 12, 31}, 5), (Date{2026, 1, 8}));
  // Across 春节: 13 Feb (Fri) + 1 = 14 Feb (Saturday worked); + 2 = 24 Feb (after the break).
  EXPECT_EQ(c.AddWorkingDays({2026, 2, 13}, 1), (Date{2026, 2, 14}));
  EXPECT_EQ(c.AddWorkingDays({2026, 2, 13}, 2), (Date{2026, 2, 24}));
  EXPECT_EQ(c.WorkingDaysBetween({2026, 2, 13}, {2026, 2, 24}), 2);
  EXPECT_EQ(c.WorkingDaysBetween({2026, 2, 24}, {2026, 2, 13}), -2);
}

TEST(WorkCalendar, BadLinesNameTheirLineNumber) {
  auto r =
      WorkCalendar::ParseCsv("date,kind,name\n2026-01-01,holiday,元旦\n2026-02-30,holiday,x\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(r.error().message.find("第 3 行"), std::string::npos);
  EXPECT_FALSE(WorkCalendar::ParseCsv("2026-01-01,vacation,x\n").ok());
  EXPECT_FALSE(WorkCalendar::ParseCsv("2026-01-01\n").ok());
  EXPECT_TRUE(WorkCalendar::ParseCsv("# comment only\n\n").ok());
}

}  // namespace
}  // namespace zhenwu
