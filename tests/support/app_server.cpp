#include "support/app_server.hpp"

#include <gtest/gtest.h>

namespace zhenwu::testing {

AppServer::AppServer(AppServerOptions options) {
  auto database = TestDatabase::Create(options.backend);
  if (!database) {
    error_ = database.error().message;
    return;
  }
  database_ = std::move(database).value();
  config_.listen = "127.0.0.1:0";
  config_.io_threads = 2;
  config_.blocking_threads = 4;
  config_.db = database_->options().url;
  config_.db_schema = database_->options().pg_schema;
  config_.town_name = "平政镇";
  config_.demo = true;
  config_.data_dir = database_->temp_dir().string();
  config_.access_log = false;
  config_.read_timeout_s = 5;
  config_.idle_timeout_s = 5;
  config_.shutdown_grace_s = 5;
  if (options.customize) options.customize(config_);
  // The app opens its own connections; the fixture's handle would only hold the SQLite file.
  database_->db().Close();

  auto app = app::App::Create(config_, clock_);
  if (!app) {
    error_ = app.error().message;
    return;
  }
  app_ = std::move(app).value();
  port_ = app_->server().Listen();
  thread_ = std::thread([this] { app_->server().Run(); });
}

AppServer::~AppServer() {
  Stop();
  app_.reset();
}

void AppServer::Stop() {
  if (!thread_.joinable()) return;
  app_->server().Stop();
  thread_.join();
}

}  // namespace zhenwu::testing
