#pragma once
// Restoring a SQLite database from a file written by Database::BackupTo (`zhenwu restore`).
// PostgreSQL is backed up and restored with pg_dump / pg_restore.

#include <string>

#include "core/result.hpp"

namespace zhenwu::db {

// Replaces the SQLite database at `db_path` with the backup at `backup_path`, using SQLite's
// backup API so the copy is written as one transaction (and the folder is created if missing).
// The server must not be running on db_path: a running server would keep serving from caches
// built on the old data. Checks first that the backup opens, passes PRAGMA integrity_check and
// holds a schema_migrations table; otherwise fails with kInvalidInput and leaves db_path alone.
// Fails with kUnavailable when db_path cannot be opened or stays locked.
Status RestoreSqlite(const std::string& backup_path, const std::string& db_path);

}  // namespace zhenwu::db
