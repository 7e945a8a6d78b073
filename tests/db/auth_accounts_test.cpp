// Accounts, login, sessions, lockouts and API tokens on both databases.
#include <gtest/gtest.h>

#include "auth/password.hpp"
#include "auth/service.hpp"
#include "support/auth_fixture.hpp"
#include "support/db_fixture.hpp"

namespace zhenwu::auth {
namespace {

using testing::CreateSmallTree;
using testing::CreateStaffUser;
using testing::DbTest;
using testing::kTestPassword;
using testing::SmallTree;

constexpr int64_t kMinute = 60 * 1000;

class AuthAccountsTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_TRUE(MigrateModules({"core", "audit", "org", "auth"}));
    auto tree = CreateSmallTree(db(), clock());
    ASSERT_TRUE(tree) << tree.error().message;
    tree_ = *tree;
  }

  audit::Actor Actor(std::string ip = "10.0.0.1") {
    return audit::Actor{std::nullopt, "anonymous", std::move(ip), "req-1"};
  }

  // One whole login as the handler does it; `ok` stands in for the hash verdict.
  Result<LoginOutcome> TryLogin(const std::string& login, const std::string& password,
                                const std::string& ip = "10.0.0.1") {
    auto cand = db().ReadSync<LoginCandidate>(
        [&](db::Conn& c) { return PrepareLogin(c, clock(), login, ip); });
    if (!cand) return std::move(cand).error();
    if (cand->ip_blocked_until_ms > 0) {
      LoginOutcome blocked;
      blocked.kind = LoginOutcome::Kind::kIpBlocked;
      blocked.until_ms = cand->ip_blocked_until_ms;
      return blocked;
    }
    const bool ok = VerifyPassword(cand->password_hash, password);
    return db().WriteSync<LoginOutcome>(
        [&](db::Conn& c) { return FinishLogin(c, clock(), policy_, Actor(ip), login, *cand, ok); });
  }

  int64_t CountAudit(const std::string& action) {
    auto r = ReadQuery("SELECT COUNT(*) FROM audit_events WHERE action = $1", {action});
    EXPECT_TRUE(r) << r.error().message;
    return r ? r->rows.at(0).Int(0) : -1;
  }

  int64_t Clerk() {
    auto id = CreateStaffUser(db(), clock(),
                              {.login = "clerk1",
                               .display_name = "王窗口",
                               .unit_id = tree_.window,
                               .grants = {{Role::kClerk, Scope::kUnit, tree_.window}}});
    EXPECT_TRUE(id) << id.error().message;
    return id ? *id : 0;
  }

  SmallTree tree_;
  SessionPolicy policy_;
};

TEST_P(AuthAccountsTest, CreatesStaffWithGrantsAndAudits) {
  const int64_t id = Clerk();
  auto user = db().ReadSync<std::optional<User>>([&](db::Conn& c) { return FindUser(c, id); });
  ASSERT_TRUE(user && *user);
  EXPECT_EQ((*user)->login, "clerk1");
  EXPECT_EQ((*user)->unit_name, "民政办");
  ASSERT_EQ((*user)->grants.size(), 1u);
  EXPECT_EQ((*user)->grants[0].unit_path, tree_.window_path);
  EXPECT_EQ(CountAudit("auth.user.create"), 1);
  auto hash = ReadQuery("SELECT password_hash FROM auth_users WHERE id = $1", {id});
  ASSERT_TRUE(hash);
  EXPECT_EQ(hash->rows.at(0).Text(0).rfind("$argon2id$", 0), 0u);
}

TEST_P(AuthAccountsTest, RefusesDuplicateLoginsBadNamesWeakPasswordsAndUnknownUnits) {
  Clerk();
  auto again = CreateStaffUser(db(), clock(), {.login = "clerk1", .unit_id = tree_.window});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  EXPECT_EQ(again.error().fields.at(0).field, "login");

  NewStaff bad;
  bad.login = "Bad Name";
  bad.display_name = "";
  bad.unit_id = 99999;
  bad.password = "weak";
  auto r = db().WriteSync<int64_t>(
      [&](db::Conn& c) { return CreateStaff(c, clock(), SystemActor(), bad); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
  std::vector<std::string> fields;
  for (const auto& f : r.error().fields) fields.push_back(f.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"login", "display_name", "password", "unit_id"}));
}

TEST_P(AuthAccountsTest, CitizenAccountsUseAMobilePhone) {
  NewCitizen c{"13812345678", "李群众", "Citizen#2026", ""};
  auto id = db().WriteSync<int64_t>(
      [&](db::Conn& conn) { return CreateCitizen(conn, clock(), SystemActor(), c); });
  ASSERT_TRUE(id) << id.error().message;
  c.phone = "1381234567";
  auto bad = db().WriteSync<int64_t>(
      [&](db::Conn& conn) { return CreateCitizen(conn, clock(), SystemActor(), c); });
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().fields.at(0).field, "phone");
  auto ok = TryLogin("13812345678", "Citizen#2026");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->kind, LoginOutcome::Kind::kOk);
}

TEST_P(AuthAccountsTest, InitFirstAdminOnlyOnce) {
  ASSERT_TRUE(db().WriteSync<int>([&](db::Conn& c) -> Result<int> {
    if (auto s = InitFirstAdmin(c, clock(), "root", "First#Admin1"); !s) {
      return std::move(s).error();
    }
    return 1;
  }));
  auto user =
      db().ReadSync<std::optional<User>>([&](db::Conn& c) { return FindUserByLogin(c, "root"); });
  ASSERT_TRUE(user && *user);
  ASSERT_EQ((*user)->grants.size(), 1u);
  EXPECT_EQ((*user)->grants[0].role, Role::kAdmin);
  EXPECT_EQ((*user)->grants[0].scope, Scope::kSubtree);
  EXPECT_EQ((*user)->grants[0].unit_path, tree_.city_path);
  auto again = db().WriteSync<int>([&](db::Conn& c) -> Result<int> {
    if (auto s = InitFirstAdmin(c, clock(), "root2", "First#Admin1"); !s) {
      return std::move(s).error();
    }
    return 1;
  });
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
}

TEST_P(AuthAccountsTest, LoginOpensASessionThatIdlesOutAfterThirtyMinutes) {
  const int64_t id = Clerk();
  auto out = TryLogin("clerk1", std::string(kTestPassword));
  ASSERT_TRUE(out) << out.error().message;
  ASSERT_EQ(out->kind, LoginOutcome::Kind::kOk);
  EXPECT_EQ(out->user_id, id);
  const std::string sid = out->session_id;
  auto stored = ReadQuery("SELECT id_hash FROM auth_sessions WHERE user_id = $1", {id});
  ASSERT_TRUE(stored);
  ASSERT_EQ(stored->rows.size(), 1u);
  EXPECT_EQ(stored->rows[0].Text(0), Sha256Hex(sid));  // only the hash is stored
  EXPECT_EQ(CountAudit("auth.login.ok"), 1);

  auto load = [&] {
    auto s = db().ReadSync<std::optional<SessionView>>(
        [&](db::Conn& c) { return LoadSession(c, clock(), policy_, sid); });
    EXPECT_TRUE(s) << s.error().message;
    return s ? *s : std::nullopt;
  };
  auto session = load();
  ASSERT_TRUE(session);
  EXPECT_EQ(session->principal.login, "clerk1");
  ASSERT_EQ(session->principal.grants.size(), 1u);
  EXPECT_EQ(session->principal.grants[0].unit_path, tree_.window_path);
  EXPECT_FALSE(session->csrf.empty());

  clock().Advance(29 * kMinute);
  ASSERT_TRUE(load());
  ASSERT_TRUE(db().WriteSync<int>([&](db::Conn& c) -> Result<int> {
    if (auto s = TouchSession(c, clock(), session->id_hash); !s) return std::move(s).error();
    return 1;
  }));
  clock().Advance(29 * kMinute);
  EXPECT_TRUE(load()) << "activity keeps the session alive";
  clock().Advance(31 * kMinute);
  EXPECT_FALSE(load()) << "idle for 31 minutes";
}

TEST_P(AuthAccountsTest, SessionsEndTwelveHoursAfterLoginEvenWhenUsed) {
  Clerk();
  auto out = TryLogin("clerk1", std::string(kTestPassword));
  ASSERT_TRUE(out && out->kind == LoginOutcome::Kind::kOk);
  for (int i = 0; i < 30; ++i) {
    clock().Advance(29 * kMinute);
    auto s = db().ReadSync<std::optional<SessionView>>(
        [&](db::Conn& c) { return LoadSession(c, clock(), policy_, out->session_id); });
    ASSERT_TRUE(s);
    if (!*s) {
      // 25 × 29 = 725 minutes is the first check past 12 hours.
      EXPECT_EQ(i, 24) << "ended after " << (i + 1) * 29 << " minutes";
      return;
    }
    ASSERT_TRUE(db().WriteSync<int>([&](db::Conn& c) -> Result<int> {
      if (auto t = TouchSession(c, clock(), (*s)->id_hash); !t) return std::move(t).error();
      return 1;
    }));
  }
  ADD_FAILURE() << "the session outlived 12 hours";
}

TEST_P(AuthAccountsTest, LogoutEverywhereEndsEverySession) {
  const int64_t id = Clerk();
  auto a = TryLogin("clerk1", std::string(kTestPassword));
  auto b = TryLogin("clerk1", std::string(kTestPassword));
  ASSERT_TRUE(a && b);
  auto count = [&] {
    return *db().ReadSync<int64_t>(
        [&](db::Conn& c) { return CountSessions(c, clock(), policy_, id); });
  };
  EXPECT_EQ(count(), 2);
  ASSERT_TRUE(db().WriteSync<int>([&](db::Conn& c) -> Result<int> {
    if (auto s = EndSession(c, clock(), Actor(), a->session_id); !s) return std::move(s).error();
    return 1;
  }));
  EXPECT_EQ(count(), 1);
  ASSERT_TRUE(db().WriteSync<int>([&](db::Conn& c) -> Result<int> {
    if (auto s = EndAllSessions(c, clock(), Actor(), id); !s) return std::move(s).error();
    return 1;
  }));
  EXPECT_EQ(count(), 0);
  EXPECT_EQ(CountAudit("auth.logout"), 1);
  EXPECT_EQ(CountAudit("auth.logout_everywhere"), 1);
}

TEST_P(AuthAccountsTest, FiveFailuresLockTheAccountForFifteenMinutes) {
  Clerk();
  for (int i = 0; i < 4; ++i) {
    auto out = TryLogin("clerk1", "Wrong#pass1");
    ASSERT_TRUE(out);
    EXPECT_EQ(out->kind, LoginOutcome::Kind::kBadPassword);
  }
  auto fifth = TryLogin("clerk1", "Wrong#pass1");
  ASSERT_TRUE(fifth);
  EXPECT_EQ(fifth->kind, LoginOutcome::Kind::kLocked);
  EXPECT_EQ(fifth->until_ms, clock().NowMs() + 15 * kMinute);
  EXPECT_EQ(CountAudit("auth.lockout"), 1);
  EXPECT_EQ(CountAudit("auth.login.failed"), 5);
  // Even the right password is refused while locked.
  auto right = TryLogin("clerk1", std::string(kTestPassword));
  ASSERT_TRUE(right);
  EXPECT_EQ(right->kind, LoginOutcome::Kind::kLocked);
  clock().Advance(15 * kMinute + 1);
  auto later = TryLogin("clerk1", std::string(kTestPassword));
  ASSERT_TRUE(later);
  EXPECT_EQ(later->kind, LoginOutcome::Kind::kOk);
}

TEST_P(AuthAccountsTest, FailuresSpreadOverMoreThanFifteenMinutesDoNotLock) {
  Clerk();
  for (int i = 0; i < 8; ++i) {
    auto out = TryLogin("clerk1", "Wrong#pass1");
    ASSERT_TRUE(out);
    EXPECT_EQ(out->kind, LoginOutcome::Kind::kBadPassword) << i;
    clock().Advance(4 * kMinute);
  }
}

TEST_P(AuthAccountsTest, TwentyFailuresFromOneIpBlockThatIp) {
  for (int i = 0; i < 19; ++i) {
    auto out = TryLogin("nobody" + std::to_string(i), "Wrong#pass1", "10.9.9.9");
    ASSERT_TRUE(out);
    EXPECT_EQ(out->kind, LoginOutcome::Kind::kBadPassword);
  }
  auto twentieth = TryLogin("nobody", "Wrong#pass1", "10.9.9.9");
  ASSERT_TRUE(twentieth);
  EXPECT_EQ(twentieth->kind, LoginOutcome::Kind::kIpBlocked);
  auto next = TryLogin("nobody", "Wrong#pass1", "10.9.9.9");
  ASSERT_TRUE(next);
  EXPECT_EQ(next->kind, LoginOutcome::Kind::kIpBlocked);
  EXPECT_EQ(next->until_ms, clock().NowMs() + 15 * kMinute);
  // Another IP is not affected.
  auto other = TryLogin("nobody", "Wrong#pass1", "10.9.9.10");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->kind, LoginOutcome::Kind::kBadPassword);
  clock().Advance(15 * kMinute + 1);
  auto after = TryLogin("nobody", "Wrong#pass1", "10.9.9.9");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->kind, LoginOutcome::Kind::kBadPassword);
}

TEST_P(AuthAccountsTest, DisabledAccountsCannotLogIn) {
  const int64_t id = Clerk();
  StaffUpdate update{"王窗口", tree_.window, {{Role::kClerk, Scope::kUnit, tree_.window}}, true};
  ASSERT_TRUE(db().WriteSync<int>([&](db::Conn& c) -> Result<int> {
    if (auto s = UpdateStaff(c, clock(), SystemActor(), id, update); !s) {
      return std::move(s).error();
    }
    return 1;
  }));
  auto out = TryLogin("clerk1", std::string(kTestPassword));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->kind, LoginOutcome::Kind::kDisabled);
  auto wrong = TryLogin("clerk1", "Wrong#pass1");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->kind, LoginOutcome::Kind::kBadPassword) << "does not reveal the state";
}

TEST_P(AuthAccountsTest, GrantChangesAreAudited) {
  const int64_t id = Clerk();
  StaffUpdate update{"王窗口", tree_.window, {{Role::kLeader, Scope::kSubtree, tree_.town}}, false};
  ASSERT_TRUE(db().WriteSync<int>([&](db::Conn& c) -> Result<int> {
    if (auto s = UpdateStaff(c, clock(), SystemActor(), id, update); !s) {
      return std::move(s).error();
    }
    return 1;
  }));
  EXPECT_EQ(CountAudit("auth.grants.change"), 1);
  auto user = db().ReadSync<std::optional<User>>([&](db::Conn& c) { return FindUser(c, id); });
  ASSERT_TRUE(user && *user);
  ASSERT_EQ((*user)->grants.size(), 1u);
  EXPECT_EQ((*user)->grants[0].role, Role::kLeader);
}

TEST_P(AuthAccountsTest, ResetForcesAPasswordChangeAndEndsSessions) {
  const int64_t id = Clerk();
  auto out = TryLogin("clerk1", std::string(kTestPassword));
  ASSERT_TRUE(out && out->kind == LoginOutcome::Kind::kOk);
  const std::string hash = HashPassword("Temp#2026x");
  ASSERT_TRUE(db().WriteSync<int>([&](db::Conn& c) -> Result<int> {
    if (auto s = SetPasswordHash(c, clock(), SystemActor(), id, hash, true); !s) {
      return std::move(s).error();
    }
    return 1;
  }));
  EXPECT_EQ(
      *db().ReadSync<int64_t>([&](db::Conn& c) { return CountSessions(c, clock(), policy_, id); }),
      0);
  auto again = TryLogin("clerk1", "Temp#2026x");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->kind, LoginOutcome::Kind::kOk);
  EXPECT_TRUE(again->must_change_password);
  EXPECT_EQ(CountAudit("auth.password.reset"), 1);
}

TEST_P(AuthAccountsTest, TokensAreStoredHashedAndCanExpireOrBeRevoked) {
  const int64_t id = Clerk();
  auto token = db().WriteSync<std::string>(
      [&](db::Conn& c) { return CreateToken(c, clock(), "clerk1", 30); });
  ASSERT_TRUE(token) << token.error().message;
  EXPECT_EQ(token->rfind("zw_", 0), 0u);
  auto stored = ReadQuery("SELECT token_hash FROM auth_tokens WHERE user_id = $1", {id});
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->rows.at(0).Text(0), Sha256Hex(*token));
  auto who = [&](const std::string& t) {
    auto p = db().ReadSync<std::optional<Principal>>(
        [&](db::Conn& c) { return PrincipalForToken(c, clock(), t); });
    EXPECT_TRUE(p);
    return p ? *p : std::nullopt;
  };
  auto p = who(*token);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->login, "clerk1");
  EXPECT_EQ(p->grants.size(), 1u);
  EXPECT_FALSE(who("zw_not-a-token"));

  auto list =
      db().ReadSync<std::vector<TokenInfo>>([&](db::Conn& c) { return ListTokens(c, "clerk1"); });
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].prefix, token->substr(0, 8));

  clock().Advance(int64_t{31} * 24 * 60 * kMinute);
  EXPECT_FALSE(who(*token)) << "expired";

  auto forever = db().WriteSync<std::string>(
      [&](db::Conn& c) { return CreateToken(c, clock(), "clerk1", std::nullopt); });
  ASSERT_TRUE(forever);
  EXPECT_TRUE(who(*forever));
  auto list2 =
      db().ReadSync<std::vector<TokenInfo>>([&](db::Conn& c) { return ListTokens(c, "clerk1"); });
  ASSERT_TRUE(list2);
  const int64_t newest = list2->at(0).id;
  ASSERT_TRUE(db().WriteSync<int>([&](db::Conn& c) -> Result<int> {
    if (auto s = RevokeToken(c, clock(), newest); !s) return std::move(s).error();
    return 1;
  }));
  EXPECT_FALSE(who(*forever)) << "revoked";
  auto twice = db().WriteSync<int>([&](db::Conn& c) -> Result<int> {
    if (auto s = RevokeToken(c, clock(), newest); !s) return std::move(s).error();
    return 1;
  });
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(CountAudit("auth.token.create"), 2);
  EXPECT_EQ(CountAudit("auth.token.revoke"), 1);

  auto unknown = db().WriteSync<std::string>(
      [&](db::Conn& c) { return CreateToken(c, clock(), "nobody", 1); });
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  auto bad_days = db().WriteSync<std::string>(
      [&](db::Conn& c) { return CreateToken(c, clock(), "clerk1", 0); });
  ASSERT_FALSE(bad_days);
  EXPECT_EQ(bad_days.error().code, ErrorCode::kInvalidInput);
}

TEST_P(AuthAccountsTest, DemoAccountsNeedTheDemoUnits) {
  // The small tree has 平政镇, 民政办 and both villages under 玉林市.
  ASSERT_TRUE(db().WriteSync<int>([&](db::Conn& c) -> Result<int> {
    if (auto s = CreateDemoAccounts(c, clock()); !s) return std::move(s).error();
    if (auto s = CreateDemoAccounts(c, clock()); !s) return std::move(s).error();  // idempotent
    return 1;
  }));
  auto count = ReadQuery("SELECT COUNT(*) FROM auth_users");
  ASSERT_TRUE(count);
  EXPECT_EQ(count->rows.at(0).Int(0), 7);
  auto ok = TryLogin("cadre1", std::string(kDemoPassword));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->kind, LoginOutcome::Kind::kOk);
}

ZHENWU_ALL_BACKENDS(AuthAccountsTest);

}  // namespace
}  // namespace zhenwu::auth
