#include "db/postgres/pg_conn.hpp"

#include <charconv>
#include <cstring>
#include <string>
#include <system_error>

#include "db/detail.hpp"

namespace zhenwu::db::postgres {

namespace {

// Type OIDs from pg_type.h (stable across versions).
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kOidOid = 26;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;

using ResultPtr = std::unique_ptr<PGresult, decltype(&PQclear)>;

ResultPtr Wrap(PGresult* result) { return ResultPtr(result, &PQclear); }

std::string Trimmed(const char* message) {
  std::string text = message != nullptr ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::string HexBytea(const std::string& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return out;
}

Value ConvertField(const char* text, int length, Oid type) {
  const char* end = text + length;
  switch (type) {
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid:
    case kOidOid: {
      int64_t value = 0;
      if (std::from_chars(text, end, value).ec == std::errc()) return value;
      break;
    }
    case kFloat4Oid:
    case kFloat8Oid: {
      double value = 0;
      if (std::from_chars(text, end, value).ec == std::errc()) return value;
      break;
    }
    case kBoolOid:
      return static_cast<int64_t>(length > 0 && text[0] == 't' ? 1 : 0);
    case kByteaOid: {
      std::size_t size = 0;
      unsigned char* bytes = PQunescapeBytea(reinterpret_cast<const unsigned char*>(text), &size);
      if (bytes == nullptr) break;
      std::string out(reinterpret_cast<const char*>(bytes), size);
      PQfreemem(bytes);
      return out;
    }
    default:
      break;
  }
  return std::string(text, length);
}

bool IsChangeCommand(const char* status) {
  for (const char* verb : {"INSERT", "UPDATE", "DELETE", "MERGE"}) {
    if (std::strncmp(status, verb, std::strlen(verb)) == 0) return true;
  }
  return false;
}

void IgnoreNotice(void*, const char*) {}

}  // namespace

Result<std::unique_ptr<PgConn>> PgConn::Connect(const std::string& url, const std::string& schema,
                                                bool create_schema) {
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(url.c_str(), &parse_error);
  if (parsed == nullptr) {
    std::string message = Trimmed(parse_error);
    PQfreemem(parse_error);
    return Error::Invalid("database.url", "invalid PostgreSQL URL: " + message);
  }
  PQconninfoFree(parsed);

  // Defaults first: with expand_dbname the URL, given last, overrides them.
  const char* keywords[] = {"connect_timeout", "application_name", "client_encoding", "dbname",
                            nullptr};
  const char* values[] = {"5", "zhenwu", "UTF8", url.c_str(), nullptr};
  PGconn* raw = PQconnectdbParams(keywords, values, 1);
  if (raw == nullptr) return Error::Unavailable("cannot connect to PostgreSQL: out of memory");
  std::unique_ptr<PgConn> conn(new PgConn(raw));
  if (PQstatus(raw) != CONNECTION_OK) {
    return Error::Unavailable("cannot connect to PostgreSQL: " + Trimmed(PQerrorMessage(raw)));
  }
  PQsetNoticeProcessor(raw, IgnoreNotice, nullptr);
  if (!schema.empty()) {
    char* quoted = PQescapeIdentifier(raw, schema.c_str(), schema.size());
    if (quoted == nullptr) return Error::Invalid("pg_schema", Trimmed(PQerrorMessage(raw)));
    const std::string identifier = quoted;
    PQfreemem(quoted);
    if (create_schema) {
      auto created = conn->Control(("CREATE SCHEMA IF NOT EXISTS " + identifier).c_str());
      // Another process creating it at the same moment is fine.
      if (!created && created.error().code != ErrorCode::kConflict) {
        return std::move(created).error();
      }
    }
    if (auto s = conn->Control(("SET search_path TO " + identifier + ", public").c_str()); !s) {
      return std::move(s).error();
    }
  }
  return conn;
}

PgConn::~PgConn() { PQfinish(conn_); }

Error PgConn::ResultError(const PGresult* result, std::string_view sql) const {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string message = Trimmed(result != nullptr ? PQresultErrorMessage(result) : nullptr);
  if (message.empty()) message = Trimmed(PQerrorMessage(conn_));
  if (broken() || state == nullptr) {
    return Error::Unavailable("lost the PostgreSQL connection: " + message);
  }
  const std::string_view code(state);
  if (code == "23505" || code == "23503") return Error::Conflict(message);
  // Connection exceptions, shutdown, too many connections, deadlock and serialization
  // failures: the request may succeed if tried again.
  if (code.substr(0, 2) == "08" || code.substr(0, 3) == "57P" || code == "53300" ||
      code == "40001" || code == "40P01") {
    return Error::Unavailable("database unavailable: " + message);
  }
  return Error::Internal(message + " [" + std::string(code) + "] (in: " + detail::SqlHead(sql) +
                         ")");
}

Status PgConn::Control(const char* sql) {
  auto result = Wrap(PQexec(conn_, sql));
  const auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return ResultError(result.get(), sql);
  }
  return {};
}

Result<int64_t> PgConn::NextNumber(std::string_view counter) {
  if (counters_ == nullptr) return Conn::NextNumber(counter);
  auto number = counters_->Next(counter);
  if (!number) (void)Record(number.error());
  return number;
}

Result<int64_t> SideCounters::Next(std::string_view counter) {
  std::lock_guard lock(mu_);
  if (closed_) return Error::Unavailable("the database is closed");
  // A connection that broke while idle (server restart) fails once; a fresh one then answers.
  for (int attempt = 0;; ++attempt) {
    if (!conn_ || conn_->broken()) {
      conn_.reset();
      auto conn = PgConn::Connect(url_, schema_, false);
      if (!conn) return std::move(conn).error();
      // Its commits need not wait for their flush: see Conn::NextNumber.
      if (auto s = (*conn)->Control("SET synchronous_commit = off"); !s) {
        return std::move(s).error();
      }
      conn_ = std::move(*conn);
    }
    auto number = conn_->Conn::NextNumber(counter);
    if (number || attempt > 0 || !conn_->broken()) return number;
  }
}

void SideCounters::Close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  conn_.reset();
}

Status PgConn::Record(Status status) {
  if (!status && !work_error_) work_error_ = status.error();
  return status;
}

Result<const PgConn::Prepared*> PgConn::Prepare(std::string_view sql) {
  std::string key(sql);
  if (auto it = statements_.find(key); it != statements_.end()) return &it->second;
  Prepared prepared;
  prepared.name = "zw" + std::to_string(++next_statement_);
  // The server infers each parameter's type from the statement.
  auto result = Wrap(PQprepare(conn_, prepared.name.c_str(), key.c_str(), 0, nullptr));
  if (!result || PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
    return ResultError(result.get(), sql);
  }
  // The inferred types tell which text parameters are bytea and need hex encoding.
  auto described = Wrap(PQdescribePrepared(conn_, prepared.name.c_str()));
  if (!described || PQresultStatus(described.get()) != PGRES_COMMAND_OK) {
    return ResultError(described.get(), sql);
  }
  const int count = PQnparams(described.get());
  for (int i = 0; i < count; ++i) prepared.param_types.push_back(PQparamtype(described.get(), i));
  auto [it, inserted] = statements_.emplace(std::move(key), std::move(prepared));
  return &it->second;
}

Result<QueryResult> PgConn::Query(std::string_view sql, const Params& params) {
  auto result = Run(sql, params);
  if (!result) (void)Record(result.error());
  return result;
}

Result<QueryResult> PgConn::Run(std::string_view sql, const Params& params) {
  auto prepared = Prepare(sql);
  if (!prepared) return std::move(prepared).error();
  const Prepared& statement = **prepared;
  if (statement.param_types.size() != params.size()) {
    return Error::Internal("statement takes " + std::to_string(statement.param_types.size()) +
                           " parameters, got " + std::to_string(params.size()) +
                           " (in: " + detail::SqlHead(sql) + ")");
  }
  std::vector<std::string> texts(params.size());
  std::vector<const char*> values(params.size(), nullptr);
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Value& v = params[i];
    if (const auto* n = std::get_if<int64_t>(&v)) {
      texts[i] = std::to_string(*n);
    } else if (const auto* d = std::get_if<double>(&v)) {
      texts[i] = detail::FormatReal(*d);
    } else if (const auto* s = std::get_if<std::string>(&v)) {
      texts[i] = statement.param_types[i] == kByteaOid ? HexBytea(*s) : *s;
    } else {
      continue;  // NULL
    }
    values[i] = texts[i].c_str();
  }
  auto result = Wrap(PQexecPrepared(conn_, statement.name.c_str(), static_cast<int>(params.size()),
                                    values.data(), nullptr, nullptr, 0));
  const auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    Error error = ResultError(result.get(), sql);
    const char* state = result ? PQresultErrorField(result.get(), PG_DIAG_SQLSTATE) : nullptr;
    // A plan invalidated by a schema change ("cached plan must not change result type") or a
    // statement the server no longer has: prepare it afresh next time.
    if (state != nullptr &&
        (std::strcmp(state, "0A000") == 0 || std::strcmp(state, "26000") == 0)) {
      statements_.erase(std::string(sql));
    }
    return error;
  }
  QueryResult out;
  const int columns = PQnfields(result.get());
  const int rows = PQntuples(result.get());
  out.columns.reserve(columns);
  std::vector<Oid> types(columns);
  for (int c = 0; c < columns; ++c) {
    out.columns.emplace_back(PQfname(result.get(), c));
    types[c] = PQftype(result.get(), c);
  }
  out.rows.reserve(rows);
  for (int r = 0; r < rows; ++r) {
    std::vector<Value> row;
    row.reserve(columns);
    for (int c = 0; c < columns; ++c) {
      if (PQgetisnull(result.get(), r, c)) {
        row.emplace_back(std::monostate());
      } else {
        row.push_back(ConvertField(PQgetvalue(result.get(), r, c), PQgetlength(result.get(), r, c),
                                   types[c]));
      }
    }
    out.rows.emplace_back(std::move(row));
  }
  if (IsChangeCommand(PQcmdStatus(result.get()))) {
    const char* tuples = PQcmdTuples(result.get());
    std::from_chars(tuples, tuples + std::strlen(tuples), out.affected);
  }
  return out;
}

Status PgConn::ExecScript(std::string_view sql) {
  const std::string script(sql);
  return Record(Control(script.c_str()));
}

}  // namespace zhenwu::db::postgres
