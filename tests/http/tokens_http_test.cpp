// /admin/tokens over real HTTP on both databases: an administrator creates a token (shown
// once, working at once), sees and revokes the tokens of the staff in their units; bad input
// stays beside its field, a double submit makes one token, other units learn nothing and
// everyone else gets 403.

#include <gtest/gtest.h>

#include <regex>

#include "auth/service.hpp"
#include "support/app_server.hpp"
#include "support/auth_fixture.hpp"

namespace zhenwu::testing {
namespace {

using auth::Role;
using auth::Scope;

bool Has(const std::string& body, std::string_view what) {
  return body.find(what) != std::string::npos;
}

std::string OnceFromPage(const std::string& html) {
  static const std::regex kOnce("name=\"_once\" value=\"([^\"]*)\"");
  std::smatch m;
  return std::regex_search(html, m, kOnce) ? m[1].str() : std::string();
}

std::string TokenFromPage(const std::string& html) {
  static const std::regex kToken("value=\"(zw_[A-Za-z0-9_-]{43})\"");
  std::smatch m;
  return std::regex_search(html, m, kToken) ? m[1].str() : std::string();
}

class TokensHttpTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres && !TestPostgresUrl()) {
      GTEST_SKIP() << "ZHENWU_TEST_PG is not set (./test.sh sets it)";
    }
    server_ = std::make_unique<AppServer>(AppServerOptions{.backend = GetParam()});
    ASSERT_TRUE(server_->ok()) << server_->error();
    auto tree = CreateSmallTree(db(), server_->clock());
    ASSERT_TRUE(tree) << tree.error().message;
    t_ = *tree;
    auto staff = [&](std::string login, Role role, Scope scope, int64_t unit) {
      auto r = CreateStaffUser(db(), server_->clock(),
                               {.login = login, .unit_id = unit, .grants = {{role, scope, unit}}});
      ASSERT_TRUE(r) << login << ": " << r.error().message;
    };
    staff("townadmin", Role::kAdmin, Scope::kSubtree, t_.town);
    staff("v1admin", Role::kAdmin, Scope::kSubtree, t_.village1);
    staff("v1clerk", Role::kClerk, Scope::kUnit, t_.village1);
    staff("v2clerk", Role::kClerk, Scope::kUnit, t_.village2);
    staff("leader", Role::kLeader, Scope::kSubtree, t_.town);
    staff("auditor", Role::kAuditor, Scope::kSubtree, t_.town);
  }

  db::Database& db() { return server_->app().db(); }

  HttpClient SignedIn(const std::string& login) {
    HttpClient client = server_->Client();
    EXPECT_TRUE(LoginAs(client, login, kTestPassword)) << login;
    return client;
  }

  // POSTs the create form as the page gives it (its _csrf and _once) with `fields`.
  HttpResponse Create(HttpClient& client, Headers fields) {
    const auto page = client.Get("/admin/tokens");
    EXPECT_EQ(page.status, 200);
    fields.emplace_back("_csrf", CsrfFromPage(page.body));
    fields.emplace_back("_once", OnceFromPage(page.body));
    return client.PostForm("/admin/tokens", fields);
  }

  std::vector<auth::TokenInfo> Tokens(const std::string& login = {}) {
    auto r = db().ReadSync<std::vector<auth::TokenInfo>>(
        [&](db::Conn& c) { return auth::ListTokens(c, login); });
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : std::vector<auth::TokenInfo>{};
  }

  int64_t AuditCount(const std::string& action, const std::string& actor) {
    auto r = db().ReadSync<int64_t>([&](db::Conn& c) -> Result<int64_t> {
      auto row =
          c.QueryOne("SELECT COUNT(*) FROM audit_events WHERE action = $1 AND actor_name = $2",
                     {action, actor});
      if (!row) return std::move(row).error();
      return (*row)->Int(0);
    });
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : -1;
  }

  std::unique_ptr<AppServer> server_;
  SmallTree t_;
};

TEST_P(TokensHttpTest, AdminCreatesATokenShownOnceThatWorksAtOnce) {
  auto admin = SignedIn("townadmin");
  auto res = Create(admin, {{"login", "v1clerk"}, {"label", "12345 热线对接"}, {"expires", "30"}});
  ASSERT_EQ(res.status, 201) << res.body;
  EXPECT_TRUE(Has(res.Header("Cache-Control"), "no-store"));
  const std::string token = TokenFromPage(res.body);
  ASSERT_FALSE(token.empty()) << res.body;
  EXPECT_TRUE(Has(res.body, "只显示这一次"));

  auto api = server_->Client().Get("/api/v1/me", {{"Authorization", "Bearer " + token}});
  ASSERT_EQ(api.status, 200) << api.body;
  EXPECT_TRUE(Has(api.body, "\"v1clerk\""));

  const auto tokens = Tokens("v1clerk");
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0].label, "12345 热线对接");
  ASSERT_TRUE(tokens[0].expires_ms);
  EXPECT_EQ(*tokens[0].expires_ms - tokens[0].created_ms, int64_t{30} * 86400000);
  ASSERT_TRUE(tokens[0].last_used_ms);  // the API call above
  EXPECT_EQ(AuditCount("auth.token.create", "townadmin"), 1);

  // The list shows it, without the secret, with when it was last used.
  auto list = admin.Get("/admin/tokens");
  ASSERT_EQ(list.status, 200);
  EXPECT_TRUE(Has(list.body, "12345 热线对接"));
  EXPECT_TRUE(Has(list.body, token.substr(0, 8) + "…"));
  EXPECT_FALSE(Has(list.body, token));
  EXPECT_FALSE(Has(list.body, "从未使用"));
  EXPECT_TRUE(Has(list.body, "有效"));
}

TEST_P(TokensHttpTest, BadInputIsSaidBesideEachFieldAndTheRestIsKept) {
  auto admin = SignedIn("townadmin");
  auto empty = Create(admin, {{"login", ""}, {"label", "对接用"}, {"expires", "abc"}});
  ASSERT_EQ(empty.status, 422);
  EXPECT_TRUE(Has(empty.body, "id=\"login-error\""));
  EXPECT_TRUE(Has(empty.body, "请填写令牌所属用户的用户名"));
  EXPECT_TRUE(Has(empty.body, "id=\"expires-error\""));
  EXPECT_TRUE(Has(empty.body, "value=\"对接用\""));
  EXPECT_TRUE(Has(empty.body, "value=\"abc\""));

  auto zero = Create(admin, {{"login", "v1clerk"}, {"expires", "0"}});
  ASSERT_EQ(zero.status, 422);
  EXPECT_TRUE(Has(zero.body, "1 到 3650"));
  EXPECT_TRUE(Has(zero.body, "value=\"v1clerk\""));

  auto too_long = Create(admin, {{"login", "v1clerk"}, {"expires", "3651"}});
  EXPECT_EQ(too_long.status, 422);

  auto label = Create(admin, {{"login", "v1clerk"}, {"label", std::string(65, 'x')}});
  ASSERT_EQ(label.status, 422);
  EXPECT_TRUE(Has(label.body, "id=\"label-error\""));

  auto control = Create(admin, {{"login", "v1clerk"},
                                {"label",
                                 "a\x01"
                                 "b"}});
  EXPECT_EQ(control.status, 422);

  auto unknown = Create(admin, {{"login", "nobody"}, {"label", "对接用"}});
  ASSERT_EQ(unknown.status, 422);
  EXPECT_TRUE(Has(unknown.body, "没有这个用户"));
  EXPECT_TRUE(Has(unknown.body, "value=\"nobody\""));

  EXPECT_TRUE(Tokens().empty());
  EXPECT_EQ(AuditCount("auth.token.create", "townadmin"), 0);
}

TEST_P(TokensHttpTest, ADoubleSubmitMakesOneToken) {
  auto admin = SignedIn("townadmin");
  const auto page = admin.Get("/admin/tokens");
  const Headers fields{{"login", "v2clerk"},
                       {"label", "对接"},
                       {"_csrf", CsrfFromPage(page.body)},
                       {"_once", OnceFromPage(page.body)}};
  auto first = admin.PostForm("/admin/tokens", fields);
  ASSERT_EQ(first.status, 201);
  auto second = admin.PostForm("/admin/tokens", fields);
  ASSERT_EQ(second.status, 303);
  const auto tokens = Tokens();
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(second.Header("Location"), "/admin/tokens?created=" + std::to_string(tokens[0].id));
  auto shown = admin.Get(second.Header("Location"));
  EXPECT_TRUE(Has(shown.body, "只在创建时显示一次"));
  EXPECT_TRUE(TokenFromPage(shown.body).empty());
}

TEST_P(TokensHttpTest, RevokeStopsTheTokenIsAuditedAndARepeatIsHarmless) {
  auto made = db().WriteSync<auth::IssuedToken>([&](db::Conn& c) {
    return auth::IssueToken(c, server_->clock(), "v2clerk", std::nullopt, "旧对接",
                            auth::SystemActor());
  });
  ASSERT_TRUE(made) << made.error().message;
  const Headers bearer{{"Authorization", "Bearer " + made->token}};
  // Used first, so this process keeps its principal for a few seconds; the revoke holds anyway.
  ASSERT_EQ(server_->Client().Get("/api/v1/me", bearer).status, 200);
  ASSERT_EQ(server_->Client().Get("/api/v1/me", bearer).status, 200);
  const std::string path = "/admin/tokens/" + std::to_string(made->id) + "/revoke";
  auto admin = SignedIn("townadmin");
  auto res = PostFormWithCsrf(admin, path, {});
  ASSERT_EQ(res.status, 303);
  EXPECT_EQ(res.Header("Location"), "/admin/tokens?revoked=" + std::to_string(made->id));
  EXPECT_TRUE(Has(admin.Get(res.Header("Location")).body, "已吊销"));
  auto api = server_->Client().Get("/api/v1/me", {{"Authorization", "Bearer " + made->token}});
  EXPECT_EQ(api.status, 401);
  EXPECT_EQ(AuditCount("auth.token.revoke", "townadmin"), 1);

  EXPECT_EQ(PostFormWithCsrf(admin, path, {}).status, 303);  // again: nothing more happens
  EXPECT_EQ(AuditCount("auth.token.revoke", "townadmin"), 1);
  EXPECT_EQ(PostFormWithCsrf(admin, "/admin/tokens/999999/revoke", {}).status, 404);
  EXPECT_EQ(PostFormWithCsrf(admin, "/admin/tokens/abc/revoke", {}).status, 404);
  // Without the CSRF token nothing is revoked.
  EXPECT_EQ(admin.PostForm("/admin/tokens/1/revoke", {}).status, 403);
}

// A token's principal is kept a few seconds (auth::kTokenCacheTtl): disabling the account or
// taking its role away through the users page holds for its tokens from the next request.
TEST_P(TokensHttpTest, DisablingTheAccountOrItsRoleStopsItsTokensAtOnce) {
  auto issue = [&](const std::string& login) {
    auto made = db().WriteSync<auth::IssuedToken>([&](db::Conn& c) {
      return auth::IssueToken(c, server_->clock(), login, std::nullopt, "对接",
                              auth::SystemActor());
    });
    EXPECT_TRUE(made) << made.error().message;
    return made ? Headers{{"Authorization", "Bearer " + made->token}} : Headers{};
  };
  const Headers v1 = issue("v1clerk"), v2 = issue("v2clerk");
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(server_->Client().Get("/api/v1/me", v1).status, 200);
    auto me = server_->Client().Get("/api/v1/me", v2);
    ASSERT_EQ(me.status, 200);
    EXPECT_TRUE(Has(me.body, "\"role\":\"clerk\""));
  }
  auto admin = SignedIn("townadmin");
  const auto id_of = [&](const std::string& login) {
    auto r = db().ReadSync<int64_t>([&](db::Conn& c) -> Result<int64_t> {
      auto row = c.QueryOne("SELECT id FROM auth_users WHERE login = $1", {login});
      if (!row) return std::move(row).error();
      return (*row)->Int(0);
    });
    return r ? *r : int64_t{0};
  };
  auto disabled = PostFormWithCsrf(admin, "/admin/users/" + std::to_string(id_of("v1clerk")),
                                   {{"display_name", "v1clerk"},
                                    {"unit_id", std::to_string(t_.village1)},
                                    {"role_0", "clerk"},
                                    {"scope_0", "unit"},
                                    {"grant_unit_0", std::to_string(t_.village1)},
                                    {"disabled", "1"}});
  ASSERT_EQ(disabled.status, 303) << disabled.body;
  EXPECT_EQ(server_->Client().Get("/api/v1/me", v1).status, 401);

  auto no_role = PostFormWithCsrf(admin, "/admin/users/" + std::to_string(id_of("v2clerk")),
                                  {{"display_name", "v2clerk"},
                                   {"unit_id", std::to_string(t_.village2)},
                                   {"role_0", "auditor"},
                                   {"scope_0", "unit"},
                                   {"grant_unit_0", std::to_string(t_.village2)}});
  ASSERT_EQ(no_role.status, 303) << no_role.body;
  auto me = server_->Client().Get("/api/v1/me", v2);
  ASSERT_EQ(me.status, 200);
  EXPECT_FALSE(Has(me.body, "\"role\":\"clerk\"")) << me.body;
  EXPECT_TRUE(Has(me.body, "\"role\":\"auditor\"")) << me.body;
}

TEST_P(TokensHttpTest, AnotherUnitsAdminLearnsNothing) {
  auto town_token = db().WriteSync<auth::IssuedToken>([&](db::Conn& c) {
    return auth::IssueToken(c, server_->clock(), "v2clerk", std::nullopt, "二村对接",
                            auth::SystemActor());
  });
  ASSERT_TRUE(town_token);
  auto v1admin = SignedIn("v1admin");
  auto list = v1admin.Get("/admin/tokens");
  ASSERT_EQ(list.status, 200);
  EXPECT_FALSE(Has(list.body, "二村对接"));
  EXPECT_FALSE(Has(list.body, "v2clerk"));
  // Revoking it answers as if it did not exist, and it stays valid.
  const std::string path = "/admin/tokens/" + std::to_string(town_token->id) + "/revoke";
  EXPECT_EQ(PostFormWithCsrf(v1admin, path, {}).status, 404);
  EXPECT_FALSE(Tokens("v2clerk").at(0).revoked_ms);
  // Creating one for a user outside the village reads like an unknown login.
  auto res = Create(v1admin, {{"login", "v2clerk"}});
  ASSERT_EQ(res.status, 422);
  EXPECT_TRUE(Has(res.body, "没有这个用户，或该用户不在您的管理范围内"));
  EXPECT_EQ(Tokens("v2clerk").size(), 1u);
  // Inside the village it works.
  EXPECT_EQ(Create(v1admin, {{"login", "v1clerk"}}).status, 201);
}

TEST_P(TokensHttpTest, EveryoneButAdministratorsGets403) {
  for (const char* login : {"v1clerk", "leader", "auditor"}) {
    auto client = SignedIn(login);
    EXPECT_EQ(client.Get("/admin/tokens").status, 403) << login;
    EXPECT_EQ(PostFormWithCsrf(client, "/admin/tokens", {{"login", login}}).status, 403) << login;
    EXPECT_EQ(PostFormWithCsrf(client, "/admin/tokens/1/revoke", {}).status, 403) << login;
    EXPECT_FALSE(Has(client.Get("/admin").body, "/admin/tokens")) << login;
  }
  EXPECT_TRUE(Tokens().empty());
  auto admin = SignedIn("townadmin");
  EXPECT_TRUE(Has(admin.Get("/admin").body, "/admin/tokens"));
  // Anonymous visitors are sent to the login.
  auto anonymous = server_->Client().Get("/admin/tokens");
  EXPECT_EQ(anonymous.status, 303);
  EXPECT_TRUE(Has(anonymous.Header("Location"), "/login?next="));
}

INSTANTIATE_TEST_SUITE_P(Http, TokensHttpTest, AllBackends(), BackendParamName);

}  // namespace
}  // namespace zhenwu::testing
