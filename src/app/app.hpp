#pragma once
// The whole program wired together, in order: blocking pool, database (migrated), views,
// routes of every module, server. main() and the HTTP tests both build it from a Config.

#include <atomic>
#include <memory>

#include "core/blocking_pool.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/periodic.hpp"
#include "core/result.hpp"
#include "db/db.hpp"
#include "files/file_store.hpp"
#include "http/metrics.hpp"
#include "http/page_cache.hpp"
#include "http/server.hpp"
#include "notify/dispatcher.hpp"
#include "people/keys.hpp"
#include "view/view.hpp"

namespace zhenwu::app {

class App {
 public:
  // Opens and migrates the database, opens the people keys (<data_dir>/keys/people.key) and
  // builds the server (not yet listening). Fails with the database's, the key file's or the
  // templates' error; nothing is left open then.
  static Result<std::unique_ptr<App>> Create(const Config& config, const Clock& clock);
  ~App();

  http::Server& server() { return *server_; }
  db::Database& db() { return *db_; }
  view::View& view() { return *view_; }
  http::PageCache& page_cache() { return page_cache_; }
  http::Metrics& metrics() { return metrics_; }
  const std::shared_ptr<const people::Keys>& people_keys() const { return people_keys_; }
  files::FileStore& files() { return *files_; }
  // Delivers the SMS outbox (tests call RunOnce on it after moving their FakeClock).
  notify::Dispatcher& dispatcher() { return *dispatcher_; }

  // `zhenwu serve` only: runs the outbox delivery every kOutboxIntervalMs on a background
  // thread until StopBackgroundJobs() (final: for shutdown) or destruction. Tests leave it off
  // and call RunOnce.
  void StartBackgroundJobs();
  void StopBackgroundJobs();
  static constexpr int64_t kOutboxIntervalMs = 5000;
  // … and links new audit events into the hash chain every kAuditChainIntervalMs.
  static constexpr int64_t kAuditChainIntervalMs = 1000;
  // … and removes stored files nothing refers to (SweepUnreferencedFiles) every
  // kFileSweepIntervalMs, when files.keep_unreferenced_days is not 0.
  static constexpr int64_t kFileSweepIntervalMs = 6 * 3600 * 1000;

  // One pass of SweepFiles below with files.keep_unreferenced_days (nothing when it is 0):
  // logs what it removed and counts it in /metrics (zhenwu_files_removed_total, …_bytes_total).
  Result<files::SweepStats> SweepUnreferencedFiles();

 private:
  App(const Config& config, const Clock& clock);
  Config config_;
  const Clock& clock_;
  std::unique_ptr<BlockingPool> pool_;
  std::unique_ptr<db::Database> db_;
  std::shared_ptr<const people::Keys> people_keys_;
  std::shared_ptr<files::FileStore> files_;
  std::unique_ptr<notify::Dispatcher> dispatcher_;
  std::unique_ptr<Periodic> outbox_job_;
  std::unique_ptr<Periodic> audit_chain_job_;
  std::unique_ptr<Periodic> file_sweep_job_;
  std::atomic<int64_t> files_removed_{0};
  std::atomic<int64_t> files_removed_bytes_{0};
  std::unique_ptr<view::View> view_;
  http::Metrics metrics_;
  http::PageCache page_cache_;
  std::unique_ptr<http::Server> server_;
};

// Opens the configured database and applies every module's migrations (for the commands that
// work on the database without serving).
Result<std::unique_ptr<db::Database>> OpenAndMigrate(const Config& config, BlockingPool& pool,
                                                     const Clock& clock);

// Removes from `store` the files that no row of any module refers to (web::Module::file_refs)
// and that nobody has stored or kept for `keep_days` days (files::FileStore::RemoveUnreferenced).
// Blocks on the database and the disk.
Result<files::SweepStats> SweepFiles(db::Database& db, const files::FileStore& store,
                                     int64_t keep_days);

// The names of every module, in wiring order (their migrations run in this order).
const std::vector<std::string>& ModuleNames();

}  // namespace zhenwu::app
