// The org admin pages through the assembled app: who may see them, the tree, creating with
// field errors kept, editing, moving, retiring and importing.
#include <gtest/gtest.h>

#include "support/app_server.hpp"
#include "support/auth_fixture.hpp"

namespace zhenwu::testing {
namespace {

using auth::Role;
using auth::Scope;

bool Has(const std::string& body, std::string_view text) {
  return body.find(text) != std::string::npos;
}

class OrgHttpTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres && !TestPostgresUrl()) {
      GTEST_SKIP() << "ZHENWU_TEST_PG is not set (./test.sh sets it)";
    }
    server_ = std::make_unique<AppServer>(AppServerOptions{.backend = GetParam()});
    ASSERT_TRUE(server_->ok()) << server_->error();
    auto tree = CreateSmallTree(server_->app().db(), server_->clock());
    ASSERT_TRUE(tree.ok()) << tree.error().message;
    tree_ = *tree;
    ASSERT_TRUE(CreateStaffUser(server_->app().db(), server_->clock(),
                                {.login = "orgadmin",
                                 .unit_id = tree_.city,
                                 .grants = {{Role::kAdmin, Scope::kSubtree, tree_.city}}})
                    .ok());
    ASSERT_TRUE(CreateStaffUser(server_->app().db(), server_->clock(),
                                {.login = "clerk1",
                                 .unit_id = tree_.town,
                                 .grants = {{Role::kClerk, Scope::kSubtree, tree_.town}}})
                    .ok());
    ASSERT_TRUE(CreateStaffUser(server_->app().db(), server_->clock(),
                                {.login = "village1admin",
                                 .unit_id = tree_.village1,
                                 .grants = {{Role::kAdmin, Scope::kSubtree, tree_.village1}}})
                    .ok());
  }
  HttpClient Admin() {
    HttpClient client = server_->Client();
    EXPECT_TRUE(LoginAs(client, "orgadmin", kTestPassword));
    return client;
  }
  static std::string Unit(int64_t id) { return "/admin/org/" + std::to_string(id); }

  std::unique_ptr<AppServer> server_;
  SmallTree tree_;
};

TEST_P(OrgHttpTest, AnonymousVisitorsAreSentToTheLoginPage) {
  auto client = server_->Client();
  for (const std::string& path :
       {std::string("/admin/org"), Unit(tree_.town),
        "/admin/org/new?parent=" + std::to_string(tree_.town), std::string("/admin/org/import")}) {
    auto res = client.Get(path);
    EXPECT_EQ(res.status, 303) << path;
    EXPECT_EQ(res.Header("Location").rfind("/login?next=", 0), 0u) << path;
  }
}

TEST_P(OrgHttpTest, AdminSeesTheTreeAndAddsAUnit) {
  auto client = Admin();
  auto tree = client.Get("/admin/org");
  ASSERT_EQ(tree.status, 200);
  EXPECT_TRUE(Has(tree.body, "平政镇"));
  EXPECT_TRUE(Has(tree.body, "示例二村"));
  EXPECT_TRUE(Has(tree.body, "<details"));

  auto form = client.Get("/admin/org/new?parent=" + std::to_string(tree_.town));
  ASSERT_EQ(form.status, 200);
  EXPECT_TRUE(Has(form.body, "name=\"_csrf\""));
  EXPECT_TRUE(Has(form.body, "value=\"village\""));
  EXPECT_FALSE(Has(form.body, "value=\"village_window\""));  // not under a town

  auto created = PostFormWithCsrf(client, "/admin/org/new",
                                  {{"parent_id", std::to_string(tree_.town)},
                                   {"kind", "village"},
                                   {"name", "新建村"},
                                   {"code", "pz-c99"},
                                   {"division_code", "450981106299"}});
  ASSERT_EQ(created.status, 303) << created.body;
  const std::string location = created.Header("Location");
  EXPECT_EQ(location.rfind("/admin/org/", 0), 0u);
  auto page = client.Get(location);
  ASSERT_EQ(page.status, 200);
  EXPECT_TRUE(Has(page.body, "新建村"));
  EXPECT_TRUE(Has(page.body, "PZ-C99"));
  EXPECT_TRUE(Has(page.body, "已创建"));
}

TEST_P(OrgHttpTest, BadInputComesBackBesideTheFieldWithEverythingKept) {
  auto client = Admin();
  auto dup = PostFormWithCsrf(client, "/admin/org/new",
                              {{"parent_id", std::to_string(tree_.town)},
                               {"kind", "village"},
                               {"name", "重复编码村"},
                               {
                                   "code",
                                   "",
                               },
                               {"division_code", "4509"}});
  ASSERT_EQ(dup.status, 422);
  EXPECT_TRUE(Has(dup.body, "id=\"code-error\""));
  EXPECT_TRUE(Has(dup.body, "id=\"division_code-error\""));
  EXPECT_TRUE(Has(dup.body, "aria-describedby=\"code-error code-hint\""));
  EXPECT_TRUE(Has(dup.body, "value=\"重复编码村\""));
  EXPECT_TRUE(Has(dup.body, "value=\"4509\""));
  EXPECT_TRUE(Has(dup.body, "class=\"field-error\""));

  // The code of an existing unit, typed in lower case.
  auto FindCode = [&](int64_t id) {
    auto page = client.Get(Unit(id));
    const auto at = page.body.find("name=\"code\" type=\"text\" value=\"");
    if (at == std::string::npos) return std::string();
    const auto start = at + std::string("name=\"code\" type=\"text\" value=\"").size();
    return page.body.substr(start, page.body.find('"', start) - start);
  };
  const std::string village_code = FindCode(tree_.village1);
  ASSERT_FALSE(village_code.empty());
  auto taken = PostFormWithCsrf(client, "/admin/org/new",
                                {{"parent_id", std::to_string(tree_.town)},
                                 {"kind", "village"},
                                 {"name", "另一村"},
                                 {"code", village_code}});
  ASSERT_EQ(taken.status, 422);
  EXPECT_TRUE(Has(taken.body, "id=\"code-error\""));
  EXPECT_TRUE(Has(taken.body, "已被"));
  EXPECT_TRUE(Has(taken.body, "value=\"另一村\""));

  // Wrong kind under the parent; empty name.
  auto kind = PostFormWithCsrf(client, "/admin/org/new",
                               {{"parent_id", std::to_string(tree_.county)},
                                {"kind", "village"},
                                {"name", ""},
                                {"code", "NEW-1"}});
  ASSERT_EQ(kind.status, 422);
  EXPECT_TRUE(Has(kind.body, "id=\"kind-error\""));
  EXPECT_TRUE(Has(kind.body, "id=\"name-error\""));
  EXPECT_TRUE(Has(kind.body, "value=\"NEW-1\""));

  // Editing: a code already used elsewhere.
  auto edit = PostFormWithCsrf(client, Unit(tree_.village2),
                               {{"name", "改名村"}, {"code", village_code}, {"sort_order", "3"}});
  ASSERT_EQ(edit.status, 422);
  EXPECT_TRUE(Has(edit.body, "id=\"code-error\""));
  EXPECT_TRUE(Has(edit.body, "value=\"改名村\""));
}

TEST_P(OrgHttpTest, MovesAndRetiresWithRefusalsBesideTheChoice) {
  auto client = Admin();
  auto cycle = PostFormWithCsrf(client, Unit(tree_.town) + "/move",
                                {{"parent_id", std::to_string(tree_.village1)}});
  ASSERT_EQ(cycle.status, 422);
  EXPECT_TRUE(Has(cycle.body, "id=\"parent_id-error\""));
  EXPECT_TRUE(Has(cycle.body, "下级"));
  auto wrong = PostFormWithCsrf(client, Unit(tree_.village1) + "/move",
                                {{"parent_id", std::to_string(tree_.county)}});
  ASSERT_EQ(wrong.status, 422);
  EXPECT_TRUE(Has(wrong.body, "id=\"parent_id-error\""));

  auto moved = PostFormWithCsrf(client, Unit(tree_.village1_window) + "/move",
                                {{"parent_id", std::to_string(tree_.village2)}});
  ASSERT_EQ(moved.status, 303) << moved.body;
  auto village2 = client.Get(Unit(tree_.village2));
  EXPECT_TRUE(Has(village2.body, "已迁移") || Has(village2.body, "民政事务"));

  auto retired = PostFormWithCsrf(client, Unit(tree_.village2) + "/retire", {});
  ASSERT_EQ(retired.status, 303);
  auto page = client.Get(retired.Header("Location"));
  EXPECT_TRUE(Has(page.body, "已撤销"));
  auto child = PostFormWithCsrf(client, "/admin/org/new",
                                {{"parent_id", std::to_string(tree_.village2)},
                                 {"kind", "village_window"},
                                 {"name", "新窗口"},
                                 {"code", "NEW-W"}});
  EXPECT_EQ(child.status, 422);
  auto tree = client.Get("/admin/org");
  EXPECT_TRUE(Has(tree.body, "is-retired"));
}

TEST_P(OrgHttpTest, ClerksLookButDoNotManageAndNeighboursSeeNothing) {
  HttpClient clerk = server_->Client();
  ASSERT_TRUE(LoginAs(clerk, "clerk1", kTestPassword));
  EXPECT_EQ(clerk.Get("/admin/org").status, 200);
  EXPECT_EQ(clerk.Get(Unit(tree_.town)).status, 200);
  EXPECT_FALSE(Has(clerk.Get(Unit(tree_.town)).body, "/retire"));
  EXPECT_EQ(clerk.Get("/admin/org/new?parent=" + std::to_string(tree_.town)).status, 403);
  EXPECT_EQ(PostFormWithCsrf(clerk, Unit(tree_.town), {{"name", "x"}, {"code", "X"}}).status, 403);

  HttpClient neighbour = server_->Client();
  ASSERT_TRUE(LoginAs(neighbour, "village1admin", kTestPassword));
  EXPECT_EQ(neighbour.Get(Unit(tree_.village1)).status, 200);
  EXPECT_EQ(neighbour.Get(Unit(tree_.village2)).status, 404);
  EXPECT_EQ(PostFormWithCsrf(neighbour, Unit(tree_.village2) + "/retire", {}).status, 404);
  auto tree = neighbour.Get("/admin/org");
  ASSERT_EQ(tree.status, 200);
  EXPECT_FALSE(Has(tree.body, "示例二村"));
}

std::string MultipartBody(const std::string& boundary, const std::string& csrf,
                          const std::string& filename, const std::string& data) {
  return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n" + csrf +
         "\r\n--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" +
         filename + "\"\r\nContent-Type: text/csv\r\n\r\n" + data + "\r\n--" + boundary + "--\r\n";
}

TEST_P(OrgHttpTest, ImportsACsvAllOrNothing) {
  auto client = Admin();
  auto page = client.Get("/admin/org/import");
  ASSERT_EQ(page.status, 200);
  const std::string csrf = CsrfFromPage(page.body);
  auto town = client.Get(Unit(tree_.town));
  const auto at = town.body.find("name=\"code\" type=\"text\" value=\"");
  ASSERT_NE(at, std::string::npos);
  const auto start = at + std::string("name=\"code\" type=\"text\" value=\"").size();
  const std::string town_code = town.body.substr(start, town.body.find('"', start) - start);

  const std::string type = "multipart/form-data; boundary=zwtest";
  const std::string bad = "\xEF\xBB\xBF上级编码,类型,名称,编码,行政区划代码\r\n" + town_code +
                          ",村,导入一村,IMP-1,\r\n" + "NOPE,村,导入二村,IMP-2,\r\n";
  auto refused =
      client.Post("/admin/org/import", MultipartBody("zwtest", csrf, "a.csv", bad), type);
  ASSERT_EQ(refused.status, 422) << refused.body;
  EXPECT_TRUE(Has(refused.body, "第 3 行：上级编码 NOPE 不存在"));
  EXPECT_FALSE(Has(client.Get("/admin/org").body, "导入一村"));

  const std::string good = "上级编码,类型,名称,编码,行政区划代码\n" + town_code +
                           ",村,导入一村,IMP-1,\nIMP-1,村窗口,党建服务,IMP-1-W1,\n";
  auto done = client.Post("/admin/org/import", MultipartBody("zwtest", csrf, "b.csv", good), type);
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_TRUE(Has(done.body, "IMP-1-W1"));
  EXPECT_TRUE(Has(client.Get("/admin/org").body, "导入一村"));
}

ZHENWU_ALL_BACKENDS(OrgHttpTest);

}  // namespace
}  // namespace zhenwu::testing
