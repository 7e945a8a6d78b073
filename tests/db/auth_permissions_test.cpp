// The permission matrix on a real org tree (paths read from the database): roles × scopes
// (unit / subtree) × read / write, on both databases.
#include <gtest/gtest.h>

#include "auth/service.hpp"
#include "support/auth_fixture.hpp"
#include "support/db_fixture.hpp"

namespace zhenwu::auth {
namespace {

using testing::CreateSmallTree;
using testing::CreateStaffUser;
using testing::DbTest;
using testing::SmallTree;

class AuthPermissionsTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_TRUE(MigrateModules({"core", "audit", "org", "auth"}));
    auto tree = CreateSmallTree(db(), clock());
    ASSERT_TRUE(tree) << tree.error().message;
    t_ = *tree;
  }

  // The principal of a new user holding one grant, as the session loader builds it.
  Principal Holding(Role role, Scope scope, int64_t unit) {
    const std::string login = "user" + std::to_string(++n_);
    auto id = CreateStaffUser(db(), clock(),
                              {.login = login, .unit_id = unit, .grants = {{role, scope, unit}}});
    EXPECT_TRUE(id) << id.error().message;
    auto user =
        db().ReadSync<std::optional<User>>([&](db::Conn& c) { return FindUser(c, id ? *id : 0); });
    EXPECT_TRUE(user && *user);
    Principal p;
    p.user_id = (*user)->id;
    p.login = login;
    p.grants = (*user)->grants;
    return p;
  }

  static std::string Decide(const Principal& p, Permission perm, const std::string& path) {
    auto s = Authorize(&p, perm, path);
    if (s.ok()) return "ok";
    switch (s.error().code) {
      case ErrorCode::kForbidden:
        return "forbidden";
      case ErrorCode::kNotFound:
        return "not_found";
      default:
        return "other";
    }
  }

  SmallTree t_;
  int n_ = 0;
};

TEST_P(AuthPermissionsTest, VillageCadreSeesOwnVillageOnlyAndTheNeighbourLearnsNothing) {
  const Principal cadre1 = Holding(Role::kVillageCadre, Scope::kSubtree, t_.village1);
  for (Permission p : {Permission::kCaseView, Permission::kCaseHandle,
                       Permission::kCaseApplyForOthers, Permission::kPeopleEdit}) {
    EXPECT_EQ(Decide(cadre1, p, t_.village1_path), "ok") << PermissionName(p);
    EXPECT_EQ(Decide(cadre1, p, t_.village1_window_path), "ok") << PermissionName(p);
    EXPECT_EQ(Decide(cadre1, p, t_.village2_path), "not_found") << PermissionName(p);
    EXPECT_EQ(Decide(cadre1, p, t_.town_path), "not_found") << PermissionName(p);
  }
  EXPECT_EQ(Decide(cadre1, Permission::kUserManage, t_.village1_path), "forbidden");
  EXPECT_EQ(Decide(cadre1, Permission::kPeopleReveal, t_.village1_path), "forbidden");
}

TEST_P(AuthPermissionsTest, ClerkWithUnitScopeActsOnItsWindowOnly) {
  const Principal clerk = Holding(Role::kClerk, Scope::kUnit, t_.window);
  EXPECT_EQ(Decide(clerk, Permission::kCaseHandle, t_.window_path), "ok");
  EXPECT_EQ(Decide(clerk, Permission::kCaseView, t_.town_path), "not_found");
  EXPECT_EQ(Decide(clerk, Permission::kCaseView, t_.village1_path), "not_found");
  EXPECT_EQ(Decide(clerk, Permission::kCaseApplyForOthers, t_.window_path), "forbidden");
  const Principal village_clerk = Holding(Role::kClerk, Scope::kUnit, t_.village1);
  EXPECT_EQ(Decide(village_clerk, Permission::kCaseView, t_.village1_path), "ok");
  EXPECT_EQ(Decide(village_clerk, Permission::kCaseView, t_.village1_window_path), "not_found")
      << "unit scope does not reach down";
  EXPECT_EQ(Decide(village_clerk, Permission::kCaseView, t_.village2_path), "not_found");
}

TEST_P(AuthPermissionsTest, TownLeaderReadsBothVillagesButDoesNotHandle) {
  const Principal leader = Holding(Role::kLeader, Scope::kSubtree, t_.town);
  for (const auto& path : {t_.town_path, t_.window_path, t_.village1_path, t_.village2_path,
                           t_.village1_window_path}) {
    EXPECT_EQ(Decide(leader, Permission::kCaseView, path), "ok") << path;
    EXPECT_EQ(Decide(leader, Permission::kPeopleReveal, path), "ok") << path;
    EXPECT_EQ(Decide(leader, Permission::kCaseHandle, path), "forbidden") << path;
  }
  EXPECT_EQ(Decide(leader, Permission::kCaseView, t_.county_path), "not_found");
  const Principal unit_leader = Holding(Role::kLeader, Scope::kUnit, t_.town);
  EXPECT_EQ(Decide(unit_leader, Permission::kCaseView, t_.town_path), "ok");
  EXPECT_EQ(Decide(unit_leader, Permission::kCaseView, t_.village2_path), "not_found");
}

TEST_P(AuthPermissionsTest, FullMatrixOfRolesScopesAndReadWrite) {
  struct Row {
    Role role;
    Permission read, write;
    bool can_read, can_write;
  };
  const Row rows[] = {
      {Role::kAdmin, Permission::kUserView, Permission::kUserManage, true, true},
      {Role::kLeader, Permission::kPeopleView, Permission::kPeopleEdit, true, false},
      {Role::kClerk, Permission::kPeopleView, Permission::kPeopleEdit, true, true},
      {Role::kVillageCadre, Permission::kCaseView, Permission::kCaseApplyForOthers, true, true},
      {Role::kEditor, Permission::kOrgView, Permission::kContentEdit, true, true},
      {Role::kEditor, Permission::kCaseView, Permission::kCaseHandle, false, false},
      {Role::kAuditor, Permission::kAuditView, Permission::kUserManage, true, false},
  };
  const std::string inside = t_.village1_path, below = t_.village1_window_path,
                    outside = t_.village2_path;
  for (const Row& r : rows) {
    for (Scope scope : {Scope::kUnit, Scope::kSubtree}) {
      const Principal p = Holding(r.role, scope, t_.village1);
      const std::string what = std::string(RoleName(r.role)) + "/" + std::string(ScopeName(scope));
      auto expect = [&](Permission perm, bool allowed) {
        const std::string none = allowed ? "not_found" : "forbidden";
        EXPECT_EQ(Decide(p, perm, inside), allowed ? "ok" : "forbidden")
            << what << " " << PermissionName(perm);
        EXPECT_EQ(Decide(p, perm, below),
                  allowed ? (scope == Scope::kSubtree ? "ok" : "not_found") : "forbidden")
            << what << " " << PermissionName(perm) << " below";
        EXPECT_EQ(Decide(p, perm, outside), none) << what << " " << PermissionName(perm);
      };
      expect(r.read, r.can_read);
      expect(r.write, r.can_write);
    }
  }
}

TEST_P(AuthPermissionsTest, ListsOnlyStaffInScope) {
  ASSERT_TRUE(CreateStaffUser(db(), clock(), {.login = "v1clerk", .unit_id = t_.village1}));
  ASSERT_TRUE(CreateStaffUser(db(), clock(), {.login = "v2clerk", .unit_id = t_.village2}));
  ASSERT_TRUE(CreateStaffUser(db(), clock(), {.login = "townclerk", .unit_id = t_.window}));
  auto list = [&](const Principal& p) {
    auto users = db().ReadSync<std::vector<User>>([&](db::Conn& c) {
      return ListStaff(c, ScopesFor(p, Permission::kUserView), std::nullopt);
    });
    EXPECT_TRUE(users) << users.error().message;
    std::vector<std::string> logins;
    if (users) {
      for (const auto& u : *users) logins.push_back(u.login);
    }
    std::sort(logins.begin(), logins.end());
    return logins;
  };
  const Principal v1admin = Holding(Role::kAdmin, Scope::kSubtree, t_.village1);
  const Principal town_admin = Holding(Role::kAdmin, Scope::kSubtree, t_.town);
  auto v1 = list(v1admin);
  EXPECT_EQ(std::count(v1.begin(), v1.end(), "v1clerk"), 1);
  EXPECT_EQ(std::count(v1.begin(), v1.end(), "v2clerk"), 0);
  EXPECT_EQ(std::count(v1.begin(), v1.end(), "townclerk"), 0);
  auto town = list(town_admin);
  EXPECT_EQ(std::count(town.begin(), town.end(), "v1clerk"), 1);
  EXPECT_EQ(std::count(town.begin(), town.end(), "v2clerk"), 1);
  EXPECT_EQ(std::count(town.begin(), town.end(), "townclerk"), 1);
}

ZHENWU_ALL_BACKENDS(AuthPermissionsTest);

}  // namespace
}  // namespace zhenwu::auth
