// One-time form tokens on both backends: the first claim records, a repeat returns the first
// result, malformed or foreign tokens are refused, a rolled-back first use frees the token,
// concurrent duplicates create one record (on PostgreSQL the repeat waits for the first to
// commit or roll back), and old tokens are pruned.

#include "web/once.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <set>
#include <thread>

#include "support/db_fixture.hpp"

namespace zhenwu::web {
namespace {

using testing::DbTest;

constexpr std::string_view kForm = "test.record.create";

struct Outcome {
  std::string location;
  bool repeated = false;
};

class OnceTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_TRUE(MigrateModules({"core"}));
    ASSERT_TRUE(Execute("CREATE TABLE test_records (id {{id}}, name TEXT NOT NULL)"));
  }

  // What a handler does in its write transaction: claim, create, finish.
  static Result<Outcome> Submit(db::Conn& c, const Clock& clock, const std::string& token,
                                const std::string& name, std::string_view form = kForm) {
    auto claim = ClaimOnce(c, clock, form, token);
    if (!claim) return std::move(claim).error();
    if (*claim) return Outcome{**claim, true};
    auto row = c.QueryOne("INSERT INTO test_records (name) VALUES ($1) RETURNING id", {name});
    if (!row) return std::move(row).error();
    const std::string location = "/records/" + std::to_string((*row)->Int(0));
    if (auto s = FinishOnce(c, token, location); !s) return std::move(s).error();
    return Outcome{location, false};
  }

  Result<Outcome> SubmitSync(const std::string& token, const std::string& name,
                             std::string_view form = kForm) {
    return db().WriteSync<Outcome>(
        [&](db::Conn& c) { return Submit(c, clock(), token, name, form); });
  }

  int64_t Count(std::string_view table) {
    auto r = ReadQuery("SELECT COUNT(*) FROM " + std::string(table));
    EXPECT_TRUE(r) << r.error().message;
    return r ? r->rows.at(0).Int(0) : -1;
  }
};

TEST(OnceToken, FreshTokensAreWellFormedAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string token = NewOnceToken();
    EXPECT_EQ(token.size(), 22u) << token;
    EXPECT_TRUE(WellFormedOnceToken(token)) << token;
    seen.insert(std::move(token));
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(OnceToken, ShapeCheck) {
  EXPECT_TRUE(WellFormedOnceToken("0123456789abcdef"));
  EXPECT_TRUE(WellFormedOnceToken("8e03978e-40d5-43e8-bc93-6894a57f9324"));  // a UUID
  EXPECT_TRUE(WellFormedOnceToken(std::string(128, 'a')));
  EXPECT_FALSE(WellFormedOnceToken(""));
  EXPECT_FALSE(WellFormedOnceToken("0123456789abcde"));  // 15
  EXPECT_FALSE(WellFormedOnceToken(std::string(129, 'a')));
  EXPECT_FALSE(WellFormedOnceToken("0123456789abcdef "));
  EXPECT_FALSE(WellFormedOnceToken("0123456789abcdef'--"));
  EXPECT_FALSE(WellFormedOnceToken("0123456789abcdef+/"));
  EXPECT_FALSE(WellFormedOnceToken("令牌令牌令牌令牌令牌令牌"));
  EXPECT_FALSE(WellFormedOnceToken(std::string("0123456789abcdef\0x", 18)));
}

TEST(OnceToken, IdempotencyKeyHeader) {
  http::Request req;
  EXPECT_EQ(IdempotencyKey(req), "");
  req.raw.set("Idempotency-Key", " \"8e03978e-40d5-43e8-bc93-6894a57f9324\" ");
  EXPECT_EQ(IdempotencyKey(req), "8e03978e-40d5-43e8-bc93-6894a57f9324");
  req.raw.set("Idempotency-Key", "plain-key-0123456789");
  EXPECT_EQ(IdempotencyKey(req), "plain-key-0123456789");
  req.raw.set("Idempotency-Key", "\"");
  EXPECT_EQ(IdempotencyKey(req), "\"");  // not a quoted string: left for the shape check
  EXPECT_FALSE(WellFormedOnceToken(IdempotencyKey(req)));
}

TEST_P(OnceTest, FirstClaimRecordsAndARepeatReturnsTheFirstResult) {
  const std::string token = NewOnceToken();
  auto first = SubmitSync(token, "张三");
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_FALSE(first->repeated);
  EXPECT_EQ(first->location, "/records/1");

  auto again = SubmitSync(token, "张三");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(again->repeated);
  EXPECT_EQ(again->location, "/records/1");
  EXPECT_EQ(Count("test_records"), 1);

  auto other = SubmitSync(NewOnceToken(), "李四");
  ASSERT_TRUE(other) << other.error().message;
  EXPECT_FALSE(other->repeated);
  EXPECT_EQ(other->location, "/records/2");

  auto row =
      ReadQuery("SELECT form, result, created_at_ms FROM core_form_once WHERE token = $1", {token});
  ASSERT_TRUE(row && row->rows.size() == 1);
  EXPECT_EQ(row->rows[0].Text(0), kForm);
  EXPECT_EQ(row->rows[0].Text(1), "/records/1");
  EXPECT_EQ(row->rows[0].Int(2), clock().NowMs());
}

TEST_P(OnceTest, ARepeatOfAnUnfinishedClaimReturnsEmpty) {
  const std::string token = NewOnceToken();
  auto claim = [&](db::Conn& c) { return ClaimOnce(c, clock(), kForm, token); };
  auto first = db().WriteSync<std::optional<std::string>>(claim);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_FALSE(first->has_value());
  auto again = db().WriteSync<std::optional<std::string>>(claim);
  ASSERT_TRUE(again) << again.error().message;
  ASSERT_TRUE(again->has_value());
  EXPECT_EQ(**again, "");
}

TEST_P(OnceTest, MalformedTokensAreRefusedOnTheOnceField) {
  for (const std::string& bad : {std::string(), std::string("short"), std::string(129, 'x'),
                                 std::string("0123456789abcdef'; DROP TABLE test_records; --"),
                                 std::string("令牌令牌令牌令牌令牌令牌")}) {
    auto r = SubmitSync(bad, "张三");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
    ASSERT_EQ(r.error().fields.size(), 1u);
    EXPECT_EQ(r.error().fields[0].field, "_once");
    EXPECT_NE(r.error().message.find("再提交"), std::string::npos) << r.error().message;
  }
  EXPECT_EQ(Count("test_records"), 0);
  EXPECT_EQ(Count("core_form_once"), 0);
}

TEST_P(OnceTest, ATokenUsedByAnotherFormIsRefused) {
  const std::string token = NewOnceToken();
  ASSERT_TRUE(SubmitSync(token, "张三", "test.a"));
  auto other = SubmitSync(token, "张三", "test.b");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(other.error().fields.at(0).field, "_once");
  EXPECT_EQ(Count("test_records"), 1);
  // The first form's repeat still finds its result.
  auto again = SubmitSync(token, "张三", "test.a");
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->repeated);
}

TEST_P(OnceTest, ARolledBackFirstUseLeavesTheTokenFree) {
  const std::string token = NewOnceToken();
  auto failing = db().WriteSync<Outcome>([&](db::Conn& c) -> Result<Outcome> {
    auto claim = ClaimOnce(c, clock(), kForm, token);
    if (!claim) return std::move(claim).error();
    return Error::Invalid("name", "请填写姓名");  // validation failed after the claim
  });
  ASSERT_FALSE(failing);
  EXPECT_EQ(Count("core_form_once"), 0);
  auto corrected = SubmitSync(token, "张三");
  ASSERT_TRUE(corrected) << corrected.error().message;
  EXPECT_FALSE(corrected->repeated);
  EXPECT_EQ(Count("test_records"), 1);
}

TEST_P(OnceTest, FinishingAnUnclaimedTokenIsABug) {
  auto r = db().WriteSync<bool>([&](db::Conn& c) -> Result<bool> {
    if (auto s = FinishOnce(c, NewOnceToken(), "/x"); !s) return std::move(s).error();
    return true;
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInternal);
}

TEST_P(OnceTest, ConcurrentDuplicatesCreateOneRecord) {
  const std::string token = NewOnceToken();
  constexpr int kCopies = 8;
  std::vector<std::optional<Result<Outcome>>> results(kCopies);
  testing::RunConcurrently(kCopies, [&](int i) -> asio::awaitable<void> {
    auto work = [&](db::Conn& c) { return Submit(c, clock(), token, "张三"); };
    results[static_cast<std::size_t>(i)].emplace(co_await db().Write<Outcome>(work));
  });
  int firsts = 0;
  for (const auto& r : results) {
    ASSERT_TRUE(r && r->ok()) << (r ? r->error().message : "missing");
    EXPECT_EQ((*r)->location, "/records/1");
    if (!(*r)->repeated) ++firsts;
  }
  EXPECT_EQ(firsts, 1);
  EXPECT_EQ(Count("test_records"), 1);
}

// The repeat arrives while the first use is still inside its transaction. PostgreSQL makes the
// repeat wait for the first to commit; SQLite's single writer runs them one after the other.
// Either way the repeat answers with the first's result.
TEST_P(OnceTest, ARepeatDuringTheFirstUseWaitsAndSeesItsResult) {
  const std::string token = NewOnceToken();
  std::promise<void> claimed;
  auto first = std::async(std::launch::async, [&] {
    return db().WriteSync<Outcome>([&](db::Conn& c) -> Result<Outcome> {
      auto claim = ClaimOnce(c, clock(), kForm, token);
      if (!claim) return std::move(claim).error();
      claimed.set_value();
      std::this_thread::sleep_for(std::chrono::milliseconds(300));  // slow work, still in flight
      auto row = c.QueryOne("INSERT INTO test_records (name) VALUES ('张三') RETURNING id");
      if (!row) return std::move(row).error();
      if (auto s = FinishOnce(c, token, "/records/first"); !s) return std::move(s).error();
      return Outcome{"/records/first", false};
    });
  });
  claimed.get_future().wait();
  auto repeat = SubmitSync(token, "张三");
  auto first_result = first.get();
  ASSERT_TRUE(first_result) << first_result.error().message;
  ASSERT_TRUE(repeat) << repeat.error().message;
  EXPECT_TRUE(repeat->repeated);
  EXPECT_EQ(repeat->location, "/records/first");
  EXPECT_EQ(Count("test_records"), 1);
}

// The first use fails while the repeat waits: the repeat becomes the first use.
TEST_P(OnceTest, ARepeatDuringAFailingFirstUseBecomesTheFirstUse) {
  const std::string token = NewOnceToken();
  std::promise<void> claimed;
  auto first = std::async(std::launch::async, [&] {
    return db().WriteSync<Outcome>([&](db::Conn& c) -> Result<Outcome> {
      auto claim = ClaimOnce(c, clock(), kForm, token);
      if (!claim) return std::move(claim).error();
      claimed.set_value();
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      return Error::Unavailable("the gateway is down");
    });
  });
  claimed.get_future().wait();
  auto repeat = SubmitSync(token, "张三");
  EXPECT_FALSE(first.get());
  ASSERT_TRUE(repeat) << repeat.error().message;
  EXPECT_FALSE(repeat->repeated);
  EXPECT_EQ(Count("test_records"), 1);
}

TEST_P(OnceTest, OldTokensArePruned) {
  // Three tokens now, two a day later.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(SubmitSync(NewOnceToken(), "早"));
  const std::string kept = NewOnceToken();
  clock().Advance(24 * 3600 * 1000);
  ASSERT_TRUE(SubmitSync(kept, "晚"));
  ASSERT_TRUE(SubmitSync(NewOnceToken(), "晚"));
  EXPECT_EQ(Count("core_form_once"), 5);

  auto prune = [&](int64_t max_rows) {
    return db().WriteSync<int64_t>(
        [&, max_rows](db::Conn& c) { return PruneOnce(c, clock(), max_rows); });
  };
  // Exactly two days after the first three: not yet older than two days.
  clock().Advance(24 * 3600 * 1000);
  auto none = prune(100);
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_EQ(*none, 0);

  clock().Advance(1);
  auto bounded = prune(2);
  ASSERT_TRUE(bounded) << bounded.error().message;
  EXPECT_EQ(*bounded, 2);
  auto rest = prune(100);
  ASSERT_TRUE(rest);
  EXPECT_EQ(*rest, 1);
  EXPECT_EQ(Count("core_form_once"), 2);

  // A claim prunes on its way: a day later the other two expire and go with the next claim.
  clock().Advance(24 * 3600 * 1000);
  ASSERT_TRUE(SubmitSync(NewOnceToken(), "再晚"));
  EXPECT_EQ(Count("core_form_once"), 1);
  // The pruned token is free again (a very late repeat counts as a new submission).
  auto late = SubmitSync(kept, "晚");
  ASSERT_TRUE(late);
  EXPECT_FALSE(late->repeated);
}

// A token used again after it expired: the claim's own prune deletes the old row (on PostgreSQL
// in the same statement as the insert) and the repeat counts as a new submission.
TEST_P(OnceTest, AnExpiredTokenUsedAgainIsANewSubmission) {
  const std::string token = NewOnceToken();
  auto first = SubmitSync(token, "张三");
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_FALSE(first->repeated);
  clock().Advance(kOnceKeepMs + 1);
  auto late = SubmitSync(token, "张三");
  ASSERT_TRUE(late) << late.error().message;
  EXPECT_FALSE(late->repeated);
  EXPECT_EQ(Count("core_form_once"), 1);
  auto again = SubmitSync(token, "张三");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(again->repeated);
}

TEST_P(OnceTest, AClaimPrunesABoundedBatch) {
  for (int i = 0; i < kOncePruneOnClaim + 8; ++i) ASSERT_TRUE(SubmitSync(NewOnceToken(), "旧"));
  clock().Advance(kOnceKeepMs + 1);
  ASSERT_TRUE(SubmitSync(NewOnceToken(), "新"));
  EXPECT_EQ(Count("core_form_once"), 8 + 1);
  ASSERT_TRUE(SubmitSync(NewOnceToken(), "新"));
  EXPECT_EQ(Count("core_form_once"), 2);
}

ZHENWU_ALL_BACKENDS(OnceTest);

}  // namespace
}  // namespace zhenwu::web
