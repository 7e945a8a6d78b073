// What only the SQLite backend does: pragmas, online backup, restore.

#include <gtest/gtest.h>

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <thread>
#include <utility>

#include "db/backup.hpp"
#include "db/migrator.hpp"
#include "db/sqlite/sqlite_conn.hpp"
#include "db/sqlite/wal_buffer.hpp"
#include "support/db_fixture.hpp"

namespace zhenwu::db {
namespace {

namespace fs = std::filesystem;
using zhenwu::testing::Backend;
using zhenwu::testing::TestDatabase;

std::unique_ptr<TestDatabase> MakeSqlite(const std::function<void(Options&)>& customize = {}) {
  auto t = TestDatabase::Create(Backend::kSqlite, customize);
  EXPECT_TRUE(t) << t.error().message;
  return t ? std::move(*t) : nullptr;
}

Result<QueryResult> Write(Database& db, std::string_view sql, const Params& params = {}) {
  return db.WriteSync<QueryResult>([&](Conn& c) { return c.Query(sql, params); });
}

Result<QueryResult> Read(Database& db, std::string_view sql, const Params& params = {}) {
  return db.ReadSync<QueryResult>([&](Conn& c) { return c.Query(sql, params); });
}

// Reads a file with the C API directly, read-only, so the check itself changes nothing.
struct RawFile {
  sqlite3* db = nullptr;
  explicit RawFile(const fs::path& path) {
    sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  }
  ~RawFile() { sqlite3_close(db); }
  std::vector<std::string> Column(const char* sql) {
    std::vector<std::string> out;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) return {"error"};
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      const auto* text = sqlite3_column_text(stmt, 0);
      out.emplace_back(text ? reinterpret_cast<const char*>(text) : "NULL");
    }
    sqlite3_finalize(stmt);
    return out;
  }
};

TEST(SqliteTest, FileIsWalWithFullSyncAndForeignKeys) {
  auto t = MakeSqlite();
  ASSERT_TRUE(t);
  auto mode = Read(t->db(), "PRAGMA journal_mode");
  ASSERT_TRUE(mode) << mode.error().message;
  EXPECT_EQ(mode->rows.at(0).Text(0), "wal");
  auto sync = Write(t->db(), "PRAGMA synchronous");
  ASSERT_TRUE(sync) << sync.error().message;
  EXPECT_EQ(sync->rows.at(0).Int(0), 2) << "FULL: an acknowledged write survives power loss";
  auto fk = Write(t->db(), "PRAGMA foreign_keys");
  ASSERT_TRUE(fk);
  EXPECT_EQ(fk->rows.at(0).Int(0), 1);
  auto readonly = Read(t->db(), "PRAGMA query_only");
  ASSERT_TRUE(readonly);
  EXPECT_EQ(readonly->rows.at(0).Int(0), 1);
}

TEST(SqliteTest, CloseCheckpointsTheWal) {
  auto t = MakeSqlite();
  ASSERT_TRUE(t);
  ASSERT_TRUE(Write(t->db(), "CREATE TABLE n (v INTEGER)"));
  ASSERT_TRUE(Write(t->db(), "INSERT INTO n (v) VALUES (1)"));
  const std::string path = t->options().url.substr(7);
  EXPECT_TRUE(fs::exists(path + "-wal"));
  t->db().Close();
  EXPECT_FALSE(fs::exists(path + "-wal")) << "every connection closed, WAL folded back";
  EXPECT_EQ(t->db().Stats().connections, 0);
  RawFile raw(path);
  EXPECT_EQ(raw.Column("SELECT v FROM n"), std::vector<std::string>{"1"});
}

TEST(SqliteTest, WriterKeepsItsJournalsInMemoryAndLeavesCheckpointsToTheCheckpointer) {
  auto t = MakeSqlite();
  ASSERT_TRUE(t);
  auto writer =
      t->db().WriteSync<std::vector<int64_t>>([](Conn& c) -> Result<std::vector<int64_t>> {
        std::vector<int64_t> out;
        for (const char* sql :
             {"PRAGMA temp_store", "PRAGMA wal_autocheckpoint", "PRAGMA journal_size_limit",
              "PRAGMA synchronous", "PRAGMA cache_size"}) {
          auto r = c.QueryOne(sql);
          if (!r) return std::move(r).error();
          out.push_back((*r)->Int(0));
        }
        return out;
      });
  ASSERT_TRUE(writer) << writer.error().message;
  EXPECT_EQ(*writer, (std::vector<int64_t>{2, 0, sqlite::kJournalSizeLimitBytes, 2, -65536}))
      << "temp_store=MEMORY, no autocheckpoint, journal_size_limit, synchronous=FULL, 64 MiB "
         "page cache";
  auto reader = Read(t->db(), "PRAGMA temp_store");
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->rows.at(0).Int(0), 2);
}

// Write jobs of `kib` KiB each until `done` holds after a write (or 20 s pass).
bool WriteUntil(Database& db, int kib, const std::function<bool()>& done) {
  const std::string payload(static_cast<std::size_t>(kib) * 1024, 'w');
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!Write(db, "INSERT INTO blobs (b) VALUES ($1)", {payload})) return false;
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TEST(SqliteTest, CheckpointsRunOffTheWriterAndTheWalStartsOver) {
  auto t = MakeSqlite();
  ASSERT_TRUE(t);
  ASSERT_TRUE(Write(t->db(), "CREATE TABLE blobs (id INTEGER PRIMARY KEY, b TEXT NOT NULL)"));
  // About 2,000 frames: past the point where the checkpointer is woken. The WAL grows between
  // checkpoints (none runs inside a commit); the checkpointer's once-a-second run may start it
  // over during the loop on a slow machine, so the largest size seen is what is checked.
  int64_t most_frames = 0;
  for (int i = 0; i < 125; ++i) {
    ASSERT_TRUE(Write(t->db(), "INSERT INTO blobs (b) VALUES ($1)", {std::string(64 * 1024, 'a')}));
    most_frames = std::max(most_frames, t->db().Stats().wal_frames);
  }
  EXPECT_GT(most_frames, 500);
  // Once checkpointed, a later write starts the WAL over from its beginning.
  EXPECT_TRUE(WriteUntil(t->db(), 1, [&] { return t->db().Stats().wal_frames < 100; }))
      << "the WAL still holds " << t->db().Stats().wal_frames << " frames";
  EXPECT_GT(t->db().Stats().checkpoints, 0);
  auto count = Read(t->db(), "SELECT COUNT(*) FROM blobs");
  ASSERT_TRUE(count);
  EXPECT_GE(count->rows.at(0).Int(0), 125);
}

// A read transaction keeps its snapshot, so the frames written after it start stay in the WAL;
// once it ends the WAL starts over and its file is cut back to the journal size limit.
TEST(SqliteTest, AnOldSnapshotHoldsTheWalOnlyWhileItLasts) {
  auto t = MakeSqlite();
  ASSERT_TRUE(t);
  ASSERT_TRUE(Write(t->db(), "CREATE TABLE blobs (id INTEGER PRIMARY KEY, b TEXT NOT NULL)"));
  const std::string path = t->options().url.substr(7);
  sqlite3* reader = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &reader, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(reader, "BEGIN; SELECT COUNT(*) FROM blobs;", nullptr, nullptr, nullptr),
            SQLITE_OK);
  // About 24 MB: beyond the writer's own checkpoint threshold and the journal size limit.
  for (int i = 0; i < 96; ++i)
    ASSERT_TRUE(
        Write(t->db(), "INSERT INTO blobs (b) VALUES ($1)", {std::string(256 * 1024, 'a')}));
  EXPECT_GT(t->db().Stats().wal_frames, 5000);
  EXPECT_GT(static_cast<int64_t>(fs::file_size(path + "-wal")), sqlite::kJournalSizeLimitBytes);
  ASSERT_EQ(sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(reader);
  EXPECT_TRUE(WriteUntil(t->db(), 1,
                         [&] {
                           return t->db().Stats().wal_frames < 100 &&
                                  static_cast<int64_t>(fs::file_size(path + "-wal")) <=
                                      sqlite::kJournalSizeLimitBytes;
                         }))
      << "the WAL still holds " << t->db().Stats().wal_frames << " frames, "
      << fs::file_size(path + "-wal") << " bytes";
}

// Counts the rows of `table` and their bytes in a copy of the database and its WAL taken now,
// opened the way SQLite opens a file after a power cut: it replays the WAL frames whose
// checksums hold and stops at the first that does not.
std::pair<int64_t, int64_t> RowsInACopy(const TestDatabase& t, const std::string& name) {
  const std::string path = t.options().url.substr(7);
  const fs::path copy = t.temp_dir() / name;
  fs::copy_file(path, copy);
  fs::copy_file(path + "-wal", copy.string() + "-wal");
  sqlite3* db = nullptr;
  std::pair<int64_t, int64_t> out{-1, -1};
  if (sqlite3_open_v2(copy.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT COUNT(*), TOTAL(LENGTH(b)) FROM blobs", -1, &stmt,
                           nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      out = {sqlite3_column_int64(stmt, 0), static_cast<int64_t>(sqlite3_column_double(stmt, 1))};
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return out;
}

// The writer's WAL appends wait in memory for the commit's sync and go out together
// (wal_buffer.hpp): far fewer writes than SQLite asked for, and every frame of an acknowledged
// commit in the file by then, whole (the copy replays all of them).
TEST(SqliteTest, WalAppendsGoOutTogetherAtTheCommitSync) {
  auto t = MakeSqlite();
  ASSERT_TRUE(t);
  ASSERT_TRUE(Write(t->db(), "CREATE TABLE blobs (id INTEGER PRIMARY KEY, b TEXT NOT NULL)"));
  const sqlite::WalBufferCounts before = sqlite::WalBufferStats();
  // Some 200 pages, each a frame header and a page for SQLite.
  auto wrote = t->db().WriteSync<int>([](Conn& c) -> Result<int> {
    for (int i = 0; i < 200; ++i) {
      auto r = c.Exec("INSERT INTO blobs (b) VALUES ($1)",
                      {std::string(3000, static_cast<char>('a' + i % 26))});
      if (!r) return std::move(r).error();
    }
    return 200;
  });
  ASSERT_TRUE(wrote) << wrote.error().message;
  const sqlite::WalBufferCounts after = sqlite::WalBufferStats();
  EXPECT_GE(after.appends - before.appends, 400);
  EXPECT_LE(after.writes - before.writes, 16) << "one write per 64 KiB of frames";
  EXPECT_EQ(RowsInACopy(*t, "copy.db"), std::make_pair(int64_t{200}, int64_t{200 * 3000}));
  auto count = Read(t->db(), "SELECT COUNT(*) FROM blobs");
  ASSERT_TRUE(count);
  EXPECT_EQ(count->rows.at(0).Int(0), 200);
}

// A transaction larger than what is held in memory (16 MiB) writes as it goes; a job rolled back
// after writing that much leaves nothing behind, and the jobs before and after it are whole.
TEST(SqliteTest, LargeAndRolledBackTransactionsThroughTheWalBuffer) {
  auto t = MakeSqlite();
  ASSERT_TRUE(t);
  ASSERT_TRUE(Write(t->db(), "CREATE TABLE blobs (id INTEGER PRIMARY KEY, b TEXT NOT NULL)"));
  const std::string mib(1 << 20, 'm');
  auto insert = [&](int rows, bool fail) {
    return t->db().WriteSync<int>([&](Conn& c) -> Result<int> {
      for (int i = 0; i < rows; ++i) {
        if (auto r = c.Exec("INSERT INTO blobs (b) VALUES ($1)", {mib}); !r) {
          return std::move(r).error();
        }
      }
      if (fail) return Error::Invalid("b", "rolled back on purpose");
      return rows;
    });
  };
  ASSERT_TRUE(insert(20, false));
  EXPECT_FALSE(insert(20, true));
  ASSERT_TRUE(insert(2, false));
  EXPECT_EQ(RowsInACopy(*t, "copy.db"), std::make_pair(int64_t{22}, int64_t{22} << 20));
  auto count = Read(t->db(), "SELECT COUNT(*), SUM(LENGTH(b)) FROM blobs");
  ASSERT_TRUE(count);
  EXPECT_EQ(count->rows.at(0).Int(0), 22);
  EXPECT_EQ(count->rows.at(0).Int(1), int64_t{22} << 20);
}

// With synchronous=NORMAL SQLite does not sync the WAL at a commit, so nothing may wait for a
// sync: the writer writes through the default VFS.
TEST(SqliteTest, WalAppendsAreNotHeldWithoutASyncAtEachCommit) {
  auto t = MakeSqlite([](Options& o) { o.sqlite_synchronous = "NORMAL"; });
  ASSERT_TRUE(t);
  const sqlite::WalBufferCounts before = sqlite::WalBufferStats();
  ASSERT_TRUE(Write(t->db(), "CREATE TABLE blobs (id INTEGER PRIMARY KEY, b TEXT NOT NULL)"));
  ASSERT_TRUE(Write(t->db(), "INSERT INTO blobs (b) VALUES ($1)", {std::string(9000, 'n')}));
  EXPECT_EQ(sqlite::WalBufferStats().appends, before.appends);
  EXPECT_EQ(RowsInACopy(*t, "copy.db"), std::make_pair(int64_t{1}, int64_t{9000}));
}

TEST(SqliteTest, SynchronousNormalOnRequestAndNonsenseRefused) {
  auto t = MakeSqlite([](Options& o) { o.sqlite_synchronous = "normal"; });
  ASSERT_TRUE(t);
  auto sync = Write(t->db(), "PRAGMA synchronous");
  ASSERT_TRUE(sync);
  EXPECT_EQ(sync->rows.at(0).Int(0), 1);

  Options bad;
  bad.url = "sqlite:" + (t->temp_dir() / "other.db").string();
  bad.sqlite_synchronous = "SOMETIMES";
  BlockingPool pool(1);
  auto opened = Open(bad, pool);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::kInvalidInput);
}

TEST(SqliteTest, CreatesMissingParentFolders) {
  auto t = MakeSqlite();
  ASSERT_TRUE(t);
  BlockingPool pool(1);
  Options options;
  const fs::path file = t->temp_dir() / "a" / "b" / "town.db";
  options.url = "sqlite:" + file.string();
  auto opened = Open(options, pool);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_TRUE((*opened)->Ping());
  (*opened)->Close();
  EXPECT_TRUE(fs::exists(file));
}

TEST(SqliteTest, NotADatabaseFailsToOpen) {
  auto t = MakeSqlite();
  ASSERT_TRUE(t);
  const fs::path file = t->temp_dir() / "junk.db";
  std::ofstream(file) << "this is not a database, just some text that is long enough........"
                         "..................................................................";
  BlockingPool pool(1);
  Options options;
  options.url = "sqlite:" + file.string();
  auto opened = Open(options, pool);
  ASSERT_FALSE(opened);
}

TEST(SqliteTest, GroupCommitUnderLoad) {
  auto t = MakeSqlite();
  ASSERT_TRUE(t);
  ASSERT_TRUE(Write(t->db(), "CREATE TABLE n (v INTEGER)"));
  const PoolStats before = t->db().Stats();
  constexpr int kWriters = 32, kEach = 10;
  zhenwu::testing::RunConcurrently(kWriters, [&](int w) -> asio::awaitable<void> {
    for (int i = 0; i < kEach; ++i) {
      auto r = co_await t->db().Write<int64_t>(
          [&](Conn& c) { return c.Exec("INSERT INTO n (v) VALUES ($1)", {int64_t{w}}); });
      EXPECT_TRUE(r);
    }
  });
  const PoolStats after = t->db().Stats();
  EXPECT_EQ(after.committed_jobs - before.committed_jobs, kWriters * kEach);
  EXPECT_LT(after.commits - before.commits, (kWriters * kEach) / 2);
}

TEST(SqliteTest, MaxBatchBoundsABatch) {
  auto t = MakeSqlite([](Options& o) { o.max_batch = 1; });
  ASSERT_TRUE(t);
  ASSERT_TRUE(Write(t->db(), "CREATE TABLE n (v INTEGER)"));
  const PoolStats before = t->db().Stats();
  zhenwu::testing::RunConcurrently(16, [&](int w) -> asio::awaitable<void> {
    auto r = co_await t->db().Write<int64_t>(
        [&](Conn& c) { return c.Exec("INSERT INTO n (v) VALUES ($1)", {int64_t{w}}); });
    EXPECT_TRUE(r);
  });
  EXPECT_EQ(t->db().Stats().commits - before.commits, 16);
}

// A writer keeps inserting while the backup runs: the copy must be one consistent moment, i.e.
// rows 1..k with the counter table saying k.
TEST(SqliteTest, BackupWhileWritingIsConsistent) {
  auto t = MakeSqlite();
  ASSERT_TRUE(t);
  ASSERT_TRUE(Write(t->db(), "CREATE TABLE seq (n INTEGER PRIMARY KEY, payload TEXT NOT NULL)"));
  ASSERT_TRUE(Write(t->db(), "CREATE TABLE total (k INTEGER NOT NULL)"));
  ASSERT_TRUE(Write(t->db(), "INSERT INTO total (k) VALUES (0)"));
  std::atomic<bool> stop{false};
  std::atomic<int64_t> written{0};
  std::thread writer([&] {
    const std::string payload(2000, 'x');  // spread the rows over many pages
    for (int64_t n = 1; !stop; ++n) {
      auto r = t->db().WriteSync<bool>([&](Conn& c) -> Result<bool> {
        if (auto s = c.Exec("INSERT INTO seq (n, payload) VALUES ($1, $2)", {n, payload}); !s) {
          return std::move(s).error();
        }
        if (auto s = c.Exec("UPDATE total SET k = $1", {n}); !s) return std::move(s).error();
        return true;
      });
      if (!r) break;
      written = n;
    }
  });
  while (written < 200) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const fs::path backup = t->temp_dir() / "backups" / "zhenwu-backup.db";
  Status status = t->db().BackupTo(backup.string());
  const int64_t at_end = written;
  while (written < at_end + 50) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  stop = true;
  writer.join();
  ASSERT_TRUE(status) << status.error().message;

  EXPECT_FALSE(fs::exists(backup.string() + "-wal"));
  EXPECT_FALSE(fs::exists(backup.string() + ".tmp"));
  RawFile raw(backup);
  EXPECT_EQ(raw.Column("PRAGMA integrity_check"), std::vector<std::string>{"ok"});
  EXPECT_EQ(raw.Column("PRAGMA journal_mode"), std::vector<std::string>{"delete"});
  const auto count = raw.Column("SELECT COUNT(*) FROM seq");
  const auto max = raw.Column("SELECT COALESCE(MAX(n), 0) FROM seq");
  const auto total = raw.Column("SELECT k FROM total");
  ASSERT_EQ(count.size(), 1u);
  EXPECT_EQ(count, max) << "rows 1..k without holes";
  EXPECT_EQ(count, total) << "both tables from the same moment";
  EXPECT_GE(std::stoll(count[0]), 200);
  EXPECT_LT(std::stoll(count[0]), written.load());
}

TEST(SqliteTest, BackupRefusesToOverwriteItselfAndWhenClosed) {
  auto t = MakeSqlite();
  ASSERT_TRUE(t);
  auto self = t->db().BackupTo((t->temp_dir() / "zhenwu.db").string());
  ASSERT_FALSE(self);
  EXPECT_EQ(self.error().code, ErrorCode::kInvalidInput);
  t->db().Close();
  auto closed = t->db().BackupTo((t->temp_dir() / "b.db").string());
  ASSERT_FALSE(closed);
  EXPECT_EQ(closed.error().code, ErrorCode::kUnavailable);
}

class RestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    t_ = MakeSqlite();
    ASSERT_TRUE(t_);
    FakeClock clock(0);
    ASSERT_TRUE(Migrate(t_->db(), EmbeddedMigrations("core"), clock));
    ASSERT_TRUE(Write(
        t_->db(), "INSERT INTO core_settings (key, value, updated_at_ms) VALUES ('a', '1', 0)"));
    backup_ = t_->temp_dir() / "backup.db";
    ASSERT_TRUE(t_->db().BackupTo(backup_.string()));
    ASSERT_TRUE(Write(
        t_->db(), "INSERT INTO core_settings (key, value, updated_at_ms) VALUES ('b', '2', 0)"));
    path_ = t_->options().url.substr(7);
  }

  std::vector<std::string> Keys(const fs::path& db_path) {
    RawFile raw(db_path);
    return raw.Column("SELECT key FROM core_settings ORDER BY key");
  }

  std::unique_ptr<TestDatabase> t_;
  fs::path backup_;
  fs::path path_;
};

TEST_F(RestoreTest, RoundTrip) {
  t_->db().Close();
  EXPECT_EQ(Keys(path_), (std::vector<std::string>{"a", "b"}));
  auto restored = RestoreSqlite(backup_.string(), path_.string());
  ASSERT_TRUE(restored) << restored.error().message;
  EXPECT_EQ(Keys(path_), std::vector<std::string>{"a"});
  // The server opens the restored file as usual and writes to it.
  ASSERT_TRUE(t_->Reopen());
  auto mode = Read(t_->db(), "PRAGMA journal_mode");
  ASSERT_TRUE(mode);
  EXPECT_EQ(mode->rows.at(0).Text(0), "wal");
  EXPECT_TRUE(Write(t_->db(),
                    "INSERT INTO core_settings (key, value, updated_at_ms) VALUES ('c', '3', 0)"));
  auto keys = Read(t_->db(), "SELECT COUNT(*) FROM core_settings");
  ASSERT_TRUE(keys);
  EXPECT_EQ(keys->rows.at(0).Int(0), 2);
}

TEST_F(RestoreTest, IntoANewFolder) {
  const fs::path fresh = t_->temp_dir() / "new" / "place" / "zhenwu.db";
  auto restored = RestoreSqlite(backup_.string(), fresh.string());
  ASSERT_TRUE(restored) << restored.error().message;
  EXPECT_EQ(Keys(fresh), std::vector<std::string>{"a"});
}

TEST_F(RestoreTest, RejectsWhatIsNotABackup) {
  t_->db().Close();
  const fs::path text = t_->temp_dir() / "notes.txt";
  std::ofstream(text) << std::string(5000, 'z');
  auto r = RestoreSqlite(text.string(), path_.string());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);

  r = RestoreSqlite((t_->temp_dir() / "missing.db").string(), path_.string());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);

  // A real SQLite database, but not one of ours.
  const fs::path foreign = t_->temp_dir() / "foreign.db";
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(foreign.c_str(), &db), SQLITE_OK);
    sqlite3_exec(db, "CREATE TABLE t (x); INSERT INTO t VALUES (1);", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  r = RestoreSqlite(foreign.string(), path_.string());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(r.error().message.find("schema_migrations"), std::string::npos) << r.error().message;

  EXPECT_EQ(Keys(path_), (std::vector<std::string>{"a", "b"})) << "the database is untouched";
}

}  // namespace
}  // namespace zhenwu::db
