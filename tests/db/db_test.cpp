// The db interface, run on both backends.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <chrono>
#include <cmath>
#include <future>
#include <limits>
#include <thread>

#include "support/db_fixture.hpp"

namespace zhenwu::db {
namespace {

using zhenwu::testing::DbTest;

constexpr std::string_view kCreateItems =
    "CREATE TABLE items ("
    " id {{id}},"
    " name TEXT NOT NULL UNIQUE,"
    " qty {{bigint}},"
    " price {{real}},"
    " note TEXT)";

class DbCrudTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_TRUE(Execute(kCreateItems));
  }

  int64_t Count(std::string_view where = "") {
    auto r = ReadQuery("SELECT COUNT(*) FROM items" + std::string(where));
    EXPECT_TRUE(r) << r.error().message;
    return r ? r->rows.at(0).Int(0) : -1;
  }

  Result<int64_t> Insert(Conn& c, const std::string& name, int64_t qty) {
    return c.Exec("INSERT INTO items (name, qty) VALUES ($1, $2)", {name, qty});
  }
};

TEST_P(DbCrudTest, CreatesReadsUpdatesAndDeletes) {
  auto inserted =
      WriteQuery("INSERT INTO items (name, qty, price) VALUES ($1, $2, $3) RETURNING id",
                 {std::string("茶叶"), int64_t{3}, 12.5});
  ASSERT_TRUE(inserted) << inserted.error().message;
  EXPECT_EQ(inserted->affected, 1);
  const int64_t id = inserted->rows.at(0).Int(0);
  EXPECT_GT(id, 0);

  auto read = ReadQuery("SELECT name, qty, price, note FROM items WHERE id = $1", {id});
  ASSERT_TRUE(read) << read.error().message;
  ASSERT_EQ(read->rows.size(), 1u);
  EXPECT_EQ(read->columns, (std::vector<std::string>{"name", "qty", "price", "note"}));
  EXPECT_EQ(read->rows[0].Text(0), "茶叶");
  EXPECT_EQ(read->rows[0].Int(1), 3);
  EXPECT_DOUBLE_EQ(read->rows[0].Real(2), 12.5);
  EXPECT_TRUE(read->rows[0].IsNull(3));
  EXPECT_EQ(read->affected, 0);

  auto updated = WriteQuery("UPDATE items SET qty = qty + $1 WHERE id = $2", {int64_t{2}, id});
  ASSERT_TRUE(updated) << updated.error().message;
  EXPECT_EQ(updated->affected, 1);
  auto none = WriteQuery("UPDATE items SET qty = 0 WHERE id = $1", {id + 1000});
  ASSERT_TRUE(none);
  EXPECT_EQ(none->affected, 0);
  EXPECT_EQ(Count(" WHERE qty = 5"), 1);

  auto deleted = WriteQuery("DELETE FROM items WHERE id = $1", {id});
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->affected, 1);
  EXPECT_EQ(Count(), 0);
}

TEST_P(DbCrudTest, QueryOneAndExec) {
  auto n = db().WriteSync<int64_t>([&](Conn& c) { return Insert(c, "a", 1); });
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1);
  auto one = db().ReadSync<std::optional<Row>>([](Conn& c) {
    return c.QueryOne("SELECT qty FROM items WHERE name = $1", {std::string("a")});
  });
  ASSERT_TRUE(one);
  ASSERT_TRUE(one->has_value());
  EXPECT_EQ((*one)->Int(0), 1);
  auto missing = db().ReadSync<std::optional<Row>>([](Conn& c) {
    return c.QueryOne("SELECT qty FROM items WHERE name = $1", {std::string("z")});
  });
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
}

TEST_P(DbCrudTest, ValuesRoundTrip) {
  struct Case {
    Value qty, price, note;
  };
  const int64_t kMin = std::numeric_limits<int64_t>::min();
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  const std::vector<Case> cases = {
      {std::monostate(), std::monostate(), std::monostate()},
      {kMin, 0.1, std::string("")},
      {kMax, -1e308, std::string("镇务通：一站式政务服务 ✓")},
      {int64_t{0}, 3.141592653589793, std::string("it's \"quoted\" \\ and 'single'")},
      {int64_t{-1}, 5e-324, std::string("line1\nline2\ttab")},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    auto r = WriteQuery("INSERT INTO items (name, qty, price, note) VALUES ($1, $2, $3, $4)",
                        {"row" + std::to_string(i), c.qty, c.price, c.note});
    ASSERT_TRUE(r) << i << ": " << r.error().message;
  }
  auto rows = ReadQuery("SELECT qty, price, note FROM items ORDER BY name");
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->rows.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Row& row = rows->rows[i];
    EXPECT_EQ(row[0], cases[i].qty) << i;
    EXPECT_EQ(row[1], cases[i].price) << i;
    EXPECT_EQ(row[2], cases[i].note) << i;
  }
  EXPECT_FALSE(rows->rows[0].OptInt(0).has_value());
  EXPECT_FALSE(rows->rows[0].OptText(2).has_value());
  EXPECT_EQ(rows->rows[0].Int(0), 0);
  EXPECT_EQ(rows->rows[0].Text(2), "");
  EXPECT_EQ(rows->rows[1].OptInt(0), kMin);
  EXPECT_EQ(rows->rows[2].Int(0), kMax);
}

// A placeholder may appear several times, but (PostgreSQL infers one type per parameter) only
// where the same type is expected.
TEST_P(DbCrudTest, PlaceholdersReusedAndOutOfOrder) {
  auto r = WriteQuery("INSERT INTO items (note, name, qty) VALUES ($2 || $2, $1, $3)",
                      {std::string("n"), std::string("note"), int64_t{7}});
  ASSERT_TRUE(r) << r.error().message;
  const std::string select =
      "SELECT name, note, qty FROM items WHERE qty = $2 AND qty >= $2 AND name = $1";
  auto row = ReadQuery(select, {std::string("n"), int64_t{7}});
  ASSERT_TRUE(row) << row.error().message;
  ASSERT_EQ(row->rows.size(), 1u);
  EXPECT_EQ(row->rows[0].Text(0), "n");
  EXPECT_EQ(row->rows[0].Text(1), "notenote");
  EXPECT_EQ(row->rows[0].Int(2), 7);
  // The same text again uses the cached statement with new values.
  auto again = ReadQuery(select, {std::string("x"), int64_t{7}});
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->rows.empty());
  auto other = ReadQuery(select, {std::string("n"), int64_t{7}});
  ASSERT_TRUE(other);
  EXPECT_EQ(other->rows.size(), 1u);
}

TEST_P(DbCrudTest, WrongParameterCountIsAnError) {
  auto r = ReadQuery("SELECT name FROM items WHERE qty = $1", {int64_t{1}, int64_t{2}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInternal);
  auto none = ReadQuery("SELECT name FROM items WHERE qty = $1");
  ASSERT_FALSE(none);
}

TEST_P(DbCrudTest, SyntaxErrorIsInternalAndNamesStatement) {
  auto r = ReadQuery("SELEKT 1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInternal);
  EXPECT_NE(r.error().message.find("SELEKT"), std::string::npos) << r.error().message;
}

TEST_P(DbCrudTest, UniqueViolationIsConflictAndWritesNothing) {
  ASSERT_TRUE(db().WriteSync<int64_t>([&](Conn& c) { return Insert(c, "dup", 1); }));
  auto r = db().WriteSync<int64_t>([&](Conn& c) -> Result<int64_t> {
    auto first = Insert(c, "fresh", 2);
    if (!first) return first;
    return Insert(c, "dup", 3);
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kConflict) << r.error().message;
  EXPECT_EQ(Count(), 1);
  EXPECT_EQ(Count(" WHERE name = 'fresh'"), 0);
}

TEST_P(DbCrudTest, ForeignKeyViolationIsConflict) {
  ASSERT_TRUE(
      Execute("CREATE TABLE parts (id {{id}}, item_id {{bigint}} NOT NULL REFERENCES items(id))"));
  auto r = WriteQuery("INSERT INTO parts (item_id) VALUES ($1)", {int64_t{4242}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kConflict) << r.error().message;
}

TEST_P(DbCrudTest, WorkErrorLeavesNoTrace) {
  auto r = db().WriteSync<int64_t>([&](Conn& c) -> Result<int64_t> {
    if (auto s = Insert(c, "ghost", 1); !s) return s;
    if (auto s = c.Exec("UPDATE items SET qty = 9"); !s) return s;
    return Error::Invalid("qty", "rejected after writing");
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
  ASSERT_EQ(r.error().fields.size(), 1u);
  EXPECT_EQ(r.error().fields[0].field, "qty");
  EXPECT_EQ(Count(), 0);
}

TEST_P(DbCrudTest, ThrowingWorkLeavesNoTraceAndDatabaseGoesOn) {
  auto r = db().WriteSync<int64_t>([&](Conn& c) -> Result<int64_t> {
    if (auto s = Insert(c, "ghost", 1); !s) return s;
    throw std::runtime_error("boom");
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInternal);
  EXPECT_NE(r.error().message.find("boom"), std::string::npos);
  EXPECT_EQ(Count(), 0);
  EXPECT_TRUE(db().WriteSync<int64_t>([&](Conn& c) { return Insert(c, "real", 1); }));
  EXPECT_EQ(Count(), 1);
}

TEST_P(DbCrudTest, IgnoredStatementErrorStillFailsTheWrite) {
  ASSERT_TRUE(db().WriteSync<int64_t>([&](Conn& c) { return Insert(c, "dup", 1); }));
  auto r = db().WriteSync<int64_t>([&](Conn& c) -> Result<int64_t> {
    (void)Insert(c, "dup", 2);  // ignored: PostgreSQL has aborted the transaction here
    (void)Insert(c, "after", 3);
    return int64_t{0};
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kConflict) << r.error().message;
  EXPECT_EQ(Count(), 1);
}

TEST_P(DbCrudTest, ReadSeesCommittedWrite) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        db().WriteSync<int64_t>([&](Conn& c) { return Insert(c, "n" + std::to_string(i), i); }));
    EXPECT_EQ(Count(), i + 1);
  }
}

TEST_P(DbCrudTest, ReadCannotWrite) {
  auto r = ReadQuery("INSERT INTO items (name) VALUES ('sneaky')");
  ASSERT_FALSE(r);
  EXPECT_EQ(Count(), 0);
}

TEST_P(DbCrudTest, AwaitableReadAndWrite) {
  auto got =
      zhenwu::testing::RunAwaitable<Result<int64_t>>([&]() -> asio::awaitable<Result<int64_t>> {
        auto w = co_await db().Write<int64_t>([&](Conn& c) { return Insert(c, "co", 4); });
        if (!w) co_return w;
        co_return co_await db().Read<int64_t>([](Conn& c) -> Result<int64_t> {
          auto row = c.QueryOne("SELECT qty FROM items WHERE name = 'co'");
          if (!row) return std::move(row).error();
          return *row ? (*row)->Int(0) : -1;
        });
      });
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got, 4);
}

TEST_P(DbCrudTest, ConcurrentWritesAllAcknowledgedAndPresent) {
  constexpr int kWriters = 64;
  const PoolStats before = db().Stats();
  std::atomic<int> acknowledged{0};
  zhenwu::testing::RunConcurrently(kWriters, [&](int i) -> asio::awaitable<void> {
    auto r = co_await db().Write<int64_t>(
        [&, i](Conn& c) { return Insert(c, "w" + std::to_string(i), i); });
    EXPECT_TRUE(r) << r.error().message;
    if (r) ++acknowledged;
  });
  EXPECT_EQ(acknowledged.load(), kWriters);
  EXPECT_EQ(Count(), kWriters);
  const PoolStats after = db().Stats();
  const int64_t jobs = after.committed_jobs - before.committed_jobs;
  const int64_t commits = after.commits - before.commits;
  EXPECT_EQ(jobs, kWriters);
  if (is_sqlite()) {
    EXPECT_LT(commits, jobs) << "group commit should have committed several jobs at once";
  } else {
    EXPECT_EQ(commits, jobs);
  }
  EXPECT_EQ(after.queued_writes, 0);
}

TEST_P(DbCrudTest, ConcurrentWriteSyncFromThreads) {
  constexpr int kThreads = 8, kEach = 8;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto r = db().WriteSync<int64_t>(
            [&](Conn& c) { return Insert(c, std::to_string(t) + "-" + std::to_string(i), i); });
        if (!r) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Count(), kThreads * kEach);
}

// A job that fails inside a group-committed batch is rolled back alone. The first job holds the
// writer until the others are queued, so on SQLite they share one transaction.
TEST_P(DbCrudTest, FailingJobInBatchDoesNotAffectOthers) {
  ASSERT_TRUE(db().WriteSync<int64_t>([&](Conn& c) { return Insert(c, "dup", 0); }));
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> holding;
  std::vector<std::future<Status>> results;
  auto submit = [&](Database::Work work) {
    auto p = std::make_shared<std::promise<Status>>();
    results.push_back(p->get_future());
    db().SubmitWrite(std::move(work), [p](Status s) { p->set_value(std::move(s)); });
  };
  submit([&](Conn&) -> Status {
    holding.set_value();
    released.wait();
    return {};
  });
  holding.get_future().wait();
  const PoolStats before = db().Stats();
  auto insert = [this](std::string name) {
    return [this, name](Conn& c) -> Status {
      auto r = Insert(c, name, 1);
      if (!r) return std::move(r).error();
      return {};
    };
  };
  submit(insert("good1"));
  submit([&](Conn& c) -> Status {
    if (auto r = Insert(c, "doomed", 1); !r) return std::move(r).error();
    return Error::Conflict("changed my mind");
  });
  submit(insert("dup"));  // unique violation
  submit(insert("good2"));
  if (is_sqlite()) {
    while (db().Stats().queued_writes < 4) std::this_thread::yield();
  }
  release.set_value();
  std::vector<Status> statuses;
  for (auto& f : results) statuses.push_back(f.get());
  EXPECT_TRUE(statuses[0]);
  EXPECT_TRUE(statuses[1]);
  ASSERT_FALSE(statuses[2]);
  EXPECT_EQ(statuses[2].error().message, "changed my mind");
  ASSERT_FALSE(statuses[3]);
  EXPECT_EQ(statuses[3].error().code, ErrorCode::kConflict);
  EXPECT_TRUE(statuses[4]);
  EXPECT_EQ(Count(), 3);  // dup, good1, good2
  EXPECT_EQ(Count(" WHERE name = 'doomed'"), 0);
  const PoolStats after = db().Stats();
  if (is_sqlite()) {
    EXPECT_EQ(after.commits - before.commits, 2) << "the holder's batch and one batch of four";
    EXPECT_EQ(after.committed_jobs - before.committed_jobs, 3);
  }
}

// Conn::NextNumber: 1, 2, 3 … per counter name, from the core migrations' table.
TEST_P(DbCrudTest, CountersCountUpEachOnItsOwn) {
  ASSERT_TRUE(MigrateModules({"core"}));
  auto next = [this](const std::string& name) {
    auto n = db().WriteSync<int64_t>([&](Conn& c) { return c.NextNumber(name); });
    EXPECT_TRUE(n) << n.error().message;
    return n ? *n : -1;
  };
  EXPECT_EQ(next("cases/PZ-20261128"), 1);
  EXPECT_EQ(next("cases/PZ-20261128"), 2);
  EXPECT_EQ(next("cases/PZ-20261129"), 1);
  auto two = db().WriteSync<int64_t>([](Conn& c) -> Result<int64_t> {
    auto a = c.NextNumber("cases/PZ-20261128");
    if (!a) return a;
    auto b = c.NextNumber("cases/PZ-20261128");
    if (!b) return b;
    return *a * 100 + *b;
  });
  ASSERT_TRUE(two) << two.error().message;
  EXPECT_EQ(*two, 304);
  EXPECT_EQ(next("cases/PZ-20261128"), 5);
  // A read cannot draw a number (PostgreSQL would otherwise draw it on the side connection).
  auto read = db().ReadSync<int64_t>([](Conn& c) { return c.NextNumber("cases/PZ-20261128"); });
  EXPECT_FALSE(read);
  EXPECT_EQ(next("cases/PZ-20261128"), 6);
}

// SQLite draws in the writer's transaction: a rolled-back number is drawn again. PostgreSQL draws
// on the side connection: it is skipped, never handed out twice.
TEST_P(DbCrudTest, ANumberOfARolledBackWriteIsReusedOnSqliteAndSkippedOnPostgres) {
  ASSERT_TRUE(MigrateModules({"core"}));
  auto failed = db().WriteSync<int64_t>([](Conn& c) -> Result<int64_t> {
    auto n = c.NextNumber("c");
    if (!n) return n;
    EXPECT_EQ(*n, 1);
    return Error::Conflict("changed my mind");
  });
  ASSERT_FALSE(failed);
  auto next = db().WriteSync<int64_t>([](Conn& c) { return c.NextNumber("c"); });
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(*next, is_sqlite() ? 1 : 2);
}

// On PostgreSQL a transaction that has drawn a number does not hold up the next one drawing from
// the same counter until it commits (with the counter row inside the transaction, writers
// queued one commit at a time). SQLite has one writer, so there is nothing to hold up.
TEST_P(DbCrudTest, AnOpenTransactionDoesNotHoldUpTheNextNumberOnPostgres) {
  if (is_sqlite()) GTEST_SKIP() << "one writer: transactions never overlap";
  ASSERT_TRUE(MigrateModules({"core"}));
  std::promise<void> drawn;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<Status> first_result;
  db().SubmitWrite(
      [&](Conn& c) -> Status {
        auto n = c.NextNumber("c");
        drawn.set_value();
        released.wait();
        if (!n) return std::move(n).error();
        if (auto r = Insert(c, "first", *n); !r) return std::move(r).error();
        return {};
      },
      [&](Status s) { first_result.set_value(std::move(s)); });
  drawn.get_future().wait();
  auto second = std::async(std::launch::async, [this] {
    return db().WriteSync<int64_t>([](Conn& c) { return c.NextNumber("c"); });
  });
  const bool in_time = second.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  release.set_value();
  ASSERT_TRUE(in_time) << "the second number waited for the first transaction";
  auto n = second.get();
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 2);
  EXPECT_TRUE(first_result.get_future().get());
  EXPECT_EQ(Count(" WHERE name = 'first' AND qty = 1"), 1);
}

// A job alone in its transaction runs without a savepoint (SQLite): when it fails the whole
// transaction is rolled back, nothing is committed, and the writer goes on.
TEST_P(DbCrudTest, AFailingJobAloneCommitsNothingAndTheNextWriteWorks) {
  const PoolStats before = db().Stats();
  auto failed = db().WriteSync<int64_t>([&](Conn& c) -> Result<int64_t> {
    if (auto r = Insert(c, "doomed", 1); !r) return r;
    return Error::Conflict("changed my mind");
  });
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().message, "changed my mind");
  EXPECT_EQ(db().Stats().commits, before.commits);
  EXPECT_EQ(Count(), 0);
  auto next = db().WriteSync<int64_t>([&](Conn& c) { return Insert(c, "kept", 1); });
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(db().Stats().commits, before.commits + 1);
  EXPECT_EQ(Count(" WHERE name = 'kept'"), 1);
}

TEST_P(DbCrudTest, DataSurvivesReopen) {
  ASSERT_TRUE(db().WriteSync<int64_t>([&](Conn& c) { return Insert(c, "kept", 1); }));
  ASSERT_TRUE(test_db().Reopen());
  EXPECT_EQ(Count(" WHERE name = 'kept'"), 1);
}

TEST_P(DbCrudTest, SecondHandleSeesWrites) {
  auto other = test_db().OpenAnother();
  ASSERT_TRUE(other) << other.error().message;
  ASSERT_TRUE(db().WriteSync<int64_t>([&](Conn& c) { return Insert(c, "shared", 1); }));
  auto n = (*other)->ReadSync<int64_t>([](Conn& c) -> Result<int64_t> {
    auto row = c.QueryOne("SELECT COUNT(*) FROM items");
    if (!row) return std::move(row).error();
    return (*row)->Int(0);
  });
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 1);
  (*other)->Close();
}

TEST_P(DbCrudTest, ClosedDatabaseRefusesWorkWithoutHanging) {
  db().Close();
  auto w = db().WriteSync<int64_t>([&](Conn& c) { return Insert(c, "late", 1); });
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, ErrorCode::kUnavailable);
  auto r = ReadQuery("SELECT 1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  auto ping = db().Ping();
  EXPECT_FALSE(ping);
  db().Close();  // idempotent
}

TEST_P(DbCrudTest, CloseDrainsQueuedWrites) {
  std::vector<std::future<Status>> results;
  for (int i = 0; i < 20; ++i) {
    auto p = std::make_shared<std::promise<Status>>();
    results.push_back(p->get_future());
    db().SubmitWrite(
        [this, i](Conn& c) -> Status {
          auto r = Insert(c, "q" + std::to_string(i), i);
          if (!r) return std::move(r).error();
          return {};
        },
        [p](Status s) { p->set_value(std::move(s)); });
  }
  db().Close();
  for (auto& f : results) EXPECT_TRUE(f.get());
  ASSERT_TRUE(test_db().Reopen());
  EXPECT_EQ(Count(), 20);
}

TEST_P(DbCrudTest, PingAndStats) {
  EXPECT_TRUE(db().Ping());
  const PoolStats stats = db().Stats();
  EXPECT_GE(stats.connections, 1);
  EXPECT_EQ(stats.in_use, 0);
  EXPECT_GE(stats.commits, 1);  // the CREATE TABLE of SetUp
}

TEST_P(DbCrudTest, ReadsUseOneSnapshot) {
  ASSERT_TRUE(db().WriteSync<int64_t>([&](Conn& c) { return Insert(c, "a", 1); }));
  std::promise<void> counted, written;
  auto written_future = written.get_future();
  std::thread writer([&] {
    counted.get_future().wait();
    (void)db().WriteSync<int64_t>([&](Conn& c) { return Insert(c, "b", 2); });
    written.set_value();
  });
  auto r = db().ReadSync<std::pair<int64_t, int64_t>>(
      [&](Conn& c) -> Result<std::pair<int64_t, int64_t>> {
        auto first = c.QueryOne("SELECT COUNT(*) FROM items");
        if (!first) return std::move(first).error();
        counted.set_value();
        written_future.wait();
        auto second = c.QueryOne("SELECT COUNT(*) FROM items");
        if (!second) return std::move(second).error();
        return std::make_pair((*first)->Int(0), (*second)->Int(0));
      });
  writer.join();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->first, 1);
  EXPECT_EQ(r->second, 1);
  EXPECT_EQ(Count(), 2);
}

ZHENWU_ALL_BACKENDS(DbCrudTest);

// PostgreSQL: a pooled connection that the server dropped (restart, idle timeout, failover) is
// replaced without the caller noticing.
class PgReconnectTest : public DbCrudTest {
 protected:
  void Customize(Options& options) override { options.read_connections = 1; }
};

TEST_P(PgReconnectTest, ReplacesAConnectionTheServerDropped) {
  auto pid = ReadQuery("SELECT pg_backend_pid()");
  ASSERT_TRUE(pid) << pid.error().message;
  auto other = test_db().OpenAnother();
  ASSERT_TRUE(other) << other.error().message;
  auto killed = (*other)->WriteSync<bool>([&](Conn& c) -> Result<bool> {
    auto r = c.QueryOne("SELECT pg_terminate_backend($1, 5000)", {pid->rows.at(0).Int(0)});
    if (!r) return std::move(r).error();
    return (*r)->Int(0) == 1;
  });
  (*other)->Close();
  ASSERT_TRUE(killed) << killed.error().message;
  ASSERT_TRUE(*killed);
  auto again = ReadQuery("SELECT pg_backend_pid()");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_NE(again->rows.at(0).Int(0), pid->rows.at(0).Int(0));
  EXPECT_TRUE(WriteQuery("INSERT INTO items (name) VALUES ('after')"));
  EXPECT_EQ(db().Stats().connections, 1);
}

INSTANTIATE_TEST_SUITE_P(Db, PgReconnectTest,
                         ::testing::Values(zhenwu::testing::Backend::kPostgres),
                         zhenwu::testing::BackendParamName);

}  // namespace
}  // namespace zhenwu::db
