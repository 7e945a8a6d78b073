#pragma once
// `zhenwu backup PATH` and `zhenwu restore PATH` for a SQLite installation: the database and
// what the database needs beside it.
//
//   PATH                       the SQLite database (online backup, consistent while serving)
//   PATH.data/files/ab/cd/…    the content-addressed file store (<data_dir>/files)
//   PATH.data/keys/people.key  the key of the encrypted personal data (<data_dir>/keys)
//
// The database is copied first and the files after it: a file is stored before the row that
// refers to it commits, so every file the copied database names is already there. Stored files
// never change, so a repeated backup to the same PATH copies only new files.
// PostgreSQL installations back up the database with pg_dump and copy <data_dir>/files and
// <data_dir>/keys themselves (docs/files.md).

#include <cstdint>
#include <string>

#include "core/config.hpp"
#include "core/result.hpp"

namespace zhenwu::app {

// "PATH.data": where the files and keys of the backup at `path` go.
std::string BackupDataFolder(const std::string& path);

struct BackupReport {
  int64_t files_copied = 0;
  bool key_copied = false;  // false when there is no key file yet (no personal data stored)
};

// Writes the backup described above. Fails with kInvalidInput for PostgreSQL (pg_dump), with
// the database's error, or kUnavailable naming what could not be copied.
Result<BackupReport> BackupSite(const Config& config, const std::string& path);

struct RestoreReport {
  int64_t files_copied = 0;
  bool key_restored = false;
  std::string key_replaced;  // the path the differing old key file was moved to, if any
};

// Replaces the database with the backup at `path` (db::RestoreSqlite: checked first, the server
// must be stopped), then copies the backup's files that <data_dir>/files lacks (each checked
// against its hash) and puts the backup's people.key in place; a different key file already
// there is kept as people.key.replaced-<epoch seconds>. Fails like RestoreSqlite, or with
// kInternal when a file in the backup is damaged.
Result<RestoreReport> RestoreSite(const Config& config, const std::string& path);

}  // namespace zhenwu::app
