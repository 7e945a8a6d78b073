#include "support/db_fixture.hpp"

#include <stdlib.h>

#include <boost/asio/detached.hpp>
#include <cstdlib>
#include <random>

#include "db/migrator.hpp"

namespace zhenwu::testing {

namespace {

namespace fs = std::filesystem;

Result<fs::path> MakeTempDir() {
  std::string pattern = (fs::temp_directory_path() / "zhenwu-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) return Error::Internal("mkdtemp failed");
  return fs::path(pattern);
}

std::string RandomSchemaName() {
  std::random_device random;
  std::uniform_int_distribution<uint64_t> dist;
  char name[32];
  std::snprintf(name, sizeof name, "test_%016llx", static_cast<unsigned long long>(dist(random)));
  return name;
}

// Runs a statement on the database at `url` outside any test schema (to drop one).
Status ExecuteOnServer(const std::string& url, const std::string& sql) {
  BlockingPool pool(1);
  db::Options options;
  options.url = url;
  options.read_connections = 1;
  auto opened = db::Open(options, pool);
  if (!opened) return std::move(opened).error();
  auto done = (*opened)->WriteSync<bool>([&](db::Conn& conn) -> Result<bool> {
    if (auto s = conn.ExecScript(sql); !s) return std::move(s).error();
    return true;
  });
  (*opened)->Close();
  if (!done) return std::move(done).error();
  return {};
}

}  // namespace

std::string BackendName(Backend backend) {
  return backend == Backend::kSqlite ? "sqlite" : "postgres";
}

std::string BackendParamName(const ::testing::TestParamInfo<Backend>& info) {
  return BackendName(info.param);
}

std::optional<std::string> TestPostgresUrl() {
  const char* url = std::getenv("ZHENWU_TEST_PG");
  if (url == nullptr || *url == '\0') return std::nullopt;
  return std::string(url);
}

Result<std::unique_ptr<TestDatabase>> TestDatabase::Create(
    Backend backend, const std::function<void(db::Options&)>& customize) {
  std::unique_ptr<TestDatabase> t(new TestDatabase());
  t->backend_ = backend;
  auto dir = MakeTempDir();
  if (!dir) return std::move(dir).error();
  t->temp_dir_ = *dir;
  if (backend == Backend::kSqlite) {
    t->options_.url = "sqlite:" + (t->temp_dir_ / "zhenwu.db").string();
  } else {
    auto url = TestPostgresUrl();
    if (!url) return Error::Unavailable("ZHENWU_TEST_PG is not set");
    t->options_.url = *url;
    t->options_.pg_schema = RandomSchemaName();
  }
  if (customize) customize(t->options_);
  t->pool_ = std::make_unique<BlockingPool>(4);
  auto opened = db::Open(t->options_, *t->pool_);
  if (!opened) return std::move(opened).error();
  t->db_ = std::move(*opened);
  return t;
}

TestDatabase::~TestDatabase() {
  if (db_) db_->Close();
  db_.reset();
  if (backend_ == Backend::kPostgres && !options_.pg_schema.empty()) {
    auto dropped = ExecuteOnServer(options_.url,
                                   "DROP SCHEMA IF EXISTS \"" + options_.pg_schema + "\" CASCADE");
    if (!dropped) ADD_FAILURE() << "cannot drop test schema: " << dropped.error().message;
  }
  if (pool_) pool_->Join();
  std::error_code ec;
  if (!temp_dir_.empty()) fs::remove_all(temp_dir_, ec);
}

Status TestDatabase::Reopen() {
  db_->Close();
  db_.reset();
  auto opened = db::Open(options_, *pool_);
  if (!opened) return std::move(opened).error();
  db_ = std::move(*opened);
  return {};
}

Result<std::unique_ptr<db::Database>> TestDatabase::OpenAnother(
    const std::function<void(db::Options&)>& customize) {
  db::Options options = options_;
  if (customize) customize(options);
  return db::Open(options, *pool_);
}

void DbTest::SetUp() {
  if (GetParam() == Backend::kPostgres && !TestPostgresUrl()) {
    GTEST_SKIP() << "PostgreSQL tests need ZHENWU_TEST_PG=postgresql://USER@HOST:PORT/DB "
                    "(./test.sh sets it)";
  }
  auto created = TestDatabase::Create(GetParam(), [this](db::Options& o) { Customize(o); });
  ASSERT_TRUE(created) << "cannot create the test database: " << created.error().message;
  test_db_ = std::move(*created);
}

void DbTest::TearDown() { test_db_.reset(); }

Status DbTest::MigrateModules(const std::vector<std::string>& modules) {
  return db::Migrate(db(), db::EmbeddedMigrationsOf(modules), clock_);
}

Status DbTest::Execute(std::string_view sql, const db::Params& params) {
  const std::string text = db::TranslateDdl(db().dialect(), sql);
  auto done = db().WriteSync<bool>([&](db::Conn& conn) -> Result<bool> {
    if (params.empty()) {
      if (auto s = conn.ExecScript(text); !s) return std::move(s).error();
      return true;
    }
    auto r = conn.Query(text, params);
    if (!r) return std::move(r).error();
    return true;
  });
  if (!done) return std::move(done).error();
  return {};
}

Result<db::QueryResult> DbTest::WriteQuery(std::string_view sql, const db::Params& params) {
  return db().WriteSync<db::QueryResult>(
      [&](db::Conn& conn) -> Result<db::QueryResult> { return conn.Query(sql, params); });
}

Result<db::QueryResult> DbTest::ReadQuery(std::string_view sql, const db::Params& params) {
  return db().ReadSync<db::QueryResult>(
      [&](db::Conn& conn) -> Result<db::QueryResult> { return conn.Query(sql, params); });
}

void RunConcurrently(int count, const std::function<boost::asio::awaitable<void>(int)>& body) {
  boost::asio::io_context io;
  std::exception_ptr first;
  for (int i = 0; i < count; ++i) {
    boost::asio::co_spawn(io, body(i), [&](std::exception_ptr e) {
      if (e && !first) first = e;
    });
  }
  io.run();
  if (first) std::rethrow_exception(first);
}

}  // namespace zhenwu::testing
