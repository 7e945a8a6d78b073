// One-time form tokens over real HTTP, on both backends, through a tiny form registered by the
// test: every rendered page carries a fresh {{once}}; posting the same form twice (one after the
// other, or several at once) creates one record and answers every copy with the same receipt;
// a missing token re-renders the form with the input kept and a fresh token; the JSON form with
// an Idempotency-Key header behaves the same.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <future>
#include <regex>
#include <set>

#include "db/migrator.hpp"
#include "http/router.hpp"
#include "support/db_fixture.hpp"
#include "support/temp_dir.hpp"
#include "support/test_server.hpp"
#include "view/view.hpp"
#include "web/once.hpp"
#include "web/page.hpp"

namespace zhenwu::web {
namespace {

using http::bhttp::status;
using testing::Backend;
using testing::HttpClient;
using testing::HttpResponse;
using testing::TempDir;
using testing::TestDatabase;
using testing::TestServer;
using testing::TestServerConfig;

constexpr std::string_view kFormTemplate =
    "<form method=\"post\" action=\"/records\">"
    "{{#error}}<p class=\"error\">{{error}}</p>{{/error}}"
    "<input type=\"hidden\" name=\"_once\" value=\"{{once}}\">"
    "<input name=\"name\" value=\"{{name}}\"></form>";

std::string OnceIn(const std::string& html) {
  static const std::regex kOnce("name=\"_once\" value=\"([^\"]*)\"");
  std::smatch m;
  return std::regex_search(html, m, kOnce) ? m[1].str() : std::string("<none>");
}

// What a handler does inside its write transaction.
Result<std::string> CreateRecord(db::Conn& c, const Clock& clock, std::string_view form,
                                 const std::string& token, const std::string& name) {
  auto claim = ClaimOnce(c, clock, form, token);
  if (!claim) return std::move(claim).error();
  if (*claim) return **claim;
  if (name.empty()) return Error::Invalid("name", "请填写姓名");
  auto row = c.QueryOne("INSERT INTO test_records (name) VALUES ($1) RETURNING id", {name});
  if (!row) return std::move(row).error();
  std::string location = "/records/" + std::to_string((*row)->Int(0));
  if (auto s = FinishOnce(c, token, location); !s) return std::move(s).error();
  return location;
}

class OnceHttpTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres && !testing::TestPostgresUrl()) {
      GTEST_SKIP() << "ZHENWU_TEST_PG is not set (./test.sh sets it)";
    }
    auto database = TestDatabase::Create(GetParam());
    ASSERT_TRUE(database) << database.error().message;
    database_ = std::move(*database);
    db::Database& db = database_->db();
    ASSERT_TRUE(db::Migrate(db, db::EmbeddedMigrations("core"), clock_));
    auto created = db.WriteSync<int64_t>([](db::Conn& c) {
      return c.Exec(db::TranslateDdl(c.dialect(),
                                     "CREATE TABLE test_records (id {{id}}, name TEXT NOT NULL)"));
    });
    ASSERT_TRUE(created) << created.error().message;

    std::filesystem::create_directories(templates_.path() / "portal");
    std::ofstream(templates_.path() / "portal" / "home.mustache") << kFormTemplate;
    auto view = view::View::Create(view::Site{"平政镇"}, templates_.path().string());
    ASSERT_TRUE(view) << view.error().message;
    view_ = std::move(*view);

    TestServerConfig config{.router = MakeRouter()};
    server_ = std::make_unique<TestServer>(std::move(config));
  }

  http::Router MakeRouter() {
    http::Router r;
    r.Get("/form", [this](http::Request& req) -> asio::awaitable<http::Response> {
      co_return RenderPage(req, *view_, "登记", "", "portal/home",
                           view::Data{view::Data::type::object});
    });
    r.Post("/records", [this](http::Request& req) -> asio::awaitable<http::Response> {
      const http::Form& form = req.BodyForm();
      const std::string token = form.GetOr("_once");
      const std::string name = form.GetOr("name");
      auto work = [this, token, name](db::Conn& c) {
        return CreateRecord(c, clock_, "test.record.create", token, name);
      };
      auto done = co_await database_->db().Write<std::string>(work);
      if (done) co_return http::Redirect(*done);
      if (done.error().code != ErrorCode::kInvalidInput) co_return JsonError(done.error());
      view::Data data{view::Data::type::object};
      data.set("name", name);
      data.set("error", done.error().message);
      co_return RenderPage(req, *view_, "登记", "", "portal/home", std::move(data),
                           StatusFor(done.error().code));
    });
    r.Post("/api/v1/records", [this](http::Request& req) -> asio::awaitable<http::Response> {
      const std::string token = IdempotencyKey(req);
      const std::string name = req.raw.body();
      auto work = [this, token, name](db::Conn& c) {
        return CreateRecord(c, clock_, "api.test.record.create/7", token, name);
      };
      auto done = co_await database_->db().Write<std::string>(work);
      if (!done) co_return JsonError(done.error());
      http::Response res = http::Json(
          status::created, boost::json::serialize(boost::json::object{{"location", *done}}));
      res.set(http::bhttp::field::location, *done);
      co_return res;
    });
    return r;
  }

  int64_t Records() {
    auto r = database_->db().ReadSync<int64_t>([](db::Conn& c) -> Result<int64_t> {
      auto row = c.QueryOne("SELECT COUNT(*) FROM test_records");
      if (!row) return std::move(row).error();
      return (*row)->Int(0);
    });
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : -1;
  }

  FakeClock clock_{1796000400000};
  TempDir templates_;
  std::unique_ptr<TestDatabase> database_;
  std::unique_ptr<view::View> view_;
  std::unique_ptr<TestServer> server_;
};

TEST_P(OnceHttpTest, EveryRenderCarriesAFreshToken) {
  HttpClient client = server_->Client();
  std::set<std::string> tokens;
  for (int i = 0; i < 5; ++i) {
    HttpResponse page = client.Get("/form");
    ASSERT_EQ(page.status, 200);
    const std::string token = OnceIn(page.body);
    EXPECT_TRUE(WellFormedOnceToken(token)) << page.body;
    tokens.insert(token);
  }
  EXPECT_EQ(tokens.size(), 5u);
}

TEST_P(OnceHttpTest, ADoubleSubmitCreatesOneRecordAndOneReceipt) {
  HttpClient client = server_->Client();
  const std::string token = OnceIn(client.Get("/form").body);
  HttpResponse first = client.PostForm("/records", {{"_once", token}, {"name", "张三"}});
  HttpResponse second = client.PostForm("/records", {{"_once", token}, {"name", "张三"}});
  EXPECT_EQ(first.status, 303);
  EXPECT_EQ(second.status, 303);
  EXPECT_EQ(first.Header("Location"), "/records/1");
  EXPECT_EQ(second.Header("Location"), "/records/1");
  EXPECT_EQ(Records(), 1);

  // The next form is a new submission.
  const std::string next = OnceIn(client.Get("/form").body);
  HttpResponse third = client.PostForm("/records", {{"_once", next}, {"name", "张三"}});
  EXPECT_EQ(third.Header("Location"), "/records/2");
  EXPECT_EQ(Records(), 2);
}

TEST_P(OnceHttpTest, ImpatientTapsAtOnceCreateOneRecord) {
  const std::string token = OnceIn(server_->Client().Get("/form").body);
  constexpr int kTaps = 6;
  std::vector<std::future<HttpResponse>> taps;
  for (int i = 0; i < kTaps; ++i) {
    taps.push_back(std::async(std::launch::async, [&] {
      return server_->Client().PostForm("/records", {{"_once", token}, {"name", "李四"}});
    }));
  }
  for (auto& tap : taps) {
    HttpResponse res = tap.get();
    EXPECT_EQ(res.status, 303) << res.body;
    EXPECT_EQ(res.Header("Location"), "/records/1");
  }
  EXPECT_EQ(Records(), 1);
}

TEST_P(OnceHttpTest, AMissingOrForgedTokenKeepsTheInputAndGivesAFreshToken) {
  HttpClient client = server_->Client();
  for (const std::string& bad : {std::string(), std::string("1"), std::string("<script>x")}) {
    HttpResponse res = client.PostForm("/records", {{"_once", bad}, {"name", "王五"}});
    EXPECT_EQ(res.status, 422);
    EXPECT_NE(res.body.find("value=\"王五\""), std::string::npos) << res.body;
    EXPECT_NE(res.body.find("页面已过期"), std::string::npos) << res.body;
    EXPECT_EQ(res.body.find("<script>x"), std::string::npos);
    const std::string fresh = OnceIn(res.body);
    ASSERT_TRUE(WellFormedOnceToken(fresh));
    HttpResponse again = client.PostForm("/records", {{"_once", fresh}, {"name", "王五"}});
    EXPECT_EQ(again.status, 303);
  }
  EXPECT_EQ(Records(), 3);
}

TEST_P(OnceHttpTest, AFailedFirstSubmitCanBeCorrectedWithTheSameToken) {
  HttpClient client = server_->Client();
  const std::string token = OnceIn(client.Get("/form").body);
  HttpResponse empty = client.PostForm("/records", {{"_once", token}, {"name", ""}});
  EXPECT_EQ(empty.status, 422);
  EXPECT_NE(empty.body.find("请填写姓名"), std::string::npos);
  HttpResponse fixed = client.PostForm("/records", {{"_once", token}, {"name", "赵六"}});
  EXPECT_EQ(fixed.status, 303);
  EXPECT_EQ(fixed.Header("Location"), "/records/1");
  EXPECT_EQ(Records(), 1);
}

TEST_P(OnceHttpTest, TheJsonApiTakesAnIdempotencyKey) {
  HttpClient client = server_->Client();
  const std::string key = "8e03978e-40d5-43e8-bc93-6894a57f9324";
  HttpResponse first = client.Post("/api/v1/records", "张三", "text/plain",
                                   {{"Idempotency-Key", "\"" + key + "\""}});
  HttpResponse retry =
      client.Post("/api/v1/records", "张三", "text/plain", {{"Idempotency-Key", key}});
  EXPECT_EQ(first.status, 201);
  EXPECT_EQ(retry.status, 201);
  EXPECT_EQ(first.body, retry.body);
  EXPECT_EQ(retry.Header("Location"), "/records/1");
  EXPECT_EQ(Records(), 1);

  HttpResponse bad =
      client.Post("/api/v1/records", "张三", "text/plain", {{"Idempotency-Key", "too-short"}});
  EXPECT_EQ(bad.status, 422);
  auto error = boost::json::parse(bad.body).as_object().at("error").as_object();
  EXPECT_EQ(error.at("code").as_string(), "invalid_input");
  EXPECT_EQ(error.at("field").as_string(), "_once");
  EXPECT_EQ(Records(), 1);
}

INSTANTIATE_TEST_SUITE_P(Http, OnceHttpTest, testing::AllBackends(), testing::BackendParamName);

}  // namespace
}  // namespace zhenwu::web
