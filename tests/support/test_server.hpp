#pragma once
// An http::Server on 127.0.0.1 and a free port, serving on a background thread for the length
// of a test:
//
//   http::Router router;
//   router.Get("/", [](http::Request&) -> asio::awaitable<http::Response> {
//     co_return http::Text(http::bhttp::status::ok, "hi");
//   });
//   TestServer server(std::move(router));
//   auto res = server.Client().Get("/");          // res.status == 200, res.body == "hi"
//
// With more wiring: TestServer server({.router = ..., .middleware = {...}, .page_cache = &cache});
// The destructor stops the server gracefully and waits for it.

#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "http/metrics.hpp"
#include "http/page_cache.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "support/http_client.hpp"

namespace zhenwu::testing {

// Quiet, quick settings for tests: 127.0.0.1:0, two IO threads, no access log, short timeouts
// (read 5 s, idle 5 s, shutdown grace 5 s).
http::ServerOptions TestServerOptions();

struct TestServerConfig {
  http::Router router;
  std::vector<http::Middleware> middleware;
  http::ServerOptions options = TestServerOptions();
  http::PageCache* page_cache = nullptr;
  http::ErrorPageRenderer error_page;  // empty: the server's plain default page
};

class TestServer {
 public:
  explicit TestServer(http::Router router);
  explicit TestServer(TestServerConfig config);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  uint16_t port() const { return port_; }
  http::Server& server() { return *server_; }
  http::Metrics& metrics() { return metrics_; }
  // A new client for this server (its own connection and cookie jar).
  HttpClient Client() const { return HttpClient(port_); }
  // Asks the server to stop gracefully and waits until Run() has returned. Idempotent.
  void Stop();

 private:
  http::Metrics metrics_;
  std::unique_ptr<http::Server> server_;
  uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace zhenwu::testing
