// The reference for bench/cases.sh: the database's share of creating one case, without HTTP,
// JSON, tokens, validation or encryption. Each create is one Database::Write holding the
// statements that services::Apply runs for a new applicant through POST /api/v1/cases (as logged
// by PostgreSQL for one such request): the one-time token claim, the service, the village, the
// resident look-up and insert, its audit event, the town code, the day's counter, the case, its
// event, the SMS outbox row and the token's result. Values are strings of the stored lengths.
//
//   bench_case_rows --db URL --service CODE --village ID [--seconds S] [--writers N] [--pool N]
//
// Runs against a database that `zhenwu demo` (or a bench run) has migrated and loaded, while no
// zhenwu server uses it; adds its cases (numbers REF-…) to it. Prints one line:
//   creates/s=R creates=N failures=F commits=C
// With as many writers as the API run has connections and the same pool, the API's rate divided
// by this one is the share of the database's own work that the rest of a request leaves.

#include <unistd.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/blocking_pool.hpp"
#include "db/db.hpp"

namespace {

namespace asio = boost::asio;
namespace db = zhenwu::db;

struct Target {
  int64_t service_id = 0;
  std::string service_code;
  std::string service_name;
  int64_t unit_id = 0;
  std::string unit_path;
  int64_t village_id = 0;
  std::string village_path;
};

// A string of `n` characters that differs per `seed` (for unique and for random index keys).
std::string Filler(char tag, int64_t seed, std::size_t n) {
  std::string s = std::string(1, tag) + std::to_string(seed) + "-" + std::to_string(::getpid());
  while (s.size() < n) s += static_cast<char>('a' + (seed * 7919 + s.size()) % 26);
  return s.substr(0, n);
}

// Hex-like key spread over the whole index, as a blind index (BLAKE2b-256 in hex) is.
std::string Spread(char tag, int64_t seed) {
  uint64_t x =
      static_cast<uint64_t>(seed) * 0x9E3779B97F4A7C15ULL ^ static_cast<uint64_t>(::getpid());
  std::string s(1, tag);
  for (int i = 0; i < 4; ++i) {
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ULL;
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(x));
    s += buf;
  }
  return s;
}

zhenwu::Status CreateOne(db::Conn& c, const Target& t, int64_t n) {
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const std::string token = Spread('t', n);
  if (auto r = c.Exec("INSERT INTO core_form_once (token, form, result, created_at_ms) "
                      "VALUES ($1, $2, '', $3) ON CONFLICT (token) DO NOTHING",
                      {token, std::string("api.cases.create"), now});
      !r) {
    return std::move(r).error();
  }
  if (auto r = c.QueryOne(
          "SELECT s.id, s.code, s.unit_id, u.path, u.name, s.name, s.promised_days "
          "FROM services_services s JOIN org_units u ON u.id = s.unit_id WHERE s.code = $1",
          {t.service_code});
      !r || !*r) {
    return r ? zhenwu::Status(zhenwu::Error::NotFound("no service")) : std::move(r).error();
  }
  if (auto r = c.QueryOne("SELECT id, parent_id, kind, name, code, path FROM org_units "
                          "WHERE id = $1",
                          {t.village_id});
      !r) {
    return std::move(r).error();
  }
  const std::string id_idx = Spread('i', n);
  if (auto r = c.QueryOne("SELECT id FROM people_residents WHERE id_card_idx = $1", {id_idx}); !r) {
    return std::move(r).error();
  }
  auto resident = c.QueryOne(
      "INSERT INTO people_residents (name, id_card_enc, id_card_idx, id_card_mask, phone_enc, "
      "phone_idx, phone_mask, village_unit_id, address, demo, created_at_ms, updated_at_ms) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $10) ON CONFLICT (id_card_idx) DO "
      "NOTHING RETURNING id",
      {std::string("张三丰"), Filler('e', n, 84), id_idx, std::string("4501**********0012"),
       Filler('p', n, 72), Spread('h', n), std::string("139****1234"), t.village_id,
       std::string("示例一村 1 组"), now});
  if (!resident || !*resident) {
    return resident ? zhenwu::Status(zhenwu::Error::Conflict("resident"))
                    : std::move(resident).error();
  }
  const int64_t resident_id = (*resident)->Int(0);
  if (auto r = c.Exec("INSERT INTO audit_events (at_ms, actor_user_id, actor_name, ip, "
                      "request_id, action, entity, entity_id, unit_id, summary, before_json, "
                      "after_json) VALUES ($1, 3, '窗口人员', '127.0.0.1', $2, "
                      "'people.resident.create', 'people_residents', $3, $4, '新建居民 张三丰', "
                      "'', $5)",
                      {now, Filler('r', n, 16), std::to_string(resident_id), t.village_id,
                       std::string("{\"name\":\"张三丰\",\"village_unit_id\":") +
                           std::to_string(t.village_id) + "}"});
      !r) {
    return std::move(r).error();
  }
  if (auto r = c.Query("SELECT id, code, kind FROM org_units WHERE id IN ($1, $2)",
                       {t.unit_id, t.village_id});
      !r) {
    return std::move(r).error();
  }
  auto seq = c.NextNumber("bench.case_rows");
  if (!seq) return std::move(seq).error();
  auto kase = c.QueryOne(
      "INSERT INTO services_cases (number, service_id, service_name, unit_id, unit_path, "
      "origin_unit_id, origin_path, channel, status, applicant_kind, resident_id, applicant_name, "
      "phone_enc, phone_idx, phone_mask, phone4, agent_name, description, promised_days, "
      "start_day, due_day, demo, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, "
      "$7, 'window', 'submitted', 'person', $8, '张三丰', $9, $10, '139****1234', '1234', '', "
      "$11, 20, '2026-11-30', '2026-12-28', 0, $12, $12) RETURNING id",
      {"REF-" + std::to_string(::getpid()) + "-" + std::to_string(*seq), t.service_id,
       t.service_name, t.unit_id, t.unit_path, t.unit_id, t.unit_path, resident_id,
       Filler('p', n, 72), Spread('h', n), "压测申请 " + std::to_string(n), now});
  if (!kase || !*kase) {
    return kase ? zhenwu::Status(zhenwu::Error::Internal("no case id")) : std::move(kase).error();
  }
  const int64_t case_id = (*kase)->Int(0);
  if (auto r = c.QueryOne("INSERT INTO services_case_events (case_id, action, from_status, "
                          "to_status, at_ms, actor_user_id, actor_name, unit_name, note, "
                          "public_note) VALUES ($1, 'submit', NULL, 'submitted', $2, 3, "
                          "'窗口人员', '民政办', '', 1) RETURNING id",
                          {case_id, now});
      !r) {
    return std::move(r).error();
  }
  if (auto r = c.Exec("INSERT INTO notify_outbox (channel, phone_enc, phone_mask, text, link, "
                      "ref, status, attempts, next_attempt_at_ms, created_at_ms) VALUES ('sms', "
                      "$1, '139****1234', $2, '', $3, 'pending', 0, $4, $4)",
                      {Filler('p', n, 72),
                       std::string("【平政镇】您的申请（最低生活保障申请）已提交，办件编号 "
                                   "PZ-20261130-0001，可凭编号和手机后四位查询进度。"),
                       "case:" + std::to_string(case_id), now});
      !r) {
    return std::move(r).error();
  }
  if (auto r = c.Exec("UPDATE core_form_once SET result = $2 WHERE token = $1",
                      {token, "{\"number\":\"REF\",\"id\":" + std::to_string(case_id) + "}"});
      !r) {
    return std::move(r).error();
  }
  return {};
}

zhenwu::Result<Target> LoadTarget(db::Database& database, const std::string& code,
                                  int64_t village) {
  return database.ReadSync<Target>([&](db::Conn& c) -> zhenwu::Result<Target> {
    auto s = c.QueryOne(
        "SELECT s.id, s.name, s.unit_id, u.path FROM services_services s "
        "JOIN org_units u ON u.id = s.unit_id WHERE s.code = $1",
        {code});
    if (!s) return std::move(s).error();
    if (!*s) return zhenwu::Error::NotFound("no service " + code);
    auto v = c.QueryOne("SELECT path FROM org_units WHERE id = $1", {village});
    if (!v) return std::move(v).error();
    if (!*v) return zhenwu::Error::NotFound("no unit " + std::to_string(village));
    Target t;
    t.service_id = (*s)->Int(0);
    t.service_code = code;
    t.service_name = (*s)->Text(1);
    t.unit_id = (*s)->Int(2);
    t.unit_path = (*s)->Text(3);
    t.village_id = village;
    t.village_path = (*v)->Text(0);
    return t;
  });
}

int Usage(const char* self) {
  std::fprintf(stderr,
               "usage: %s --db URL --service CODE --village ID [--seconds S] [--writers N] "
               "[--pool N]\n",
               self);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url, service;
  int64_t village = 0;
  double seconds = 10;
  int writers = 64, pool_size = 4;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string arg = argv[i], value = argv[i + 1];
    if (arg == "--db") {
      url = value;
    } else if (arg == "--service") {
      service = value;
    } else if (arg == "--village") {
      village = std::atoll(value.c_str());
    } else if (arg == "--seconds") {
      seconds = std::atof(value.c_str());
    } else if (arg == "--writers") {
      writers = std::atoi(value.c_str());
    } else if (arg == "--pool") {
      pool_size = std::atoi(value.c_str());
    } else {
      return Usage(argv[0]);
    }
  }
  if (argc % 2 == 0 || url.empty() || service.empty() || village <= 0 || seconds <= 0 ||
      writers <= 0 || pool_size <= 0) {
    return Usage(argv[0]);
  }

  zhenwu::BlockingPool pool(4);
  db::Options options;
  options.url = url;
  options.read_connections = pool_size;
  auto opened = db::Open(options, pool);
  if (!opened) {
    std::fprintf(stderr, "bench_case_rows: cannot open %s: %s\n", url.c_str(),
                 opened.error().message.c_str());
    return 1;
  }
  db::Database& database = **opened;
  auto target = LoadTarget(database, service, village);
  if (!target) {
    std::fprintf(stderr, "bench_case_rows: %s\n", target.error().message.c_str());
    return 1;
  }

  asio::io_context io;
  std::atomic<int64_t> creates{0}, failures{0}, next{0};
  std::string first_error;
  const int64_t commits_before = database.Stats().commits;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  for (int w = 0; w < writers; ++w) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          while (std::chrono::steady_clock::now() < deadline) {
            const int64_t n = next++;
            auto job = [&target, n](db::Conn& c) -> zhenwu::Result<bool> {
              if (auto s = CreateOne(c, *target, n); !s) return std::move(s).error();
              return true;
            };
            auto r = co_await database.Write<bool>(job);
            if (r) {
              ++creates;
            } else {
              if (failures++ == 0) first_error = r.error().message;
            }
          }
        },
        asio::detached);
  }
  io.run();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const int64_t commits = database.Stats().commits - commits_before;
  database.Close();
  std::printf("creates/s=%.0f creates=%lld failures=%lld commits=%lld\n", creates / elapsed,
              static_cast<long long>(creates.load()), static_cast<long long>(failures.load()),
              static_cast<long long>(commits));
  if (failures > 0)
    std::fprintf(stderr, "bench_case_rows: first failure: %s\n", first_error.c_str());
  return failures > 0 ? 1 : 0;
}
