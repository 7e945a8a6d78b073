#include <chrono>
#include <filesystem>
#include <system_error>
#include <thread>

#include "db/backup.hpp"
#include "db/sqlite/sqlite_conn.hpp"

namespace zhenwu::db {

namespace {

// Opens the backup without ever writing to it.
Result<sqlite3*> OpenBackup(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) {
    return Error::Invalid("backup", "no backup file at " + path);
  }
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_close(db);
    return Error::Invalid("backup", "cannot open " + path + " as a SQLite database");
  }
  return db;
}

// The first column of each row of a parameterless statement, or an error.
Result<std::vector<std::string>> Column(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
  std::vector<std::string> out;
  if (rc == SQLITE_OK) {
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      const auto* text = sqlite3_column_text(stmt, 0);
      out.emplace_back(text != nullptr ? reinterpret_cast<const char*>(text) : "");
    }
  }
  std::string message = sqlite3_errmsg(db);
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) return Error::Internal(message);
  return out;
}

}  // namespace

Status RestoreSqlite(const std::string& backup_path, const std::string& db_path) {
  auto opened = OpenBackup(backup_path);
  if (!opened) return std::move(opened).error();
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> backup(*opened, sqlite3_close);

  auto check = Column(backup.get(), "PRAGMA integrity_check");
  if (!check) {
    return Error::Invalid(
        "backup", backup_path + " is not a readable SQLite database: " + check.error().message);
  }
  if (check->size() != 1 || check->front() != "ok") {
    return Error::Invalid("backup", backup_path + " is damaged: " +
                                        (check->empty() ? std::string("?") : check->front()));
  }
  auto tables = Column(backup.get(),
                       "SELECT name FROM sqlite_master WHERE type = 'table' AND "
                       "name = 'schema_migrations'");
  if (!tables || tables->empty()) {
    return Error::Invalid("backup", backup_path + " is not a zhenwu backup (no schema_migrations)");
  }

  std::error_code ec;
  const std::filesystem::path target(db_path);
  if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path(), ec);
  Options options;
  auto dest = sqlite::SqliteConn::Open(db_path, sqlite::Role::kPlain, options);
  if (!dest) return std::move(dest).error();
  sqlite3_backup* copy = sqlite3_backup_init((*dest)->handle(), "main", backup.get(), "main");
  if (copy == nullptr) {
    return sqlite::MakeError((*dest)->handle(), sqlite3_errcode((*dest)->handle()), "restore");
  }
  int rc = SQLITE_OK;
  for (int attempt = 0; attempt < 20; ++attempt) {
    rc = sqlite3_backup_step(copy, -1);
    if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  sqlite3_backup_finish(copy);
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
    return Error::Unavailable(db_path + " is in use: stop the server before restoring");
  }
  if (rc != SQLITE_DONE) {
    return sqlite::MakeError((*dest)->handle(), rc, "restore");
  }
  return {};
}

}  // namespace zhenwu::db
