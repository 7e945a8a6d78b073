// The services operations on both backends: applying (online, 代办, at the window) with the
// resident register reused, case numbers, the lifecycle with 补正 pauses and hand-overs,
// ratings and follow-ups, and the permission boundary between neighbouring villages.

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <set>
#include <thread>

#include "auth/principal.hpp"
#include "calendar/store.hpp"
#include "org/demo.hpp"
#include "org/store.hpp"
#include "people/keys.hpp"
#include "people/service.hpp"
#include "services/service.hpp"
#include "support/db_fixture.hpp"

namespace zhenwu::services {
namespace {

using auth::Principal;
using auth::Role;
using auth::Scope;
using zhenwu::testing::DbTest;

// Monday 2026-11-30 09:00 in Shanghai.
constexpr int64_t kMonday = 1796000400000;
constexpr int64_t kDay = 86400000;
const std::string kSha(64, 'a');

class ServicesTest : public DbTest {
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
    town_ = Unit("PZ");
    window_ = Unit("PZ-W02");  // 民政办
    other_window_ = Unit("PZ-W01");
    village1_ = Unit("PZ-C01");
    village2_ = Unit("PZ-C02");
    clerk_ = Staff(1, "王窗口", Role::kClerk, Scope::kUnit, window_);
    other_clerk_ = Staff(2, "黄窗口", Role::kClerk, Scope::kUnit, other_window_);
    cadre1_ = Staff(3, "张村干", Role::kVillageCadre, Scope::kSubtree, village1_);
    cadre2_ = Staff(4, "陈村干", Role::kVillageCadre, Scope::kSubtree, village2_);
    leader_ = Staff(5, "李镇长", Role::kLeader, Scope::kSubtree, town_);
    editor_ = Staff(6, "刘信息员", Role::kEditor, Scope::kSubtree, town_);
    ServiceInput in;
    in.code = "PZ-MZ-001";
    in.name = "临时救助申请";
    in.unit_id = window_.id;
    in.category = "行政给付";
    in.life_events = {"subsistence"};
    in.statutory_days = "20";
    in.promised_days = "5";
    in.online = true;
    in.proxy = true;
    in.materials = {{.name = "居民身份证", .form = "original", .required = true},
                    {.name = "困难情况说明", .form = "either", .required = true},
                    {.name = "医疗费用票据", .form = "copy", .required = false}};
    auto svc = Write<Service>(
        [&](db::Conn& c) { return CreateService(c, Deps_(), actor_, &editor_, in); });
    ASSERT_TRUE(svc) << svc.error().message;
    service_ = *svc;
  }

  org::OrgUnit Unit(const std::string& code) {
    auto u = db().ReadSync<std::optional<org::OrgUnit>>(
        [&](db::Conn& c) { return org::FindUnitByCode(c, code); });
    EXPECT_TRUE(u && *u) << code;
    return u && *u ? **u : org::OrgUnit{};
  }

  static Principal Staff(int64_t id, std::string name, Role role, Scope scope,
                         const org::OrgUnit& unit) {
    Principal p;
    p.user_id = id;
    p.kind = Principal::Kind::kStaff;
    p.login = "u" + std::to_string(id);
    p.display_name = std::move(name);
    p.unit_id = unit.id;
    p.grants.push_back({role, scope, unit.id, unit.path});
    return p;
  }

  Deps Deps_() { return Deps{clock(), *keys_, calendar_, 2, 5}; }

  template <class T>
  Result<T> Write(std::function<Result<T>(db::Conn&)> fn) {
    return db().WriteSync<T>(std::move(fn));
  }
  template <class T>
  Result<T> Read(std::function<Result<T>(db::Conn&)> fn) {
    return db().ReadSync<T>(std::move(fn));
  }

  UploadedFile FileFor(int64_t material_id, char fill = 'a') {
    return UploadedFile{material_id, std::string(64, fill), "scan.pdf", "application/pdf", 1234};
  }

  ApplyInput Application(std::string id_card = "450981199003071237") {
    ApplyInput in;
    in.service_id = service_.id;
    in.channel = Channel::kOnline;
    in.name = "韦小红";
    in.id_card = std::move(id_card);
    in.phone = "13812345678";
    in.village_id = village1_.id;
    in.address = "示例一村 3 组";
    in.description = "家中突发困难";
    in.files = {FileFor(service_.materials[0].id), FileFor(service_.materials[1].id, 'b')};
    return in;
  }

  Result<ServiceCase> ApplyAs(const Principal* who, ApplyInput in) {
    return Write<ServiceCase>([&](db::Conn& c) { return Apply(c, Deps_(), actor_, who, in); });
  }

  // PostgreSQL: applies with `in` twice at once. The first application's transaction is held
  // open, with its new register record, until the second one waits for that record's lock (or
  // 10 s); then both finish.
  std::pair<Result<ServiceCase>, Result<ServiceCase>> ApplyTwiceAtOnce(const ApplyInput& in) {
    std::promise<void> applied, release;
    auto release_future = release.get_future().share();
    auto first = std::async(std::launch::async, [&] {
      return db().WriteSync<ServiceCase>([&](db::Conn& c) -> Result<ServiceCase> {
        auto made = Apply(c, Deps_(), actor_, nullptr, in);
        applied.set_value();
        release_future.wait();
        return made;
      });
    });
    applied.get_future().wait();
    auto second = std::async(std::launch::async, [&] { return ApplyAs(nullptr, in); });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int64_t waiting = 0;
    while (waiting == 0 && std::chrono::steady_clock::now() < deadline) {
      waiting = CountWhere("pg_stat_activity",
                           "wait_event_type = 'Lock' AND datname = current_database()");
      if (waiting == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(waiting, 1) << "the second application should wait for the first one's record";
    release.set_value();
    auto a = first.get();
    return {std::move(a), second.get()};
  }

  // Rows of `table` matching `where` (with at most one parameter, $1).
  int64_t CountWhere(const std::string& table, const std::string& where, db::Value param = {}) {
    db::Params params;
    if (!std::holds_alternative<std::monostate>(param)) params.push_back(std::move(param));
    auto n = Read<int64_t>([&](db::Conn& c) -> Result<int64_t> {
      auto row = c.QueryOne("SELECT COUNT(*) FROM " + table + " WHERE " + where, params);
      if (!row) return std::move(row).error();
      return (*row)->Int(0);
    });
    EXPECT_TRUE(n) << n.error().message;
    return n ? *n : -1;
  }

  Result<ServiceCase> Step(const Principal* who, const std::string& number, TransitionInput in) {
    return Write<ServiceCase>(
        [&](db::Conn& c) { return Transition(c, Deps_(), actor_, who, number, in); });
  }

  Result<ServiceCase> Get(const Principal* who, const std::string& number) {
    return Read<ServiceCase>([&](db::Conn& c) { return GetCase(c, Deps_(), who, number); });
  }

  static bool HasField(const Error& e, const std::string& field) {
    for (const auto& f : e.fields) {
      if (f.field == field) return true;
    }
    return false;
  }

  std::shared_ptr<const people::Keys> keys_;
  WorkCalendar calendar_;
  audit::Actor actor_{int64_t{1}, "clerk", "127.0.0.1", "req-1"};
  org::OrgUnit town_, window_, other_window_, village1_, village2_;
  Principal clerk_, other_clerk_, cadre1_, cadre2_, leader_, editor_;
  Service service_;
};

TEST_P(ServicesTest, OnlineApplicationGetsANumberADeadlineAndARegisteredApplicant) {
  auto c = ApplyAs(nullptr, Application());
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->number, "PZ-20261130-0001");
  EXPECT_EQ(c->status, CaseStatus::kSubmitted);
  EXPECT_EQ(c->channel, Channel::kOnline);
  EXPECT_EQ(c->applicant_phone_mask, "138****5678");
  EXPECT_EQ(c->unit_id, window_.id);
  ASSERT_TRUE(c->due);
  EXPECT_EQ(FormatDate(*c->due), "2026-12-07");  // 5 working days after Monday 11-30
  EXPECT_EQ(c->files.size(), 2u);
  ASSERT_EQ(c->events.size(), 1u);
  EXPECT_EQ(c->events[0].action, Action::kSubmit);
  ASSERT_TRUE(c->resident_id);
  // The applicant is now in the shared register; the next application reuses the record.
  auto again = ApplyAs(nullptr, Application());
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->number, "PZ-20261130-0002");
  EXPECT_EQ(again->resident_id, c->resident_id);
  auto found = Read<std::optional<people::Resident>>([&](db::Conn& conn) {
    return people::FindResidentByIdCard(conn, clock(), *keys_, "450981199003071237");
  });
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->id, *c->resident_id);
  // The next day starts a new sequence.
  clock().Advance(kDay);
  auto tuesday = ApplyAs(nullptr, Application());
  ASSERT_TRUE(tuesday);
  EXPECT_EQ(tuesday->number, "PZ-20261201-0001");
}

TEST_P(ServicesTest, BadApplicationsNameEveryWrongField) {
  ApplyInput in = Application("450981199003071238");  // wrong check digit
  in.phone = "12345";
  in.village_id = window_.id;  // not a village
  in.files.pop_back();         // the second required material is missing
  auto c = ApplyAs(nullptr, in);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidInput);
  EXPECT_TRUE(HasField(c.error(), "id_card"));
  EXPECT_TRUE(HasField(c.error(), "phone"));
  EXPECT_TRUE(HasField(c.error(), "village_id"));
  EXPECT_TRUE(HasField(c.error(), "file_" + std::to_string(service_.materials[1].id)));
  // Nothing was written: no case, no resident.
  auto n = Read<int64_t>([](db::Conn& conn) -> Result<int64_t> {
    auto r = conn.QueryOne("SELECT COUNT(*) FROM services_cases");
    if (!r) return std::move(r).error();
    return (**r).Int(0);
  });
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 0);
  // A registered number with another name is refused rather than overwritten.
  ASSERT_TRUE(ApplyAs(nullptr, Application()));
  ApplyInput other = Application();
  other.name = "韦小明";
  auto mismatch = ApplyAs(nullptr, other);
  ASSERT_FALSE(mismatch);
  EXPECT_TRUE(HasField(mismatch.error(), "name"));
  // A file that is not a PDF/JPEG/PNG reference is refused.
  ApplyInput junk = Application();
  junk.files[0].content_type = "text/html";
  auto refused = ApplyAs(nullptr, junk);
  ASSERT_FALSE(refused);
  EXPECT_TRUE(HasField(refused.error(), "files"));
}

TEST_P(ServicesTest, ChannelsFollowTheCatalogue) {
  ServiceInput window_only;
  window_only.code = "PZ-MZ-002";
  window_only.name = "窗口专办事项";
  window_only.unit_id = window_.id;
  window_only.statutory_days = "10";
  window_only.promised_days = "3";
  window_only.materials = {{.name = "居民身份证", .required = true}};
  auto svc = Write<Service>(
      [&](db::Conn& c) { return CreateService(c, Deps_(), actor_, &editor_, window_only); });
  ASSERT_TRUE(svc) << svc.error().message;
  ApplyInput in = Application();
  in.service_id = svc->id;
  in.files.clear();
  auto online = ApplyAs(nullptr, in);
  ASSERT_FALSE(online);
  EXPECT_TRUE(HasField(online.error(), "service_id"));
  in.channel = Channel::kProxy;
  auto proxy = ApplyAs(&cadre1_, in);
  ASSERT_FALSE(proxy);
  EXPECT_TRUE(HasField(proxy.error(), "service_id"));
  // At the window the clerk checks paper originals: no upload needed.
  in.channel = Channel::kWindow;
  auto walk_in = ApplyAs(&clerk_, in);
  ASSERT_TRUE(walk_in) << walk_in.error().message;
  EXPECT_EQ(walk_in->agent_name, "王窗口");
  // Another window's clerk cannot open cases for this window.
  auto foreign = ApplyAs(&other_clerk_, in);
  ASSERT_FALSE(foreign);
  EXPECT_EQ(foreign.error().code, ErrorCode::kNotFound);
  // Nobody may open a window case anonymously.
  auto anonymous = ApplyAs(nullptr, in);
  ASSERT_FALSE(anonymous);
  EXPECT_EQ(anonymous.error().code, ErrorCode::kUnauthenticated);
}

TEST_P(ServicesTest, ProxyApplicationsStayWithinTheCadresVillage) {
  ApplyInput in = Application();
  in.channel = Channel::kProxy;
  auto c = ApplyAs(&cadre1_, in);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->channel, Channel::kProxy);
  EXPECT_EQ(c->agent_name, "张村干");
  EXPECT_EQ(c->origin_unit_id, village1_.id);
  EXPECT_EQ(c->unit_id, window_.id);  // handled by the town window
  // For a villager of the neighbouring village: refused.
  ApplyInput neighbour = Application("11010519491231002X");
  neighbour.channel = Channel::kProxy;
  neighbour.village_id = village2_.id;
  auto refused = ApplyAs(&cadre1_, neighbour);
  ASSERT_FALSE(refused);
  EXPECT_TRUE(HasField(refused.error(), "village_id"));
  // A clerk holds no 代办 permission.
  auto clerk = ApplyAs(&clerk_, in);
  ASSERT_FALSE(clerk);
  EXPECT_EQ(clerk.error().code, ErrorCode::kForbidden);

  // Who sees it: the cadre (origin), the window's clerk, the town leader; not the neighbour
  // village's cadre nor another window's clerk, who get kNotFound as if it did not exist.
  EXPECT_TRUE(Get(&cadre1_, c->number));
  EXPECT_TRUE(Get(&clerk_, c->number));
  EXPECT_TRUE(Get(&leader_, c->number));
  for (const Principal* p : {&cadre2_, &other_clerk_}) {
    auto hidden = Get(p, c->number);
    ASSERT_FALSE(hidden);
    EXPECT_EQ(hidden.error().code, ErrorCode::kNotFound);
    auto act = Step(p, c->number, {.action = Action::kAccept});
    ASSERT_FALSE(act);
    EXPECT_EQ(act.error().code, ErrorCode::kNotFound);
    auto list =
        Read<CasePage>([&](db::Conn& conn) { return ListCases(conn, Deps_(), *p, CaseQuery{}); });
    ASSERT_TRUE(list);
    EXPECT_TRUE(list->cases.empty());
  }
  // The cadre sees it but does not handle it at the town window; the leader only watches.
  for (const Principal* p : {&cadre1_, &leader_}) {
    auto act = Step(p, c->number, {.action = Action::kAccept});
    ASSERT_FALSE(act);
    EXPECT_EQ(act.error().code, ErrorCode::kForbidden);
  }
  auto list = Read<CasePage>(
      [&](db::Conn& conn) { return ListCases(conn, Deps_(), cadre1_, CaseQuery{}); });
  ASSERT_TRUE(list);
  ASSERT_EQ(list->cases.size(), 1u);
}

TEST_P(ServicesTest, CorrectionPausesTheDeadlineAndTheApplicantResubmitsOnlyWhatWasAsked) {
  auto c = ApplyAs(nullptr, Application());
  ASSERT_TRUE(c);
  EXPECT_EQ(FormatDate(*c->due), "2026-12-07");
  // Monday: 一次性告知 — the certificate and the explanation, with a note.
  TransitionInput correct;
  correct.action = Action::kRequestCorrection;
  correct.corrections = {{.material_id = service_.materials[0].id, .reason = "复印件不清晰"},
                         {.material_id = service_.materials[1].id, .reason = "缺少村委会盖章"}};
  correct.note = "请一次性补齐";
  auto asked = Step(&clerk_, c->number, correct);
  ASSERT_TRUE(asked) << asked.error().message;
  EXPECT_EQ(asked->status, CaseStatus::kCorrecting);
  EXPECT_EQ(asked->due_state, DueState::kNone);
  EXPECT_EQ(asked->corrections.size(), 3u);  // two materials and the note
  // The clerk cannot accept while waiting.
  auto early = Step(&clerk_, c->number, {.action = Action::kAccept});
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().code, ErrorCode::kConflict);
  // Thursday the applicant comes back with one file only: the other is named.
  clock().Set(kMonday + 3 * kDay);
  TransitionInput partial;
  partial.action = Action::kResubmit;
  partial.files = {FileFor(service_.materials[0].id, 'c')};
  auto missing = Write<ServiceCase>([&](db::Conn& conn) {
    return ApplicantStep(conn, Deps_(), actor_, nullptr, c->number, "5678", partial);
  });
  ASSERT_FALSE(missing);
  EXPECT_TRUE(HasField(missing.error(), "file_" + std::to_string(service_.materials[1].id)));
  // Wrong phone digits: the same answer as an unknown case.
  partial.files.push_back(FileFor(service_.materials[1].id, 'd'));
  auto wrong = Write<ServiceCase>([&](db::Conn& conn) {
    return ApplicantStep(conn, Deps_(), actor_, nullptr, c->number, "0000", partial);
  });
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::kNotFound);
  auto back = Write<ServiceCase>([&](db::Conn& conn) {
    return ApplicantStep(conn, Deps_(), actor_, nullptr, c->number, "5678", partial);
  });
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->status, CaseStatus::kSubmitted);
  // Paused Tue, Wed, Thu = 3 working days: due 12-07 + 3 = Thu 12-10.
  ASSERT_TRUE(back->due);
  EXPECT_EQ(FormatDate(*back->due), "2026-12-10");
  int superseded = 0;
  for (const auto& f : back->files) superseded += f.superseded ? 1 : 0;
  EXPECT_EQ(superseded, 2);
  EXPECT_EQ(back->files.size(), 4u);
  for (const auto& item : back->corrections) EXPECT_TRUE(item.resolved);
}

TEST_P(ServicesTest, WholeLifecycleWithHandOverRatingAndFollowUp) {
  auto c = ApplyAs(nullptr, Application());
  ASSERT_TRUE(c);
  auto accepted = Step(&clerk_, c->number,
                       {.action = Action::kAccept, .expect_status = CaseStatus::kSubmitted});
  ASSERT_TRUE(accepted) << accepted.error().message;
  EXPECT_EQ(accepted->status, CaseStatus::kAccepted);
  // A second click on the stale 受理 button.
  auto twice = Step(&clerk_, c->number,
                    {.action = Action::kAccept, .expect_status = CaseStatus::kSubmitted});
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, ErrorCode::kConflict);
  // Rating before 办结 is refused.
  auto early = Write<ServiceCase>([&](db::Conn& conn) {
    return RateCase(conn, Deps_(), actor_, nullptr, c->number, "5678", 5, "");
  });
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().code, ErrorCode::kConflict);
  // Hand-over to another window of the town; a unit outside the town is refused.
  auto outside =
      Step(&clerk_, c->number, {.action = Action::kTransfer, .target_unit_id = Unit("BL").id});
  ASSERT_FALSE(outside);
  EXPECT_TRUE(HasField(outside.error(), "target_unit_id"));
  auto moved =
      Step(&clerk_, c->number,
           {.action = Action::kTransfer, .note = "需社保核实", .target_unit_id = other_window_.id});
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_EQ(moved->unit_id, other_window_.id);
  // Now it is the other window's case: the window that took the application still follows it
  // but can no longer act on it.
  EXPECT_TRUE(Get(&clerk_, c->number));
  auto stale = Step(&clerk_, c->number, {.action = Action::kNote, .note = "x"});
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::kForbidden);
  auto no_result = Step(&other_clerk_, c->number, {.action = Action::kComplete});
  ASSERT_FALSE(no_result);
  EXPECT_TRUE(HasField(no_result.error(), "result"));
  auto done =
      Step(&other_clerk_, c->number, {.action = Action::kComplete, .result = "准予救助 800 元"});
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->status, CaseStatus::kCompleted);
  EXPECT_FALSE(done->due);
  EXPECT_FALSE(done->overdue_at_completion);
  // The applicant rates it 不满意 with the phone digits; a follow-up opens for the clerk.
  auto rated = Write<ServiceCase>([&](db::Conn& conn) {
    return RateCase(conn, Deps_(), actor_, nullptr, c->number, "5678", 2, "等待时间太长");
  });
  ASSERT_TRUE(rated) << rated.error().message;
  ASSERT_TRUE(rated->rating);
  EXPECT_EQ(rated->rating->score, 2);
  ASSERT_TRUE(rated->followup);
  EXPECT_FALSE(rated->followup->closed);
  EXPECT_EQ(rated->followup->owner_name, "黄窗口");
  EXPECT_EQ(FormatDate(rated->followup->due), "2026-12-07");
  auto again = Write<ServiceCase>([&](db::Conn& conn) {
    return RateCase(conn, Deps_(), actor_, nullptr, c->number, "5678", 5, "");
  });
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  // The leader sees the follow-up; the clerk closes it with an outcome the applicant sees.
  auto open = Read<std::vector<FollowUp>>(
      [&](db::Conn& conn) { return ListFollowUps(conn, Deps_(), leader_, {}); });
  ASSERT_TRUE(open);
  ASSERT_EQ(open->size(), 1u);
  auto by_leader = Write<FollowUp>([&](db::Conn& conn) {
    return CloseFollowUp(conn, Deps_(), actor_, &leader_, (*open)[0].id, "已致电道歉");
  });
  ASSERT_FALSE(by_leader);
  EXPECT_EQ(by_leader.error().code, ErrorCode::kForbidden);
  auto empty = Write<FollowUp>([&](db::Conn& conn) {
    return CloseFollowUp(conn, Deps_(), actor_, &other_clerk_, (*open)[0].id, " ");
  });
  ASSERT_FALSE(empty);
  EXPECT_TRUE(HasField(empty.error(), "outcome"));
  auto closed = Write<FollowUp>([&](db::Conn& conn) {
    return CloseFollowUp(conn, Deps_(), actor_, &other_clerk_, (*open)[0].id,
                         "已回访致歉，窗口增设叫号提醒");
  });
  ASSERT_TRUE(closed) << closed.error().message;
  EXPECT_TRUE(closed->closed);
  auto tracked = Read<ServiceCase>(
      [&](db::Conn& conn) { return TrackCase(conn, Deps_(), nullptr, c->number, "5678"); });
  ASSERT_TRUE(tracked);
  ASSERT_TRUE(tracked->followup);
  EXPECT_EQ(tracked->followup->outcome, "已回访致歉，窗口增设叫号提醒");
  // History: submit, accept, transfer, complete, rate, follow-up note.
  ASSERT_EQ(tracked->events.size(), 6u);
  EXPECT_EQ(tracked->events[2].action, Action::kTransfer);
  auto wrong = Read<ServiceCase>(
      [&](db::Conn& conn) { return TrackCase(conn, Deps_(), nullptr, c->number, "1234"); });
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::kNotFound);
}

TEST_P(ServicesTest, RejectNeedsAReasonAndEndsTheCase) {
  auto c = ApplyAs(nullptr, Application());
  ASSERT_TRUE(c);
  auto no_reason = Step(&clerk_, c->number, {.action = Action::kReject});
  ASSERT_FALSE(no_reason);
  EXPECT_TRUE(HasField(no_reason.error(), "reason"));
  auto rejected = Step(&clerk_, c->number, {.action = Action::kReject, .note = "不符合救助条件"});
  ASSERT_TRUE(rejected);
  EXPECT_EQ(rejected->status, CaseStatus::kRejected);
  auto complete = Step(&clerk_, c->number, {.action = Action::kComplete, .result = "x"});
  ASSERT_FALSE(complete);
  EXPECT_EQ(complete.error().code, ErrorCode::kConflict);
}

TEST_P(ServicesTest, DeskListsByDeadlineWithStatesAndPages) {
  // Five cases on five days: Mon..Fri of the week before, each with 5 working days.
  for (int i = 0; i < 5; ++i) {
    clock().Set(kMonday - 7 * kDay + i * kDay);
    ApplyInput in = Application();
    ASSERT_TRUE(ApplyAs(nullptr, in));
  }
  clock().Set(kMonday);  // Monday 11-30: the cases were due 11-30 .. 12-04
  auto page = Read<CasePage>([&](db::Conn& conn) {
    CaseQuery q;
    q.limit = 2;
    return ListCases(conn, Deps_(), clerk_, q);
  });
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->cases.size(), 2u);
  EXPECT_EQ(FormatDate(*page->cases[0].due), "2026-11-30");
  EXPECT_EQ(page->cases[0].due_state, DueState::kDueSoon);
  ASSERT_TRUE(page->next);
  std::set<std::string> seen;
  for (const auto& c : page->cases) seen.insert(c.number);
  auto rest = Read<CasePage>([&](db::Conn& conn) {
    CaseQuery q;
    q.limit = 10;
    q.after = page->next;
    return ListCases(conn, Deps_(), clerk_, q);
  });
  ASSERT_TRUE(rest) << rest.error().message;
  EXPECT_EQ(rest->cases.size(), 3u);
  EXPECT_FALSE(rest->next);
  for (const auto& c : rest->cases) EXPECT_TRUE(seen.insert(c.number).second);
  // Wednesday: the first two are overdue.
  clock().Set(kMonday + 2 * kDay);
  auto overdue = Read<CasePage>([&](db::Conn& conn) {
    CaseQuery q;
    q.due_state = DueState::kOverdue;
    return ListCases(conn, Deps_(), clerk_, q);
  });
  ASSERT_TRUE(overdue);
  EXPECT_EQ(overdue->cases.size(), 2u);
  auto overview = Read<Overview>([&](db::Conn& conn) {
    return CaseOverview(conn, Deps_(), leader_, Date{2026, 11, 1}, Date{2026, 11, 30});
  });
  ASSERT_TRUE(overview) << overview.error().message;
  ASSERT_EQ(overview->units.size(), 1u);
  EXPECT_EQ(overview->units[0].open, 5);
  EXPECT_EQ(overview->units[0].overdue, 2);
  EXPECT_EQ(overview->total.overdue, 2);
  // Search by phone (blind index) and by name.
  auto by_phone = Read<CasePage>([&](db::Conn& conn) {
    CaseQuery q;
    q.text = "138 1234 5678";
    return ListCases(conn, Deps_(), clerk_, q);
  });
  ASSERT_TRUE(by_phone);
  EXPECT_EQ(by_phone->cases.size(), 5u);
  auto by_name = Read<CasePage>([&](db::Conn& conn) {
    CaseQuery q;
    q.text = "小红";
    return ListCases(conn, Deps_(), clerk_, q);
  });
  ASSERT_TRUE(by_name);
  EXPECT_EQ(by_name->cases.size(), 5u);
  auto junk = Read<CasePage>([&](db::Conn& conn) {
    CaseQuery q;
    q.after = "zzz";
    return ListCases(conn, Deps_(), clerk_, q);
  });
  ASSERT_FALSE(junk);
  EXPECT_EQ(junk.error().code, ErrorCode::kInvalidInput);
}

TEST_P(ServicesTest, ConcurrentApplicationsGetDistinctNumbers) {
  constexpr int kThreads = 4, kEach = 5;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<std::string> numbers;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        auto c = ApplyAs(nullptr, Application());
        if (!c) {
          ++failures;
          continue;
        }
        std::lock_guard lock(mu);
        numbers.insert(c->number);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(numbers.size(), static_cast<std::size_t>(kThreads * kEach));
  EXPECT_TRUE(numbers.count("PZ-20261130-0020"));
}

// Two first applications for one new person at the same moment (online, while the village
// cadre applies on their behalf): on PostgreSQL the second one's insert into the register waits
// for the first transaction and then inserts nothing. The second case must take the record the
// first one made, not fail with "already registered".
TEST_P(ServicesTest, TwoFirstApplicationsForOnePersonAtOnceShareOneRecord) {
  if (is_sqlite()) GTEST_SKIP() << "one SQLite writer: transactions cannot overlap";
  auto [a, b] = ApplyTwiceAtOnce(Application());
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_NE(a->number, b->number);
  ASSERT_TRUE(a->resident_id);
  EXPECT_EQ(a->resident_id, b->resident_id);
  const std::string id_idx = keys_->BlindIndex("id_card", "450981199003071237");
  EXPECT_EQ(CountWhere("people_residents", "id_card_idx = $1", id_idx), 1);
}

TEST_P(ServicesTest, TwoFirstApplicationsForOneEnterpriseAtOnceShareOneRecord) {
  if (is_sqlite()) GTEST_SKIP() << "one SQLite writer: transactions cannot overlap";
  ApplyInput in = Application();
  in.applicant_kind = "enterprise";
  in.enterprise_name = "北流市示例农业有限公司";
  in.uscc = "91450981MA5K12345R";
  in.legal_rep = "陈一";
  auto [a, b] = ApplyTwiceAtOnce(in);
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_NE(a->number, b->number);
  ASSERT_TRUE(a->enterprise_id);
  EXPECT_EQ(a->enterprise_id, b->enterprise_id);
  EXPECT_EQ(CountWhere("people_enterprises", "uscc = $1", std::string("91450981MA5K12345R")), 1);
}

TEST_P(ServicesTest, CatalogueEditingChecksFieldsAndScope) {
  ServiceInput bad;
  bad.code = "PZ-MZ-001";  // taken
  bad.name = "";
  bad.unit_id = village1_.id;  // a village, not a window
  bad.statutory_days = "5";
  bad.promised_days = "9";
  bad.materials = {{.name = ""}};
  auto r =
      Write<Service>([&](db::Conn& c) { return CreateService(c, Deps_(), actor_, &editor_, bad); });
  ASSERT_FALSE(r);
  for (const char* f : {"code", "name", "unit_id", "promised_days", "materials.0.name"}) {
    EXPECT_TRUE(HasField(r.error(), f)) << f;
  }
  auto clerk = Write<Service>(
      [&](db::Conn& c) { return CreateService(c, Deps_(), actor_, &clerk_, ServiceInput{}); });
  ASSERT_FALSE(clerk);
  EXPECT_EQ(clerk.error().code, ErrorCode::kForbidden);
  auto list = Read<std::vector<Service>>(
      [&](db::Conn& c) { return ListServices(c, ServiceQuery{.life_event = "subsistence"}); });
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  auto search = Read<std::vector<Service>>(
      [&](db::Conn& c) { return ListServices(c, ServiceQuery{.text = "救助"}); });
  ASSERT_TRUE(search);
  EXPECT_EQ(search->size(), 1u);
  auto none = Read<std::vector<Service>>(
      [&](db::Conn& c) { return ListServices(c, ServiceQuery{.text = "100%"}); });
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  // Editing keeps material ids that cases refer to.
  ASSERT_TRUE(ApplyAs(nullptr, Application()));
  ServiceInput edit;
  edit.code = "PZ-MZ-001";
  edit.name = "临时救助申请（修订）";
  edit.unit_id = window_.id;
  edit.statutory_days = "20";
  edit.promised_days = "3";
  edit.online = true;
  edit.materials = {{.name = "困难情况说明", .required = true}};
  auto updated = Write<Service>(
      [&](db::Conn& c) { return UpdateService(c, Deps_(), actor_, &editor_, service_.id, edit); });
  ASSERT_TRUE(updated) << updated.error().message;
  EXPECT_EQ(updated->materials.front().id, service_.materials[1].id);
  auto retired = Write<Service>([&](db::Conn& c) {
    return SetServiceRetired(c, Deps_(), actor_, &editor_, service_.id, true);
  });
  ASSERT_TRUE(retired);
  auto closed = ApplyAs(nullptr, Application());
  ASSERT_FALSE(closed);
  EXPECT_TRUE(HasField(closed.error(), "service_id"));
}

// Counts the statements a piece of work runs through it.
class CountingConn final : public db::Conn {
 public:
  explicit CountingConn(db::Conn& inner) : inner_(inner) {}
  db::Dialect dialect() const override { return inner_.dialect(); }
  Result<db::QueryResult> Query(std::string_view sql, const db::Params& params) override {
    ++statements;
    return inner_.Query(sql, params);
  }
  Status ExecScript(std::string_view sql) override {
    ++statements;
    return inner_.ExecScript(sql);
  }
  int statements = 0;

 private:
  db::Conn& inner_;
};

// What Apply answers is the case as GetCase reads it back afterwards, field by field.
void ExpectSameCase(const ServiceCase& made, const ServiceCase& read) {
  EXPECT_EQ(made.id, read.id);
  EXPECT_EQ(made.number, read.number);
  EXPECT_EQ(made.service_id, read.service_id);
  EXPECT_EQ(made.service_name, read.service_name);
  EXPECT_EQ(made.unit_id, read.unit_id);
  EXPECT_EQ(made.unit_path, read.unit_path);
  EXPECT_EQ(made.unit_name, read.unit_name);
  EXPECT_EQ(made.origin_unit_id, read.origin_unit_id);
  EXPECT_EQ(made.origin_path, read.origin_path);
  EXPECT_EQ(made.channel, read.channel);
  EXPECT_EQ(made.status, read.status);
  EXPECT_EQ(made.applicant_kind, read.applicant_kind);
  EXPECT_EQ(made.resident_id, read.resident_id);
  EXPECT_EQ(made.enterprise_id, read.enterprise_id);
  EXPECT_EQ(made.applicant_user_id, read.applicant_user_id);
  EXPECT_EQ(made.applicant_name, read.applicant_name);
  EXPECT_EQ(made.applicant_phone_mask, read.applicant_phone_mask);
  EXPECT_EQ(made.agent_user_id, read.agent_user_id);
  EXPECT_EQ(made.agent_name, read.agent_name);
  EXPECT_EQ(made.description, read.description);
  EXPECT_EQ(made.result, read.result);
  EXPECT_EQ(made.promised_days, read.promised_days);
  EXPECT_EQ(FormatDate(made.clock.start), FormatDate(read.clock.start));
  EXPECT_EQ(made.clock.limit_days, read.clock.limit_days);
  EXPECT_EQ(made.clock.paused_days, read.clock.paused_days);
  EXPECT_EQ(made.clock.paused_since.has_value(), read.clock.paused_since.has_value());
  ASSERT_EQ(made.due.has_value(), read.due.has_value());
  if (made.due) {
    EXPECT_EQ(FormatDate(*made.due), FormatDate(*read.due));
  }
  EXPECT_EQ(made.due_state, read.due_state);
  EXPECT_EQ(made.correction_round, read.correction_round);
  EXPECT_EQ(made.created_at_ms, read.created_at_ms);
  EXPECT_EQ(made.updated_at_ms, read.updated_at_ms);
  EXPECT_EQ(made.completed_at_ms, read.completed_at_ms);
  EXPECT_EQ(made.overdue_at_completion, read.overdue_at_completion);
  EXPECT_EQ(made.demo, read.demo);
  EXPECT_EQ(made.rating.has_value(), read.rating.has_value());
  ASSERT_EQ(made.files.size(), read.files.size());
  for (std::size_t i = 0; i < made.files.size(); ++i) {
    const CaseFile& a = made.files[i];
    const CaseFile& b = read.files[i];
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.material_id, b.material_id);
    EXPECT_EQ(a.material_name, b.material_name);
    EXPECT_EQ(a.kind, b.kind);
    EXPECT_EQ(a.sha256, b.sha256);
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.content_type, b.content_type);
    EXPECT_EQ(a.size, b.size);
    EXPECT_EQ(a.round, b.round);
    EXPECT_EQ(a.superseded, b.superseded);
    EXPECT_EQ(a.uploaded_at_ms, b.uploaded_at_ms);
  }
  EXPECT_TRUE(made.corrections.empty() && read.corrections.empty());
  ASSERT_EQ(made.events.size(), read.events.size());
  for (std::size_t i = 0; i < made.events.size(); ++i) {
    const CaseEvent& a = made.events[i];
    const CaseEvent& b = read.events[i];
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.action, b.action);
    EXPECT_EQ(a.from_status, b.from_status);
    EXPECT_EQ(a.to_status, b.to_status);
    EXPECT_EQ(a.at_ms, b.at_ms);
    EXPECT_EQ(a.actor_user_id, b.actor_user_id);
    EXPECT_EQ(a.actor_name, b.actor_name);
    EXPECT_EQ(a.unit_name, b.unit_name);
    EXPECT_EQ(a.note, b.note);
    EXPECT_EQ(a.public_note, b.public_note);
  }
  EXPECT_EQ(made.followup.has_value(), read.followup.has_value());
}

TEST_P(ServicesTest, ApplyAnswersTheCaseAsItIsReadBack) {
  clock().Set(kMonday + 3 * kDay);  // Thursday: due within the next working days
  auto online = ApplyAs(nullptr, Application());
  ASSERT_TRUE(online) << online.error().message;
  auto read = Get(&leader_, online->number);
  ASSERT_TRUE(read) << read.error().message;
  ASSERT_EQ(online->files.size(), 2u);
  EXPECT_EQ(online->files[0].material_name, "居民身份证");
  ExpectSameCase(*online, *read);

  ApplyInput proxy = Application("450981199103071234");
  proxy.channel = Channel::kProxy;
  auto by_cadre = ApplyAs(&cadre1_, proxy);
  ASSERT_TRUE(by_cadre) << by_cadre.error().message;
  read = Get(&leader_, by_cadre->number);
  ASSERT_TRUE(read);
  EXPECT_EQ(by_cadre->events.at(0).unit_name, village1_.name);
  ExpectSameCase(*by_cadre, *read);

  ApplyInput walk_in = Application("450981199203071231");
  walk_in.channel = Channel::kWindow;
  walk_in.files.clear();
  auto at_window = ApplyAs(&clerk_, walk_in);
  ASSERT_TRUE(at_window) << at_window.error().message;
  read = Get(&leader_, at_window->number);
  ASSERT_TRUE(read);
  EXPECT_EQ(at_window->events.at(0).actor_name, "王窗口");
  ExpectSameCase(*at_window, *read);
}

// A walk-in application of a new applicant: the service (without its materials, not needed at
// the window), the village, the register (look-up, insert, its audit entry), the town code, the
// day's sequence, the case, its event and the SMS notice. A budget, so that a re-read creeping
// back in fails here.
TEST_P(ServicesTest, AWalkInApplicationRunsFewStatements) {
  ApplyInput in = Application("450981199003071237");
  in.channel = Channel::kWindow;
  in.files.clear();
  int statements = 0;
  auto made = Write<ServiceCase>([&](db::Conn& c) {
    CountingConn counting(c);
    auto r = Apply(counting, Deps_(), actor_, &clerk_, in);
    statements = counting.statements;
    return r;
  });
  ASSERT_TRUE(made) << made.error().message;
  RecordProperty("statements", statements);
  EXPECT_LE(statements, 12);
  // The notice went out: one SMS queued to the applicant's phone.
  auto queued = Read<int64_t>([&](db::Conn& c) -> Result<int64_t> {
    auto r = c.QueryOne("SELECT COUNT(*) FROM notify_outbox WHERE ref = $1",
                        {"services_case:" + made->number});
    if (!r) return std::move(r).error();
    return (**r).Int(0);
  });
  ASSERT_TRUE(queued);
  EXPECT_EQ(*queued, 1);
}

// A calendar edit moves the stored deadlines of running cases and open follow-ups, each counted
// from its own start with its own limit; a closed follow-up keeps its deadline. Everything opens
// on Monday 2026-11-30 and the calendar changes on Wednesday, so a recomputation from "today"
// would show; a follow-up opened with 3 working days keeps 3 after the configuration says 5.
TEST_P(ServicesTest, CalendarEditsMoveRunningCasesAndOpenFollowUps) {
  auto rated = [&](const std::string& id_card, int followup_days) -> std::string {
    auto c = ApplyAs(nullptr, Application(id_card));
    EXPECT_TRUE(c) << c.error().message;
    if (!c) return "";
    EXPECT_TRUE(Step(&clerk_, c->number, {.action = Action::kAccept}));
    EXPECT_TRUE(Step(&clerk_, c->number, {.action = Action::kComplete, .result = "准予救助"}));
    auto r = Write<ServiceCase>([&](db::Conn& conn) {
      const Deps deps{clock(), *keys_, calendar_, 2, followup_days};
      return RateCase(conn, deps, actor_, nullptr, c->number, "5678", 1, "没人接电话");
    });
    EXPECT_TRUE(r && r->followup) << (r ? "no follow-up" : r.error().message);
    return r && r->followup ? c->number : "";
  };
  const std::string open = rated("450981199303071239", 5);
  const std::string closed = rated("450981199403071236", 5);
  const std::string short_limit = rated("450981199503071233", 3);
  auto running = ApplyAs(nullptr, Application("450981199603071230"));
  ASSERT_TRUE(running) << running.error().message;
  ASSERT_FALSE(open.empty() || closed.empty() || short_limit.empty());
  auto due_of = [&](const std::string& number) -> std::string {
    auto d = Read<std::string>([&](db::Conn& c) -> Result<std::string> {
      auto row = c.QueryOne(
          "SELECT f.due_day FROM services_followups f JOIN services_cases c ON c.id = f.case_id "
          "WHERE c.number = $1",
          {number});
      if (!row) return std::move(row).error();
      if (!*row) return Error::NotFound();
      return (**row).Text(0);
    });
    return d ? *d : d.error().message;
  };
  auto case_due = [&]() {
    auto c = Get(&leader_, running->number);
    return c && c->due ? FormatDate(*c->due) : std::string("none");
  };
  ASSERT_EQ(due_of(open), "2026-12-07");
  ASSERT_EQ(due_of(short_limit), "2026-12-03");
  ASSERT_EQ(case_due(), "2026-12-07");
  auto list = Read<std::vector<FollowUp>>(
      [&](db::Conn& conn) { return ListFollowUps(conn, Deps_(), leader_, {}); });
  ASSERT_TRUE(list);
  for (const FollowUp& f : *list) {
    if (f.case_number != closed) continue;
    ASSERT_TRUE(Write<FollowUp>([&](db::Conn& conn) {
      return CloseFollowUp(conn, Deps_(), actor_, &clerk_, f.id, "已上门致歉");
    }));
  }

  // The edit and the recomputation in one transaction, as /admin/calendar does it.
  clock().Set(kMonday + 2 * kDay);
  auto edit = [&](const std::function<Status(db::Conn&)>& change) {
    return Write<DeadlinesMoved>([&](db::Conn& c) -> Result<DeadlinesMoved> {
      if (auto s = change(c); !s) return std::move(s).error();
      auto cal = calendar::Load(c);
      if (!cal) return std::move(cal).error();
      return RefreshDeadlines(c, Deps{clock(), *keys_, *cal, 2, 5});
    });
  };
  auto added = edit([&](db::Conn& c) {
    return calendar::SetDay(c, clock(), actor_, "2026-12-03", "holiday", "镇庆");
  });
  ASSERT_TRUE(added) << added.error().message;
  EXPECT_EQ(added->cases, 1);
  EXPECT_EQ(added->followups, 2);
  EXPECT_EQ(due_of(open), "2026-12-08");
  EXPECT_EQ(due_of(short_limit), "2026-12-04");
  EXPECT_EQ(due_of(closed), "2026-12-07");
  EXPECT_EQ(case_due(), "2026-12-08");
  auto shown = Get(&leader_, open);
  ASSERT_TRUE(shown && shown->followup);
  EXPECT_EQ(FormatDate(shown->followup->due), "2026-12-08");

  // Nothing to move the second time.
  auto again = edit([](db::Conn&) { return Status{}; });
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->cases, 0);
  EXPECT_EQ(again->followups, 0);

  // Removing the holiday moves them back. A follow-up opened before its limit was stored is
  // counted with the configured limit.
  ASSERT_TRUE(Write<int64_t>([&](db::Conn& c) {
    return c.Exec(
        "UPDATE services_followups SET limit_days = NULL WHERE case_id = (SELECT id FROM "
        "services_cases WHERE number = $1)",
        {short_limit});
  }));
  auto removed =
      edit([&](db::Conn& c) { return calendar::RemoveDay(c, clock(), actor_, "2026-12-03"); });
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ(removed->cases, 1);
  EXPECT_EQ(removed->followups, 2);
  EXPECT_EQ(due_of(open), "2026-12-07");
  EXPECT_EQ(due_of(short_limit), "2026-12-07");
  EXPECT_EQ(due_of(closed), "2026-12-07");
  EXPECT_EQ(case_due(), "2026-12-07");
}

ZHENWU_ALL_BACKENDS(ServicesTest);

}  // namespace
}  // namespace zhenwu::services
