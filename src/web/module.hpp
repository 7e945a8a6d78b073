#pragma once
// What a module gets when it registers: the shared platform objects. A module (portal,
// services, hotline, …) lists its name (which names its migrations folder) and a function that
// adds its routes and navigation. app/app.cpp lists the modules in order.

#include <functional>
#include <memory>
#include <string>

#include "core/blocking_pool.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "db/db.hpp"
#include "http/metrics.hpp"
#include "http/page_cache.hpp"
#include "http/router.hpp"
#include "view/view.hpp"

namespace zhenwu::people {
struct Keys;
}
namespace zhenwu::files {
class FileStore;
}

namespace zhenwu::web {

struct ModuleContext {
  const Config& config;
  const Clock& clock;
  BlockingPool& pool;
  db::Database& db;
  view::View& view;
  http::Router& router;
  http::PageCache& page_cache;
  http::Metrics& metrics;
  // The keys protecting personal data at rest (people/keys.hpp), opened by App::Create.
  std::shared_ptr<const people::Keys> people_keys;
  // Content-addressed storage of uploads and generated files (files/file_store.hpp) under
  // <data_dir>/files, opened by App::Create.
  std::shared_ptr<files::FileStore> files;
};

struct Module {
  std::string name;  // "portal": migrations come from src/portal/migrations/
  std::function<void(ModuleContext&)> register_routes;
  // Queries of one column each: the sha256 of every stored file (files::FileStore) that the
  // module's rows refer to. Files nobody refers to are removed after files.keep_unreferenced_days
  // (app::SweepFiles), so a module that stores files must list every column that refers to one.
  std::vector<std::string> file_refs;
};

}  // namespace zhenwu::web
