#pragma once
// The PostgreSQL backend (see db.hpp): a lazily filled pool of libpq connections used from the
// blocking pool for reads and writes alike.

#include <memory>

#include "db/db.hpp"

namespace zhenwu::db::postgres {

// Checks the URL, connects once (so a wrong URL or an unreachable server fails here) and creates
// options.pg_schema if it is set and missing.
Result<std::unique_ptr<Database>> OpenPostgres(const Options& options, BlockingPool& pool);

}  // namespace zhenwu::db::postgres
