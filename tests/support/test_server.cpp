#include "support/test_server.hpp"

namespace zhenwu::testing {

http::ServerOptions TestServerOptions() {
  http::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.io_threads = 2;
  options.read_timeout_s = 5;
  options.idle_timeout_s = 5;
  options.shutdown_grace_s = 5;
  options.access_log = false;
  return options;
}

TestServer::TestServer(http::Router router)
    : TestServer(TestServerConfig{.router = std::move(router)}) {}

TestServer::TestServer(TestServerConfig config) {
  server_ = std::make_unique<http::Server>(std::move(config.options), std::move(config.router),
                                           std::move(config.middleware), metrics_,
                                           config.page_cache, std::move(config.error_page));
  port_ = server_->Listen();
  thread_ = std::thread([this] { server_->Run(); });
}

TestServer::~TestServer() { Stop(); }

void TestServer::Stop() {
  if (!thread_.joinable()) return;
  server_->Stop();
  thread_.join();
}

}  // namespace zhenwu::testing
