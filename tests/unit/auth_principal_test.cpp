// The permission decision: role matrix, Covers, Authorize, AuthorizeAny, ScopesFor.
#include <gtest/gtest.h>

#include "auth/principal.hpp"

namespace zhenwu::auth {
namespace {

using P = Permission;

Principal With(std::vector<Grant> grants) {
  Principal p;
  p.user_id = 1;
  p.login = "someone";
  p.grants = std::move(grants);
  return p;
}

TEST(AuthRoles, NamesRoundTrip) {
  for (Role r : {Role::kAdmin, Role::kLeader, Role::kClerk, Role::kVillageCadre, Role::kEditor,
                 Role::kAuditor}) {
    EXPECT_EQ(RoleFromName(RoleName(r)), r);
  }
  EXPECT_EQ(RoleFromName("root"), std::nullopt);
  EXPECT_EQ(ScopeFromName("subtree"), Scope::kSubtree);
  EXPECT_EQ(ScopeFromName("unit"), Scope::kUnit);
  EXPECT_EQ(ScopeFromName("all"), std::nullopt);
  EXPECT_EQ(PermissionName(P::kPeopleReveal), "people.reveal");
  EXPECT_EQ(PermissionName(P::kOrgView), "org.view");
}

TEST(AuthRoles, AdminHasEverything) {
  for (int i = 0; i <= static_cast<int>(P::kAssessmentView); ++i) {
    EXPECT_TRUE(RoleHas(Role::kAdmin, static_cast<P>(i))) << i;
  }
}

TEST(AuthRoles, OnlyAdminAndLeaderRevealPersonalData) {
  EXPECT_TRUE(RoleHas(Role::kAdmin, P::kPeopleReveal));
  EXPECT_TRUE(RoleHas(Role::kLeader, P::kPeopleReveal));
  for (Role r : {Role::kClerk, Role::kVillageCadre, Role::kEditor, Role::kAuditor}) {
    EXPECT_FALSE(RoleHas(r, P::kPeopleReveal)) << RoleName(r);
  }
}

TEST(AuthRoles, MatrixRowsMatchTheRoles) {
  // Leader: views and leads, does not manage.
  for (P p : {P::kOrgView, P::kUserView, P::kPeopleView, P::kCaseView, P::kAssessmentView,
              P::kOfficeUse, P::kMessageHandle}) {
    EXPECT_TRUE(RoleHas(Role::kLeader, p)) << PermissionName(p);
  }
  for (P p : {P::kOrgManage, P::kUserManage, P::kPeopleEdit, P::kCaseHandle, P::kCatalogueEdit,
              P::kContentEdit}) {
    EXPECT_FALSE(RoleHas(Role::kLeader, p)) << PermissionName(p);
  }
  // Clerk.
  for (P p : {P::kOrgView, P::kPeopleView, P::kPeopleEdit, P::kCaseView, P::kCaseHandle,
              P::kMessageHandle, P::kOfficeUse}) {
    EXPECT_TRUE(RoleHas(Role::kClerk, p)) << PermissionName(p);
    EXPECT_TRUE(RoleHas(Role::kVillageCadre, p)) << PermissionName(p);
  }
  EXPECT_FALSE(RoleHas(Role::kClerk, P::kCaseApplyForOthers));
  EXPECT_TRUE(RoleHas(Role::kVillageCadre, P::kCaseApplyForOthers));
  EXPECT_FALSE(RoleHas(Role::kClerk, P::kUserView));
  EXPECT_FALSE(RoleHas(Role::kVillageCadre, P::kAuditView));
  // Editor.
  EXPECT_TRUE(RoleHas(Role::kEditor, P::kContentEdit));
  EXPECT_TRUE(RoleHas(Role::kEditor, P::kCatalogueEdit));
  EXPECT_TRUE(RoleHas(Role::kEditor, P::kOrgView));
  EXPECT_FALSE(RoleHas(Role::kEditor, P::kPeopleView));
  EXPECT_FALSE(RoleHas(Role::kEditor, P::kCaseView));
  // Auditor.
  EXPECT_TRUE(RoleHas(Role::kAuditor, P::kAuditView));
  EXPECT_TRUE(RoleHas(Role::kAuditor, P::kUserView));
  EXPECT_FALSE(RoleHas(Role::kAuditor, P::kUserManage));
  EXPECT_FALSE(RoleHas(Role::kAuditor, P::kPeopleView));
}

TEST(AuthCovers, UnitScopeIsExactSubtreeIsAPrefixOnWholeSegments) {
  const Grant unit{Role::kClerk, Scope::kUnit, 4, "/1/4/"};
  const Grant tree{Role::kClerk, Scope::kSubtree, 4, "/1/4/"};
  EXPECT_TRUE(Covers(unit, "/1/4/"));
  EXPECT_FALSE(Covers(unit, "/1/4/17/"));
  EXPECT_FALSE(Covers(unit, "/1/"));
  EXPECT_TRUE(Covers(tree, "/1/4/"));
  EXPECT_TRUE(Covers(tree, "/1/4/17/"));
  EXPECT_FALSE(Covers(tree, "/1/45/"));  // a sibling whose id starts with the same digit
  EXPECT_FALSE(Covers(tree, "/1/"));
  EXPECT_FALSE(Covers(tree, ""));
  EXPECT_FALSE(Covers(Grant{Role::kClerk, Scope::kSubtree, 0, ""}, "/1/"));
}

TEST(AuthAuthorize, NobodyIsUnauthenticated) {
  auto s = Authorize(nullptr, P::kCaseView, "/1/");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnauthenticated);
  auto any = AuthorizeAny(nullptr, P::kCaseView);
  ASSERT_FALSE(any.ok());
  EXPECT_EQ(any.error().code, ErrorCode::kUnauthenticated);
}

TEST(AuthAuthorize, NoGrantCarryingThePermissionIsForbidden) {
  const Principal editor = With({{Role::kEditor, Scope::kSubtree, 1, "/1/"}});
  auto s = Authorize(&editor, P::kCaseView, "/1/4/");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kForbidden);
  EXPECT_EQ(AuthorizeAny(&editor, P::kCaseView).error().code, ErrorCode::kForbidden);
  EXPECT_TRUE(AuthorizeAny(&editor, P::kContentEdit).ok());
}

TEST(AuthAuthorize, NeighbourVillageIsNotFound) {
  // 镇 /1/4/, 示例一村 /1/4/7/, 示例二村 /1/4/8/.
  const Principal cadre1 = With({{Role::kVillageCadre, Scope::kSubtree, 7, "/1/4/7/"}});
  EXPECT_TRUE(Authorize(&cadre1, P::kCaseHandle, "/1/4/7/").ok());
  EXPECT_TRUE(Authorize(&cadre1, P::kCaseHandle, "/1/4/7/21/").ok());
  auto s = Authorize(&cadre1, P::kCaseHandle, "/1/4/8/");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  const Principal leader = With({{Role::kLeader, Scope::kSubtree, 4, "/1/4/"}});
  EXPECT_TRUE(Authorize(&leader, P::kCaseView, "/1/4/7/").ok());
  EXPECT_TRUE(Authorize(&leader, P::kCaseView, "/1/4/8/").ok());
  EXPECT_EQ(Authorize(&leader, P::kCaseHandle, "/1/4/8/").error().code, ErrorCode::kForbidden);
}

TEST(AuthAuthorize, AnyOfSeveralGrantsMayDecide) {
  const Principal p = With(
      {{Role::kEditor, Scope::kSubtree, 1, "/1/"}, {Role::kClerk, Scope::kUnit, 9, "/1/4/9/"}});
  EXPECT_TRUE(Authorize(&p, P::kCaseView, "/1/4/9/").ok());
  EXPECT_EQ(Authorize(&p, P::kCaseView, "/1/4/").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(Authorize(&p, P::kContentEdit, "/1/4/").ok());
}

TEST(AuthScopes, ListsPathsForThePermissionWithoutRedundantOnes) {
  const Principal p = With({{Role::kClerk, Scope::kUnit, 9, "/1/4/9/"},
                            {Role::kLeader, Scope::kSubtree, 4, "/1/4/"},
                            {Role::kEditor, Scope::kSubtree, 1, "/1/"},
                            {Role::kClerk, Scope::kUnit, 30, "/2/30/"}});
  auto scopes = ScopesFor(p, P::kCaseView);
  ASSERT_EQ(scopes.size(), 2u);
  EXPECT_EQ(scopes[0].path, "/1/4/");
  EXPECT_FALSE(scopes[0].exact);
  EXPECT_EQ(scopes[1].path, "/2/30/");
  EXPECT_TRUE(scopes[1].exact);
  EXPECT_TRUE(ScopesFor(p, P::kUserManage).empty());
  auto content = ScopesFor(p, P::kContentEdit);
  ASSERT_EQ(content.size(), 1u);
  EXPECT_EQ(content[0].path, "/1/");
}

TEST(AuthContext, PrincipalTravelsInTheRequest) {
  http::Request req;
  EXPECT_EQ(CurrentPrincipal(req), nullptr);
  SetCurrentPrincipal(req, With({{Role::kAdmin, Scope::kSubtree, 1, "/1/"}}));
  ASSERT_NE(CurrentPrincipal(req), nullptr);
  EXPECT_EQ(CurrentPrincipal(req)->login, "someone");
}

}  // namespace
}  // namespace zhenwu::auth
