// The clerk's queue on both backends: ListCases in deadline order over the open-case indexes
// (one range per scope column and status, merged) gives exactly what one ordered query over
// "unit or origin" gives, page after page, with no case twice; and on SQLite the statement is a
// set of index ranges with no sort of the whole workload.

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "auth/principal.hpp"
#include "calendar/store.hpp"
#include "org/demo.hpp"
#include "org/store.hpp"
#include "people/keys.hpp"
#include "services/service.hpp"
#include "support/db_fixture.hpp"

namespace zhenwu::services {
namespace {

using auth::Principal;
using auth::Role;
using auth::Scope;
using zhenwu::testing::Backend;
using zhenwu::testing::DbTest;

// Monday 2026-11-30 09:00 in Shanghai.
constexpr int64_t kMonday = 1796000400000;

// One inserted case as the reference sees it.
struct Seeded {
  int64_t id = 0;
  std::string unit_path, origin_path, status;
  std::optional<std::string> due_day;
  std::string Key() const { return due_day.value_or("9999-12-31"); }
};

class ServicesQueueTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    clock().Set(kMonday);
    ASSERT_TRUE(MigrateModules(
        {"core", "audit", "org", "auth", "people", "notify", "calendar", "services"}));
    auto keys = people::OpenKeys(test_db().temp_dir().string(), db());
    ASSERT_TRUE(keys) << keys.error().message;
    keys_ = *keys;
    auto loaded = db().WriteSync<int>([&](db::Conn& c) -> Result<int> {
      if (auto s = org::LoadDemoTree(c, clock()); !s) return std::move(s).error();
      return calendar::SeedIfEmpty(c, clock().NowMs());
    });
    ASSERT_TRUE(loaded) << loaded.error().message;
    auto cal = db().ReadSync<WorkCalendar>([](db::Conn& c) { return calendar::Load(c); });
    ASSERT_TRUE(cal);
    calendar_ = *cal;
    window_ = Unit("PZ-W02");
    other_window_ = Unit("PZ-W01");
    village_ = Unit("PZ-C01");
    town_ = Unit("PZ");
    clerk_ = Staff(1, Role::kClerk, Scope::kUnit, window_);
    // A clerk of two windows: two exact scopes, four ranges per status.
    two_windows_ = clerk_;
    two_windows_.grants.push_back(
        {Role::kClerk, Scope::kUnit, other_window_.id, other_window_.path});
    leader_ = Staff(2, Role::kLeader, Scope::kSubtree, town_);
    auto svc = db().WriteSync<int64_t>([&](db::Conn& c) -> Result<int64_t> {
      auto r = c.QueryOne(
          "INSERT INTO services_services (code, unit_id, name, statutory_days, promised_days, "
          "created_at_ms, updated_at_ms) VALUES ('PZ-T-001', $1, '测试事项', 20, 5, 0, 0) "
          "RETURNING id",
          {window_.id});
      if (!r) return std::move(r).error();
      return (*r)->Int(0);
    });
    ASSERT_TRUE(svc) << svc.error().message;
    service_id_ = *svc;
  }

  org::OrgUnit Unit(const std::string& code) {
    auto u = db().ReadSync<std::optional<org::OrgUnit>>(
        [&](db::Conn& c) { return org::FindUnitByCode(c, code); });
    EXPECT_TRUE(u && *u) << code;
    return u && *u ? **u : org::OrgUnit{};
  }

  static Principal Staff(int64_t id, Role role, Scope scope, const org::OrgUnit& unit) {
    Principal p;
    p.user_id = id;
    p.kind = Principal::Kind::kStaff;
    p.login = "u" + std::to_string(id);
    p.display_name = "测试";
    p.unit_id = unit.id;
    p.grants.push_back({role, scope, unit.id, unit.path});
    return p;
  }

  Deps Deps_() { return Deps{clock(), *keys_, calendar_, 2, 5}; }

  // Inserts `n` cases cycling through units, origins, statuses and deadlines (many sharing a
  // day, some without one), straight into the table.
  void Seed(int n) {
    const std::vector<std::pair<const org::OrgUnit*, const org::OrgUnit*>> places = {
        {&window_, &window_},        // walk-in: both columns match the clerk
        {&window_, &village_},       // 代办 from the village, handled at the window
        {&other_window_, &window_},  // applied at the window, handed over to another
        {&other_window_, &other_window_},
        {&window_, &window_}};
    const std::vector<std::string> statuses = {"submitted", "accepted",  "correcting",
                                               "submitted", "completed", "rejected"};
    auto done = db().WriteSync<int>([&](db::Conn& c) -> Result<int> {
      for (int i = 0; i < n; ++i) {
        const auto& [unit, origin] = places[static_cast<std::size_t>(i) % places.size()];
        const std::string status = statuses[static_cast<std::size_t>(i * 7) % statuses.size()];
        std::optional<std::string> due;
        if (status == "submitted" || status == "accepted") {
          // Few distinct days, so pages often end inside a day.
          due = "2026-12-0" + std::to_string(1 + (i * 3) % 9);
          if (i % 11 == 0) due.reset();  // an open case without a deadline sorts last
        }
        const std::string number = "PZ-20261130-" + std::to_string(1000 + i);
        auto r = c.QueryOne(
            "INSERT INTO services_cases (number, service_id, service_name, unit_id, unit_path, "
            "origin_unit_id, origin_path, channel, status, applicant_kind, applicant_name, "
            "phone_enc, phone_idx, phone_mask, phone4, promised_days, start_day, due_day, "
            "created_at_ms, updated_at_ms) VALUES ($1, $2, '测试事项', $3, $4, $5, $6, 'window', "
            "$7, 'resident', $8, '', '', '138****0000', '0000', 5, '2026-11-30', $9, 0, 0) "
            "RETURNING id",
            {number, service_id_, unit->id, unit->path, origin->id, origin->path, status,
             "申请人" + std::to_string(i), due ? db::Value{*due} : db::Value{}});
        if (!r) return std::move(r).error();
        seeded_.push_back({(*r)->Int(0), unit->path, origin->path, status, due});
      }
      return n;
    });
    ASSERT_TRUE(done) << done.error().message;
  }

  // What the queue must show: cases in the clerk's scopes with one of `statuses`, in (due key,
  // id) order.
  std::vector<int64_t> Expected(const std::vector<std::string>& paths,
                                const std::set<std::string>& statuses) const {
    std::vector<Seeded> match;
    for (const auto& s : seeded_) {
      const bool mine = std::find(paths.begin(), paths.end(), s.unit_path) != paths.end() ||
                        std::find(paths.begin(), paths.end(), s.origin_path) != paths.end();
      if (mine && statuses.contains(s.status)) match.push_back(s);
    }
    std::sort(match.begin(), match.end(), [](const Seeded& a, const Seeded& b) {
      return std::pair{a.Key(), a.id} < std::pair{b.Key(), b.id};
    });
    std::vector<int64_t> ids;
    for (const auto& s : match) ids.push_back(s.id);
    return ids;
  }

  // Every page of `query` for `who`, following the cursor; fails on a repeated case.
  std::vector<int64_t> AllPages(const Principal& who, CaseQuery query) {
    std::vector<int64_t> ids;
    std::set<int64_t> seen;
    for (int pages = 0; pages < 1000; ++pages) {
      auto page =
          db().ReadSync<CasePage>([&](db::Conn& c) { return ListCases(c, Deps_(), who, query); });
      EXPECT_TRUE(page) << page.error().message;
      if (!page) break;
      EXPECT_LE(page->cases.size(), static_cast<std::size_t>(query.limit));
      for (const auto& c : page->cases) {
        EXPECT_TRUE(seen.insert(c.id).second) << "case " << c.id << " twice";
        ids.push_back(c.id);
      }
      if (!page->next) break;
      EXPECT_EQ(page->cases.size(), static_cast<std::size_t>(query.limit));
      query.after = page->next;
    }
    return ids;
  }

  std::shared_ptr<const people::Keys> keys_;
  WorkCalendar calendar_;
  org::OrgUnit window_, other_window_, village_, town_;
  Principal clerk_, two_windows_, leader_;
  int64_t service_id_ = 0;
  std::vector<Seeded> seeded_;
};

const std::vector<CaseStatus> kOpen = {CaseStatus::kSubmitted, CaseStatus::kCorrecting,
                                       CaseStatus::kAccepted};

TEST_P(ServicesQueueTest, PagesAcrossUnitAndOriginInDeadlineOrderWithoutDuplicates) {
  Seed(120);
  for (int limit : {1, 4, 7, 50}) {
    CaseQuery q;
    q.statuses = kOpen;
    q.limit = limit;
    EXPECT_EQ(AllPages(clerk_, q),
              Expected({window_.path}, {"submitted", "correcting", "accepted"}))
        << "limit " << limit;
  }
  // The statuses in another order and one twice change nothing.
  CaseQuery q;
  q.statuses = {CaseStatus::kAccepted, CaseStatus::kSubmitted, CaseStatus::kAccepted,
                CaseStatus::kCorrecting};
  q.limit = 5;
  EXPECT_EQ(AllPages(clerk_, q), Expected({window_.path}, {"submitted", "correcting", "accepted"}));
}

TEST_P(ServicesQueueTest, OneStatusTwoWindowsAndTheLeadersSubtree) {
  Seed(90);
  CaseQuery one;
  one.statuses = {CaseStatus::kAccepted};
  one.limit = 3;
  EXPECT_EQ(AllPages(clerk_, one), Expected({window_.path}, {"accepted"}));
  one.statuses = {CaseStatus::kCorrecting};
  EXPECT_EQ(AllPages(clerk_, one), Expected({window_.path}, {"correcting"}));

  CaseQuery open;
  open.statuses = kOpen;
  open.limit = 6;
  EXPECT_EQ(AllPages(two_windows_, open),
            Expected({window_.path, other_window_.path}, {"submitted", "correcting", "accepted"}));

  // A subtree scope takes the single ordered query; the order is the same.
  std::vector<std::string> town_paths;
  for (const auto& s : seeded_) town_paths.push_back(s.unit_path);
  EXPECT_EQ(AllPages(leader_, open), Expected(town_paths, {"submitted", "correcting", "accepted"}));
}

TEST_P(ServicesQueueTest, DeadlineFiltersAndOtherFiltersApplyToEveryRange) {
  Seed(100);
  // Thursday 2026-12-03: deadlines 12-01 and 12-02 are past, 12-03 to 12-07 (two working days
  // on) are near, later ones on time.
  clock().Set(kMonday + 3 * 86400000);
  CaseQuery q;
  q.statuses = kOpen;
  q.limit = 4;
  q.due_state = DueState::kOverdue;
  auto overdue = AllPages(clerk_, q);
  std::vector<int64_t> want;
  for (int64_t id : Expected({window_.path}, {"submitted", "accepted"})) {
    for (const auto& s : seeded_) {
      if (s.id == id && s.due_day && *s.due_day < "2026-12-03") want.push_back(id);
    }
  }
  EXPECT_FALSE(want.empty());
  EXPECT_EQ(overdue, want);

  q.due_state = DueState::kOnTime;
  want.clear();
  for (int64_t id : Expected({window_.path}, {"submitted", "accepted"})) {
    for (const auto& s : seeded_) {
      if (s.id == id && s.due_day && *s.due_day > "2026-12-07") want.push_back(id);
    }
  }
  EXPECT_EQ(AllPages(clerk_, q), want);

  // Only the correcting tab with a deadline filter: nothing (paused cases have no deadline).
  CaseQuery paused;
  paused.statuses = {CaseStatus::kCorrecting};
  paused.due_state = DueState::kOverdue;
  EXPECT_TRUE(AllPages(clerk_, paused).empty());

  // Cases handled by the other window only: the unit filter narrows every range.
  CaseQuery other;
  other.statuses = kOpen;
  other.unit_id = other_window_.id;
  other.limit = 2;
  want.clear();
  for (int64_t id : Expected({window_.path}, {"submitted", "correcting", "accepted"})) {
    for (const auto& s : seeded_) {
      if (s.id == id && s.unit_path == other_window_.path) want.push_back(id);
    }
  }
  EXPECT_FALSE(want.empty());
  EXPECT_EQ(AllPages(clerk_, other), want);
}

TEST_P(ServicesQueueTest, ABadCursorIsRefused) {
  Seed(5);
  CaseQuery q;
  q.statuses = kOpen;
  q.after = "x:1";
  auto page =
      db().ReadSync<CasePage>([&](db::Conn& c) { return ListCases(c, Deps_(), clerk_, q); });
  ASSERT_FALSE(page);
  EXPECT_EQ(page.error().code, ErrorCode::kInvalidInput);
}

// SQLite chooses its plan without statistics, so the plan of the clerk's queue is fixed by the
// schema: every range uses an open-case index and nothing sorts the window's workload.
TEST_P(ServicesQueueTest, TheQueueIsIndexRangesOnSqlite) {
  if (backend() != Backend::kSqlite) GTEST_SKIP() << "plans of PostgreSQL depend on statistics";
  Seed(40);
  CaseQuery q;
  q.statuses = kOpen;
  q.limit = 3;
  for (bool second_page : {false, true}) {
    for (auto due : {std::optional<DueState>{}, std::optional<DueState>{DueState::kOverdue}}) {
      q.due_state = due;
      q.after = second_page ? std::optional<std::string>{"d:2026-12-04:5"} : std::nullopt;
      auto plan = db().ReadSync<std::string>([&](db::Conn& c) -> Result<std::string> {
        auto st = CaseListSql(c, Deps_(), clerk_, q);
        if (!st) return std::move(st).error();
        EXPECT_TRUE(st->merge);
        auto rows = c.Query("EXPLAIN QUERY PLAN " + st->sql, st->params);
        if (!rows) return std::move(rows).error();
        std::string text;
        for (const auto& r : rows->rows) text += r.Text(3) + "\n";
        return text;
      });
      ASSERT_TRUE(plan) << plan.error().message;
      EXPECT_NE(plan->find("USING INDEX services_cases_open_unit"), std::string::npos) << *plan;
      EXPECT_NE(plan->find("USING INDEX services_cases_open_origin"), std::string::npos) << *plan;
      EXPECT_EQ(plan->find("TEMP B-TREE"), std::string::npos) << *plan;
      EXPECT_EQ(plan->find("SCAN c"), std::string::npos) << *plan;
    }
  }
}

ZHENWU_ALL_BACKENDS(ServicesQueueTest);

}  // namespace
}  // namespace zhenwu::services
