#include "db/migrator.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "view/embedded.hpp"

namespace zhenwu::db {

namespace {

constexpr std::string_view kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " module TEXT NOT NULL,"
    " version INTEGER NOT NULL,"
    " name TEXT NOT NULL,"
    " applied_at_ms BIGINT NOT NULL,"
    " PRIMARY KEY (module, version))";

// Serialises migrators of several server processes on one PostgreSQL database ("zhenwu" in ASCII).
constexpr std::string_view kAdvisoryLock = "SELECT pg_advisory_xact_lock(122104101110119)";

using Applied = std::map<std::string, std::set<int>>;

std::string Label(const Migration& m) {
  char version[16];
  std::snprintf(version, sizeof version, "%04d", m.version);
  return m.module + "/" + version + "_" + m.name;
}

Status Lock(Conn& conn) {
  if (conn.dialect() != Dialect::kPostgres) return {};
  auto locked = conn.Query(kAdvisoryLock);
  if (!locked) return std::move(locked).error();
  return {};
}

Result<Applied> ReadApplied(Conn& conn) {
  auto rows = conn.Query("SELECT module, version FROM schema_migrations");
  if (!rows) return std::move(rows).error();
  Applied applied;
  for (const Row& row : rows->rows) applied[row.Text(0)].insert(static_cast<int>(row.Int(1)));
  return applied;
}

// Groups by module in order of first appearance and checks each module's versions run 1..n.
Result<std::vector<std::vector<const Migration*>>> Plan(const std::vector<Migration>& migrations) {
  std::vector<std::vector<const Migration*>> modules;
  std::map<std::string, std::size_t> index;
  for (const Migration& m : migrations) {
    if (m.module.empty() || m.version <= 0) {
      return Error::Invalid("migrations", "migration '" + m.module + "/" + m.name +
                                              "' is not named NNNN_verb_object.sql");
    }
    auto [it, added] = index.emplace(m.module, modules.size());
    if (added) modules.emplace_back();
    modules[it->second].push_back(&m);
  }
  for (auto& list : modules) {
    std::stable_sort(list.begin(), list.end(), [](const Migration* a, const Migration* b) {
      return a->version < b->version;
    });
    for (std::size_t i = 0; i < list.size(); ++i) {
      const int expected = static_cast<int>(i) + 1;
      if (list[i]->version == expected) continue;
      const std::string& module = list[i]->module;
      if (list[i]->version < expected) {
        return Error::Invalid("migrations", "module " + module + " has two migrations numbered " +
                                                std::to_string(list[i]->version));
      }
      return Error::Invalid("migrations", "module " + module + " lacks migration " +
                                              std::to_string(expected) + " (found " +
                                              Label(*list[i]) + ")");
    }
  }
  return modules;
}

// Refuses a database that a newer binary has migrated.
Status CheckNotNewer(const Applied& applied,
                     const std::vector<std::vector<const Migration*>>& plan) {
  std::map<std::string, int> known;
  for (const auto& list : plan) known[list.front()->module] = list.back()->version;
  for (const auto& [module, versions] : applied) {
    if (versions.empty()) continue;
    auto it = known.find(module);
    if (it == known.end()) {
      return Error::Conflict("the database has migrations of module " + module + " (up to " +
                             std::to_string(*versions.rbegin()) +
                             ") that this zhenwu does not know: the database is newer than this "
                             "program; run the zhenwu that migrated it");
    }
    if (*versions.rbegin() > it->second) {
      return Error::Conflict("the database has migration " + std::to_string(*versions.rbegin()) +
                             " of module " + module + " but this zhenwu knows only up to " +
                             std::to_string(it->second) +
                             ": the database is newer than this program; run the zhenwu that "
                             "migrated it");
    }
  }
  return {};
}

// Applies one migration and records it, unless another process did so meanwhile. Returns
// whether it applied it.
Result<bool> Apply(Database& db, const Migration& m, int64_t now_ms) {
  const std::string sql = TranslateDdl(db.dialect(), m.sql);
  auto applied = db.WriteSync<bool>([&](Conn& conn) -> Result<bool> {
    if (auto s = Lock(conn); !s) return std::move(s).error();
    auto present =
        conn.QueryOne("SELECT 1 FROM schema_migrations WHERE module = $1 AND version = $2",
                      {m.module, static_cast<int64_t>(m.version)});
    if (!present) return std::move(present).error();
    if (*present) return false;
    if (auto s = conn.ExecScript(sql); !s) return std::move(s).error();
    auto recorded = conn.Exec(
        "INSERT INTO schema_migrations (module, version, name, applied_at_ms) "
        "VALUES ($1, $2, $3, $4)",
        {m.module, static_cast<int64_t>(m.version), m.name, now_ms});
    if (!recorded) return std::move(recorded).error();
    return true;
  });
  if (!applied) {
    Error error = std::move(applied).error();
    error.message = "migration " + Label(m) + " failed: " + error.message;
    return error;
  }
  return applied;
}

}  // namespace

std::vector<Migration> EmbeddedMigrations(const std::string& module) {
  const std::string prefix = "src/" + module + "/migrations/";
  std::vector<Migration> out;
  for (const embedded::File& file : embedded::Files()) {
    if (file.path.substr(0, prefix.size()) != prefix) continue;
    std::string_view name = file.path.substr(prefix.size());
    if (name.find('/') != std::string_view::npos || name.size() < 4 ||
        name.substr(name.size() - 4) != ".sql") {
      continue;
    }
    name.remove_suffix(4);
    Migration m;
    m.module = module;
    m.sql = std::string(file.data);
    std::size_t digits = 0;
    while (digits < name.size() && std::isdigit(static_cast<unsigned char>(name[digits]))) {
      ++digits;
    }
    if (digits > 0 && digits <= 6 && digits + 1 < name.size() && name[digits] == '_') {
      m.version = std::stoi(std::string(name.substr(0, digits)));
      m.name = std::string(name.substr(digits + 1));
    } else {
      m.name = std::string(name);
    }
    out.push_back(std::move(m));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Migration& a, const Migration& b) { return a.version < b.version; });
  return out;
}

std::vector<Migration> EmbeddedMigrationsOf(const std::vector<std::string>& modules) {
  std::vector<Migration> out;
  for (const std::string& module : modules) {
    auto list = EmbeddedMigrations(module);
    std::move(list.begin(), list.end(), std::back_inserter(out));
  }
  return out;
}

Status Migrate(Database& db, const std::vector<Migration>& migrations, const Clock& clock) {
  auto plan = Plan(migrations);
  if (!plan) return std::move(plan).error();
  auto applied = db.WriteSync<Applied>([](Conn& conn) -> Result<Applied> {
    if (auto s = Lock(conn); !s) return std::move(s).error();
    if (auto s = conn.ExecScript(kCreateTable); !s) return std::move(s).error();
    return ReadApplied(conn);
  });
  if (!applied) return std::move(applied).error();
  if (auto s = CheckNotNewer(*applied, *plan); !s) return s;
  for (const auto& list : *plan) {
    const auto& done = (*applied)[list.front()->module];
    for (const Migration* m : list) {
      if (done.count(m->version) != 0) continue;
      auto ran = Apply(db, *m, clock.NowMs());
      if (!ran) return std::move(ran).error();
      if (*ran) spdlog::info("applied migration {}", Label(*m));
    }
  }
  return {};
}

}  // namespace zhenwu::db
