#pragma once
// The whole application (every module, migrated database, real server) on 127.0.0.1:0 for HTTP
// tests, on a throwaway database of either backend:
//
//   AppServer server;                        // SQLite in a temp folder
//   auto res = server.Client().Get("/");     // real HTTP
//
//   AppServer pg({.backend = Backend::kPostgres});  // fresh schema, dropped afterwards

#include <functional>
#include <memory>
#include <thread>

#include "app/app.hpp"
#include "core/clock.hpp"
#include "support/db_fixture.hpp"
#include "support/http_client.hpp"

namespace zhenwu::testing {

struct AppServerOptions {
  Backend backend = Backend::kSqlite;
  // Adjusts the configuration before the app is built (town name, limits, …).
  std::function<void(Config&)> customize;
};

// 2026-11-30 09:00 in Shanghai, a Monday: the tests' "now" unless they move the clock.
inline constexpr int64_t kTestNowMs = 1796000400000;

class AppServer {
 public:
  explicit AppServer(AppServerOptions options = {});
  ~AppServer();
  AppServer(const AppServer&) = delete;
  AppServer& operator=(const AppServer&) = delete;

  // Empty when the app could not start (e.g. PostgreSQL not configured): see error().
  bool ok() const { return app_ != nullptr; }
  const std::string& error() const { return error_; }

  HttpClient Client() const { return HttpClient(port_); }
  uint16_t port() const { return port_; }
  app::App& app() { return *app_; }
  FakeClock& clock() { return clock_; }
  const Config& config() const { return config_; }
  // Stops the server gracefully (also done by the destructor).
  void Stop();

 private:
  FakeClock clock_{kTestNowMs};
  Config config_;
  std::unique_ptr<TestDatabase> database_;
  std::unique_ptr<app::App> app_;
  std::thread thread_;
  uint16_t port_ = 0;
  std::string error_;
};

}  // namespace zhenwu::testing
