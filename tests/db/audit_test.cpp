// The audit log on both backends: appending (unchained) and chaining, verifying, tampering
// detected, pending events not taken for tampering, pruning, the migration to deferred chaining,
// and concurrent appenders and chainers leaving one unforked chain.

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <set>
#include <thread>

#include "audit/audit.hpp"
#include "audit/query.hpp"
#include "db/migrator.hpp"
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

  // Records n events, each in its own transaction, then chains them (unless told not to).
  void RecordN(int n, const std::string& prefix = "事件", bool chain = true) {
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
    if (chain) {
      auto chained = ChainPending(db());
      ASSERT_TRUE(chained) << chained.error().message;
    }
  }

  int64_t Count(const std::string& sql) {
    auto r = ReadQuery(sql);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r && !r->rows.empty() ? r->rows[0].Int(0) : -1;
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
  // The rolled-back event may have used up an id, never a place in the chain.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_events WHERE action = 'test.rollback'"), 0);
  EXPECT_EQ(Count("SELECT seq FROM audit_events"), 1);
}

TEST_P(AuditTest, RecordLeavesTheEventUnchainedUntilChainLinksItInIdOrder) {
  RecordN(3, "事件", /*chain=*/false);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_events WHERE seq IS NULL AND hash IS NULL AND "
                  "prev_hash IS NULL"),
            3);
  EXPECT_EQ(Count("SELECT last_seq FROM audit_chain_head"), 0);
  // One batch of two, then the rest; each continues from the head the one before left.
  auto first = db().WriteSync<int64_t>([](db::Conn& c) { return Chain(c, 2); });
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(*first, 2);
  auto rest = ChainPending(db());
  ASSERT_TRUE(rest);
  EXPECT_EQ(*rest, 1);
  auto again = ChainPending(db());
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0);
  auto rows = ReadQuery("SELECT id, seq, summary FROM audit_events ORDER BY seq");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->rows.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(rows->rows[i].Int(1), static_cast<int64_t>(i + 1));
    EXPECT_EQ(rows->rows[i].Text(2), "事件" + std::to_string(i));
    if (i > 0) {
      EXPECT_GT(rows->rows[i].Int(0), rows->rows[i - 1].Int(0));
    }
  }
  auto report = MustVerify();
  EXPECT_TRUE(report.intact) << FormatReport(report);
  EXPECT_EQ(report.checked, 3);
  EXPECT_EQ(report.pending, 0);
}

TEST_P(AuditTest, UnchainedEventsArePendingNotTampering) {
  RecordN(3);
  RecordN(2, "新", /*chain=*/false);
  // A verifier that may not write (chain_first = false) sees the two as pending only.
  auto report = Verify(db(), 2, /*chain_first=*/false);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->intact) << FormatReport(*report);
  EXPECT_EQ(report->checked, 3);
  EXPECT_EQ(report->pending, 2);
  const std::string text = FormatReport(*report);
  EXPECT_NE(text.find("审计日志完整"), std::string::npos) << text;
  EXPECT_NE(text.find("另有 2 条"), std::string::npos) << text;
  EXPECT_NE(text.find("尚未入链"), std::string::npos) << text;
  // Tampering with a chained row is still named while others are pending.
  ASSERT_TRUE(
      Execute("UPDATE audit_events SET summary = $1 WHERE seq = 2", {std::string("悄悄改过")}));
  auto broken = Verify(db(), 1000, /*chain_first=*/false);
  ASSERT_TRUE(broken);
  EXPECT_FALSE(broken->intact);
  EXPECT_EQ(broken->problem, VerifyReport::Problem::kHashMismatch);
  EXPECT_EQ(broken->broken_seq, 2);
  EXPECT_EQ(broken->pending, 2);
  // The ordinary Verify chains them first; the tampering is still found.
  auto chained = MustVerify();
  EXPECT_FALSE(chained.intact);
  EXPECT_EQ(chained.pending, 0);
  EXPECT_EQ(chained.last_seq, 5);
}

TEST_P(AuditTest, UnchainingAChainedRowIsCaught) {
  // Setting a chained row back to "pending" does not hide a change: the chainer links it again
  // at the end, and its old place is a gap.
  RecordN(4);
  ASSERT_TRUE(
      Execute("UPDATE audit_events SET seq = NULL, prev_hash = NULL, hash = NULL, summary = $1 "
              "WHERE seq = 2",
              {std::string("悄悄改过")}));
  auto report = MustVerify();
  EXPECT_FALSE(report.intact);
  EXPECT_EQ(report.problem, VerifyReport::Problem::kMissingRows);
  EXPECT_EQ(report.broken_seq, 2);
  EXPECT_EQ(report.last_seq, 5);
}

TEST_P(AuditTest, ChangedLatestRowIsCaughtByTheHead) {
  RecordN(3);
  auto row = ReadQuery("SELECT " + std::string(kEventColumns) + " FROM audit_events WHERE seq = 3");
  ASSERT_TRUE(row);
  Event e = EventFromRow(row->rows.at(0));
  e.entry.summary = "悄悄改过";
  ASSERT_TRUE(Execute("UPDATE audit_events SET summary = $1, hash = $2 WHERE seq = 3",
                      {e.entry.summary, EventHash(e)}));
  auto report = MustVerify();
  EXPECT_FALSE(report.intact);
  EXPECT_EQ(report.problem, VerifyReport::Problem::kHeadMismatch);
  // Events chained after the change expose it as a broken link instead.
  RecordN(1);
  auto later = MustVerify();
  EXPECT_FALSE(later.intact);
  EXPECT_EQ(later.problem, VerifyReport::Problem::kLinkMismatch);
  EXPECT_EQ(later.broken_seq, 4);
}

TEST_P(AuditTest, PruneChainsPendingEventsFirstAndChainsItsOwnEvent) {
  RecordN(3, "旧", /*chain=*/false);
  clock().Advance(int64_t{200} * 86'400'000);
  RecordN(2, "新", /*chain=*/false);
  auto deleted = db().WriteSync<int64_t>([&](db::Conn& c) { return Prune(c, clock(), 180); });
  ASSERT_TRUE(deleted) << deleted.error().message;
  EXPECT_EQ(*deleted, 3);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_events WHERE seq IS NULL"), 0);
  auto report = Verify(db(), 1000, /*chain_first=*/false);
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->intact) << FormatReport(*report);
  EXPECT_EQ(report->anchor_seq, 3);
  EXPECT_EQ(report->checked, 3);
}

// A database migrated to audit/0001 with a chain written the old way (seq assigned inline) keeps
// verifying after 0002, and new events continue that chain.
TEST_P(AuditTest, ChainFromBeforeDeferredChainingSurvivesTheMigration) {
  ASSERT_TRUE(
      Execute("DROP TABLE audit_events; DROP TABLE audit_chain_head; "
              "DELETE FROM schema_migrations WHERE module = 'audit'"));
  auto migrations = db::EmbeddedMigrationsOf({"core"});
  auto audit = db::EmbeddedMigrations("audit");
  ASSERT_GE(audit.size(), 2u);
  migrations.push_back(audit[0]);
  ASSERT_TRUE(db::Migrate(db(), migrations, clock()));
  std::string prev = kZeroHash;
  for (int64_t seq = 1; seq <= 3; ++seq) {
    Event e;
    e.seq = seq;
    e.at_ms = clock().NowMs() + seq;
    e.actor = Actor{std::nullopt, "旧系统", "10.0.0.9", ""};
    e.entry =
        Entry{.action = "test.old", .unit_id = int64_t{1}, .summary = "旧" + std::to_string(seq)};
    e.prev_hash = prev;
    e.hash = EventHash(e);
    ASSERT_TRUE(Execute(
        "INSERT INTO audit_events (seq, at_ms, actor_user_id, actor_name, ip, request_id, "
        "action, entity, entity_id, unit_id, summary, before_json, after_json, prev_hash, hash) "
        "VALUES ($1, $2, NULL, $3, $4, '', $5, '', '', $6, $7, '', '', $8, $9)",
        {e.seq, e.at_ms, e.actor.name, e.actor.ip, e.entry.action, *e.entry.unit_id,
         e.entry.summary, e.prev_hash, e.hash}));
    prev = e.hash;
  }
  ASSERT_TRUE(Execute("UPDATE audit_chain_head SET last_seq = 3, last_hash = $1", {prev}));
  ASSERT_TRUE(MigrateModules({"core", "audit"}));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_events WHERE id = seq"), 3);
  RecordN(2);
  auto report = MustVerify();
  EXPECT_TRUE(report.intact) << FormatReport(report);
  EXPECT_EQ(report.checked, 5);
  auto listed = db().ReadSync<std::vector<Event>>(
      [](db::Conn& c) { return ListEvents(c, Filter{}, std::nullopt, 10); });
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 5u);
  EXPECT_EQ(listed->back().entry.summary, "旧1");
  EXPECT_EQ(listed->front().seq, 5);
}

// On PostgreSQL a transaction that recorded its event first but commits last is chained after
// the events committed before it: the chain's order is the chainer's, and nothing is skipped.
TEST_P(AuditTest, LateCommitGetsALaterSeqAndNothingIsSkipped) {
  if (is_sqlite()) GTEST_SKIP() << "one SQLite writer: transactions cannot overlap";
  std::promise<void> recorded, release;
  auto release_future = release.get_future().share();
  auto late = std::async(std::launch::async, [&] {
    return db().WriteSync<bool>([&](db::Conn& c) -> Result<bool> {
      if (auto s = Record(c, clock(), Actor{std::nullopt, "late", "", ""},
                          Entry{.action = "test.late", .summary = "晚提交"});
          !s) {
        return s.error();
      }
      recorded.set_value();
      release_future.wait();
      return true;
    });
  });
  recorded.get_future().wait();
  RecordN(2);  // commits and chains while the late transaction is still open
  EXPECT_EQ(Count("SELECT last_seq FROM audit_chain_head"), 2);
  release.set_value();
  ASSERT_TRUE(late.get());
  auto report = MustVerify();
  EXPECT_TRUE(report.intact) << FormatReport(report);
  EXPECT_EQ(report.checked, 3);
  auto rows = ReadQuery("SELECT id, seq FROM audit_events WHERE action = 'test.late'");
  ASSERT_TRUE(rows);
  EXPECT_EQ(rows->rows.at(0).Int(1), 3);
  EXPECT_LT(rows->rows.at(0).Int(0), Count("SELECT MIN(id) FROM audit_events WHERE "
                                           "action = 'test.event'"));
}

// Several processes on one PostgreSQL each run a chainer: the head row's lock keeps them from
// forking the chain while writers keep recording.
TEST_P(AuditTest, TwoChainersOnTwoHandlesNeverForkTheChain) {
  if (is_sqlite()) GTEST_SKIP() << "one process per SQLite file";
  auto other = test_db().OpenAnother();
  ASSERT_TRUE(other) << other.error().message;
  std::atomic<bool> done{false};
  auto chainer = [&](db::Database& d) {
    int64_t chained = 0;
    while (!done) {
      auto r = ChainPending(d, 3);
      EXPECT_TRUE(r) << (r ? "" : r.error().message);
      if (r) chained += *r;
    }
    return chained;
  };
  auto a = std::async(std::launch::async, chainer, std::ref(db()));
  auto b = std::async(std::launch::async, chainer, std::ref(**other));
  constexpr int kThreads = 4, kEach = 25;
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto r = db().WriteSync<bool>([&](db::Conn& c) -> Result<bool> {
          if (auto s = Record(c, clock(), Actor{int64_t{t}, "w", "", ""},
                              Entry{.action = "test.two", .entity_id = std::to_string(i)});
              !s) {
            return s.error();
          }
          return true;
        });
        EXPECT_TRUE(r) << (r ? "" : r.error().message);
      }
    });
  }
  for (auto& w : writers) w.join();
  done = true;
  const int64_t by_chainers = a.get() + b.get();
  (*other)->Close();
  auto report = MustVerify(10);
  EXPECT_TRUE(report.intact) << FormatReport(report);
  EXPECT_EQ(report.checked, kThreads * kEach);
  EXPECT_GT(by_chainers, 0);
  EXPECT_LE(by_chainers, kThreads * kEach);
  EXPECT_EQ(Count("SELECT COUNT(DISTINCT seq) FROM audit_events"), kThreads * kEach);
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
  // Every writer also chains a little right after its own write, so chainers run concurrently
  // with each other and with writers.
  zhenwu::testing::RunConcurrently(kWriters, [&](int i) -> boost::asio::awaitable<void> {
    auto work = [&, i](db::Conn& c) -> Result<bool> {
      if (auto s = Record(c, clock(), Actor{int64_t{i}, "writer" + std::to_string(i), "", ""},
                          Entry{.action = "test.concurrent", .entity_id = std::to_string(i)});
          !s) {
        return s.error();
      }
      return true;
    };
    auto r = co_await db().Write<bool>(work);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    auto chain = [](db::Conn& c) { return Chain(c, 2); };
    auto chained = co_await db().Write<int64_t>(chain);
    EXPECT_TRUE(chained) << (chained ? "" : chained.error().message);
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
      for (const auto& e : *r) seqs.push_back(e.id);
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
