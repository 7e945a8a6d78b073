#pragma once
// One small database interface with two backends: SQLite (embedded, one town on one PC) and
// PostgreSQL (a county or city). SQL is written once with $1..$n placeholders; both backends
// prepare each distinct statement once per connection and cache it. Values are null, 64-bit
// integers, doubles or text (times are integer UTC epoch milliseconds).
//
// Work runs off the IO threads: Read() on the blocking pool with a pooled connection, Write() in
// a transaction that is durable before the awaiting coroutine resumes. On SQLite all writes go
// through one writer thread that commits the transactions of several waiting requests together
// (group commit); each job of a shared transaction runs inside its own SAVEPOINT so one job's
// failure rolls back only that job (a job alone in its transaction needs none).

#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/blocking_pool.hpp"
#include "core/result.hpp"

namespace zhenwu::db {

enum class Dialect { kSqlite, kPostgres };

using Value = std::variant<std::monostate, int64_t, double, std::string>;
using Params = std::vector<Value>;

class Row {
 public:
  Row() = default;
  explicit Row(std::vector<Value> values) : values_(std::move(values)) {}
  std::size_t size() const { return values_.size(); }
  bool IsNull(std::size_t i) const;
  // Typed access; a null reads as 0 / "" (use IsNull or the Opt* forms where null matters).
  // Integers stored as text (PostgreSQL NUMERIC) and text holding digits convert.
  int64_t Int(std::size_t i) const;
  double Real(std::size_t i) const;
  std::string Text(std::size_t i) const;
  std::optional<int64_t> OptInt(std::size_t i) const;
  std::optional<std::string> OptText(std::size_t i) const;
  const Value& operator[](std::size_t i) const { return values_.at(i); }
  const std::vector<Value>& values() const { return values_; }

 private:
  std::vector<Value> values_;
};

struct QueryResult {
  std::vector<std::string> columns;
  std::vector<Row> rows;
  int64_t affected = 0;  // rows changed by INSERT/UPDATE/DELETE
};

// A connection lent to one piece of work. Used by one thread at a time; never kept after the
// work function returns.
class Conn {
 public:
  virtual ~Conn() = default;
  virtual Dialect dialect() const = 0;
  // Runs one statement with $1..$n parameters (prepared once per connection, cached by text).
  // Fails with kConflict on a unique/foreign-key violation, kUnavailable when the database is
  // unreachable, kInternal otherwise; the message names the constraint where the backend does.
  virtual Result<QueryResult> Query(std::string_view sql, const Params& params = {}) = 0;
  // Runs several statements without parameters (migrations). Not prepared.
  virtual Status ExecScript(std::string_view sql) = 0;

  // The next number of the named counter (1, 2, 3 … per name; table core_counters), for readable
  // numbers such as a case number's sequence. SQLite draws it in the caller's transaction, so the
  // numbers have no gaps (there is one writer anyway). PostgreSQL draws it in a short
  // transaction of its own on a side connection, committed without waiting for its WAL flush:
  // concurrent writers then do not queue behind the counter's row lock until each one's commit is
  // on disk. The caller's durable commit flushes that earlier WAL too, so a committed number is
  // never handed out again after a crash; a number whose transaction rolls back is skipped.
  virtual Result<int64_t> NextNumber(std::string_view counter);

  // Conveniences over Query.
  Result<int64_t> Exec(std::string_view sql, const Params& params = {});
  Result<std::optional<Row>> QueryOne(std::string_view sql, const Params& params = {});
};

struct Options {
  std::string url;                          // "sqlite:PATH" | "postgresql://…" | "postgres://…"
  std::string sqlite_synchronous = "FULL";  // FULL (durable on power loss) | NORMAL
  int sqlite_busy_timeout_ms = 5000;
  int read_connections = 4;  // SQLite readers / PostgreSQL pool size
  int max_batch = 256;       // SQLite group commit: most jobs committed together
  // PostgreSQL only: create this schema if missing and put it first on the search_path of every
  // connection (the tests give each test its own schema).
  std::string pg_schema;
};

struct PoolStats {
  int connections = 0;         // open connections
  int in_use = 0;              // lent out right now
  int64_t waits = 0;           // times work waited for a free connection
  int64_t commits = 0;         // transactions committed (SQLite: batches)
  int64_t committed_jobs = 0;  // write jobs acknowledged (>= commits under group commit)
  int queued_writes = 0;       // write jobs waiting for the writer
  int64_t checkpoints = 0;     // SQLite: WAL checkpoints run (PostgreSQL: 0)
  int64_t wal_frames = 0;      // SQLite: frames in the WAL after the last commit
};

class Database {
 public:
  // The type-erased unit of work. A write job that returns an error is rolled back alone.
  using Work = std::function<Status(Conn&)>;
  // Called once the work is done (and, for writes, committed or rolled back), on a backend thread.
  using Done = std::function<void(Status)>;

  virtual ~Database() = default;
  virtual Dialect dialect() const = 0;
  // Work must not submit further work and wait for it (a write waiting on a write would wait on
  // itself: there is one writer).
  virtual void SubmitRead(Work work, Done done) = 0;
  virtual void SubmitWrite(Work work, Done done) = 0;
  virtual PoolStats Stats() const = 0;
  // Waits for queued work, then closes every connection. Further submissions fail with
  // kUnavailable. Call it before joining the BlockingPool (queued reads run there). Idempotent.
  virtual void Close() = 0;
  // SQLite online backup of the live database to `path` (consistent while serving).
  // PostgreSQL: kInvalidInput, use pg_dump.
  virtual Status BackupTo(const std::string& path) = 0;

  // Runs fn with a connection on a backend thread and resumes the caller on its executor. All of
  // fn's statements run in one read-only transaction, so they see one snapshot.
  //
  // Read and Write are plain functions, not coroutines, and take the callable by reference: they
  // move it into the pending operation at once. g++ 12 may destroy a temporary of a co_await
  // expression twice (a by-value argument built from a capturing lambda was freed twice);
  // a moved-from temporary survives that.
  template <class T, class Fn>
  asio::awaitable<Result<T>> Read(Fn&& fn) {
    return Await<T>(false, std::function<Result<T>(Conn&)>(std::forward<Fn>(fn)));
  }
  // Runs fn in a transaction; the result arrives only after the commit is durable. An error
  // returned by fn (or a failed commit) rolls back fn's changes. So does a statement that failed
  // inside fn even if fn went on and returned success (PostgreSQL aborts the transaction there;
  // SQLite is made to agree): the write fails with that statement's error. Expected duplicates
  // are handled with INSERT … ON CONFLICT, not by ignoring an error.
  template <class T, class Fn>
  asio::awaitable<Result<T>> Write(Fn&& fn) {
    return Await<T>(true, std::function<Result<T>(Conn&)>(std::forward<Fn>(fn)));
  }
  // Blocking forms for the command line, migrations and tests (never on an IO thread).
  template <class T>
  Result<T> ReadSync(std::function<Result<T>(Conn&)> fn) {
    return Sync<T>(false, std::move(fn));
  }
  template <class T>
  Result<T> WriteSync(std::function<Result<T>(Conn&)> fn) {
    return Sync<T>(true, std::move(fn));
  }
  // "SELECT 1" through a read connection.
  Status Ping();

 private:
  template <class T>
  struct Slot {
    std::optional<Result<T>> result;
  };
  template <class T>
  static Work Wrap(std::shared_ptr<Slot<T>> slot, std::function<Result<T>(Conn&)> fn) {
    return [slot, fn = std::move(fn)](Conn& c) -> Status {
      slot->result.emplace(fn(c));
      if (slot->result->ok()) return {};
      return slot->result->error();
    };
  }
  template <class T>
  static Result<T> Finish(Slot<T>& slot, Status done) {
    if (!done.ok() && (!slot.result || slot.result->ok())) return std::move(done).error();
    if (!slot.result) return Error::Internal("database work did not run");
    return std::move(*slot.result);
  }
  template <class T>
  asio::awaitable<Result<T>> Await(bool write, std::function<Result<T>(Conn&)> fn);
  template <class T>
  Result<T> Sync(bool write, std::function<Result<T>(Conn&)> fn);
};

// Opens the backend named by options.url. Errors name what is wrong with the URL or why the
// connection failed.
Result<std::unique_ptr<Database>> Open(const Options& options, BlockingPool& pool);

// Rewrites the few dialect tokens used in migrations:
//   {{id}}     -> INTEGER PRIMARY KEY AUTOINCREMENT | BIGINT GENERATED BY DEFAULT AS IDENTITY
//                 PRIMARY KEY  (both never reuse the id of a deleted row)
//   {{bigint}} -> INTEGER | BIGINT          {{blob}} -> BLOB | BYTEA
//   {{real}}   -> REAL | DOUBLE PRECISION
//   {{text_c}} -> TEXT | TEXT COLLATE "C"  (bytewise comparison on both, e.g. for path ranges)
std::string TranslateDdl(Dialect dialect, std::string_view sql);

}  // namespace zhenwu::db

#include "db/db_impl.hpp"  // IWYU pragma: keep
