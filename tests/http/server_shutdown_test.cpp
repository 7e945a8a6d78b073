// Graceful shutdown: in-flight requests finish, idle connections close at once, nothing new is
// accepted.

#include <gtest/gtest.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <chrono>
#include <future>

#include "support/http_client.hpp"
#include "support/test_server.hpp"

namespace zhenwu::http {
namespace {

using testing::HttpClient;
using testing::HttpResponse;
using testing::TestServer;
using testing::TestServerConfig;

struct SlowSite {
  std::promise<void> started;

  Router MakeRouter() {
    Router r;
    r.Get("/slow", [this](Request&) -> asio::awaitable<Response> {
      started.set_value();
      asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(300));
      co_await timer.async_wait(asio::use_awaitable);
      co_return Text(bhttp::status::ok, std::string(100000, 's'));
    });
    r.Get("/fast",
          [](Request&) -> asio::awaitable<Response> { co_return Text(bhttp::status::ok, "fast"); });
    return r;
  }
};

TEST(ShutdownTest, InFlightRequestFinishesAndNewConnectionsAreRefused) {
  SlowSite site;
  TestServerConfig config{.router = site.MakeRouter()};
  config.options.idle_timeout_s = 30;  // idle connections must close at once, not after this
  TestServer server(std::move(config));

  HttpClient idle = server.Client();
  ASSERT_EQ(idle.Get("/fast").status, 200);  // leaves a kept-alive idle connection

  auto in_flight = std::async(std::launch::async,
                              [port = server.port()] { return HttpClient(port).Get("/slow"); });
  site.started.get_future().wait();
  const auto stop_started = std::chrono::steady_clock::now();
  server.Stop();  // returns when Run() has returned
  const double stop_took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - stop_started).count();

  HttpResponse res = in_flight.get();
  EXPECT_EQ(res.status, 200) << res.error;
  EXPECT_EQ(res.body.size(), 100000u);
  EXPECT_EQ(res.Header("Connection"), "close");
  EXPECT_GE(stop_took, 0.2);
  EXPECT_LT(stop_took, 3.0);

  HttpResponse refused = HttpClient(server.port()).Get("/fast");
  EXPECT_EQ(refused.status, 0);
  EXPECT_FALSE(refused.error.empty());
  HttpResponse on_idle = idle.Get("/fast");  // its connection was closed; reconnect fails
  EXPECT_EQ(on_idle.status, 0);
}

TEST(ShutdownTest, GraceBoundsTheWait) {
  TestServerConfig config;
  config.options.shutdown_grace_s = 1;
  config.router.Get("/forever", [](Request&) -> asio::awaitable<Response> {
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::seconds(30));
    co_await timer.async_wait(asio::use_awaitable);
    co_return Text(bhttp::status::ok, "late");
  });
  TestServer server(std::move(config));
  auto stuck = std::async(std::launch::async, [port = server.port()] {
    HttpClient client(port);
    client.set_timeout(std::chrono::seconds(10));
    return client.Get("/forever");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto t0 = std::chrono::steady_clock::now();
  server.Stop();
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(took, 0.9);
  EXPECT_LT(took, 3.0);
  // Its connection is closed when the grace runs out, not when the client gives up.
  EXPECT_EQ(stuck.get().status, 0);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 3.0);
}

TEST(ShutdownTest, StopBeforeAnyRequestAndTwice) {
  TestServer server(SlowSite{}.MakeRouter());
  server.Stop();
  server.Stop();
  EXPECT_EQ(HttpClient(server.port()).Get("/fast").status, 0);
}

}  // namespace
}  // namespace zhenwu::http
