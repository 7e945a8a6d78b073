// `zhenwu backup` / `restore` of a SQLite installation cover the database, the stored files and
// the people key: after losing the whole data folder, a restore brings back a file put before
// the backup and the key that opens the encrypted phones.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "app/app.hpp"
#include "app/backup.hpp"
#include "notify/notify.hpp"
#include "support/temp_dir.hpp"

namespace zhenwu::app {
namespace {

namespace fs = std::filesystem;

const std::string kScan = "%PDF-1.4\n营业执照扫描件\n%%EOF\n";

class BackupSiteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() / "data";
    config_.db = "sqlite:" + (data_ / "zhenwu.db").string();
    config_.data_dir = data_.string();
    config_.listen = "127.0.0.1:0";
    config_.access_log = false;
    backup_ = (dir_.path() / "backups" / "zhenwu-2026-11-30.db").string();
  }

  std::unique_ptr<App> Start() {
    auto app = App::Create(config_, clock_);
    EXPECT_TRUE(app) << app.error().message;
    return app ? std::move(app).value() : nullptr;
  }

  testing::TempDir dir_;
  fs::path data_;
  Config config_;
  FakeClock clock_{1796000400000};
  std::string backup_;
};

TEST_F(BackupSiteTest, RestoreAfterLosingTheDataFolderBringsBackFilesAndKey) {
  std::string sha;
  {
    auto app = Start();
    ASSERT_TRUE(app);
    auto put = app->files().Put(kScan);
    ASSERT_TRUE(put) << put.error().message;
    sha = put->sha256;
    auto queued = app->db().WriteSync<bool>([&](db::Conn& c) -> Result<bool> {
      notify::Message m{std::nullopt, "13800138000", "通知", "材料已收到", "", "ref:1"};
      if (auto s = notify::Enqueue(c, clock_, *app->people_keys(), m); !s) {
        return std::move(s).error();
      }
      return true;
    });
    ASSERT_TRUE(queued) << queued.error().message;
  }

  auto report = BackupSite(config_, backup_);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->files_copied, 1);
  EXPECT_TRUE(report->key_copied);
  const fs::path copy = BackupDataFolder(backup_);
  EXPECT_TRUE(fs::is_regular_file(copy / "files" / sha.substr(0, 2) / sha.substr(2, 2) / sha));
  EXPECT_TRUE(fs::is_regular_file(copy / "keys" / "people.key"));
  EXPECT_EQ(fs::status(copy / "keys" / "people.key").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  // Again to the same place: stored files never change, so nothing is copied twice.
  auto again = BackupSite(config_, backup_);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->files_copied, 0);

  fs::remove_all(data_);
  auto restored = RestoreSite(config_, backup_);
  ASSERT_TRUE(restored) << restored.error().message;
  EXPECT_EQ(restored->files_copied, 1);
  EXPECT_TRUE(restored->key_restored);
  EXPECT_EQ(restored->key_replaced, "");

  auto app = Start();  // the restored key matches the restored database
  ASSERT_TRUE(app);
  auto read = app->files().Read(sha);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(*read, kScan);
  auto phone = app->db().ReadSync<std::string>([&](db::Conn& c) -> Result<std::string> {
    auto row = c.QueryOne("SELECT phone_enc FROM notify_outbox");
    if (!row) return std::move(row).error();
    if (!*row) return Error::NotFound();
    return app->people_keys()->Decrypt((*row)->Text(0));
  });
  ASSERT_TRUE(phone) << phone.error().message;
  EXPECT_EQ(*phone, "13800138000");
}

TEST_F(BackupSiteTest, RestoreKeepsADifferentKeyFileAsideInsteadOfDeletingIt) {
  {
    auto app = Start();
    ASSERT_TRUE(app);
  }
  ASSERT_TRUE(BackupSite(config_, backup_));
  const fs::path key = data_ / "keys" / "people.key";
  std::ofstream(key, std::ios::trunc) << "# another installation's key\n";
  auto restored = RestoreSite(config_, backup_);
  ASSERT_TRUE(restored) << restored.error().message;
  EXPECT_TRUE(restored->key_restored);
  ASSERT_NE(restored->key_replaced, "");
  std::ifstream aside(restored->key_replaced);
  std::string first_line;
  std::getline(aside, first_line);
  EXPECT_EQ(first_line, "# another installation's key");
  EXPECT_TRUE(Start());
}

TEST_F(BackupSiteTest, ADamagedFileInTheBackupFailsTheRestoreLoudly) {
  std::string sha;
  {
    auto app = Start();
    ASSERT_TRUE(app);
    sha = app->files().Put(kScan)->sha256;
  }
  ASSERT_TRUE(BackupSite(config_, backup_));
  fs::remove_all(data_ / "files");
  const fs::path copied =
      fs::path(BackupDataFolder(backup_)) / "files" / sha.substr(0, 2) / sha.substr(2, 2) / sha;
  std::ofstream(copied, std::ios::binary | std::ios::trunc) << "%PDF-1.4 tampered";
  auto restored = RestoreSite(config_, backup_);
  ASSERT_FALSE(restored);
  EXPECT_EQ(restored.error().code, ErrorCode::kInternal);
  EXPECT_NE(restored.error().message.find("损坏"), std::string::npos);
}

TEST_F(BackupSiteTest, PostgresIsPointedToPgDumpAndTheFolders) {
  config_.db = "postgresql://zhenwu@127.0.0.1:1/none";
  auto backup = BackupSite(config_, backup_);
  ASSERT_FALSE(backup);
  EXPECT_EQ(backup.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(backup.error().message.find("pg_dump"), std::string::npos);
  EXPECT_NE(backup.error().message.find("files"), std::string::npos);
  auto restore = RestoreSite(config_, backup_);
  ASSERT_FALSE(restore);
  EXPECT_NE(restore.error().message.find("pg_restore"), std::string::npos);
}

}  // namespace
}  // namespace zhenwu::app
