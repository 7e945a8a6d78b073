// The audit log on both backends: appending, verifying, tampering detected, pruning, and
// concurrent appenders leaving one unforked chain.

#include <gtest/gtest.h>

#include <set>

#include "audit/audit.hpp"
#include "audit/query.hpp"
#include "support/db_fixture.hpp"

namespace zhenwu::audit {
namespace {

using zhenwu::testing::DbTest;

class AuditTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_TRUE(MigrateModules({"core", "audit"}));
  }

  void RecordN(int n, const std::string& prefix = "事件") {
    for (int i = 0; i < n; ++i) {
      auto r = db().WriteSync<bool>([&](db::Conn& c) -> Result<bool> {
        Entry entry{.action = "test.event",
                    .entity = "thing",
                    .entity_id = std::to_string(i),
                    .unit_id = int64_t{i % 3 == 0 ? 1 : 2},
                    .summary = prefix + std::to_string(i),
                    .before = "{}",
                    .after = "{\"n\":" + std::to_string(i) + "}"};
        if (auto s = Record(c, clock(), Actor{int64_t{7}, "张三", "10.0.0.1", "req-1"}, entry);
            !s) {
          return s.error();
        }
        return true;
      });
      ASSERT_TRUE(r) << r.error().message;
    }
  }

  VerifyReport MustVerify(int page_size = 1000) {
    auto r = Verify(db(), page_size);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? *r : VerifyReport{};
  }
};

TEST_P(AuditTest, EmptyChainIsIntact) {
  auto report = MustVerify();
  EXPECT_TRUE(report.intact);
  EXPECT_EQ(report.checked, 0);
  EXPECT_NE(FormatReport(report).find("审计日志完整"), std::string::npos);
}

TEST_P(AuditTest, AppendedEventsFormAnIntactChain) {
  RecordN(5);
  for (int page : {1, 2, 5, 1000}) {
    auto report = MustVerify(page);
    EXPECT_TRUE(report.intact) << page << " " << FormatReport(report);
    EXPECT_EQ(report.checked, 5);
    EXPECT_EQ(report.last_seq, 5);
  }
  auto rows = ReadQuery(
      "SELECT seq, prev_hash, hash, actor_name, summary FROM audit_events "
      "ORDER BY seq");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->rows.size(), 5u);
  EXPECT_EQ(rows->rows[0].Text(1), kZeroHash);
  for (std::size_t i = 1; i < rows->rows.size(); ++i) {
    EXPECT_EQ(rows->rows[i].Text(1), rows->rows[i - 1].Text(2));
  }
  EXPECT_EQ(rows->rows[0].Text(3), "张三");
  EXPECT_EQ(rows->rows[2].Text(4), "事件2");
  EXPECT_NE(FormatReport(MustVerify()).find("共校验 5 条"), std::string::npos);
}

TEST_P(AuditTest, ChangedSummaryIsCaughtNamingTheRow) {
  RecordN(5);
  ASSERT_TRUE(
      Execute("UPDATE audit_events SET summary = $1 WHERE seq = 3", {std::string("悄悄改过")}));
  auto report = MustVerify(2);
  EXPECT_FALSE(report.intact);
  EXPECT_EQ(report.problem, VerifyReport::Problem::kHashMismatch);
  EXPECT_EQ(report.broken_seq, 3);
  EXPECT_EQ(report.checked, 2);
  const std::string text = FormatReport(report);
  EXPECT_NE(text.find("已被篡改"), std::string::npos) << text;
  EXPECT_NE(text.find("第 3 条"), std::string::npos) << text;
}

TEST_P(AuditTest, ChangedRowWithRecomputedHashBreaksTheNextLink) {
  RecordN(5);
  auto row = ReadQuery(
      "SELECT seq, at_ms, actor_user_id, actor_name, ip, request_id, action, "
      "entity, entity_id, unit_id, summary, before_json, after_json, prev_hash "
      "FROM audit_events WHERE seq = 3");
  ASSERT_TRUE(row);
  const auto& r = row->rows.at(0);
  Event e;
  e.seq = r.Int(0);
  e.at_ms = r.Int(1);
  e.actor = Actor{r.OptInt(2), r.Text(3), r.Text(4), r.Text(5)};
  e.entry = Entry{r.Text(6), r.Text(7), r.Text(8), r.OptInt(9), "悄悄改过", r.Text(11), r.Text(12)};
  e.prev_hash = r.Text(13);
  ASSERT_TRUE(Execute("UPDATE audit_events SET summary = $1, hash = $2 WHERE seq = 3",
                      {std::string("悄悄改过"), EventHash(e)}));
  auto report = MustVerify();
  EXPECT_FALSE(report.intact);
  EXPECT_EQ(report.problem, VerifyReport::Problem::kLinkMismatch);
  EXPECT_EQ(report.broken_seq, 4);
}

TEST_P(AuditTest, DeletedMiddleRowIsCaught) {
  RecordN(5);
  ASSERT_TRUE(Execute("DELETE FROM audit_events WHERE seq = 3"));
  auto report = MustVerify();
  EXPECT_FALSE(report.intact);
  EXPECT_EQ(report.problem, VerifyReport::Problem::kMissingRows);
  EXPECT_EQ(report.broken_seq, 3);
  EXPECT_NE(FormatReport(report).find("缺失"), std::string::npos);
}

TEST_P(AuditTest, DeletedLastRowIsCaught) {
  RecordN(5);
  ASSERT_TRUE(Execute("DELETE FROM audit_events WHERE seq = 5"));
  auto report = MustVerify();
  EXPECT_FALSE(report.intact);
  EXPECT_EQ(report.problem, VerifyReport::Problem::kMissingRows);
  EXPECT_EQ(report.broken_seq, 5);
}

TEST_P(AuditTest, PruneRefusesLessThanSixMonths) {
  RecordN(2);
  auto r = db().WriteSync<int64_t>([&](db::Conn& c) { return Prune(c, clock(), 179); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
  ASSERT_EQ(r.error().fields.size(), 1u);
  EXPECT_EQ(r.error().fields[0].field, "keep_days");
  EXPECT_EQ(MustVerify().checked, 2);
}

TEST_P(AuditTest, PruneKeepsTheRestVerifiable) {
  RecordN(3, "旧");
  clock().Advance(int64_t{200} * 86'400'000);
  RecordN(2, "新");
  auto deleted = db().WriteSync<int64_t>([&](db::Conn& c) { return Prune(c, clock(), 180); });
  ASSERT_TRUE(deleted) << deleted.error().message;
  EXPECT_EQ(*deleted, 3);
  auto report = MustVerify(2);
  EXPECT_TRUE(report.intact) << FormatReport(report);
  EXPECT_EQ(report.anchor_seq, 3);
  EXPECT_EQ(report.checked, 3);  // two new events and the pruning event
  EXPECT_NE(FormatReport(report).find("已按保存期限清理"), std::string::npos);
  auto prune_row = ReadQuery(
      "SELECT actor_name, after_json FROM audit_events "
      "WHERE action = 'audit.prune'");
  ASSERT_TRUE(prune_row);
  ASSERT_EQ(prune_row->rows.size(), 1u);
  EXPECT_EQ(prune_row->rows[0].Text(0), "system");
  EXPECT_NE(prune_row->rows[0].Text(1).find("\"anchor_seq\":3"), std::string::npos);

  // Nothing more is old enough: nothing deleted, still intact; later pruning moves on.
  auto again = db().WriteSync<int64_t>([&](db::Conn& c) { return Prune(c, clock(), 180); });
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0);
  EXPECT_TRUE(MustVerify().intact);
  clock().Advance(int64_t{200} * 86'400'000);
  RecordN(1);
  auto third = db().WriteSync<int64_t>([&](db::Conn& c) { return Prune(c, clock(), 180); });
  ASSERT_TRUE(third);
  EXPECT_EQ(*third, 4);
  auto last = MustVerify();
  EXPECT_TRUE(last.intact) << FormatReport(last);
  EXPECT_EQ(last.anchor_seq, 7);
}

TEST_P(AuditTest, MovedAnchorIsCaught) {
  RecordN(3);
  clock().Advance(int64_t{200} * 86'400'000);
  RecordN(2);
  ASSERT_TRUE(db().WriteSync<int64_t>([&](db::Conn& c) { return Prune(c, clock(), 180); }));
  // Deleting one more old-looking row and moving the anchor over it by hand is not a pruning.
  auto row = ReadQuery("SELECT hash FROM audit_events WHERE seq = 4");
  ASSERT_TRUE(row);
  ASSERT_TRUE(Execute("DELETE FROM audit_events WHERE seq = 4"));
  ASSERT_TRUE(Execute("UPDATE audit_chain_head SET anchor_seq = 4, anchor_hash = $1",
                      {row->rows.at(0).Text(0)}));
  auto report = MustVerify();
  EXPECT_FALSE(report.intact);
  EXPECT_EQ(report.problem, VerifyReport::Problem::kAnchorMismatch);
}

TEST_P(AuditTest, RolledBackWriteLeavesNoEvent) {
  auto r = db().WriteSync<bool>([&](db::Conn& c) -> Result<bool> {
    if (auto s = Record(c, clock(), Actor{std::nullopt, "system", "", ""},
                        Entry{.action = "test.rollback"});
        !s) {
      return s.error();
    }
    return Error::Invalid("x", "失败");
  });
  ASSERT_FALSE(r);
  RecordN(1);
  auto report = MustVerify();
  EXPECT_TRUE(report.intact);
  EXPECT_EQ(report.checked, 1);
  EXPECT_EQ(report.last_seq, 1);
}

TEST_P(AuditTest, InvalidUtf8IsStoredCleanAndStillVerifies) {
  auto r = db().WriteSync<bool>([&](db::Conn& c) -> Result<bool> {
    if (auto s = Record(c, clock(), Actor{std::nullopt, std::string("a\0b", 3), "", ""},
                        Entry{.action = "test.bytes", .summary = "坏\xff字节"});
        !s) {
      return s.error();
    }
    return true;
  });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(MustVerify().intact);
  auto row = ReadQuery("SELECT actor_name, summary FROM audit_events");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->rows.at(0).Text(0), "ab");
  EXPECT_EQ(row->rows.at(0).Text(1), "坏\xEF\xBF\xBD字节");
}

TEST_P(AuditTest, ConcurrentWritersLeaveOneUnforkedChain) {
  constexpr int kWriters = 32;
  zhenwu::testing::RunConcurrently(kWriters, [&](int i) -> boost::asio::awaitable<void> {
    auto r = co_await db().Write<bool>([&, i](db::Conn& c) -> Result<bool> {
      if (auto s = Record(c, clock(), Actor{int64_t{i}, "writer" + std::to_string(i), "", ""},
                          Entry{.action = "test.concurrent", .entity_id = std::to_string(i)});
          !s) {
        return s.error();
      }
      return true;
    });
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
  });
  auto report = MustVerify(7);
  EXPECT_TRUE(report.intact) << FormatReport(report);
  EXPECT_EQ(report.checked, kWriters);
  auto rows = ReadQuery(
      "SELECT COUNT(DISTINCT prev_hash), COUNT(DISTINCT entity_id), MAX(seq) "
      "FROM audit_events");
  ASSERT_TRUE(rows);
  EXPECT_EQ(rows->rows.at(0).Int(0), kWriters);
  EXPECT_EQ(rows->rows.at(0).Int(1), kWriters);
  EXPECT_EQ(rows->rows.at(0).Int(2), kWriters);
}

TEST_P(AuditTest, ListsNewestFirstWithFiltersAndKeysetPages) {
  RecordN(6);  // unit 1 for i = 0, 3; unit 2 otherwise
  ASSERT_TRUE(db().WriteSync<bool>([&](db::Conn& c) -> Result<bool> {
    clock().Advance(60'000);
    if (auto s = Record(c, clock(), Actor{std::nullopt, "system", "", ""},
                        Entry{.action = "auth.login_failed", .summary = "100%_done"});
        !s) {
      return s.error();
    }
    return true;
  }));
  auto list = [&](const Filter& f, std::optional<int64_t> before = std::nullopt, int limit = 100) {
    auto r = db().ReadSync<std::vector<Event>>(
        [&](db::Conn& c) { return ListEvents(c, f, before, limit); });
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    std::vector<int64_t> seqs;
    if (r) {
      for (const auto& e : *r) seqs.push_back(e.seq);
    }
    return seqs;
  };
  using V = std::vector<int64_t>;
  EXPECT_EQ(list({}), (V{7, 6, 5, 4, 3, 2, 1}));
  EXPECT_EQ(list({}, 5, 2), (V{4, 3}));
  EXPECT_EQ(list({.action_prefix = "auth."}), (V{7}));
  EXPECT_EQ(list({.action_prefix = "test_"}), (V{}));  // '_' is literal
  EXPECT_EQ(list({.actor = "张三"}).size(), 6u);
  EXPECT_EQ(list({.entity = "thing", .entity_id = "3"}), (V{4}));
  EXPECT_EQ(list({.unit_ids = std::vector<int64_t>{1}, .include_unitless = false}), (V{4, 1}));
  EXPECT_EQ(list({.unit_ids = std::vector<int64_t>{1}}), (V{7, 4, 1}));
  EXPECT_EQ(list({.unit_ids = std::vector<int64_t>{}, .include_unitless = false}), (V{}));
  const int64_t t0 = clock().NowMs() - 60'000;
  EXPECT_EQ(list({.from_ms = t0 + 1}), (V{7}));
  EXPECT_EQ(list({.to_ms = t0 + 1}).size(), 6u);
}

ZHENWU_ALL_BACKENDS(AuditTest);

}  // namespace
}  // namespace zhenwu::audit
