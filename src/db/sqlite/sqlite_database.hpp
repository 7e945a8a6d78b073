#pragma once
// The SQLite backend (see db.hpp): readers on the blocking pool, one writer thread with group
// commit, online backup.

#include <memory>
#include <string>

#include "db/db.hpp"

namespace zhenwu::db::sqlite {

// Opens (creating it and its folder if missing) the database file at `path`.
Result<std::unique_ptr<Database>> OpenSqlite(const Options& options, const std::string& path,
                                             BlockingPool& pool);

}  // namespace zhenwu::db::sqlite
