// Notifications on both backends: enqueue inside the caller's transaction, the inbox, and SMS
// delivery — atomic claims (no message sent twice by concurrent dispatchers), backoff, giving
// up, an administrator's retry, and dropping the phone once sent (or 30 days after failing).

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "notify/dispatcher.hpp"
#include "notify/notify.hpp"
#include "people/keys.hpp"
#include "support/db_fixture.hpp"

namespace zhenwu::notify {
namespace {

using zhenwu::testing::DbTest;

constexpr int64_t kSecond = 1000;

// An in-process gateway: records what it is asked to send, fails while `failing`.
class RecordingGateway final : public SmsGateway {
 public:
  Status Send(const SmsRequest& sms) override {
    if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    std::lock_guard lock(mutex);
    calls.push_back(sms);
    if (failing) return Error::Unavailable("短信网关：HTTP 503 busy");
    return {};
  }
  std::vector<SmsRequest> Calls() {
    std::lock_guard lock(mutex);
    return calls;
  }
  std::mutex mutex;
  std::vector<SmsRequest> calls;
  std::atomic<bool> failing{false};
  int delay_ms = 0;
};

class NotifyTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_TRUE(MigrateModules({"core", "audit", "org", "auth", "notify"}));
    auto keys = people::LoadOrCreateKeys(test_db().temp_dir().string());
    ASSERT_TRUE(keys) << keys.error().message;
    keys_ = std::make_shared<const people::Keys>(*keys);
    user_ = AddUser("citizen-13800138000");
    other_ = AddUser("citizen-13900139000");
  }

  int64_t AddUser(const std::string& login) {
    auto r = WriteQuery(
        "INSERT INTO auth_users (kind, login, display_name, password_hash, password_changed_ms, "
        "created_ms, updated_ms) VALUES ('citizen', $1, '韦小红', 'x', 0, 0, 0) RETURNING id",
        {login});
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? r->rows.at(0).Int(0) : 0;
  }

  Result<bool> EnqResult(const Message& m) {
    return db().WriteSync<bool>([&](db::Conn& c) -> Result<bool> {
      if (auto s = Enqueue(c, clock(), *keys_, m); !s) return std::move(s).error();
      return true;
    });
  }

  Message Sms(std::string phone = "138 0013 8000", std::string ref = "services_case:1") {
    return Message{std::nullopt, std::move(phone), "您的申请已受理", "办件 PZ-0001 已受理。",
                   "/cases/1",   std::move(ref)};
  }

  std::optional<OutboxItem> Outbox(int64_t id) {
    auto r =
        db().ReadSync<std::optional<OutboxItem>>([&](db::Conn& c) { return FindOutbox(c, id); });
    EXPECT_TRUE(r);
    return r ? *r : std::nullopt;
  }
  int64_t OnlyOutboxId() {
    auto r = ReadQuery("SELECT id FROM notify_outbox");
    EXPECT_TRUE(r && r->rows.size() == 1);
    return r && !r->rows.empty() ? r->rows[0].Int(0) : 0;
  }
  int64_t Count(const std::string& table) {
    auto r = ReadQuery("SELECT COUNT(*) FROM " + table);
    return r ? r->rows.at(0).Int(0) : -1;
  }

  std::unique_ptr<Dispatcher> MakeDispatcher(std::shared_ptr<SmsGateway> gw, int max_attempts = 5,
                                             db::Database* on = nullptr) {
    DispatchOptions o;
    o.max_attempts = max_attempts;
    o.batch = 5;
    return std::make_unique<Dispatcher>(on ? *on : db(), clock(), keys_, std::move(gw), o);
  }

  std::shared_ptr<const people::Keys> keys_;
  int64_t user_ = 0, other_ = 0;
};

TEST_P(NotifyTest, EnqueueWritesTheInboxAndAnEncryptedOutboxRow) {
  Message m = Sms("+86 138-0013-8000");
  m.user_id = user_;
  auto r = EnqResult(m);
  ASSERT_TRUE(r) << r.error().message;

  auto inbox = db().ReadSync<std::vector<InboxItem>>(
      [&](db::Conn& c) { return ListInbox(c, user_, std::nullopt, 10); });
  ASSERT_TRUE(inbox);
  ASSERT_EQ(inbox->size(), 1u);
  EXPECT_EQ((*inbox)[0].title, "您的申请已受理");
  EXPECT_EQ((*inbox)[0].body, "办件 PZ-0001 已受理。");
  EXPECT_EQ((*inbox)[0].link, "/cases/1");
  EXPECT_EQ((*inbox)[0].created_at_ms, clock().NowMs());
  EXPECT_FALSE((*inbox)[0].read_at_ms);

  auto row = ReadQuery(
      "SELECT phone_enc, phone_mask, text, status, attempts, next_attempt_at_ms, ref "
      "FROM notify_outbox");
  ASSERT_TRUE(row);
  ASSERT_EQ(row->rows.size(), 1u);
  const auto& o = row->rows[0];
  EXPECT_EQ(o.Text(0).find("13800138000"), std::string::npos);  // not stored in the clear
  EXPECT_EQ(*keys_->Decrypt(o.Text(0)), "13800138000");
  EXPECT_EQ(o.Text(1), "138****8000");
  EXPECT_EQ(o.Text(2), "您的申请已受理：办件 PZ-0001 已受理。");
  EXPECT_EQ(o.Text(3), "pending");
  EXPECT_EQ(o.Int(4), 0);
  EXPECT_EQ(o.Int(5), clock().NowMs());
  EXPECT_EQ(o.Text(6), "services_case:1");
}

TEST_P(NotifyTest, EnqueueRefusesBadInputAndWritesNothing) {
  struct Case {
    Message m;
    std::string field;
  };
  Message no_one{std::nullopt, "", "标题", "内容", "", ""};
  Message bad_phone = Sms("12345");
  Message landline = Sms("0775-1234567");
  Message empty = Sms();
  empty.title.clear();
  empty.text.clear();
  Message remote = Sms();
  remote.link = "https://evil.example/phish";
  Message scheme_relative = Sms();
  scheme_relative.link = "//evil.example/";
  for (const Case& c : std::vector<Case>{{no_one, "phone"},
                                         {bad_phone, "phone"},
                                         {landline, "phone"},
                                         {empty, "text"},
                                         {remote, "link"},
                                         {scheme_relative, "link"}}) {
    auto r = EnqResult(c.m);
    ASSERT_FALSE(r) << c.field;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
    ASSERT_FALSE(r.error().fields.empty());
    EXPECT_EQ(r.error().fields[0].field, c.field);
    EXPECT_FALSE(r.error().fields[0].message.empty());
  }
  // An unknown account is a database conflict (foreign key), not a silent drop.
  Message ghost = Sms();
  ghost.user_id = 999999;
  auto r = EnqResult(ghost);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kConflict);
  EXPECT_EQ(Count("notify_inbox"), 0);
  EXPECT_EQ(Count("notify_outbox"), 0);
}

TEST_P(NotifyTest, ANotificationCommitsWithTheCallersStepOrNotAtAll) {
  Message m = Sms();
  m.user_id = user_;
  auto failed_step = db().WriteSync<bool>([&](db::Conn& c) -> Result<bool> {
    if (auto s = Enqueue(c, clock(), *keys_, m); !s) return std::move(s).error();
    return Error::Conflict("the case step itself failed");
  });
  ASSERT_FALSE(failed_step);
  EXPECT_EQ(Count("notify_inbox"), 0);
  EXPECT_EQ(Count("notify_outbox"), 0);
  ASSERT_TRUE(EnqResult(m));
  EXPECT_EQ(Count("notify_inbox"), 1);
  EXPECT_EQ(Count("notify_outbox"), 1);
}

TEST_P(NotifyTest, InboxIsNewestFirstPagedAndPrivate) {
  for (int i = 1; i <= 5; ++i) {
    clock().Advance(kSecond);
    ASSERT_TRUE(EnqResult({user_, "", "消息 " + std::to_string(i), "", "", ""}));
  }
  ASSERT_TRUE(EnqResult({other_, "", "别人的消息", "", "", ""}));
  auto first = db().ReadSync<std::vector<InboxItem>>(
      [&](db::Conn& c) { return ListInbox(c, user_, std::nullopt, 3); });
  ASSERT_TRUE(first);
  ASSERT_EQ(first->size(), 3u);
  EXPECT_EQ((*first)[0].title, "消息 5");
  EXPECT_EQ((*first)[2].title, "消息 3");
  auto second = db().ReadSync<std::vector<InboxItem>>(
      [&](db::Conn& c) { return ListInbox(c, user_, first->back().id, 3); });
  ASSERT_TRUE(second);
  ASSERT_EQ(second->size(), 2u);
  EXPECT_EQ((*second)[1].title, "消息 1");

  auto unread = db().ReadSync<int64_t>([&](db::Conn& c) { return CountUnread(c, user_); });
  EXPECT_EQ(*unread, 5);
  const int64_t newest = (*first)[0].id;
  auto others = db().ReadSync<std::vector<InboxItem>>(
      [&](db::Conn& c) { return ListInbox(c, other_, std::nullopt, 10); });
  ASSERT_EQ(others->size(), 1u);
  // Someone else's message cannot be marked read by this user.
  auto foreign = db().WriteSync<bool>([&](db::Conn& c) -> Result<bool> {
    if (auto s = MarkRead(c, clock(), user_, (*others)[0].id); !s) return std::move(s).error();
    return true;
  });
  ASSERT_FALSE(foreign);
  EXPECT_EQ(foreign.error().code, ErrorCode::kNotFound);

  clock().Advance(kSecond);
  auto read = db().WriteSync<bool>([&](db::Conn& c) -> Result<bool> {
    if (auto s = MarkRead(c, clock(), user_, newest); !s) return std::move(s).error();
    if (auto s = MarkRead(c, clock(), user_, newest); !s) return std::move(s).error();  // again
    return true;
  });
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(*db().ReadSync<int64_t>([&](db::Conn& c) { return CountUnread(c, user_); }), 4);
  auto all = db().WriteSync<int64_t>([&](db::Conn& c) { return MarkAllRead(c, clock(), user_); });
  EXPECT_EQ(*all, 4);
  EXPECT_EQ(*db().ReadSync<int64_t>([&](db::Conn& c) { return CountUnread(c, user_); }), 0);
  EXPECT_EQ(*db().ReadSync<int64_t>([&](db::Conn& c) { return CountUnread(c, other_); }), 1);
}

TEST(NotifyBackoffTest, DoublesFromThirtySecondsUpToAnHour) {
  EXPECT_EQ(BackoffMs(1), 30 * kSecond);
  EXPECT_EQ(BackoffMs(2), 60 * kSecond);
  EXPECT_EQ(BackoffMs(3), 120 * kSecond);
  EXPECT_EQ(BackoffMs(7), 1920 * kSecond);
  EXPECT_EQ(BackoffMs(8), 3600 * kSecond);
  EXPECT_EQ(BackoffMs(50), 3600 * kSecond);
  EXPECT_EQ(BackoffMs(0), 30 * kSecond);
}

TEST_P(NotifyTest, DeliversOnceAndThenForgetsThePhone) {
  ASSERT_TRUE(EnqResult(Sms()));
  auto gw = std::make_shared<RecordingGateway>();
  auto dispatcher = MakeDispatcher(gw);
  clock().Advance(kSecond);
  auto stats = dispatcher->RunOnce();
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->claimed, 1);
  EXPECT_EQ(stats->sent, 1);
  ASSERT_EQ(gw->Calls().size(), 1u);
  const int64_t id = OnlyOutboxId();
  EXPECT_EQ(gw->Calls()[0].id, id);
  EXPECT_EQ(gw->Calls()[0].phone, "13800138000");
  EXPECT_EQ(gw->Calls()[0].text, "您的申请已受理：办件 PZ-0001 已受理。");
  EXPECT_EQ(gw->Calls()[0].ref, "services_case:1");

  auto o = Outbox(id);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->status, OutboxStatus::kSent);
  EXPECT_EQ(o->attempts, 1);
  EXPECT_EQ(o->sent_at_ms, clock().NowMs());
  EXPECT_FALSE(o->has_phone);
  EXPECT_EQ(o->phone_mask, "138****8000");
  auto enc = ReadQuery("SELECT phone_enc FROM notify_outbox WHERE id = $1", {id});
  EXPECT_TRUE(enc->rows[0].IsNull(0));

  clock().Advance(3600 * kSecond);
  auto again = dispatcher->RunOnce();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->claimed, 0);
  EXPECT_EQ(gw->Calls().size(), 1u);
}

TEST_P(NotifyTest, WithoutAGatewayMessagesWaitPending) {
  ASSERT_TRUE(EnqResult(Sms()));
  auto dispatcher = MakeDispatcher(nullptr);
  EXPECT_FALSE(dispatcher->enabled());
  auto stats = dispatcher->RunOnce();
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->claimed, 0);
  auto o = Outbox(OnlyOutboxId());
  EXPECT_EQ(o->status, OutboxStatus::kPending);
  EXPECT_TRUE(o->has_phone);
  EXPECT_EQ(o->attempts, 0);
}

TEST_P(NotifyTest, AFailingGatewayIsRetriedWithGrowingPausesThenGivenUp) {
  ASSERT_TRUE(EnqResult(Sms()));
  const int64_t id = OnlyOutboxId();
  auto gw = std::make_shared<RecordingGateway>();
  gw->failing = true;
  auto dispatcher = MakeDispatcher(gw, /*max_attempts=*/3);

  auto s1 = dispatcher->RunOnce();
  ASSERT_TRUE(s1);
  EXPECT_EQ(s1->retrying, 1);
  auto o = Outbox(id);
  EXPECT_EQ(o->status, OutboxStatus::kPending);
  EXPECT_EQ(o->attempts, 1);
  EXPECT_EQ(o->next_attempt_at_ms, clock().NowMs() + 30 * kSecond);
  EXPECT_EQ(o->last_error, "短信网关：HTTP 503 busy");
  EXPECT_TRUE(o->has_phone);

  // Not due yet: nothing is tried.
  clock().Advance(29 * kSecond);
  EXPECT_EQ(dispatcher->RunOnce()->claimed, 0);
  EXPECT_EQ(gw->Calls().size(), 1u);

  clock().Advance(1 * kSecond);
  EXPECT_EQ(dispatcher->RunOnce()->retrying, 1);
  o = Outbox(id);
  EXPECT_EQ(o->attempts, 2);
  EXPECT_EQ(o->next_attempt_at_ms, clock().NowMs() + 60 * kSecond);

  clock().Advance(60 * kSecond);
  auto s3 = dispatcher->RunOnce();
  EXPECT_EQ(s3->failed, 1);
  o = Outbox(id);
  EXPECT_EQ(o->status, OutboxStatus::kFailed);
  EXPECT_EQ(o->attempts, 3);
  EXPECT_TRUE(o->has_phone);  // kept so that an administrator can retry
  EXPECT_EQ(gw->Calls().size(), 3u);

  clock().Advance(24 * 3600 * kSecond);
  EXPECT_EQ(dispatcher->RunOnce()->claimed, 0);  // failed ones wait for a person

  // The administrator retries once the gateway is back.
  audit::Actor admin{int64_t{1}, "admin", "127.0.0.1", "req-1"};
  auto retry = db().WriteSync<bool>([&](db::Conn& c) -> Result<bool> {
    if (auto s = RetryFailed(c, clock(), admin, id); !s) return std::move(s).error();
    return true;
  });
  ASSERT_TRUE(retry) << retry.error().message;
  o = Outbox(id);
  EXPECT_EQ(o->status, OutboxStatus::kPending);
  EXPECT_EQ(o->attempts, 0);
  auto audited = ReadQuery(
      "SELECT actor_name, entity_id, summary FROM audit_events WHERE action = 'notify.sms.retry'");
  ASSERT_TRUE(audited) << audited.error().message;
  ASSERT_EQ(audited->rows.size(), 1u);
  EXPECT_EQ(audited->rows[0].Text(0), "admin");
  EXPECT_EQ(audited->rows[0].Text(1), std::to_string(id));
  EXPECT_NE(audited->rows[0].Text(2).find("138****8000"), std::string::npos);
  EXPECT_EQ(audited->rows[0].Text(2).find("13800138000"), std::string::npos);

  gw->failing = false;
  EXPECT_EQ(dispatcher->RunOnce()->sent, 1);
  EXPECT_EQ(Outbox(id)->status, OutboxStatus::kSent);
}

TEST_P(NotifyTest, RetryRefusesWhatIsNotFailed) {
  ASSERT_TRUE(EnqResult(Sms()));
  const int64_t id = OnlyOutboxId();
  audit::Actor admin{int64_t{1}, "admin", "127.0.0.1", "req-1"};
  auto retry = [&](int64_t which) {
    return db().WriteSync<bool>([&](db::Conn& c) -> Result<bool> {
      if (auto s = RetryFailed(c, clock(), admin, which); !s) return std::move(s).error();
      return true;
    });
  };
  auto pending = retry(id);
  ASSERT_FALSE(pending);
  EXPECT_EQ(pending.error().code, ErrorCode::kConflict);
  auto missing = retry(id + 100);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  auto gw = std::make_shared<RecordingGateway>();
  ASSERT_TRUE(MakeDispatcher(gw)->RunOnce());
  auto sent = retry(id);
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code, ErrorCode::kConflict);
  EXPECT_EQ(Count("audit_events"), 0);
}

constexpr int64_t kDay = 24 * 3600 * kSecond;

// PIPL data minimisation: a failed message keeps its phone (for 重试) for 30 days only.
TEST_P(NotifyTest, AFailedMessageLosesItsPhoneAfterThirtyDaysAndKeepsItsMask) {
  const int64_t now = clock().NowMs();
  std::map<std::string, int64_t> ids;
  for (const char* name : {"old_failed", "young_failed", "old_pending", "old_sent"}) {
    ASSERT_TRUE(EnqResult(Sms("138 0013 8000", std::string("services_case:") + name)));
    auto r = ReadQuery("SELECT MAX(id) FROM notify_outbox");
    ASSERT_TRUE(r);
    ids[name] = r->rows.at(0).Int(0);
  }
  auto set = [&](const std::string& name, const std::string& status, int64_t at_ms) {
    auto r = WriteQuery(
        "UPDATE notify_outbox SET status = $1, next_attempt_at_ms = $2, attempts = 5, "
        "last_error = '短信网关：HTTP 503 busy' WHERE id = $3",
        {status, at_ms, ids.at(name)});
    ASSERT_TRUE(r) << r.error().message;
  };
  set("old_failed", "failed", now - 31 * kDay);
  set("young_failed", "failed", now - 29 * kDay);
  set("old_pending", "pending", now - 31 * kDay);
  // A sent row never has a phone; one left with it by hand shows that only failed rows are hit.
  set("old_sent", "sent", now - 31 * kDay);
  ASSERT_EQ(kFailedPhoneKeepDays, 30);

  // Without a gateway nothing is sent (the old pending one stays pending), but phones are
  // still forgotten.
  auto dispatcher = MakeDispatcher(nullptr);
  auto stats = dispatcher->RunOnce();
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->forgotten, 1);
  EXPECT_EQ(stats->claimed, 0);

  auto old_failed = Outbox(ids["old_failed"]);
  ASSERT_TRUE(old_failed);
  EXPECT_FALSE(old_failed->has_phone);
  EXPECT_EQ(old_failed->phone_mask, "138****8000");
  EXPECT_EQ(old_failed->status, OutboxStatus::kFailed);
  EXPECT_EQ(old_failed->attempts, 5);
  EXPECT_EQ(old_failed->last_error, "短信网关：HTTP 503 busy");
  auto enc = ReadQuery("SELECT phone_enc FROM notify_outbox WHERE id = $1", {ids["old_failed"]});
  ASSERT_TRUE(enc);
  EXPECT_TRUE(enc->rows.at(0).IsNull(0));
  EXPECT_TRUE(Outbox(ids["young_failed"])->has_phone);
  EXPECT_TRUE(Outbox(ids["old_pending"])->has_phone);
  EXPECT_EQ(Outbox(ids["old_pending"])->status, OutboxStatus::kPending);
  EXPECT_TRUE(Outbox(ids["old_sent"])->has_phone);

  // A failed message without its phone cannot be retried; the row stays as it was.
  audit::Actor admin{int64_t{1}, "admin", "127.0.0.1", "req-1"};
  auto retry = db().WriteSync<bool>([&](db::Conn& c) -> Result<bool> {
    if (auto s = RetryFailed(c, clock(), admin, ids["old_failed"]); !s) {
      return std::move(s).error();
    }
    return true;
  });
  ASSERT_FALSE(retry);
  EXPECT_EQ(retry.error().code, ErrorCode::kConflict);
  EXPECT_NE(retry.error().message.find("保留期限"), std::string::npos);
  auto after = Outbox(ids["old_failed"]);
  EXPECT_EQ(after->status, OutboxStatus::kFailed);
  EXPECT_EQ(after->attempts, 5);
  EXPECT_EQ(after->next_attempt_at_ms, now - 31 * kDay);
  EXPECT_FALSE(after->has_phone);
  EXPECT_EQ(Count("audit_events"), 0);

  // Two days on, the younger one is past the limit too.
  clock().Advance(2 * kDay);
  auto later = dispatcher->RunOnce();
  ASSERT_TRUE(later);
  EXPECT_EQ(later->forgotten, 1);
  EXPECT_FALSE(Outbox(ids["young_failed"])->has_phone);
  EXPECT_EQ(Outbox(ids["young_failed"])->phone_mask, "138****8000");
  EXPECT_TRUE(Outbox(ids["old_pending"])->has_phone);
  EXPECT_TRUE(Outbox(ids["old_sent"])->has_phone);
}

// The limit counts from the time the dispatcher gave up, and one dispatcher looks at most once
// an hour.
TEST_P(NotifyTest, PhonesAreForgottenThirtyDaysAfterFailingCheckedHourly) {
  ASSERT_TRUE(EnqResult(Sms()));
  const int64_t id = OnlyOutboxId();
  auto gw = std::make_shared<RecordingGateway>();
  gw->failing = true;
  auto dispatcher = MakeDispatcher(gw, /*max_attempts=*/1);
  const int64_t failed_at = clock().NowMs();
  auto first = dispatcher->RunOnce();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->failed, 1);
  EXPECT_EQ(first->forgotten, 0);
  EXPECT_EQ(Outbox(id)->next_attempt_at_ms, failed_at);

  clock().Set(failed_at + 30 * kDay - 10 * 60 * kSecond);  // not yet 30 days
  EXPECT_EQ(dispatcher->RunOnce()->forgotten, 0);
  EXPECT_TRUE(Outbox(id)->has_phone);
  clock().Advance(20 * 60 * kSecond);  // past 30 days, but checked only 20 minutes ago
  EXPECT_EQ(dispatcher->RunOnce()->forgotten, 0);
  EXPECT_TRUE(Outbox(id)->has_phone);
  clock().Advance(40 * 60 * kSecond);  // an hour since the last check
  EXPECT_EQ(dispatcher->RunOnce()->forgotten, 1);
  EXPECT_FALSE(Outbox(id)->has_phone);
  EXPECT_EQ(Outbox(id)->status, OutboxStatus::kFailed);
  // Already forgotten: nothing more to do an hour later.
  clock().Advance(3600 * kSecond);
  EXPECT_EQ(dispatcher->RunOnce()->forgotten, 0);
  EXPECT_EQ(gw->Calls().size(), 1u);
}

TEST_P(NotifyTest, APhoneTheKeysCannotOpenFailsAtOnce) {
  ASSERT_TRUE(EnqResult(Sms()));
  const int64_t id = OnlyOutboxId();
  ASSERT_TRUE(WriteQuery("UPDATE notify_outbox SET phone_enc = 'v1:AAAA' WHERE id = $1", {id}));
  auto gw = std::make_shared<RecordingGateway>();
  auto stats = MakeDispatcher(gw)->RunOnce();
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->failed, 1);
  EXPECT_TRUE(gw->Calls().empty());
  auto o = Outbox(id);
  EXPECT_EQ(o->status, OutboxStatus::kFailed);
  EXPECT_NE(o->last_error.find("解密"), std::string::npos);
}

// Shutdown: a dispatcher asked to stop finishes the message in hand and hands the rest of its
// claim back at once, so they need not wait for the lease to end.
class StoppingGateway final : public SmsGateway {
 public:
  Status Send(const SmsRequest& sms) override {
    sent.push_back(sms.id);
    if (dispatcher) dispatcher->Stop();
    return {};
  }
  Dispatcher* dispatcher = nullptr;
  std::vector<int64_t> sent;
};

TEST_P(NotifyTest, StopHandsBackTheRestOfTheClaim) {
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(EnqResult(Sms()));
  auto gw = std::make_shared<StoppingGateway>();
  auto dispatcher = MakeDispatcher(gw);
  gw->dispatcher = dispatcher.get();
  auto stats = dispatcher->RunOnce();
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->claimed, 4);
  EXPECT_EQ(stats->sent, 1);
  ASSERT_EQ(gw->sent.size(), 1u);
  auto held = ReadQuery(
      "SELECT COUNT(*) FROM notify_outbox WHERE status = 'pending' AND claimed_until_ms = 0 "
      "AND claim_token IS NULL");
  EXPECT_EQ(held->rows[0].Int(0), 3);
  EXPECT_EQ(dispatcher->RunOnce()->claimed, 0);  // stopped for good
  auto other = std::make_shared<RecordingGateway>();
  EXPECT_EQ(MakeDispatcher(other)->RunOnce()->sent, 3);  // no need to wait for the lease
}

TEST_P(NotifyTest, AClaimHoldsUntilItsLeaseEnds) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(EnqResult(Sms()));
  const int64_t now = clock().NowMs();
  auto claim = [&](const std::string& token, int64_t at) {
    return db().WriteSync<std::vector<ClaimedSms>>(
        [&](db::Conn& c) { return ClaimDue(c, at, 60 * kSecond, token, 2); });
  };
  auto a = claim("a", now);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->size(), 2u);
  EXPECT_FALSE((*a)[0].phone_enc.empty());
  auto b = claim("b", now);
  ASSERT_TRUE(b);
  ASSERT_EQ(b->size(), 1u);  // only the one a did not take
  EXPECT_GT((*b)[0].id, (*a)[1].id);
  EXPECT_TRUE(claim("c", now + 59 * kSecond)->empty());
  // a died without recording anything: after the lease its messages are claimable again.
  auto d = claim("d", now + 60 * kSecond);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->size(), 2u);
}

// Two dispatchers, each with its own database handle (as two server processes would have),
// work through one outbox at the same time: every message is sent exactly once.
TEST_P(NotifyTest, ConcurrentDispatchersNeverSendAMessageTwice) {
  constexpr int kMessages = 40;
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_TRUE(EnqResult(Sms("13800138000", "services_case:" + std::to_string(i))));
  }
  auto second_db = test_db().OpenAnother();
  ASSERT_TRUE(second_db) << second_db.error().message;
  auto gw = std::make_shared<RecordingGateway>();
  gw->delay_ms = 2;
  auto d1 = MakeDispatcher(gw, 5);
  auto d2 = MakeDispatcher(gw, 5, second_db->get());
  std::vector<int> sent(2, 0);
  std::vector<std::string> errors(2);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      auto s = (i == 0 ? d1 : d2)->RunOnce();
      if (s) {
        sent[i] = s->sent;
      } else {
        errors[i] = s.error().message;
      }
    });
  }
  for (auto& t : threads) t.join();
  (*second_db)->Close();
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
  EXPECT_EQ(sent[0] + sent[1], kMessages);
  std::map<int64_t, int> times;
  for (const auto& c : gw->Calls()) ++times[c.id];
  EXPECT_EQ(times.size(), static_cast<std::size_t>(kMessages));
  for (const auto& [id, n] : times) EXPECT_EQ(n, 1) << "message " << id;
  auto left = ReadQuery("SELECT COUNT(*) FROM notify_outbox WHERE status <> 'sent'");
  EXPECT_EQ(left->rows[0].Int(0), 0);
}

// PostgreSQL: while one transaction holds its claim open, another claims the other rows at once
// instead of waiting (SKIP LOCKED), and never the held ones.
TEST_P(NotifyTest, PostgresClaimsSkipRowsAnotherTransactionHolds) {
  if (is_sqlite()) GTEST_SKIP() << "SQLite has one writer: claims cannot overlap";
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(EnqResult(Sms()));
  auto second_db = test_db().OpenAnother();
  ASSERT_TRUE(second_db);
  std::mutex m;
  std::condition_variable cv;
  bool a_claimed = false, b_done = false;
  std::vector<ClaimedSms> a_rows, b_rows;
  const int64_t now = clock().NowMs();
  std::thread a([&] {
    auto r = db().WriteSync<int>([&](db::Conn& c) -> Result<int> {
      auto rows = ClaimDue(c, now, 60 * kSecond, "a", 5);
      if (!rows) return std::move(rows).error();
      a_rows = *rows;
      std::unique_lock lock(m);
      a_claimed = true;
      cv.notify_all();
      // Hold the transaction (and its row locks) open until b has claimed.
      cv.wait_for(lock, std::chrono::seconds(10), [&] { return b_done; });
      return 0;
    });
    EXPECT_TRUE(r);
  });
  {
    std::unique_lock lock(m);
    cv.wait_for(lock, std::chrono::seconds(10), [&] { return a_claimed; });
  }
  const auto started = std::chrono::steady_clock::now();
  auto b = (*second_db)->WriteSync<std::vector<ClaimedSms>>([&](db::Conn& c) {
    return ClaimDue(c, now, 60 * kSecond, "b", 100);
  });
  const auto waited = std::chrono::steady_clock::now() - started;
  {
    std::lock_guard lock(m);
    b_done = true;
    cv.notify_all();
  }
  a.join();
  (*second_db)->Close();
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_LT(waited, std::chrono::seconds(5));  // did not wait for a's locks
  EXPECT_EQ(a_rows.size(), 5u);
  EXPECT_EQ(b->size(), 7u);
  std::set<int64_t> ids;
  for (const auto& r : a_rows) ids.insert(r.id);
  for (const auto& r : *b) EXPECT_TRUE(ids.insert(r.id).second) << "claimed twice: " << r.id;
  EXPECT_EQ(ids.size(), 12u);
}

ZHENWU_ALL_BACKENDS(NotifyTest);

}  // namespace
}  // namespace zhenwu::notify
