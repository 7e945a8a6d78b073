#include "app/app.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <thread>
#include <unordered_set>

#include "app/site_routes.hpp"
#include "audit/audit.hpp"
#include "audit/module.hpp"
#include "auth/middleware.hpp"
#include "auth/module.hpp"
#include "calendar/module.hpp"
#include "db/migrator.hpp"
#include "files/file_store.hpp"
#include "http/static_files.hpp"
#include "notify/dispatcher.hpp"
#include "notify/module.hpp"
#include "org/module.hpp"
#include "people/keys.hpp"
#include "people/module.hpp"
#include "portal/module.hpp"
#include "services/module.hpp"
#include "web/module.hpp"
#include "web/page.hpp"

namespace zhenwu::app {

namespace {

// Every module, in wiring order: a module's tables may refer only to those of modules before
// it. "core" has only migrations.
std::vector<web::Module> Modules() {
  return {
      web::Module{"core", nullptr}, audit::MakeModule(),    org::MakeModule(),
      auth::MakeModule(),           people::MakeModule(),   notify::MakeModule(),
      calendar::MakeModule(),       services::MakeModule(), portal::MakeModule(),
  };
}

std::size_t BlockingThreads(const Config& config) {
  if (config.blocking_threads > 0) return static_cast<std::size_t>(config.blocking_threads);
  return std::max<std::size_t>(4, 2 * std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace

const std::vector<std::string>& ModuleNames() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names;
    for (const auto& m : Modules()) names.push_back(m.name);
    return names;
  }();
  return kNames;
}

Result<files::SweepStats> SweepFiles(db::Database& db, const files::FileStore& store,
                                     int64_t keep_days) {
  auto referenced = [&db]() {
    return db.ReadSync<std::unordered_set<std::string>>(
        [](db::Conn& c) -> Result<std::unordered_set<std::string>> {
          std::unordered_set<std::string> refs;
          for (const auto& m : Modules()) {
            for (const auto& sql : m.file_refs) {
              auto rows = c.Query(sql);
              if (!rows) return std::move(rows).error();
              for (const auto& row : rows->rows) refs.insert(row.Text(0));
            }
          }
          return refs;
        });
  };
  return store.RemoveUnreferenced(referenced, keep_days * 86400);
}

Result<std::unique_ptr<db::Database>> OpenAndMigrate(const Config& config, BlockingPool& pool,
                                                     const Clock& clock) {
  db::Options db_options;
  db_options.url = config.db;
  db_options.sqlite_synchronous = config.sqlite_synchronous;
  db_options.read_connections = static_cast<int>(config.db_pool);
  db_options.pg_schema = config.db_schema;
  auto db = db::Open(db_options, pool);
  if (!db) return std::move(db).error();
  std::vector<db::Migration> migrations;
  for (const auto& m : Modules()) {
    auto more = db::EmbeddedMigrations(m.name);
    migrations.insert(migrations.end(), more.begin(), more.end());
  }
  if (auto s = db::Migrate(**db, migrations, clock); !s) {
    (*db)->Close();
    return std::move(s).error();
  }
  return db;
}

App::App(const Config& config, const Clock& clock)
    : config_(config), clock_(clock), page_cache_(config.page_cache_ttl_ms) {}

App::~App() {
  StopBackgroundJobs();
  server_.reset();
  if (db_) db_->Close();
  if (pool_) pool_->Join();
}

void App::StartBackgroundJobs() {
  if (outbox_job_) return;
  notify::Dispatcher* dispatcher = dispatcher_.get();
  outbox_job_ = std::make_unique<Periodic>(
      "notify outbox", std::chrono::milliseconds(kOutboxIntervalMs), [dispatcher] {
        auto stats = dispatcher->RunOnce();
        if (!stats) {
          spdlog::warn("notify: outbox delivery failed: {}", stats.error().message);
        } else if (stats->claimed > 0) {
          spdlog::info("notify: {} SMS sent, {} to retry, {} failed", stats->sent, stats->retrying,
                       stats->failed);
        }
      });
  // Links the audit events committed since the last run into the hash chain (audit::Record
  // inserts them unchained so that writers never queue on the chain head).
  db::Database* database = db_.get();
  audit_chain_job_ = std::make_unique<Periodic>(
      "audit chain", std::chrono::milliseconds(kAuditChainIntervalMs), [database] {
        if (auto chained = audit::ChainPending(*database); !chained) {
          spdlog::warn("audit: chaining events failed: {}", chained.error().message);
        }
      });
  // Removes uploads nothing refers to once they are files.keep_unreferenced_days old.
  if (config_.keep_unreferenced_files_days > 0) {
    file_sweep_job_ =
        std::make_unique<Periodic>("file sweep", std::chrono::milliseconds(kFileSweepIntervalMs),
                                   [this] { (void)SweepUnreferencedFiles(); });
  }
}

Result<files::SweepStats> App::SweepUnreferencedFiles() {
  if (config_.keep_unreferenced_files_days <= 0) return files::SweepStats{};
  auto swept = SweepFiles(*db_, *files_, config_.keep_unreferenced_files_days);
  if (!swept) {
    spdlog::warn("files: removing unreferenced files failed: {}", swept.error().message);
    return swept;
  }
  files_removed_ += swept->removed;
  files_removed_bytes_ += swept->removed_bytes;
  if (swept->removed > 0) {
    spdlog::info("files: removed {} unreferenced files ({} bytes) of {}", swept->removed,
                 swept->removed_bytes, swept->files);
  }
  return swept;
}

void App::StopBackgroundJobs() {
  // A delivery in progress returns after its current message instead of working through the
  // whole queue (each message may wait notify.sms_timeout_ms on a dead gateway).
  if (dispatcher_) dispatcher_->Stop();
  if (outbox_job_) outbox_job_->Stop();
  outbox_job_.reset();
  if (file_sweep_job_) file_sweep_job_->Stop();
  file_sweep_job_.reset();
  if (audit_chain_job_) {
    audit_chain_job_->Stop();
    audit_chain_job_.reset();
    // What was recorded since the last run is chained now, not at the next start.
    if (auto chained = audit::ChainPending(*db_); !chained) {
      spdlog::warn("audit: chaining events failed: {}", chained.error().message);
    }
  }
}

Result<std::unique_ptr<App>> App::Create(const Config& config, const Clock& clock) {
  std::unique_ptr<App> app(new App(config, clock));
  app->pool_ = std::make_unique<BlockingPool>(BlockingThreads(config));

  auto db = OpenAndMigrate(config, *app->pool_, clock);
  if (!db) return std::move(db).error();
  app->db_ = std::move(db).value();

  auto keys = people::OpenKeys(config.data_dir, *app->db_);
  if (!keys) return std::move(keys).error();
  app->people_keys_ = std::move(keys).value();

  auto files = files::FileStore::Open((std::filesystem::path(config.data_dir) / "files").string());
  if (!files) return std::move(files).error();
  app->files_ = std::move(files).value();

  auto dispatcher = notify::DispatcherFromConfig(config, *app->db_, clock, app->people_keys_);
  if (!dispatcher) return std::move(dispatcher).error();
  app->dispatcher_ = std::move(dispatcher).value();

  view::Site site{config.town_name, config.address, config.phone, config.office_hours, config.demo};
  auto view = view::View::Create(std::move(site), config.templates_dir);
  if (!view) return std::move(view).error();
  app->view_ = std::move(view).value();

  http::Router router;
  http::AddStaticRoutes(router);
  web::ModuleContext ctx{app->config_,      clock,      *app->pool_,      *app->db_,
                         *app->view_,       router,     app->page_cache_, app->metrics_,
                         app->people_keys_, app->files_};
  AddSiteRoutes(ctx);
  for (const auto& m : Modules()) {
    if (m.register_routes) m.register_routes(ctx);
  }

  app->metrics_.AddGauge("zhenwu_db_connections", "Open database connections",
                         [db = app->db_.get()] { return double(db->Stats().connections); });
  app->metrics_.AddGauge("zhenwu_db_connections_in_use", "Database connections lent out",
                         [db = app->db_.get()] { return double(db->Stats().in_use); });
  app->metrics_.AddGauge("zhenwu_db_waits_total", "Times work waited for a free connection",
                         [db = app->db_.get()] { return double(db->Stats().waits); });
  app->metrics_.AddGauge("zhenwu_db_commits_total", "Transactions committed",
                         [db = app->db_.get()] { return double(db->Stats().commits); });
  app->metrics_.AddGauge("zhenwu_db_committed_jobs_total",
                         "Write jobs acknowledged (more than commits under group commit)",
                         [db = app->db_.get()] { return double(db->Stats().committed_jobs); });
  app->metrics_.AddGauge("zhenwu_db_queued_writes", "Write jobs waiting for the writer",
                         [db = app->db_.get()] { return double(db->Stats().queued_writes); });
  app->metrics_.AddGauge("zhenwu_files_removed_total",
                         "Stored files removed because nothing referred to them",
                         [a = app.get()] { return double(a->files_removed_.load()); });
  app->metrics_.AddGauge("zhenwu_files_removed_bytes_total", "Bytes of those files",
                         [a = app.get()] { return double(a->files_removed_bytes_.load()); });

  http::ServerOptions options;
  options.listen = config.listen;
  options.io_threads = static_cast<int>(config.io_threads);
  options.header_limit = static_cast<std::size_t>(config.header_limit);
  options.body_limit = static_cast<std::size_t>(config.body_limit);
  options.read_timeout_s = static_cast<int>(config.read_timeout_s);
  options.body_min_rate_bps = config.body_min_rate_bps;
  options.idle_timeout_s = static_cast<int>(config.idle_timeout_s);
  options.shutdown_grace_s = static_cast<int>(config.shutdown_grace_s);
  options.trust_proxy = config.trust_proxy;
  options.access_log = config.access_log;
  const view::View& page_view = *app->view_;
  app->server_ = std::make_unique<http::Server>(
      options, std::move(router), std::vector<http::Middleware>{auth::MakeMiddleware(ctx)},
      app->metrics_, config.page_cache_ttl_ms > 0 ? &app->page_cache_ : nullptr,
      [&page_view](const http::Request& req, http::bhttp::status status) {
        return web::ErrorPage(req, page_view, status);
      });
  return app;
}

}  // namespace zhenwu::app
