#pragma once
// One libpq connection: statements prepared once per connection under generated names,
// parameters sent as text, results converted by column type, SQLSTATEs mapped to our codes.

#include <libpq-fe.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "db/db.hpp"

namespace zhenwu::db::postgres {

class SideCounters;

class PgConn final : public Conn {
 public:
  // Connects to `url` (a postgresql:// URL); with a non-empty `schema`, puts it first on the
  // search_path, creating it first when `create_schema`. Fails with kInvalidInput for a URL
  // libpq cannot parse and kUnavailable when the server cannot be reached or refuses us.
  static Result<std::unique_ptr<PgConn>> Connect(const std::string& url, const std::string& schema,
                                                 bool create_schema);
  ~PgConn() override;
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  Dialect dialect() const override { return Dialect::kPostgres; }
  Result<QueryResult> Query(std::string_view sql, const Params& params = {}) override;
  Status ExecScript(std::string_view sql) override;
  // From `counters` when the pool has set one for a write, else in this transaction.
  Result<int64_t> NextNumber(std::string_view counter) override;
  void set_counters(SideCounters* counters) { counters_ = counters; }

  // Runs a statement of the backend itself (BEGIN, COMMIT …) with the simple protocol; its
  // failure is not recorded as the work's error.
  Status Control(const char* sql);
  // The first statement that failed since ClearWorkError() (see SqliteConn::work_error).
  const std::optional<Error>& work_error() const { return work_error_; }
  void ClearWorkError() { work_error_.reset(); }
  bool broken() const { return PQstatus(conn_) != CONNECTION_OK; }
  PGTransactionStatusType transaction_status() const { return PQtransactionStatus(conn_); }

 private:
  struct Prepared {
    std::string name;
    std::vector<Oid> param_types;
  };
  explicit PgConn(PGconn* conn) : conn_(conn) {}
  Result<const Prepared*> Prepare(std::string_view sql);
  Result<QueryResult> Run(std::string_view sql, const Params& params);
  Error ResultError(const PGresult* result, std::string_view sql) const;
  Status Record(Status status);

  PGconn* conn_;
  std::unordered_map<std::string, Prepared> statements_;
  int64_t next_statement_ = 0;
  std::optional<Error> work_error_;
  SideCounters* counters_ = nullptr;
};

// The side connection a pool's writers draw counter numbers from (see Conn::NextNumber): one
// statement per number, each its own transaction with synchronous_commit off, one at a time.
// Connects on first use and again after the connection breaks.
class SideCounters {
 public:
  SideCounters(std::string url, std::string schema)
      : url_(std::move(url)), schema_(std::move(schema)) {}
  Result<int64_t> Next(std::string_view counter);
  // Closes the connection; a later Next fails with kUnavailable.
  void Close();

 private:
  const std::string url_;
  const std::string schema_;
  std::mutex mu_;
  std::unique_ptr<PgConn> conn_;
  bool closed_ = false;
};

}  // namespace zhenwu::db::postgres
