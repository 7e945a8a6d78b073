#pragma once
// Migrations per module, recorded in schema_migrations(module, version, name, applied_at_ms).
// Each module ships src/<module>/migrations/NNNN_verb_object.sql, compiled into the binary.
// A migration holds plain DDL/DML (no BEGIN/COMMIT: the migrator owns the transaction) and may
// use the TranslateDdl tokens ({{id}}, {{bigint}}, {{blob}}, {{real}}, {{text_c}}).

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

// The migrations compiled in from src/<module>/migrations/*.sql, ordered by version. A file whose
// name is not NNNN_verb_object.sql comes back with version 0, which Migrate rejects.
std::vector<Migration> EmbeddedMigrations(const std::string& module);
// The migrations of several modules, module after module in the order given (dependencies
// first, e.g. {"core", "org", "services"}).
std::vector<Migration> EmbeddedMigrationsOf(const std::vector<std::string>& modules);

// Applies, in order and each in its own transaction (together with its schema_migrations row),
// every migration the database lacks; modules in the order they first appear in `migrations`,
// each module's versions ascending. Pass the migrations of every module the binary has at once:
// refuses (kConflict, nothing applied) when the database records a version of a module higher
// than `migrations` holds, or a module `migrations` does not hold: the database is newer than
// the binary. Fails with kInvalidInput on gaps, duplicate versions or badly named files in
// `migrations`, and with the failing statement's error (naming the migration) when one fails.
// Safe to run from several processes at once on PostgreSQL (an advisory lock serialises them).
Status Migrate(Database& db, const std::vector<Migration>& migrations, const Clock& clock);

}  // namespace zhenwu::db
