#pragma once
// One SQLite connection: opening with the pragmas zhenwu relies on, a per-connection cache of
// prepared statements, $1..$n parameters bound by name, and SQLite result codes mapped to ours.

#include <sqlite3.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "db/db.hpp"

namespace zhenwu::db::sqlite {

// Maps the last error on `db` (result code `rc`) to an Error: unique, primary-key and
// foreign-key violations -> kConflict; busy, locked, I/O, cannot-open and disk-full ->
// kUnavailable; everything else kInternal. `what` says what was being done.
Error MakeError(sqlite3* db, int rc, std::string_view what);

// Once every frame of the WAL is folded into the database file, the next write starts the WAL
// over from its beginning and truncates a file larger than this (journal_size_limit).
inline constexpr int64_t kJournalSizeLimitBytes = int64_t{16} << 20;

enum class Role {
  // The one connection that writes: WAL, foreign keys, synchronous as configured, temporary
  // storage (the savepoint journal of each job) in memory, no automatic checkpoints (see
  // sqlite_database.cpp), a 64 MiB page cache, and its WAL appends written together at each
  // commit's sync (wal_buffer.hpp) unless synchronous is NORMAL.
  kWriter,
  kReader,        // query_only, temporary storage in memory
  kCheckpointer,  // folds the WAL into the database file: synchronous as configured
  kPlain,         // backup and restore: busy timeout only
};

class SqliteConn final : public Conn {
 public:
  // Opens `path` (creating the file for kWriter and kPlain). Fails with kUnavailable when the
  // file cannot be opened and kInvalidInput for a bad synchronous setting.
  static Result<std::unique_ptr<SqliteConn>> Open(const std::string& path, Role role,
                                                  const Options& options);
  ~SqliteConn() override;
  SqliteConn(const SqliteConn&) = delete;
  SqliteConn& operator=(const SqliteConn&) = delete;

  Dialect dialect() const override { return Dialect::kSqlite; }
  Result<QueryResult> Query(std::string_view sql, const Params& params = {}) override;
  Status ExecScript(std::string_view sql) override;

  // Runs a statement of the backend itself (BEGIN, SAVEPOINT, PRAGMA …); its failure is not
  // recorded as the work's error.
  Status Control(std::string_view sql);
  // The first statement that failed since ClearWorkError(). A write job that ignores such an
  // error still fails with it, as it would on PostgreSQL, where the error aborts the transaction.
  const std::optional<Error>& work_error() const { return work_error_; }
  void ClearWorkError() { work_error_.reset(); }
  bool in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }
  sqlite3* handle() const { return db_; }

 private:
  explicit SqliteConn(sqlite3* db) : db_(db) {}
  Result<sqlite3_stmt*> Prepare(std::string_view sql);
  Result<QueryResult> Run(std::string_view sql, const Params& params);
  void FinalizeAll();

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
  std::optional<Error> work_error_;
};

}  // namespace zhenwu::db::sqlite
