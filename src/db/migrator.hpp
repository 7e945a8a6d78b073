#pragma once
// Migrations per module, recorded in schema_migrations(module, version, name, applied_at_ms).
// Each module ships src/<module>/migrations/NNNN_verb_object.sql, compiled into the binary.

#include <string>
#include <vector>

#include "core/clock.hpp"
#include "db/db.hpp"

namespace zhenwu::db {

struct Migration {
  std::string module;
  int version = 0;   // NNNN from the file name, 1-based and without gaps
  std::string name;  // verb_object from the file name
  std::string sql;   // may use the TranslateDdl tokens
};

// The migrations compiled in from src/<module>/migrations/*.sql, ordered by version.
std::vector<Migration> EmbeddedMigrations(const std::string& module);

// Applies, in order and each in its own transaction, every migration the database lacks.
// Refuses (kConflict, nothing applied) when the database records a version of a module higher
// than the binary knows, or a module the binary does not know: the database is newer than the
// binary. Fails with kInvalidInput on gaps or duplicate versions in `migrations`.
Status Migrate(Database& db, const std::vector<Migration>& migrations, const Clock& clock);

}  // namespace zhenwu::db
