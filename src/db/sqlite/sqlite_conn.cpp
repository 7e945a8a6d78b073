#include "db/sqlite/sqlite_conn.hpp"

#include <cctype>
#include <mutex>
#include <string>

#include "db/detail.hpp"
#include "db/sqlite/wal_buffer.hpp"

namespace zhenwu::db::sqlite {

namespace {

// Statements are written in the code, so the cache stays small; this bound only protects against
// SQL built at run time (e.g. IN lists of varying length).
constexpr std::size_t kMaxCachedStatements = 512;

bool OnlySpaceOrSemicolons(const char* tail) {
  for (; tail != nullptr && *tail != '\0'; ++tail) {
    if (*tail != ';' && std::isspace(static_cast<unsigned char>(*tail)) == 0) return false;
  }
  return true;
}

// The writer's page cache (KiB). SQLite's default is 2 MiB; the writer's cache stays valid
// from one transaction to the next (no other connection writes), so a large one keeps the index
// pages a create touches at random (ID-card and phone look-ups) in memory instead of re-reading
// them with a system call each. It grows only as pages are used.
constexpr int kWriterCacheKiB = 64 << 10;

// Process-wide settings, before SQLite initialises (the first open): no memory statistics,
// which otherwise take a global mutex on every allocation of every connection. If something
// opened a database first, SQLite refuses the setting and keeps its default.
void ConfigureSqlite() { (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }

Status Pragma(sqlite3* db, const std::string& sql) {
  char* message = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
  sqlite3_free(message);
  if (rc != SQLITE_OK) return MakeError(db, rc, sql);
  return {};
}

}  // namespace

Error MakeError(sqlite3* db, int rc, std::string_view what) {
  const int code = db != nullptr ? sqlite3_extended_errcode(db) : rc;
  std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (code) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_ROWID:
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return Error::Conflict(message);
    default:
      break;
  }
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_FULL:
      return Error::Unavailable("database unavailable: " + message);
    default:
      return Error::Internal(message + " (in: " + detail::SqlHead(what) + ")");
  }
}

Result<std::unique_ptr<SqliteConn>> SqliteConn::Open(const std::string& path, Role role,
                                                     const Options& options) {
  std::string synchronous = options.sqlite_synchronous;
  for (char& c : synchronous) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if ((role == Role::kWriter || role == Role::kCheckpointer) && synchronous != "FULL" &&
      synchronous != "NORMAL" && synchronous != "EXTRA") {
    return Error::Invalid("sqlite_synchronous", "must be FULL, NORMAL or EXTRA");
  }
  static std::once_flag configured;
  std::call_once(configured, ConfigureSqlite);
  sqlite3* db = nullptr;
  // Each connection is used by one thread at a time, so SQLite's own mutexes are not needed.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  // The writer syncs the WAL at every commit (FULL or EXTRA), so its WAL appends can wait in
  // memory for that sync and go out in one write (wal_buffer.hpp).
  const char* vfs = nullptr;
  if (role == Role::kWriter && synchronous != "NORMAL") vfs = WalBufferVfs();
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, vfs);
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Error::Unavailable("cannot open SQLite database " + path + ": " + message);
  }
  std::unique_ptr<SqliteConn> conn(new SqliteConn(db));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, options.sqlite_busy_timeout_ms);
  if (role == Role::kWriter) {
    // A file that is not a database fails here, on the first read of its header.
    auto mode = conn->Run("PRAGMA journal_mode=WAL", {});
    if (!mode) return std::move(mode).error();
    if (mode->rows.empty() || mode->rows[0].Text(0) != "wal") {
      return Error::Unavailable("SQLite database " + path + " cannot use WAL mode");
    }
    // temp_store: each job's SAVEPOINT journal stays in memory instead of a temporary file.
    // wal_autocheckpoint: the database folds the WAL back from its own checkpointer connection,
    // off the writer thread.
    for (const std::string& pragma :
         {std::string("PRAGMA foreign_keys=ON"), "PRAGMA synchronous=" + synchronous,
          std::string("PRAGMA temp_store=MEMORY"), std::string("PRAGMA wal_autocheckpoint=0"),
          "PRAGMA cache_size=-" + std::to_string(kWriterCacheKiB),
          "PRAGMA journal_size_limit=" + std::to_string(kJournalSizeLimitBytes)}) {
      if (auto s = Pragma(db, pragma); !s) return std::move(s).error();
    }
  } else if (role == Role::kReader) {
    for (const char* pragma : {"PRAGMA query_only=ON", "PRAGMA temp_store=MEMORY"}) {
      if (auto s = Pragma(db, pragma); !s) return std::move(s).error();
    }
  } else if (role == Role::kCheckpointer) {
    // A checkpoint syncs the WAL before copying it and the database file before the WAL may
    // be reused, as the writer's own checkpoints did.
    if (auto s = Pragma(db, "PRAGMA synchronous=" + synchronous); !s) return std::move(s).error();
  }
  return conn;
}

SqliteConn::~SqliteConn() {
  FinalizeAll();
  // sqlite3_close (not _v2) so that a leaked statement shows up as SQLITE_BUSY in tests rather
  // than as a zombie connection; the last close of the file checkpoints the WAL.
  sqlite3_close(db_);
}

void SqliteConn::FinalizeAll() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  statements_.clear();
}

Result<sqlite3_stmt*> SqliteConn::Prepare(std::string_view sql) {
  std::string key(sql);
  if (auto it = statements_.find(key); it != statements_.end()) return it->second;
  if (statements_.size() >= kMaxCachedStatements) FinalizeAll();
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
  if (rc != SQLITE_OK) return MakeError(db_, rc, sql);
  if (stmt == nullptr) return Error::Internal("empty statement");
  const char* end = sql.data() + sql.size();
  if (!OnlySpaceOrSemicolons(std::string(tail, end).c_str())) {
    sqlite3_finalize(stmt);
    return Error::Internal(
        "Query runs one statement; use ExecScript for several (in: " + detail::SqlHead(sql) + ")");
  }
  statements_.emplace(std::move(key), stmt);
  return stmt;
}

Result<QueryResult> SqliteConn::Query(std::string_view sql, const Params& params) {
  auto result = Run(sql, params);
  if (!result && !work_error_) work_error_ = result.error();
  return result;
}

Status SqliteConn::Control(std::string_view sql) {
  auto result = Run(sql, {});
  if (!result) return std::move(result).error();
  return {};
}

Result<QueryResult> SqliteConn::Run(std::string_view sql, const Params& params) {
  auto prepared = Prepare(sql);
  if (!prepared) return std::move(prepared).error();
  sqlite3_stmt* stmt = *prepared;
  // Leaves the cached statement ready for its next use, whatever happens below.
  struct ResetOnExit {
    sqlite3_stmt* stmt;
    ~ResetOnExit() {
      sqlite3_reset(stmt);
      sqlite3_clear_bindings(stmt);
    }
  } reset{stmt};

  const int expected = sqlite3_bind_parameter_count(stmt);
  if (expected != static_cast<int>(params.size())) {
    return Error::Internal("statement takes " + std::to_string(expected) + " parameters, got " +
                           std::to_string(params.size()) + " (in: " + detail::SqlHead(sql) + ")");
  }
  for (std::size_t i = 0; i < params.size(); ++i) {
    const std::string name = "$" + std::to_string(i + 1);
    const int index = sqlite3_bind_parameter_index(stmt, name.c_str());
    if (index == 0) {
      return Error::Internal("statement does not use " + name + " (in: " + detail::SqlHead(sql) +
                             ")");
    }
    const Value& v = params[i];
    int rc = SQLITE_OK;
    if (const auto* n = std::get_if<int64_t>(&v)) {
      rc = sqlite3_bind_int64(stmt, index, *n);
    } else if (const auto* d = std::get_if<double>(&v)) {
      rc = sqlite3_bind_double(stmt, index, *d);
    } else if (const auto* s = std::get_if<std::string>(&v)) {
      // The parameters outlive the statement's use: ResetOnExit clears the bindings.
      rc = sqlite3_bind_text64(stmt, index, s->data(), s->size(), SQLITE_STATIC, SQLITE_UTF8);
    } else {
      rc = sqlite3_bind_null(stmt, index);
    }
    if (rc != SQLITE_OK) return MakeError(db_, rc, sql);
  }

  QueryResult out;
  const int columns = sqlite3_column_count(stmt);
  out.columns.reserve(columns);
  for (int c = 0; c < columns; ++c) out.columns.emplace_back(sqlite3_column_name(stmt, c));
  const int64_t changes_before = sqlite3_total_changes64(db_);
  int rc = SQLITE_OK;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    std::vector<Value> values;
    values.reserve(columns);
    for (int c = 0; c < columns; ++c) {
      switch (sqlite3_column_type(stmt, c)) {
        case SQLITE_INTEGER:
          values.emplace_back(static_cast<int64_t>(sqlite3_column_int64(stmt, c)));
          break;
        case SQLITE_FLOAT:
          values.emplace_back(sqlite3_column_double(stmt, c));
          break;
        case SQLITE_TEXT:
        case SQLITE_BLOB: {
          // column_blob returns the bytes of either without conversion.
          const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt, c));
          const int size = sqlite3_column_bytes(stmt, c);
          values.emplace_back(std::string(data != nullptr ? data : "", size));
          break;
        }
        default:
          values.emplace_back(std::monostate());
      }
    }
    out.rows.emplace_back(std::move(values));
  }
  if (rc != SQLITE_DONE) return MakeError(db_, rc, sql);
  // sqlite3_changes keeps the count of the last INSERT/UPDATE/DELETE, so only trust it when
  // this statement changed something.
  if (sqlite3_total_changes64(db_) != changes_before) out.affected = sqlite3_changes64(db_);
  return out;
}

Status SqliteConn::ExecScript(std::string_view sql) {
  char* message = nullptr;
  const std::string script(sql);
  int rc = sqlite3_exec(db_, script.c_str(), nullptr, nullptr, &message);
  sqlite3_free(message);
  if (rc != SQLITE_OK) {
    Error error = MakeError(db_, rc, sql);
    if (!work_error_) work_error_ = error;
    return error;
  }
  return {};
}

}  // namespace zhenwu::db::sqlite
