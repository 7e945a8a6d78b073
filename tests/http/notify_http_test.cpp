// Notifications over real HTTP: SMS through a fake gateway that is first down (nothing lost,
// retried after the pause) and then up (delivered exactly once, body and bearer token checked);
// a gateway that refuses connections or never answers; the inbox page and its JSON form; the
// administrators' outbox page with its 重试 button, and who may not see it.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>
#include <chrono>

#include "auth/service.hpp"
#include "notify/dispatcher.hpp"
#include "notify/notify.hpp"
#include "people/keys.hpp"
#include "support/app_server.hpp"
#include "support/auth_fixture.hpp"
#include "support/fake_sms_gateway.hpp"

namespace zhenwu::testing {
namespace {

using auth::Role;
using auth::Scope;

constexpr int64_t kSecond = 1000;
constexpr const char* kToken = "gw-secret-7f3a";

class NotifyHttpTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres && !TestPostgresUrl()) {
      GTEST_SKIP() << "ZHENWU_TEST_PG is not set (./test.sh sets it)";
    }
    gateway_ = std::make_unique<FakeSmsGateway>();
    const std::string url = gateway_->url();
    server_ = std::make_unique<AppServer>(
        AppServerOptions{.backend = GetParam(), .customize = [url](Config& c) {
                           c.sms_url = url;
                           c.sms_token = kToken;
                           c.sms_timeout_ms = 2000;
                           c.sms_max_attempts = 3;
                         }});
    ASSERT_TRUE(server_->ok()) << server_->error();
    auto& db = server_->app().db();
    auto tree = CreateSmallTree(db, server_->clock());
    ASSERT_TRUE(tree) << tree.error().message;
    auto staff = [&](std::string login, Role role, Scope scope, int64_t unit) -> int64_t {
      auto r = CreateStaffUser(db, server_->clock(),
                               {.login = login, .unit_id = unit, .grants = {{role, scope, unit}}});
      EXPECT_TRUE(r) << login << ": " << r.error().message;
      return r ? *r : 0;
    };
    admin_ = staff("admin1", Role::kAdmin, Scope::kSubtree, tree->city);
    clerk_ = staff("clerk1", Role::kClerk, Scope::kUnit, tree->window);
    other_ = staff("clerk2", Role::kClerk, Scope::kUnit, tree->window);
  }

  void Enqueue(const notify::Message& m) {
    auto r = server_->app().db().WriteSync<bool>([&](db::Conn& c) -> Result<bool> {
      if (auto s = notify::Enqueue(c, server_->clock(), *server_->app().people_keys(), m); !s) {
        return std::move(s).error();
      }
      return true;
    });
    ASSERT_TRUE(r) << r.error().message;
  }

  notify::Message Sms(std::string ref = "services_case:7") {
    return {std::nullopt, "13800138000", "您的申请已受理", "办件 PZ-0007 已受理。",
            "/cases/7",   std::move(ref)};
  }

  notify::DispatchStats Run() {
    auto stats = server_->app().dispatcher().RunOnce();
    EXPECT_TRUE(stats) << stats.error().message;
    return stats ? *stats : notify::DispatchStats{};
  }

  std::optional<notify::OutboxItem> Outbox(int64_t id) {
    auto r = server_->app().db().ReadSync<std::optional<notify::OutboxItem>>(
        [&](db::Conn& c) { return notify::FindOutbox(c, id); });
    EXPECT_TRUE(r);
    return r ? *r : std::nullopt;
  }

  int64_t LastOutboxId() {
    auto r = server_->app().db().ReadSync<std::vector<notify::OutboxItem>>(
        [&](db::Conn& c) { return notify::ListOutbox(c, {}); });
    EXPECT_TRUE(r && !r->empty());
    return r && !r->empty() ? r->front().id : 0;
  }

  // An SMS the gateway refused until the dispatcher gave up on it (status failed); its id.
  int64_t FailedSms() {
    gateway_->set_failing(true);
    Enqueue(Sms());
    const int64_t id = LastOutboxId();
    for (int i = 0; i < 3; ++i) {
      Run();
      server_->clock().Advance(3600 * kSecond);
    }
    return id;
  }

  HttpClient SignedIn(const std::string& login) {
    HttpClient client = server_->Client();
    EXPECT_TRUE(LoginAs(client, login, kTestPassword)) << login;
    return client;
  }

  std::unique_ptr<FakeSmsGateway> gateway_;
  std::unique_ptr<AppServer> server_;
  int64_t admin_ = 0, clerk_ = 0, other_ = 0;
};

TEST_P(NotifyHttpTest, AnSmsWaitsWhileTheGatewayIsDownAndIsDeliveredOnceItIsUp) {
  gateway_->set_failing(true);
  Enqueue(Sms());
  const int64_t id = LastOutboxId();

  auto first = Run();
  EXPECT_EQ(first.claimed, 1);
  EXPECT_EQ(first.retrying, 1);
  ASSERT_EQ(gateway_->received().size(), 1u);
  EXPECT_TRUE(gateway_->accepted().empty());
  auto o = Outbox(id);
  EXPECT_EQ(o->status, notify::OutboxStatus::kPending);
  EXPECT_EQ(o->attempts, 1);
  EXPECT_NE(o->last_error.find("HTTP 500"), std::string::npos) << o->last_error;

  // Back up, but the pause is not over: nothing is sent yet.
  gateway_->set_failing(false);
  server_->clock().Advance(10 * kSecond);
  EXPECT_EQ(Run().claimed, 0);
  EXPECT_EQ(gateway_->received().size(), 1u);

  server_->clock().Advance(20 * kSecond);
  auto second = Run();
  EXPECT_EQ(second.sent, 1);
  auto accepted = gateway_->accepted();
  ASSERT_EQ(accepted.size(), 1u);
  const auto& got = accepted[0];
  EXPECT_EQ(got.phone, "13800138000");
  EXPECT_EQ(got.text, "您的申请已受理：办件 PZ-0007 已受理。");
  EXPECT_EQ(got.ref, "services_case:7");
  EXPECT_EQ(got.id, id);
  EXPECT_EQ(got.authorization, std::string("Bearer ") + kToken);
  EXPECT_NE(got.content_type.find("application/json"), std::string::npos);
  auto body = boost::json::parse(got.body).as_object();
  EXPECT_EQ(body.size(), 4u);  // phone, text, ref, id — nothing else leaves the server

  o = Outbox(id);
  EXPECT_EQ(o->status, notify::OutboxStatus::kSent);
  EXPECT_EQ(o->attempts, 2);
  EXPECT_FALSE(o->has_phone);

  // Later runs never send it again.
  server_->clock().Advance(7200 * kSecond);
  EXPECT_EQ(Run().claimed, 0);
  EXPECT_EQ(gateway_->received().size(), 2u);
}

TEST_P(NotifyHttpTest, ARefusedConnectionIsRetriedAndNothingIsLost) {
  gateway_->stop();
  Enqueue(Sms());
  Enqueue(Sms("services_case:8"));
  auto stats = Run();
  EXPECT_EQ(stats.claimed, 2);
  EXPECT_EQ(stats.retrying, 2);
  auto o = Outbox(LastOutboxId());
  EXPECT_EQ(o->status, notify::OutboxStatus::kPending);
  EXPECT_NE(o->last_error.find("无法连接"), std::string::npos) << o->last_error;
  EXPECT_TRUE(o->has_phone);
}

TEST_P(NotifyHttpTest, AGatewayThatNeverAnswersTimesOut) {
  // A socket that accepts connections (the kernel's backlog) but never answers.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor silent(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  const auto port = silent.local_endpoint().port();
  auto gw =
      notify::HttpSmsGateway::Create("http://127.0.0.1:" + std::to_string(port) + "/sms", "", 300);
  ASSERT_TRUE(gw);
  const auto started = std::chrono::steady_clock::now();
  auto sent = (*gw)->Send({1, "13800138000", "测试", ""});
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(sent.error().message.find("300 毫秒内没有应答"), std::string::npos)
      << sent.error().message;
  EXPECT_LT(took, std::chrono::seconds(3));
}

TEST(NotifyGatewayConfigTest, OnlyPlainHttpUrlsAreAccepted) {
  for (std::string bad : {"https://sms.example.com/send", "ftp://x/y", "not a url", "http://"}) {
    auto gw = notify::HttpSmsGateway::Create(bad, "", 1000);
    ASSERT_FALSE(gw) << bad;
    EXPECT_EQ(gw.error().code, ErrorCode::kInvalidInput) << bad;
    EXPECT_EQ(gw.error().fields.at(0).field, "notify.sms_url") << bad;
  }
  EXPECT_TRUE(notify::HttpSmsGateway::Create("http://127.0.0.1:9000/sms?x=1", "t", 1000));
  EXPECT_TRUE(notify::HttpSmsGateway::Create("http://sms-relay.local", "", 1000));
  Config config;
  auto off = notify::GatewayFromConfig(config);
  ASSERT_TRUE(off);
  EXPECT_EQ(*off, nullptr);
  config.sms_url = "https://sms.example.com/";
  EXPECT_FALSE(ValidateConfig(config));
  EXPECT_FALSE(notify::GatewayFromConfig(config));
}

TEST_P(NotifyHttpTest, TheInboxShowsOnlyTheSignedInPersonsMessages) {
  Enqueue({clerk_, "", "材料已补正", "请到民政办窗口领取。", "/cases/7", ""});
  server_->clock().Advance(kSecond);
  Enqueue({clerk_, "", "办件已办结", "", "", ""});
  Enqueue({other_, "", "别人的通知 <script>", "", "", ""});

  auto anonymous = server_->Client().Get("/account/inbox");
  EXPECT_EQ(anonymous.status, 303);
  EXPECT_NE(anonymous.Header("Location").find("/login"), std::string::npos);

  auto clerk = SignedIn("clerk1");
  auto page = clerk.Get("/account/inbox");
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("材料已补正"), std::string::npos);
  EXPECT_NE(page.body.find("请到民政办窗口领取。"), std::string::npos);
  EXPECT_NE(page.body.find("办件已办结"), std::string::npos);
  EXPECT_LT(page.body.find("办件已办结"), page.body.find("材料已补正"));  // newest first
  EXPECT_EQ(page.body.find("别人的通知"), std::string::npos);
  EXPECT_NE(page.body.find("2 条未读"), std::string::npos);
  EXPECT_NE(page.Header("Cache-Control").find("no-store"), std::string::npos);

  auto items = server_->app().db().ReadSync<std::vector<notify::InboxItem>>(
      [&](db::Conn& c) { return notify::ListInbox(c, clerk_, std::nullopt, 10); });
  ASSERT_TRUE(items);
  ASSERT_EQ(items->size(), 2u);
  const int64_t with_link = (*items)[1].id;
  auto foreign = server_->app().db().ReadSync<std::vector<notify::InboxItem>>(
      [&](db::Conn& c) { return notify::ListInbox(c, other_, std::nullopt, 10); });
  ASSERT_EQ(foreign->size(), 1u);

  // Opening marks it read and goes to its link.
  auto open = PostFormWithCsrf(clerk, "/account/inbox/" + std::to_string(with_link) + "/read",
                               {{"open", "1"}});
  EXPECT_EQ(open.status, 303);
  EXPECT_EQ(open.Header("Location"), "/cases/7");
  EXPECT_NE(clerk.Get("/account/inbox").body.find("1 条未读"), std::string::npos);

  // Someone else's message: 404, and it stays unread.
  auto theirs =
      PostFormWithCsrf(clerk, "/account/inbox/" + std::to_string((*foreign)[0].id) + "/read", {});
  EXPECT_EQ(theirs.status, 404);
  EXPECT_EQ(PostFormWithCsrf(clerk, "/account/inbox/abc/read", {}).status, 404);
  auto unread = server_->app().db().ReadSync<int64_t>(
      [&](db::Conn& c) { return notify::CountUnread(c, other_); });
  EXPECT_EQ(*unread, 1);

  // Without the CSRF token nothing changes.
  auto forged = clerk.PostForm("/account/inbox/read-all", {});
  EXPECT_EQ(forged.status, 403);
  auto all = PostFormWithCsrf(clerk, "/account/inbox/read-all", {});
  EXPECT_EQ(all.status, 303);
  auto after = clerk.Get("/account/inbox?done=all");
  EXPECT_EQ(after.body.find("条未读"), std::string::npos);
  EXPECT_NE(after.body.find("已全部标为已读"), std::string::npos);

  // The other person sees their message, escaped.
  auto other = SignedIn("clerk2");
  auto theirs_page = other.Get("/account/inbox");
  EXPECT_NE(theirs_page.body.find("别人的通知 &lt;script&gt;"), std::string::npos);
}

TEST_P(NotifyHttpTest, TheInboxApiAnswersJsonForABearerToken) {
  Enqueue({clerk_, "", "办件已受理", "正文", "/cases/7", ""});
  auto token = server_->app().db().WriteSync<std::string>(
      [&](db::Conn& c) { return auth::CreateToken(c, server_->clock(), "clerk1", std::nullopt); });
  ASSERT_TRUE(token) << token.error().message;
  auto client = server_->Client();
  auto res = client.Get("/api/v1/inbox", {{"Authorization", "Bearer " + *token}});
  ASSERT_EQ(res.status, 200) << res.body;
  auto json = boost::json::parse(res.body).as_object();
  EXPECT_EQ(json.at("unread").as_int64(), 1);
  ASSERT_EQ(json.at("items").as_array().size(), 1u);
  const auto& item = json.at("items").as_array()[0].as_object();
  EXPECT_EQ(item.at("title").as_string(), "办件已受理");
  EXPECT_EQ(item.at("link").as_string(), "/cases/7");
  EXPECT_TRUE(item.at("read_at_ms").is_null());

  auto bad = client.Get("/api/v1/inbox?before=x", {{"Authorization", "Bearer " + *token}});
  EXPECT_EQ(bad.status, 422);
  EXPECT_NE(bad.body.find("\"field\":\"before\""), std::string::npos);
  auto none = server_->Client().Get("/api/v1/inbox");
  EXPECT_EQ(none.status, 401);
  EXPECT_NE(none.body.find("\"error\""), std::string::npos);
}

TEST_P(NotifyHttpTest, AdministratorsSeeTheOutboxMaskedAndRetryAFailedSms) {
  const int64_t id = FailedSms();
  ASSERT_EQ(Outbox(id)->status, notify::OutboxStatus::kFailed);

  auto admin = SignedIn("admin1");
  auto page = admin.Get("/admin/outbox?status=failed");
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("138****8000"), std::string::npos);
  EXPECT_EQ(page.body.find("13800138000"), std::string::npos);  // never the full number
  EXPECT_NE(page.body.find("发送失败"), std::string::npos);
  EXPECT_NE(page.body.find("HTTP 500"), std::string::npos);
  EXPECT_NE(page.body.find("/admin/outbox/" + std::to_string(id) + "/retry"), std::string::npos);
  EXPECT_NE(admin.Get("/admin").body.find("/admin/outbox"), std::string::npos);

  auto retry = PostFormWithCsrf(admin, "/admin/outbox/" + std::to_string(id) + "/retry", {});
  EXPECT_EQ(retry.status, 303);
  EXPECT_NE(retry.Header("Location").find("retried="), std::string::npos);
  auto pending = admin.Get(retry.Header("Location"));
  EXPECT_NE(pending.body.find("已重新加入发送队列"), std::string::npos);
  EXPECT_EQ(Outbox(id)->status, notify::OutboxStatus::kPending);

  // A second click (double submit) is refused with a message, not an error page.
  auto again = PostFormWithCsrf(admin, "/admin/outbox/" + std::to_string(id) + "/retry", {});
  EXPECT_EQ(again.status, 409);
  EXPECT_NE(again.body.find("只有发送失败"), std::string::npos);
  EXPECT_EQ(PostFormWithCsrf(admin, "/admin/outbox/99999/retry", {}).status, 404);

  gateway_->set_failing(false);
  EXPECT_EQ(Run().sent, 1);
  EXPECT_EQ(gateway_->accepted().size(), 1u);
  EXPECT_NE(admin.Get("/admin/outbox?status=sent").body.find("已发送"), std::string::npos);
}

// 30 days after failing the phone is dropped: the page says so instead of offering 重试, and a
// forged retry is refused with a message.
TEST_P(NotifyHttpTest, AFailedSmsPastTheKeepingLimitCannotBeRetried) {
  const int64_t id = FailedSms();
  ASSERT_EQ(Outbox(id)->status, notify::OutboxStatus::kFailed);
  const std::string retry_url = "/admin/outbox/" + std::to_string(id) + "/retry";
  auto admin = SignedIn("admin1");
  auto before = admin.Get("/admin/outbox?status=failed");
  ASSERT_EQ(before.status, 200);
  EXPECT_NE(before.body.find(retry_url), std::string::npos);
  EXPECT_EQ(before.body.find("号码已超过保留期限删除，无法重试"), std::string::npos);

  server_->clock().Advance(31 * 24 * 3600 * kSecond);
  EXPECT_EQ(Run().forgotten, 1);
  ASSERT_FALSE(Outbox(id)->has_phone);

  admin = SignedIn("admin1");  // the session of a month ago has expired
  auto page = admin.Get("/admin/outbox?status=failed");
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("138****8000"), std::string::npos);  // the mask stays
  EXPECT_NE(page.body.find("号码已超过保留期限删除，无法重试"), std::string::npos);
  EXPECT_EQ(page.body.find(retry_url), std::string::npos);
  EXPECT_EQ(page.body.find(">重试</button>"), std::string::npos);

  auto forged = PostFormWithCsrf(admin, retry_url, {});
  EXPECT_EQ(forged.status, 409);
  EXPECT_NE(forged.body.find("只有发送失败且仍保存手机号的短信可以重试"), std::string::npos);
  auto o = Outbox(id);
  EXPECT_EQ(o->status, notify::OutboxStatus::kFailed);
  EXPECT_EQ(o->attempts, 3);
  EXPECT_FALSE(o->has_phone);
  Run();
  EXPECT_EQ(gateway_->received().size(), 3u);  // never tried again
}

TEST_P(NotifyHttpTest, OnlyAdministratorsMayUseTheOutbox) {
  const int64_t id = FailedSms();
  auto anonymous = server_->Client();
  EXPECT_EQ(anonymous.Get("/admin/outbox").status, 303);
  auto clerk = SignedIn("clerk1");
  auto page = clerk.Get("/admin/outbox");
  EXPECT_EQ(page.status, 403);
  EXPECT_EQ(page.body.find("138****8000"), std::string::npos);
  EXPECT_EQ(clerk.Get("/admin").body.find("/admin/outbox"), std::string::npos);
  auto retry = PostFormWithCsrf(clerk, "/admin/outbox/" + std::to_string(id) + "/retry", {});
  EXPECT_EQ(retry.status, 403);
  EXPECT_EQ(Outbox(id)->status, notify::OutboxStatus::kFailed);
}

INSTANTIATE_TEST_SUITE_P(Http, NotifyHttpTest, AllBackends(), BackendParamName);

}  // namespace
}  // namespace zhenwu::testing
