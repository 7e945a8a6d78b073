// The pure rules of 办件: the lifecycle table, the working-day deadline over weekends, public
// holidays, 调休 working weekends and 补正 pauses, due states, case numbers.

#include <gtest/gtest.h>

#include "core/work_calendar.hpp"
#include "services/model.hpp"
#include "view/embedded.hpp"

namespace zhenwu::services {
namespace {

Date D(int y, int m, int d) { return Date{y, m, d}; }

WorkCalendar Official() {
  for (const auto& f : embedded::Files()) {
    if (f.path == "assets/calendar/holidays-cn-2026.csv") {
      auto cal = WorkCalendar::ParseCsv(f.data);
      EXPECT_TRUE(cal);
      return *cal;
    }
  }
  ADD_FAILURE() << "the 2026 calendar is not embedded";
  return {};
}

TEST(ServicesDeadline, SkipsWeekends) {
  const WorkCalendar cal = Official();
  // Applied on Friday 2026-11-27, 3 working days: Mon 30, Tue 1, Wed 2.
  CaseClock clock{D(2026, 11, 27), 3, 0, std::nullopt};
  EXPECT_EQ(DueDate(cal, clock, D(2026, 11, 27)), D(2026, 12, 2));
}

TEST(ServicesDeadline, SkipsPublicHolidaysAndCountsAdjustedWorkingWeekends) {
  const WorkCalendar cal = Official();
  // Applied on Wed 2026-09-30: 10-01..07 are 国庆 holidays, Sat 10-10 is a 调休 working day.
  // 5 working days: Thu 8, Fri 9, Sat 10 (调休), Mon 12, Tue 13.
  CaseClock clock{D(2026, 9, 30), 5, 0, std::nullopt};
  EXPECT_EQ(DueDate(cal, clock, D(2026, 9, 30)), D(2026, 10, 13));
  // Applied on Fri 2026-09-18: Sat 19 rests, Sun 20 is worked (国庆节调休上班).
  CaseClock sunday{D(2026, 9, 18), 1, 0, std::nullopt};
  EXPECT_EQ(DueDate(cal, sunday, D(2026, 9, 18)), D(2026, 9, 20));
  // Without the calendar (weekday rule only) the same case would be due on Monday the 21st.
  EXPECT_EQ(DueDate(WorkCalendar{}, sunday, D(2026, 9, 18)), D(2026, 9, 21));
}

TEST(ServicesDeadline, CorrectionPausesTheClock) {
  const WorkCalendar cal = Official();
  // Applied Mon 2026-11-23 with 5 days: due Mon 11-30 without a pause.
  CaseClock clock{D(2026, 11, 23), 5, 0, std::nullopt};
  EXPECT_EQ(DueDate(cal, clock, D(2026, 11, 23)), D(2026, 11, 30));
  // 补正 asked on Wed 11-25; on Fri 11-27 the case has been paused 2 working days (26, 27).
  clock.paused_since = D(2026, 11, 25);
  EXPECT_EQ(DueDate(cal, clock, D(2026, 11, 27)), D(2026, 12, 2));
  // Re-submitted on Tue 12-01: paused 26, 27, 30, 1 = 4 working days -> due Fri 12-04.
  const int paused = PausedWorkingDays(cal, D(2026, 11, 25), D(2026, 12, 1));
  EXPECT_EQ(paused, 4);
  CaseClock resumed{D(2026, 11, 23), 5, paused, std::nullopt};
  EXPECT_EQ(DueDate(cal, resumed, D(2026, 12, 1)), D(2026, 12, 4));
  // A pause over a weekend only costs its working days: asked Fri, answered Mon = 1 day.
  EXPECT_EQ(PausedWorkingDays(cal, D(2026, 11, 27), D(2026, 11, 30)), 1);
  // Asked and answered the same day: nothing.
  EXPECT_EQ(PausedWorkingDays(cal, D(2026, 11, 27), D(2026, 11, 27)), 0);
  // A pause over the 国庆 holidays: asked Wed 9-30, answered Thu 10-08 = 1 working day.
  EXPECT_EQ(PausedWorkingDays(cal, D(2026, 9, 30), D(2026, 10, 8)), 1);
}

TEST(ServicesDeadline, DueStates) {
  const WorkCalendar cal = Official();
  const Date due = D(2026, 12, 2);                                       // Wednesday
  EXPECT_EQ(StateOn(cal, due, D(2026, 11, 27), 2), DueState::kOnTime);   // Fri: 3 days left
  EXPECT_EQ(StateOn(cal, due, D(2026, 11, 30), 2), DueState::kDueSoon);  // Mon: 2 left
  EXPECT_EQ(StateOn(cal, due, D(2026, 12, 2), 2), DueState::kDueSoon);   // the due day
  EXPECT_EQ(StateOn(cal, due, D(2026, 12, 3), 2), DueState::kOverdue);
  EXPECT_EQ(DaysLeft(cal, due, D(2026, 11, 27)), 3);
  EXPECT_EQ(DaysLeft(cal, due, D(2026, 12, 2)), 0);
  EXPECT_EQ(DaysLeft(cal, due, D(2026, 12, 4)), -2);
  EXPECT_EQ(StateOn(cal, due, D(2026, 11, 30), 0), DueState::kOnTime);
}

TEST(ServicesLifecycle, LegalTransitions) {
  using S = CaseStatus;
  EXPECT_EQ(Next(S::kSubmitted, Action::kAccept), S::kAccepted);
  EXPECT_EQ(Next(S::kSubmitted, Action::kReject), S::kRejected);
  EXPECT_EQ(Next(S::kSubmitted, Action::kRequestCorrection), S::kCorrecting);
  EXPECT_EQ(Next(S::kCorrecting, Action::kResubmit), S::kSubmitted);
  EXPECT_EQ(Next(S::kAccepted, Action::kTransfer), S::kAccepted);
  EXPECT_EQ(Next(S::kAccepted, Action::kComplete), S::kCompleted);
  EXPECT_EQ(Next(S::kCompleted, Action::kRate), S::kCompleted);
  EXPECT_EQ(Next(S::kCorrecting, Action::kWithdraw), S::kWithdrawn);
  EXPECT_EQ(Next(S::kRejected, Action::kNote), S::kRejected);
}

TEST(ServicesLifecycle, IllegalTransitionsAreRefused) {
  using S = CaseStatus;
  EXPECT_FALSE(Next(S::kSubmitted, Action::kComplete));  // 办结 needs 受理 first
  EXPECT_FALSE(Next(S::kCorrecting, Action::kAccept));   // waits for the materials
  EXPECT_FALSE(Next(S::kAccepted, Action::kAccept));     // accepted twice
  EXPECT_FALSE(Next(S::kAccepted, Action::kReject));     // too late for 不予受理
  EXPECT_FALSE(Next(S::kAccepted, Action::kWithdraw));
  EXPECT_FALSE(Next(S::kCompleted, Action::kComplete));
  EXPECT_FALSE(Next(S::kRejected, Action::kAccept));
  EXPECT_FALSE(Next(S::kWithdrawn, Action::kResubmit));
  EXPECT_FALSE(Next(S::kSubmitted, Action::kRate));
  EXPECT_FALSE(Next(S::kSubmitted, Action::kSubmit));
  for (auto s : {S::kRejected, S::kCompleted, S::kWithdrawn}) {
    EXPECT_FALSE(IsOpen(s));
    for (auto a : StaffActions(s)) EXPECT_EQ(a, Action::kNote);
  }
}

TEST(ServicesLifecycle, NamesRoundTrip) {
  for (auto s : {CaseStatus::kSubmitted, CaseStatus::kCorrecting, CaseStatus::kAccepted,
                 CaseStatus::kRejected, CaseStatus::kCompleted, CaseStatus::kWithdrawn}) {
    EXPECT_EQ(StatusFromName(StatusName(s)), s);
    EXPECT_FALSE(StatusLabel(s).empty());
  }
  EXPECT_EQ(ActionFromName("correct"), Action::kRequestCorrection);
  EXPECT_FALSE(ActionFromName("delete"));
  EXPECT_EQ(ChannelFromName("proxy"), Channel::kProxy);
  EXPECT_EQ(RatingLabel(1), "非常不满意");
  EXPECT_EQ(RatingLabel(5), "非常满意");
  EXPECT_TRUE(IsBadRating(2));
  EXPECT_FALSE(IsBadRating(3));
}

TEST(ServicesNumbers, FormatAndRecognise) {
  EXPECT_EQ(FormatCaseNumber("PZ", D(2026, 11, 30), 7), "PZ-20261130-0007");
  EXPECT_EQ(FormatCaseNumber("PZ", D(2026, 11, 30), 12345), "PZ-20261130-12345");
  EXPECT_TRUE(LooksLikeCaseNumber("PZ-20261130-0007"));
  EXPECT_TRUE(LooksLikeCaseNumber("BL-X1-20261130-0007"));
  EXPECT_FALSE(LooksLikeCaseNumber("PZ-2026113-0007"));
  EXPECT_FALSE(LooksLikeCaseNumber("pz-20261130-0007"));
  EXPECT_FALSE(LooksLikeCaseNumber("PZ-20261130-07"));
  EXPECT_FALSE(LooksLikeCaseNumber("' OR 1=1 --"));
  EXPECT_FALSE(LooksLikeCaseNumber(""));
  EXPECT_EQ(LastFour("138 0000 1234"), "1234");
  EXPECT_EQ(LastFour("12"), "");
}

}  // namespace
}  // namespace zhenwu::services
