// Audited write transactions per second: how much the audit log's chain costs concurrent writers.
//
//   bench_audit_append [--seconds S] [--writers N] [--dir DIR]
//
// Each writer is a coroutine that awaits Database::Write() of one transaction that inserts a
// small case-like row and records one audit event for it (audit::Record), the shape of every
// audited change (creating a case records the new resident). While they run, a chainer thread
// links new events every second, as `zhenwu serve` does. After the run the chain is verified
// (audit::Verify), which must report every event intact. Each backend runs three rows:
//   noaudit  — the INSERT alone (the ceiling);
//   audit    — INSERT + audit::Record (deferred chaining, as shipped);
//   headlock — INSERT + UPDATE of the chain head row + audit::Record: the head row locked from
//              the audit entry to COMMIT, as Record did before deferred chaining (the baseline).
// SQLite runs with
// synchronous=FULL; PostgreSQL runs too when ZHENWU_TEST_PG names a server (pool of N
// connections, one per writer). See docs/audit.md ("Throughput").

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
#include <thread>

#include "audit/audit.hpp"
#include "core/blocking_pool.hpp"
#include "core/clock.hpp"
#include "db/db.hpp"
#include "db/migrator.hpp"

namespace {

namespace asio = boost::asio;
namespace db = zhenwu::db;
namespace audit = zhenwu::audit;
namespace fs = std::filesystem;

constexpr std::string_view kCreate =
    "CREATE TABLE bench_cases ("
    " id {{id}},"
    " town_id {{bigint}} NOT NULL,"
    " applicant TEXT NOT NULL,"
    " created_at_ms {{bigint}} NOT NULL)";

constexpr std::string_view kInsert =
    "INSERT INTO bench_cases (town_id, applicant, created_at_ms) VALUES ($1, $2, $3) "
    "RETURNING id";

struct Run {
  int64_t transactions = 0;
  int64_t failures = 0;
  double seconds = 0;
  double rate() const { return seconds > 0 ? static_cast<double>(transactions) / seconds : 0; }
};

bool Exec(db::Database& database, const std::string& sql) {
  auto done = database.WriteSync<bool>([&](db::Conn& c) -> zhenwu::Result<bool> {
    if (auto s = c.ExecScript(sql); !s) return std::move(s).error();
    return true;
  });
  if (!done) std::fprintf(stderr, "bench: %s\n", done.error().message.c_str());
  return done.ok();
}

enum class Mode { kNoAudit, kAudit, kHeadLock };

const char* ModeName(Mode mode) {
  switch (mode) {
    case Mode::kNoAudit:
      return "noaudit";
    case Mode::kAudit:
      return "audit";
    case Mode::kHeadLock:
      return "headlock";
  }
  return "?";
}

Run Measure(db::Database& database, const zhenwu::Clock& clock, Mode mode, int writers,
            double seconds) {
  asio::io_context io;
  std::atomic<int64_t> transactions{0}, failures{0};
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  for (int w = 0; w < writers; ++w) {
    asio::co_spawn(
        io,
        [&, w]() -> asio::awaitable<void> {
          for (int64_t i = 0; std::chrono::steady_clock::now() < deadline; ++i) {
            const std::string name = "张三丰" + std::to_string(w) + "-" + std::to_string(i);
            auto work = [&](db::Conn& c) -> zhenwu::Result<int64_t> {
              auto row = c.QueryOne(kInsert, {int64_t{1 + w % 12}, name, clock.NowMs()});
              if (!row) return std::move(row).error();
              const int64_t id = (*row)->Int(0);
              if (mode == Mode::kNoAudit) return id;
              if (mode == Mode::kHeadLock) {
                auto locked =
                    c.Exec("UPDATE audit_chain_head SET last_seq = last_seq WHERE id = 1");
                if (!locked) return std::move(locked).error();
              }
              audit::Entry entry{.action = "bench.case.create",
                                 .entity = "case",
                                 .entity_id = std::to_string(id),
                                 .unit_id = int64_t{1 + w % 12},
                                 .summary = "新建办件 " + name,
                                 .after = "{\"applicant\":\"张**\"}"};
              audit::Actor actor{int64_t{w}, "bench" + std::to_string(w), "127.0.0.1", "req"};
              if (auto s = audit::Record(c, clock, actor, entry); !s) return std::move(s).error();
              return id;
            };
            auto r = co_await database.Write<int64_t>(work);
            if (r) {
              ++transactions;
            } else {
              ++failures;
              if (failures < 3) std::fprintf(stderr, "bench: %s\n", r.error().message.c_str());
            }
          }
        },
        asio::detached);
  }
  io.run();
  Run run;
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.transactions = transactions;
  run.failures = failures;
  return run;
}

bool Bench(const char* label, db::Options options, int writers, double seconds) {
  zhenwu::BlockingPool pool(4);
  zhenwu::SystemClock clock;
  auto opened = db::Open(options, pool);
  if (!opened) {
    std::fprintf(stderr, "bench: cannot open %s: %s\n", label, opened.error().message.c_str());
    return false;
  }
  db::Database& database = **opened;
  bool ok = db::Migrate(database, db::EmbeddedMigrationsOf({"core", "audit"}), clock).ok() &&
            Exec(database, db::TranslateDdl(database.dialect(), kCreate));
  int64_t audited = 0;
  for (Mode mode : {Mode::kNoAudit, Mode::kAudit, Mode::kHeadLock}) {
    if (!ok) break;
    std::atomic<bool> stop{false};
    std::thread chainer([&] {
      while (!stop) {
        for (int i = 0; i < 10 && !stop; ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        if (auto r = audit::ChainPending(database); !r) {
          std::fprintf(stderr, "bench: chaining: %s\n", r.error().message.c_str());
        }
      }
    });
    const Run run = Measure(database, clock, mode, writers, seconds);
    stop = true;
    chainer.join();
    if (mode != Mode::kNoAudit) audited += run.transactions;
    std::printf("%-12s %-9s writers=%-3d tx/s=%-8.0f tx=%-7lld\n", label, ModeName(mode), writers,
                run.rate(), static_cast<long long>(run.transactions));
    if (run.failures > 0) {
      std::printf("  FAILURES=%lld\n", static_cast<long long>(run.failures));
      ok = false;
    }
    std::fflush(stdout);
  }
  if (ok) {
    const auto t0 = std::chrono::steady_clock::now();
    auto report = audit::Verify(database);
    const double verify_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (report) {
      std::printf("%-12s verify: intact=%d checked=%lld of %lld (%.2f s)\n", label,
                  report->intact ? 1 : 0, static_cast<long long>(report->checked),
                  static_cast<long long>(audited), verify_s);
      ok = report->intact && report->checked == audited;
    } else {
      std::printf("%-12s verify failed: %s\n", label, report.error().message.c_str());
      ok = false;
    }
  } else {
    std::fprintf(stderr, "bench: %s failed (see above)\n", label);
  }
  if (!options.pg_schema.empty()) {
    ok = Exec(database, "DROP SCHEMA \"" + options.pg_schema + "\" CASCADE") && ok;
  }
  database.Close();
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 5.0;
  int writers = 32;
  fs::path dir;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (arg == "--writers" && i + 1 < argc) {
      writers = std::atoi(argv[++i]);
    } else if (arg == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--seconds S] [--writers N] [--dir DIR]\n", argv[0]);
      return 2;
    }
  }
  if (seconds <= 0 || seconds > 120) seconds = 5.0;
  if (writers < 1 || writers > 256) writers = 32;
  if (dir.empty()) dir = fs::temp_directory_path();
  const fs::path work = dir / ("zhenwu-bench-audit-" + std::to_string(::getpid()));
  std::printf("# audited write transactions (INSERT + audit::Record), %.1f s, %d writers\n",
              seconds, writers);

  bool ok = true;
  {
    db::Options options;
    options.url = "sqlite:" + (work / "bench-audit.db").string();
    ok = Bench("sqlite FULL", options, writers, seconds) && ok;
  }
  std::error_code ec;
  fs::remove_all(work, ec);

  if (const char* url = std::getenv("ZHENWU_TEST_PG"); url != nullptr && *url != '\0') {
    db::Options options;
    options.url = url;
    options.read_connections = writers;
    options.pg_schema = "bench_audit_" + std::to_string(::getpid());
    ok = Bench("postgres", options, writers, seconds) && ok;
  } else {
    std::printf("# postgres: skipped (set ZHENWU_TEST_PG=postgresql://USER@HOST:PORT/DB)\n");
  }
  return ok ? 0 : 1;
}
