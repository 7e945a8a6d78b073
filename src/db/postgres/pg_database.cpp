#include "db/postgres/pg_database.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "db/postgres/pg_conn.hpp"

namespace zhenwu::db::postgres {

namespace {

Status RunGuarded(const Database::Work& work, Conn& conn) {
  try {
    return work(conn);
  } catch (const std::exception& e) {
    return Error::Internal(std::string("database work threw: ") + e.what());
  } catch (...) {
    return Error::Internal("database work threw an unknown exception");
  }
}

void CallDone(const Database::Done& done, Status status) {
  try {
    done(std::move(status));
  } catch (const std::exception& e) {
    spdlog::error("database completion handler threw: {}", e.what());
  } catch (...) {
    spdlog::error("database completion handler threw an unknown exception");
  }
}

class PgDatabase final : public Database {
 public:
  PgDatabase(const Options& options, BlockingPool& pool)
      : options_(options), pool_(pool), counters_(options.url, options.pg_schema) {}
  ~PgDatabase() override { Close(); }

  // Opens the first connection, creating the schema if asked to.
  Status Start() {
    auto conn = PgConn::Connect(options_.url, options_.pg_schema, true);
    if (!conn) return std::move(conn).error();
    std::lock_guard lock(mu_);
    idle_.push_back(std::move(*conn));
    open_ = 1;
    return {};
  }

  Dialect dialect() const override { return Dialect::kPostgres; }
  void SubmitRead(Work work, Done done) override {
    Submit(false, std::move(work), std::move(done));
  }
  void SubmitWrite(Work work, Done done) override {
    Submit(true, std::move(work), std::move(done));
  }

  PoolStats Stats() const override {
    std::lock_guard lock(mu_);
    PoolStats stats;
    stats.connections = open_;
    stats.in_use = in_use_;
    stats.waits = waits_;
    stats.commits = commits_;
    stats.committed_jobs = commits_;
    stats.queued_writes = queued_writes_;
    return stats;
  }

  void Close() override {
    std::unique_lock lock(mu_);
    closing_ = true;
    drained_.wait(lock, [this] { return pending_ == 0; });
    idle_.clear();
    counters_.Close();
    open_ = 0;
  }

  Status BackupTo(const std::string&) override {
    return Error::Invalid("backup", "PostgreSQL is backed up with pg_dump, not by zhenwu");
  }

 private:
  void Submit(bool write, Work work, Done done) {
    {
      std::lock_guard lock(mu_);
      if (!closing_) {
        ++pending_;
        if (write) ++queued_writes_;
        asio::post(pool_.executor(), [this, write, work = std::move(work), done = std::move(done)] {
          CallDone(done, Run(write, work));
          std::lock_guard lock(mu_);
          --pending_;
          // Notified under the lock: once it is released, Close() may destroy this object.
          drained_.notify_all();
        });
        return;
      }
    }
    CallDone(done, Error::Unavailable("the database is closed"));
  }

  Result<std::unique_ptr<PgConn>> Checkout() {
    std::unique_lock lock(mu_);
    bool waited = false;
    while (true) {
      if (!idle_.empty()) {
        auto conn = std::move(idle_.back());
        idle_.pop_back();
        if (conn->broken()) {
          --open_;
          continue;
        }
        ++in_use_;
        return conn;
      }
      if (open_ < options_.read_connections) {
        ++open_;
        ++in_use_;
        lock.unlock();
        auto conn = PgConn::Connect(options_.url, options_.pg_schema, false);
        if (!conn) {
          lock.lock();
          --open_;
          --in_use_;
          available_.notify_one();
        }
        return conn;
      }
      if (!waited) ++waits_;
      waited = true;
      available_.wait(lock);
    }
  }

  void Checkin(std::unique_ptr<PgConn> conn) {
    // A connection left inside a transaction (or one that broke) is not lent out again.
    if (!conn->broken() && conn->transaction_status() != PQTRANS_IDLE) {
      (void)conn->Control("ROLLBACK");
    }
    const bool keep = !conn->broken() && conn->transaction_status() == PQTRANS_IDLE;
    std::lock_guard lock(mu_);
    --in_use_;
    if (keep) {
      idle_.push_back(std::move(conn));
    } else {
      --open_;
    }
    available_.notify_one();
  }

  Status Run(bool write, const Work& work) {
    // A connection that broke while idle (server restart) fails at BEGIN; one retry on a fresh
    // connection hides that, since nothing of the work has run yet.
    for (int attempt = 0;; ++attempt) {
      auto conn = Checkout();
      if (!conn) {
        if (write) Dequeued();
        return std::move(conn).error();
      }
      // Reads see one snapshot and cannot write, like SQLite's query_only readers.
      Status begun =
          (*conn)->Control(write ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      if (!begun && (*conn)->broken() && attempt == 0) {
        Checkin(std::move(*conn));
        continue;
      }
      if (write) Dequeued();
      // Only writes draw counter numbers; a read's attempt fails in its read-only transaction.
      (*conn)->set_counters(write ? &counters_ : nullptr);
      Status status = begun ? RunInTransaction(write, **conn, work) : begun;
      (*conn)->set_counters(nullptr);
      Checkin(std::move(*conn));
      return status;
    }
  }

  Status RunInTransaction(bool write, PgConn& conn, const Work& work) {
    conn.ClearWorkError();
    Status status = RunGuarded(work, conn);
    // After a failed statement PostgreSQL refuses everything until ROLLBACK, and COMMIT would
    // silently roll back: a write must fail with that statement's error.
    if (write && status && conn.work_error()) status = *conn.work_error();
    if (!status) {
      (void)conn.Control("ROLLBACK");
      return status;
    }
    if (auto committed = conn.Control("COMMIT"); !committed) return committed;
    if (write) {
      std::lock_guard lock(mu_);
      ++commits_;
    }
    return status;
  }

  void Dequeued() {
    std::lock_guard lock(mu_);
    --queued_writes_;
  }

  const Options options_;
  BlockingPool& pool_;
  SideCounters counters_;
  mutable std::mutex mu_;
  std::condition_variable available_;
  std::condition_variable drained_;
  std::vector<std::unique_ptr<PgConn>> idle_;
  int open_ = 0;
  int in_use_ = 0;
  int pending_ = 0;
  int queued_writes_ = 0;
  int64_t waits_ = 0;
  int64_t commits_ = 0;
  bool closing_ = false;
};

}  // namespace

Result<std::unique_ptr<Database>> OpenPostgres(const Options& options, BlockingPool& pool) {
  auto db = std::make_unique<PgDatabase>(options, pool);
  if (auto s = db->Start(); !s) return std::move(s).error();
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace zhenwu::db::postgres
