#include "db/sqlite/sqlite_database.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "db/sqlite/sqlite_conn.hpp"

namespace zhenwu::db::sqlite {

namespace {

namespace fs = std::filesystem;

// Runs a unit of work, turning an exception into an error so that one bad job cannot take the
// writer thread down.
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

Error Closed() { return Error::Unavailable("the database is closed"); }

// Checkpoints (folding the WAL back into the database file). The writer runs with
// wal_autocheckpoint=0, so a commit never waits for one. After each commit SQLite reports the
// frames in the WAL (OnWalCommit); from kCheckpointFrames on, and otherwise every
// kCheckpointEvery while there are commits, the checkpointer thread runs a PASSIVE checkpoint
// on its own connection: it copies the frames no reader still needs and never blocks the
// writer. SQLite starts the WAL over (and truncates it to kJournalSizeLimitBytes) only at a
// write that finds every frame copied, which a checkpoint racing a busy writer may never
// achieve; so from kWriterCheckpointFrames on the writer itself checkpoints between two
// transactions (copying only what the checkpointer has not) and its next write starts the WAL
// over. That bounds the WAL to about kWriterCheckpointFrames plus one group commit, except
// while a read transaction keeps an older snapshot: the frames after it cannot be copied, the
// WAL grows for as long as that read lasts, and starts over after it (the writer retries every
// kCheckpointFrames more frames).
constexpr int kCheckpointFrames = 1000;  // SQLite's own autocheckpoint default
constexpr int kWriterCheckpointFrames = 4 * kCheckpointFrames;
constexpr auto kCheckpointEvery = std::chrono::seconds(1);

// A PASSIVE checkpoint through `db`. Returns whether it ran (SQLITE_BUSY: another checkpoint
// was running).
bool CheckpointPassive(sqlite3* db) {
  const int rc =
      sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  if (rc == SQLITE_OK) return true;
  if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) {
    spdlog::warn("SQLite WAL checkpoint failed: {}", sqlite3_errmsg(db));
  }
  return false;
}

// fsync of a file or a folder, so that a rename survives power loss.
Status SyncPath(const fs::path& path, bool directory) {
  int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return Error::Unavailable("cannot open " + path.string() + " to sync it");
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Error::Unavailable("cannot sync " + path.string());
  return {};
}

// Copies every page of `from` into `to` in one step, so the copy is one consistent snapshot even
// while another connection keeps writing.
Status CopyDatabase(sqlite3* from, sqlite3* to) {
  sqlite3_backup* backup = sqlite3_backup_init(to, "main", from, "main");
  if (backup == nullptr) return MakeError(to, sqlite3_errcode(to), "backup");
  int rc = SQLITE_OK;
  for (int attempt = 0; attempt < 100; ++attempt) {
    rc = sqlite3_backup_step(backup, -1);
    if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) {
    return MakeError(nullptr, rc == SQLITE_OK ? SQLITE_INTERNAL : rc, "backup step");
  }
  return {};
}

class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(const Options& options, std::string path, BlockingPool& pool)
      : options_(options), path_(std::move(path)), pool_(pool) {}
  ~SqliteDatabase() override { Close(); }

  Status Start() {
    auto writer = SqliteConn::Open(path_, Role::kWriter, options_);
    if (!writer) return std::move(writer).error();
    writer_ = std::move(*writer);
    sqlite3_wal_hook(writer_->handle(), &SqliteDatabase::OnWalCommit, this);
    auto checkpointer = SqliteConn::Open(path_, Role::kCheckpointer, options_);
    if (!checkpointer) return std::move(checkpointer).error();
    checkpointer_ = std::move(*checkpointer);
    for (int i = 0; i < options_.read_connections; ++i) {
      auto reader = SqliteConn::Open(path_, Role::kReader, options_);
      if (!reader) return std::move(reader).error();
      idle_readers_.push_back(std::move(*reader));
    }
    readers_open_ = options_.read_connections;
    writer_open_ = true;
    writer_thread_ = std::thread([this] { WriterLoop(); });
    checkpoint_thread_ = std::thread([this] { CheckpointLoop(); });
    return {};
  }

  Dialect dialect() const override { return Dialect::kSqlite; }

  void SubmitRead(Work work, Done done) override {
    {
      std::lock_guard lock(readers_mu_);
      if (!closing_) {
        ++pending_reads_;
        asio::post(pool_.executor(), [this, work = std::move(work), done = std::move(done)] {
          CallDone(done, RunRead(work));
          std::lock_guard lock(readers_mu_);
          --pending_reads_;
          // Notified under the lock: once it is released, Close() may destroy this object.
          readers_cv_.notify_all();
        });
        return;
      }
    }
    CallDone(done, Closed());
  }

  void SubmitWrite(Work work, Done done) override {
    {
      std::lock_guard lock(writes_mu_);
      if (!stopping_writer_) {
        write_queue_.push_back({std::move(work), std::move(done)});
        writes_cv_.notify_one();
        return;
      }
    }
    CallDone(done, Closed());
  }

  PoolStats Stats() const override {
    PoolStats stats;
    {
      std::lock_guard lock(readers_mu_);
      stats.connections = readers_open_ + (writer_open_ ? 1 : 0);
      stats.in_use = readers_open_ - static_cast<int>(idle_readers_.size());
      stats.waits = reader_waits_;
    }
    {
      std::lock_guard lock(writes_mu_);
      stats.queued_writes = static_cast<int>(write_queue_.size());
    }
    stats.in_use += writer_busy_.load() ? 1 : 0;
    stats.commits = commits_.load();
    stats.committed_jobs = committed_jobs_.load();
    stats.checkpoints = checkpoints_.load();
    stats.wal_frames = wal_frames_.load();
    return stats;
  }

  void Close() override {
    std::lock_guard close_lock(close_mu_);
    {
      std::lock_guard lock(writes_mu_);
      stopping_writer_ = true;
      writes_cv_.notify_all();
    }
    if (writer_thread_.joinable()) writer_thread_.join();
    {
      std::lock_guard lock(checkpoint_mu_);
      stopping_checkpointer_ = true;
      checkpoint_cv_.notify_all();
    }
    if (checkpoint_thread_.joinable()) checkpoint_thread_.join();
    checkpointer_.reset();
    {
      std::unique_lock lock(readers_mu_);
      closing_ = true;
      readers_cv_.wait(lock, [this] { return pending_reads_ == 0; });
      idle_readers_.clear();
      readers_open_ = 0;
      writer_open_ = false;
    }
    // The last connection to close checkpoints the WAL into the database file.
    writer_.reset();
  }

  Status BackupTo(const std::string& path) override {
    {
      std::lock_guard lock(readers_mu_);
      if (closing_) return Closed();
    }
    const fs::path target = fs::absolute(path);
    if (target == fs::absolute(path_)) {
      return Error::Invalid("path", "the backup must not overwrite the database itself");
    }
    std::error_code ec;
    if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
    const fs::path temp = target.string() + ".tmp";
    fs::remove(temp, ec);

    auto source = SqliteConn::Open(path_, Role::kReader, options_);
    if (!source) return std::move(source).error();
    {
      auto copy = SqliteConn::Open(temp.string(), Role::kPlain, options_);
      if (!copy) return std::move(copy).error();
      if (auto s = CopyDatabase((*source)->handle(), (*copy)->handle()); !s) {
        copy->reset();
        fs::remove(temp, ec);
        return s;
      }
      // A backup is one self-contained file: no -wal beside it is needed to read it.
      if (auto s = (*copy)->Control("PRAGMA journal_mode=DELETE"); !s) {
        copy->reset();
        fs::remove(temp, ec);
        return s;
      }
    }
    if (auto s = SyncPath(temp, false); !s) return s;
    fs::rename(temp, target, ec);
    if (ec) return Error::Unavailable("cannot rename the backup to " + path + ": " + ec.message());
    return SyncPath(target.parent_path(), true);
  }

 private:
  struct WriteJob {
    Work work;
    Done done;
  };

  std::unique_ptr<SqliteConn> CheckoutReader() {
    std::unique_lock lock(readers_mu_);
    if (idle_readers_.empty()) {
      ++reader_waits_;
      readers_cv_.wait(lock, [this] { return !idle_readers_.empty(); });
    }
    auto conn = std::move(idle_readers_.back());
    idle_readers_.pop_back();
    return conn;
  }

  void ReturnReader(std::unique_ptr<SqliteConn> conn) {
    std::lock_guard lock(readers_mu_);
    idle_readers_.push_back(std::move(conn));
    readers_cv_.notify_all();
  }

  // One read transaction, so that all the statements of the work see the same snapshot.
  Status RunRead(const Work& work) {
    auto conn = CheckoutReader();
    Status status = conn->Control("BEGIN");
    if (status) status = RunGuarded(work, *conn);
    if (conn->in_transaction() && !conn->Control("COMMIT")) (void)conn->Control("ROLLBACK");
    ReturnReader(std::move(conn));
    return status;
  }

  void WriterLoop() {
    std::vector<WriteJob> batch;
    while (true) {
      {
        std::unique_lock lock(writes_mu_);
        writes_cv_.wait(lock, [this] { return !write_queue_.empty() || stopping_writer_; });
        if (write_queue_.empty()) return;
        // Whatever queued up while the last commit was syncing goes into this one.
        while (!write_queue_.empty() && batch.size() < static_cast<size_t>(options_.max_batch)) {
          batch.push_back(std::move(write_queue_.front()));
          write_queue_.pop_front();
        }
      }
      writer_busy_ = true;
      std::vector<Status> outcome = RunBatch(batch);
      writer_busy_ = false;
      // Only now, with the commit durable, does any caller hear back.
      for (std::size_t i = 0; i < batch.size(); ++i) CallDone(batch[i].done, std::move(outcome[i]));
      batch.clear();
      CheckpointIfFarBehind();
    }
  }

  // Called by SQLite on the writer thread after each commit, with the frames now in the WAL.
  static int OnWalCommit(void* self, sqlite3*, const char*, int frames) {
    static_cast<SqliteDatabase*>(self)->WalGrew(frames);
    return SQLITE_OK;
  }

  void WalGrew(int frames) {
    wal_frames_ = frames;
    wrote_since_checkpoint_ = true;
    if (frames >= kCheckpointFrames && !checkpoint_wanted_.exchange(true)) {
      std::lock_guard lock(checkpoint_mu_);
      checkpoint_cv_.notify_one();
    }
  }

  void CheckpointLoop() {
    std::unique_lock lock(checkpoint_mu_);
    while (true) {
      checkpoint_cv_.wait_for(lock, kCheckpointEvery, [this] {
        return stopping_checkpointer_ || checkpoint_wanted_.load();
      });
      if (stopping_checkpointer_) return;
      checkpoint_wanted_ = false;
      if (!wrote_since_checkpoint_.exchange(false)) continue;
      lock.unlock();
      if (CheckpointPassive(checkpointer_->handle())) ++checkpoints_;
      lock.lock();
    }
  }

  // On the writer thread between transactions: see kWriterCheckpointFrames.
  void CheckpointIfFarBehind() {
    const int frames = wal_frames_.load();
    if (frames < kWriterCheckpointFrames) {
      writer_checkpoint_at_ = kWriterCheckpointFrames;
      return;
    }
    if (frames < writer_checkpoint_at_) return;
    writer_checkpoint_at_ = frames + kCheckpointFrames;
    if (CheckpointPassive(writer_->handle())) ++checkpoints_;
  }

  // Runs one job inside its own savepoint, so that a failure rolls back only its changes; or,
  // when it is the only job of its transaction (`alone`), without one: a failure then rolls back
  // the whole transaction, which holds nothing else. Returns the job's status. in_transaction()
  // is false afterwards if a lone job failed, or if SQLite itself abandoned the transaction (I/O
  // error, disk full).
  Status RunJob(const WriteJob& job, bool alone) {
    SqliteConn& conn = *writer_;
    conn.ClearWorkError();
    if (!alone) {
      if (auto s = conn.Control("SAVEPOINT zw_job"); !s) return s;
    }
    Status status = RunGuarded(job.work, conn);
    if (status && conn.work_error()) status = *conn.work_error();
    if (!conn.in_transaction()) {
      return status ? Status(Error::Unavailable("the transaction was rolled back")) : status;
    }
    if (alone) {
      if (!status) (void)conn.Control("ROLLBACK");
      return status;
    }
    if (status) {
      if (auto s = conn.Control("RELEASE zw_job"); s) return status;
      status = Error::Internal("cannot release the job's savepoint");
    }
    if (!conn.Control("ROLLBACK TO zw_job") || !conn.Control("RELEASE zw_job")) {
      // The savepoint is unusable: give up the whole transaction rather than guess.
      (void)conn.Control("ROLLBACK");
    }
    return status;
  }

  // Runs the jobs in as few transactions as possible (one, unless SQLite abandons one) and
  // returns each job's outcome.
  std::vector<Status> RunBatch(const std::vector<WriteJob>& jobs) {
    SqliteConn& conn = *writer_;
    std::vector<Status> outcome(jobs.size());
    std::size_t next = 0;
    while (next < jobs.size()) {
      const std::size_t first = next;
      if (auto s = conn.Control("BEGIN IMMEDIATE"); !s) {
        for (; next < jobs.size(); ++next) outcome[next] = s;
        break;
      }
      bool lost = false;
      for (; next < jobs.size() && !lost; ++next) {
        outcome[next] = RunJob(jobs[next], jobs.size() - first == 1);
        lost = !conn.in_transaction();
      }
      Status committed;
      if (lost) {
        committed = Error::Unavailable("the database rolled back the transaction");
      } else {
        committed = conn.Control("COMMIT");
        if (!committed && conn.in_transaction()) (void)conn.Control("ROLLBACK");
      }
      int64_t acknowledged = 0;
      for (std::size_t i = first; i < next; ++i) {
        if (!outcome[i]) continue;
        if (committed) {
          ++acknowledged;
        } else {
          outcome[i] = committed;
        }
      }
      if (committed) {
        ++commits_;
        committed_jobs_ += acknowledged;
      }
    }
    return outcome;
  }

  const Options options_;
  const std::string path_;
  BlockingPool& pool_;
  std::mutex close_mu_;

  mutable std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<SqliteConn>> idle_readers_;
  int readers_open_ = 0;
  bool writer_open_ = false;
  int pending_reads_ = 0;
  int64_t reader_waits_ = 0;
  bool closing_ = false;

  mutable std::mutex writes_mu_;
  std::condition_variable writes_cv_;
  std::deque<WriteJob> write_queue_;
  bool stopping_writer_ = false;
  std::unique_ptr<SqliteConn> writer_;
  std::thread writer_thread_;
  std::atomic<bool> writer_busy_{false};
  std::atomic<int64_t> commits_{0};
  std::atomic<int64_t> committed_jobs_{0};

  std::unique_ptr<SqliteConn> checkpointer_;
  std::thread checkpoint_thread_;
  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  bool stopping_checkpointer_ = false;
  std::atomic<bool> checkpoint_wanted_{false};
  std::atomic<bool> wrote_since_checkpoint_{false};
  std::atomic<int> wal_frames_{0};
  std::atomic<int64_t> checkpoints_{0};
  int writer_checkpoint_at_ = kWriterCheckpointFrames;  // writer thread only
};

}  // namespace

Result<std::unique_ptr<Database>> OpenSqlite(const Options& options, const std::string& path,
                                             BlockingPool& pool) {
  std::error_code ec;
  const fs::path file(path);
  if (file.has_parent_path()) {
    fs::create_directories(file.parent_path(), ec);
    if (ec) {
      return Error::Unavailable("cannot create the folder " + file.parent_path().string() + ": " +
                                ec.message());
    }
  }
  auto db = std::make_unique<SqliteDatabase>(options, path, pool);
  if (auto s = db->Start(); !s) return std::move(s).error();
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace zhenwu::db::sqlite
