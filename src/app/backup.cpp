#include "app/backup.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/blocking_pool.hpp"
#include "db/backup.hpp"
#include "db/db.hpp"
#include "files/file_store.hpp"

namespace zhenwu::app {

namespace {

namespace fs = std::filesystem;

std::string SqlitePath(const Config& config) {
  return config.db.rfind("sqlite:", 0) == 0 ? config.db.substr(7) : std::string();
}

fs::path KeyFile(const fs::path& data_dir) { return data_dir / "keys" / "people.key"; }

Result<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::Unavailable("无法读取 " + path.string());
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Copies a key file: folder 0700, file 0600, written to a temp file, synced and renamed.
Status CopyKey(const fs::path& from, const fs::path& to) {
  auto bytes = ReadFile(from);
  if (!bytes) return std::move(bytes).error();
  std::error_code ec;
  fs::create_directories(to.parent_path(), ec);
  fs::permissions(to.parent_path(), fs::perms::owner_all, ec);
  const fs::path temp = to.string() + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Error::Unavailable("无法写入 " + temp.string());
  const bool written =
      ::write(fd, bytes->data(), bytes->size()) == static_cast<ssize_t>(bytes->size()) &&
      ::fsync(fd) == 0;
  ::close(fd);
  if (!written || ::rename(temp.c_str(), to.c_str()) != 0) {
    ::unlink(temp.c_str());
    return Error::Unavailable("无法写入 " + to.string());
  }
  return {};
}

}  // namespace

std::string BackupDataFolder(const std::string& path) { return path + ".data"; }

Result<BackupReport> BackupSite(const Config& config, const std::string& path) {
  if (SqlitePath(config).empty()) {
    return Error::Invalid("database.url",
                          "PostgreSQL 数据库请用 pg_dump 备份，并另行复制数据目录下的 files 和 "
                          "keys 文件夹（见 docs/files.md）");
  }
  BlockingPool pool(1);
  db::Options options;
  options.url = config.db;
  options.read_connections = 1;
  auto db = db::Open(options, pool);
  if (!db) return std::move(db).error();
  auto status = (*db)->BackupTo(path);
  (*db)->Close();
  if (!status) return std::move(status).error();

  BackupReport report;
  const fs::path data_dir(config.data_dir);
  const fs::path target(BackupDataFolder(path));
  auto copied = files::CopyMissing(data_dir / "files", target / "files", false);
  if (!copied) return std::move(copied).error();
  report.files_copied = *copied;
  std::error_code ec;
  if (fs::exists(KeyFile(data_dir), ec)) {
    if (auto s = CopyKey(KeyFile(data_dir), KeyFile(target)); !s) return std::move(s).error();
    report.key_copied = true;
  }
  return report;
}

Result<RestoreReport> RestoreSite(const Config& config, const std::string& path) {
  const std::string db_path = SqlitePath(config);
  if (db_path.empty()) {
    return Error::Invalid("database.url",
                          "PostgreSQL 数据库请用 pg_restore 恢复，并另行复制 files 和 keys "
                          "文件夹（见 docs/files.md）");
  }
  if (auto s = db::RestoreSqlite(path, db_path); !s) return std::move(s).error();

  RestoreReport report;
  const fs::path data_dir(config.data_dir);
  const fs::path source(BackupDataFolder(path));
  auto copied = files::CopyMissing(source / "files", data_dir / "files", true);
  if (!copied) return std::move(copied).error();
  report.files_copied = *copied;

  std::error_code ec;
  const fs::path key = KeyFile(source);
  if (!fs::exists(key, ec)) return report;
  auto wanted = ReadFile(key);
  if (!wanted) return std::move(wanted).error();
  const fs::path live = KeyFile(data_dir);
  if (fs::exists(live, ec)) {
    auto current = ReadFile(live);
    if (current && *current == *wanted) return report;
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    report.key_replaced = live.string() + ".replaced-" + std::to_string(now);
    fs::rename(live, report.key_replaced, ec);
    if (ec) return Error::Unavailable("无法移开原密钥文件 " + live.string() + "：" + ec.message());
  }
  if (auto s = CopyKey(key, live); !s) return std::move(s).error();
  report.key_restored = true;
  return report;
}

}  // namespace zhenwu::app
