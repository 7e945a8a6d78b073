#pragma once
// A fresh database per test on each backend, so that every store test runs on SQLite and on
// PostgreSQL:
//
//   class CaseStoreTest : public zhenwu::testing::DbTest {
//    protected:
//     void SetUp() override {
//       DbTest::SetUp();
//       if (IsSkipped() || HasFatalFailure()) return;
//       ASSERT_TRUE(MigrateModules({"core", "org", "services"}));
//     }
//   };
//   TEST_P(CaseStoreTest, CreatesCase) { ... db() ... }
//   ZHENWU_ALL_BACKENDS(CaseStoreTest);  // Db/CaseStoreTest.CreatesCase/sqlite and …/postgres
//
// SQLite gets a file in a fresh temporary folder (removed afterwards); PostgreSQL gets a fresh
// schema, named at random, in the database named by the environment variable ZHENWU_TEST_PG
// (e.g. postgresql://zhenwu@127.0.0.1:55433/zhenwu_test), dropped afterwards. Without
// ZHENWU_TEST_PG the PostgreSQL instances are skipped with a message saying so; ./test.sh always
// sets it.

#include <gtest/gtest.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/blocking_pool.hpp"
#include "core/clock.hpp"
#include "db/db.hpp"

namespace zhenwu::testing {

enum class Backend { kSqlite, kPostgres };

// "sqlite" | "postgres".
std::string BackendName(Backend backend);
// Every backend, for INSTANTIATE_TEST_SUITE_P.
inline auto AllBackends() { return ::testing::Values(Backend::kSqlite, Backend::kPostgres); }
// Names the instances "sqlite" and "postgres".
std::string BackendParamName(const ::testing::TestParamInfo<Backend>& info);
// The PostgreSQL URL from ZHENWU_TEST_PG, if set.
std::optional<std::string> TestPostgresUrl();

// Instantiates a DbTest-derived suite on every backend with readable names.
#define ZHENWU_ALL_BACKENDS(Suite)                                      \
  INSTANTIATE_TEST_SUITE_P(Db, Suite, ::zhenwu::testing::AllBackends(), \
                           ::zhenwu::testing::BackendParamName)

// A throwaway database on one backend, usable outside a fixture too (benchmarks, helpers).
class TestDatabase {
 public:
  // Creates the temporary folder or schema and opens the database. Fails with kUnavailable when
  // PostgreSQL is asked for but ZHENWU_TEST_PG is not set or not reachable.
  static Result<std::unique_ptr<TestDatabase>> Create(
      Backend backend, const std::function<void(db::Options&)>& customize = {});
  // Closes the database, drops the schema / removes the folder.
  ~TestDatabase();

  db::Database& db() { return *db_; }
  BlockingPool& pool() { return *pool_; }
  Backend backend() const { return backend_; }
  // The options the database was opened with (for reopening it).
  const db::Options& options() const { return options_; }
  // A folder for files of this test (the SQLite database lives in it too).
  const std::filesystem::path& temp_dir() const { return temp_dir_; }
  // Closes and opens the database again with the same options (data survives).
  Status Reopen();
  // Opens a second, independent handle on the same database (same schema / file).
  Result<std::unique_ptr<db::Database>> OpenAnother(
      const std::function<void(db::Options&)>& customize = {});

 private:
  TestDatabase() = default;
  Backend backend_ = Backend::kSqlite;
  db::Options options_;
  std::filesystem::path temp_dir_;
  std::unique_ptr<BlockingPool> pool_;
  std::unique_ptr<db::Database> db_;
};

// The parameterised fixture: db() is fresh for every test.
class DbTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override;
  void TearDown() override;
  // Override to change the options before the database opens (e.g. max_batch).
  virtual void Customize(db::Options& options) { (void)options; }

  db::Database& db() { return test_db_->db(); }
  BlockingPool& pool() { return test_db_->pool(); }
  TestDatabase& test_db() { return *test_db_; }
  Backend backend() const { return GetParam(); }
  bool is_sqlite() const { return GetParam() == Backend::kSqlite; }
  // A fixed clock for migrations and stores (2026-11-28 09:00 Asia/Shanghai).
  FakeClock& clock() { return clock_; }

  // Applies the embedded migrations of `modules`, dependencies first.
  Status MigrateModules(const std::vector<std::string>& modules);
  // Runs one statement (or, without params, a script of several) in a write / one query in a read.
  Status Execute(std::string_view sql, const db::Params& params = {});
  Result<db::QueryResult> WriteQuery(std::string_view sql, const db::Params& params = {});
  Result<db::QueryResult> ReadQuery(std::string_view sql, const db::Params& params = {});

 private:
  std::unique_ptr<TestDatabase> test_db_;
  FakeClock clock_{1795827600000};
};

// Runs `body` on a fresh io_context (one thread: the caller's) until it finishes; rethrows what
// it throws. For tests of the awaitable Read()/Write().
template <class T>
T RunAwaitable(std::function<boost::asio::awaitable<T>()> body) {
  boost::asio::io_context io;
  std::optional<T> out;
  std::exception_ptr error;
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> { out.emplace(co_await body()); },
      [&](std::exception_ptr e) { error = e; });
  io.run();
  if (error) std::rethrow_exception(error);
  return std::move(*out);
}

// Runs `count` coroutines body(0) … body(count-1) concurrently on one io_context thread until all
// finish; rethrows the first exception.
void RunConcurrently(int count, const std::function<boost::asio::awaitable<void>(int)>& body);

}  // namespace zhenwu::testing
