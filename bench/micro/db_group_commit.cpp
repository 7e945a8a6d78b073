// Durable inserts per second with 1 and with 64 concurrent writers: what group commit buys.
//
//   bench_db_group_commit [--seconds S] [--dir DIR]
//
// Each writer is a coroutine that awaits Database::Write() of one small case-like INSERT after
// another. SQLite runs with synchronous=FULL (every acknowledged write is on disk) and, for
// reference, NORMAL; PostgreSQL runs too when ZHENWU_TEST_PG names a server. See bench/DB.md.

#include <unistd.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/blocking_pool.hpp"
#include "db/db.hpp"

namespace {

namespace asio = boost::asio;
namespace db = zhenwu::db;
namespace fs = std::filesystem;

constexpr std::string_view kCreate =
    "CREATE TABLE bench_cases ("
    " id {{id}},"
    " town_id {{bigint}} NOT NULL,"
    " service_code TEXT NOT NULL,"
    " applicant TEXT NOT NULL,"
    " phone_masked TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " created_at_ms {{bigint}} NOT NULL,"
    " deadline_ms {{bigint}} NOT NULL)";

constexpr std::string_view kInsert =
    "INSERT INTO bench_cases (town_id, service_code, applicant, phone_masked, status, "
    "created_at_ms, deadline_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)";

struct Run {
  int64_t inserts = 0;
  int64_t failures = 0;
  double seconds = 0;
  int64_t commits = 0;
  double rate() const { return seconds > 0 ? static_cast<double>(inserts) / seconds : 0; }
};

bool Exec(db::Database& database, const std::string& sql) {
  auto done = database.WriteSync<bool>([&](db::Conn& c) -> zhenwu::Result<bool> {
    if (auto s = c.ExecScript(sql); !s) return std::move(s).error();
    return true;
  });
  if (!done) std::fprintf(stderr, "bench: %s\n", done.error().message.c_str());
  return done.ok();
}

// `writers` coroutines on one IO thread, each inserting one row after another for `seconds`.
Run Measure(db::Database& database, int writers, double seconds) {
  asio::io_context io;
  std::atomic<int64_t> inserts{0}, failures{0};
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  const int64_t commits_before = database.Stats().commits;
  for (int w = 0; w < writers; ++w) {
    asio::co_spawn(
        io,
        [&, w]() -> asio::awaitable<void> {
          for (int64_t i = 0; std::chrono::steady_clock::now() < deadline; ++i) {
            db::Params params = {int64_t{1 + w % 12},
                                 std::string("HJ-0") + std::to_string(w % 40),
                                 std::string("张三丰") + std::to_string(i),
                                 std::string("138****5678"),
                                 std::string("submitted"),
                                 int64_t{1795827600000} + i,
                                 int64_t{1795827600000} + 20LL * 86400000};
            auto r = co_await database.Write<int64_t>(
                [&params](db::Conn& c) { return c.Exec(kInsert, params); });
            if (r) {
              ++inserts;
            } else {
              ++failures;
            }
          }
        },
        asio::detached);
  }
  io.run();
  Run run;
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.inserts = inserts;
  run.failures = failures;
  run.commits = database.Stats().commits - commits_before;
  return run;
}

void Report(const char* label, int writers, const Run& run, const Run* single) {
  std::printf("%-16s writers=%-3d inserts/s=%-9.0f inserts=%-7lld commits=%-7lld jobs/commit=%.1f",
              label, writers, run.rate(), static_cast<long long>(run.inserts),
              static_cast<long long>(run.commits),
              run.commits > 0 ? static_cast<double>(run.inserts) / run.commits : 0.0);
  if (single != nullptr && single->rate() > 0) {
    std::printf(" ratio=%.1fx", run.rate() / single->rate());
  }
  if (run.failures > 0) std::printf(" FAILURES=%lld", static_cast<long long>(run.failures));
  std::printf("\n");
  std::fflush(stdout);
}

bool Bench(const char* label, db::Options options, double seconds) {
  zhenwu::BlockingPool pool(4);
  auto opened = db::Open(options, pool);
  if (!opened) {
    std::fprintf(stderr, "bench: cannot open %s: %s\n", label, opened.error().message.c_str());
    return false;
  }
  db::Database& database = **opened;
  bool ok = Exec(database, db::TranslateDdl(database.dialect(), kCreate));
  if (ok) {
    const Run single = Measure(database, 1, seconds);
    Report(label, 1, single, nullptr);
    const Run many = Measure(database, 64, seconds);
    Report(label, 64, many, &single);
    ok = single.failures == 0 && many.failures == 0;
  }
  if (!options.pg_schema.empty()) {
    ok = Exec(database, "DROP SCHEMA \"" + options.pg_schema + "\" CASCADE") && ok;
  }
  database.Close();
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 2.0;
  fs::path dir;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (arg == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--seconds S] [--dir DIR]\n", argv[0]);
      return 2;
    }
  }
  if (seconds <= 0 || seconds > 60) seconds = 2.0;
  if (dir.empty()) dir = fs::temp_directory_path();
  const fs::path work = dir / ("zhenwu-bench-db-" + std::to_string(::getpid()));
  std::printf("# durable INSERTs through Database::Write, %.1f s per row; SQLite files in %s\n",
              seconds, work.c_str());

  bool ok = true;
  for (const char* sync : {"FULL", "NORMAL"}) {
    db::Options options;
    options.url = "sqlite:" + (work / (std::string("bench-") + sync + ".db")).string();
    options.sqlite_synchronous = sync;
    ok = Bench((std::string("sqlite ") + sync).c_str(), options, seconds) && ok;
  }
  std::error_code ec;
  fs::remove_all(work, ec);

  if (const char* url = std::getenv("ZHENWU_TEST_PG"); url != nullptr && *url != '\0') {
    db::Options options;
    options.url = url;
    options.read_connections = 8;
    options.pg_schema = "bench_" + std::to_string(::getpid());
    ok = Bench("postgres", options, seconds) && ok;
  } else {
    std::printf("# postgres: skipped (set ZHENWU_TEST_PG=postgresql://USER@HOST:PORT/DB)\n");
  }
  return ok ? 0 : 1;
}
