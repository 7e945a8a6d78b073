#include "db/db.hpp"

#include <charconv>
#include <cmath>
#include <string>
#include <system_error>

#include "db/detail.hpp"
#include "db/postgres/pg_database.hpp"
#include "db/sqlite/sqlite_database.hpp"

namespace zhenwu::db {

namespace {

std::optional<int64_t> ParseInt(const std::string& text) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec == std::errc() && ptr == end) return value;
  double real = 0;
  auto [rptr, rec] = std::from_chars(text.data(), end, real);
  if (rec == std::errc() && rptr == end && std::isfinite(real)) return static_cast<int64_t>(real);
  return std::nullopt;
}

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

}  // namespace

namespace detail {

std::string FormatReal(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  char buf[32];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return ec == std::errc() ? std::string(buf, ptr) : std::to_string(value);
}

}  // namespace detail

bool Row::IsNull(std::size_t i) const {
  return std::holds_alternative<std::monostate>(values_.at(i));
}

int64_t Row::Int(std::size_t i) const { return OptInt(i).value_or(0); }

double Row::Real(std::size_t i) const {
  const Value& v = values_.at(i);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* n = std::get_if<int64_t>(&v)) return static_cast<double>(*n);
  if (const auto* s = std::get_if<std::string>(&v)) {
    double value = 0;
    auto [ptr, ec] = std::from_chars(s->data(), s->data() + s->size(), value);
    if (ec == std::errc()) return value;
  }
  return 0;
}

std::string Row::Text(std::size_t i) const { return OptText(i).value_or(std::string()); }

std::optional<int64_t> Row::OptInt(std::size_t i) const {
  const Value& v = values_.at(i);
  if (const auto* n = std::get_if<int64_t>(&v)) return *n;
  if (const auto* d = std::get_if<double>(&v)) {
    return std::isfinite(*d) ? static_cast<int64_t>(*d) : 0;
  }
  if (const auto* s = std::get_if<std::string>(&v)) return ParseInt(*s).value_or(0);
  return std::nullopt;
}

std::optional<std::string> Row::OptText(std::size_t i) const {
  const Value& v = values_.at(i);
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* n = std::get_if<int64_t>(&v)) return std::to_string(*n);
  if (const auto* d = std::get_if<double>(&v)) return detail::FormatReal(*d);
  return std::nullopt;
}

Result<int64_t> Conn::Exec(std::string_view sql, const Params& params) {
  auto result = Query(sql, params);
  if (!result) return std::move(result).error();
  return result->affected;
}

Result<int64_t> Conn::NextNumber(std::string_view counter) {
  auto row = QueryOne(
      "INSERT INTO core_counters (name, value) VALUES ($1, 1) ON CONFLICT (name) DO UPDATE SET "
      "value = core_counters.value + 1 RETURNING value",
      {std::string(counter)});
  if (!row) return std::move(row).error();
  if (!*row) return Error::Internal("counter " + std::string(counter) + " returned no row");
  return (**row).Int(0);
}

Result<std::optional<Row>> Conn::QueryOne(std::string_view sql, const Params& params) {
  auto result = Query(sql, params);
  if (!result) return std::move(result).error();
  if (result->rows.empty()) return std::optional<Row>();
  return std::optional<Row>(std::move(result->rows.front()));
}

Status Database::Ping() {
  auto answered = ReadSync<bool>([](Conn& c) -> Result<bool> {
    auto row = c.QueryOne("SELECT 1");
    if (!row) return std::move(row).error();
    return true;
  });
  if (!answered) return std::move(answered).error();
  return {};
}

Result<std::unique_ptr<Database>> Open(const Options& options, BlockingPool& pool) {
  if (options.read_connections < 1 || options.max_batch < 1) {
    return Error::Invalid("database.url", "read_connections and max_batch must be at least 1");
  }
  const std::string& url = options.url;
  if (StartsWith(url, "sqlite:")) {
    std::string path = url.substr(7);
    if (StartsWith(path, "//")) path = path.substr(2);  // tolerate sqlite://PATH
    if (path.empty()) return Error::Invalid("database.url", "sqlite: needs a file path");
    return sqlite::OpenSqlite(options, path, pool);
  }
  if (StartsWith(url, "postgresql://") || StartsWith(url, "postgres://")) {
    return postgres::OpenPostgres(options, pool);
  }
  return Error::Invalid("database.url",
                        "unsupported database URL (use sqlite:PATH, e.g. sqlite:data/zhenwu.db, "
                        "or postgresql://USER@HOST:PORT/DBNAME)");
}

std::string TranslateDdl(Dialect dialect, std::string_view sql) {
  struct Token {
    std::string_view name, sqlite, postgres;
  };
  // AUTOINCREMENT so that SQLite, like PostgreSQL, never hands out the id of a deleted row again.
  static constexpr Token kTokens[] = {
      {"{{id}}", "INTEGER PRIMARY KEY AUTOINCREMENT",
       "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"},
      {"{{bigint}}", "INTEGER", "BIGINT"},
      {"{{blob}}", "BLOB", "BYTEA"},
      {"{{real}}", "REAL", "DOUBLE PRECISION"},
      // Text compared byte by byte (SQLite's default BINARY collation), for range queries on
      // materialised paths that must not depend on the server's locale.
      {"{{text_c}}", "TEXT", "TEXT COLLATE \"C\""},
  };
  std::string out;
  out.reserve(sql.size());
  std::size_t i = 0;
  while (i < sql.size()) {
    bool replaced = false;
    if (sql[i] == '{') {
      for (const Token& t : kTokens) {
        if (sql.substr(i, t.name.size()) == t.name) {
          out += dialect == Dialect::kSqlite ? t.sqlite : t.postgres;
          i += t.name.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += sql[i++];
  }
  return out;
}

}  // namespace zhenwu::db
