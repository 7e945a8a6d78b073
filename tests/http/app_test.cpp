// The assembled application over real HTTP: home page, platform routes, error pages.
#include <gtest/gtest.h>

#include <fstream>

#include "support/app_server.hpp"
#include "support/temp_dir.hpp"

namespace zhenwu::testing {
namespace {

class AppTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres && !TestPostgresUrl()) {
      GTEST_SKIP() << "ZHENWU_TEST_PG is not set (./test.sh sets it)";
    }
    server_ = std::make_unique<AppServer>(AppServerOptions{.backend = GetParam()});
    ASSERT_TRUE(server_->ok()) << server_->error();
  }
  std::unique_ptr<AppServer> server_;
};

TEST_P(AppTest, HomePageIsTitledWithTheTownAndMarkedAsDemo) {
  auto res = server_->Client().Get("/");
  ASSERT_EQ(res.status, 200);
  EXPECT_EQ(res.Header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(res.body.find("<title>首页 - 平政镇</title>"), std::string::npos);
  EXPECT_NE(res.body.find("演示"), std::string::npos);
  EXPECT_NE(res.body.find("id=\"text-size-toggle\""), std::string::npos);
  EXPECT_NE(res.body.find("name=\"viewport\""), std::string::npos);
}

TEST_P(AppTest, HealthzAnswersOkWhileTheDatabaseAnswers) {
  auto res = server_->Client().Get("/healthz");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "ok\n");
}

TEST_P(AppTest, MetricsCountRequestsByRouteAndShowThePool) {
  auto client = server_->Client();
  client.Get("/");
  client.Get("/no-such-page");
  auto res = client.Get("/metrics");
  ASSERT_EQ(res.status, 200);
  EXPECT_NE(res.Header("Content-Type").find("text/plain"), std::string::npos);
  EXPECT_NE(
      res.body.find("zhenwu_http_requests_total{route=\"/\",method=\"GET\",status=\"200\"} 1"),
      std::string::npos)
      << res.body;
  EXPECT_NE(res.body.find("status=\"404\""), std::string::npos);
  EXPECT_NE(res.body.find("zhenwu_http_request_duration_seconds_bucket"), std::string::npos);
  EXPECT_NE(res.body.find("zhenwu_db_connections"), std::string::npos);
}

TEST_P(AppTest, LargeTextWorksWithoutJavaScriptAndPersists) {
  auto client = server_->Client();
  auto set = client.Get("/settings/text-size?size=large&back=%2F%3Fa%3D1");
  ASSERT_EQ(set.status, 303);
  EXPECT_EQ(set.Header("Location"), "/?a=1");
  ASSERT_EQ(client.cookie("zw_text"), "large");
  auto page = client.Get("/");
  EXPECT_NE(page.body.find("<html lang=\"zh-CN\" class=\"text-large\">"), std::string::npos);
  EXPECT_NE(page.body.find("标准字号"), std::string::npos);
  auto back = client.Get("/settings/text-size?size=normal&back=/");
  EXPECT_EQ(client.cookie("zw_text"), "normal");
  EXPECT_EQ(client.Get("/").body.find("class=\"text-large\""), std::string::npos);
}

TEST_P(AppTest, TextSizeNeverRedirectsToAnotherHost) {
  auto client = server_->Client();
  for (const char* back : {"//evil.example/x", "https://evil.example/", "/\\evil.example", ""}) {
    auto res = client.Get(std::string("/settings/text-size?size=large&back=") + back);
    EXPECT_EQ(res.status, 303);
    EXPECT_EQ(res.Header("Location"), "/") << back;
  }
}

TEST_P(AppTest, UnknownPageIsAFriendlyChinese404) {
  auto res = server_->Client().Get("/no/such/page");
  EXPECT_EQ(res.status, 404);
  EXPECT_NE(res.body.find("页面不存在"), std::string::npos);
  EXPECT_NE(res.body.find("返回首页"), std::string::npos);
  EXPECT_NE(res.body.find(res.Header("X-Request-Id")), std::string::npos);
  auto api = server_->Client().Get("/api/v1/nothing");
  EXPECT_EQ(api.status, 404);
  EXPECT_NE(api.body.find("\"code\":\"not_found\""), std::string::npos);
}

TEST_P(AppTest, StaticAssetsAreEmbeddedAndCacheable) {
  auto client = server_->Client();
  auto css = client.Get("/static/css/zhenwu.css");
  ASSERT_EQ(css.status, 200);
  EXPECT_NE(css.Header("Content-Type").find("text/css"), std::string::npos);
  const std::string etag = css.Header("ETag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(client.Get("/static/css/zhenwu.css", {{"If-None-Match", etag}}).status, 304);
  EXPECT_EQ(client.Get("/static/js/zhenwu.js").status, 200);
  EXPECT_EQ(client.Get("/static/../CMakeLists.txt").status, 404);
  EXPECT_EQ(client.Get("/static/calendar/holidays-cn-2026.csv").status, 404);
}

TEST_P(AppTest, PostToThePageIsMethodNotAllowed) {
  auto res = server_->Client().Post("/", "a=1");
  EXPECT_EQ(res.status, 405);
  EXPECT_NE(res.Header("Allow").find("GET"), std::string::npos);
}

ZHENWU_ALL_BACKENDS(AppTest);

TEST(AppStartup, RefusesADatabaseNewerThanTheBinary) {
  auto database = TestDatabase::Create(Backend::kSqlite);
  ASSERT_TRUE(database.ok());
  {
    AppServer first({.customize = [&](Config& c) { c.db = (*database)->options().url; }});
    ASSERT_TRUE(first.ok()) << first.error();
  }
  ASSERT_TRUE((*database)->Reopen());
  auto& db = (*database)->db();
  auto wrote = db.WriteSync<int64_t>([](db::Conn& c) {
    return c.Exec(
        "INSERT INTO schema_migrations(module, version, name, applied_at_ms) "
        "VALUES ('core', 999, 'from_the_future', 0)");
  });
  ASSERT_TRUE(wrote.ok()) << wrote.error().message;
  db.Close();
  AppServer second({.customize = [&](Config& c) { c.db = (*database)->options().url; }});
  EXPECT_FALSE(second.ok());
  EXPECT_NE(second.error().find("core"), std::string::npos) << second.error();
}

TEST(AppStartup, BrokenTemplateOverrideStopsTheStartNamingIt) {
  TempDir dir;
  std::ofstream(dir.File("layout.mustache")) << "{{#broken}}";
  AppServer server({.customize = [&](Config& c) { c.templates_dir = dir.path().string(); }});
  EXPECT_FALSE(server.ok());
  EXPECT_NE(server.error().find("layout"), std::string::npos);
}

}  // namespace
}  // namespace zhenwu::testing
