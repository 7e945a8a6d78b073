// The server over real sockets: limits and malformed input, routing errors, keep-alive and
// pipelining, HEAD, request ids, exceptions, metrics. Every error test then shows the server
// still serves.

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <random>
#include <stdexcept>
#include <thread>

#include "http/router.hpp"
#include "http/server.hpp"
#include "support/http_client.hpp"
#include "support/test_server.hpp"

namespace zhenwu::http {
namespace {

using testing::HttpClient;
using testing::HttpResponse;
using testing::ParseResponses;
using testing::TestServer;
using testing::TestServerConfig;
using testing::TestServerOptions;

Router MakeRouter() {
  Router r;
  r.Get("/hello", [](Request& req) -> asio::awaitable<Response> {
    co_return Text(bhttp::status::ok, "hello " + req.query);
  });
  r.Post("/echo", [](Request& req) -> asio::awaitable<Response> {
    co_return Text(bhttp::status::ok, req.raw.body());
  });
  r.Get("/cases/{id}", [](Request& req) -> asio::awaitable<Response> {
    co_return Text(bhttp::status::ok, "case " + req.Param("id").value_or("?") + " " + req.route);
  });
  r.Get("/boom", [](Request&) -> asio::awaitable<Response> {
    throw std::runtime_error("handler exploded");
    co_return Response{};
  });
  r.Get("/api/v1/boom", [](Request&) -> asio::awaitable<Response> {
    throw std::logic_error("api exploded");
    co_return Response{};
  });
  r.Get("/inject", [](Request&) -> asio::awaitable<Response> {
    Response res = Text(bhttp::status::ok, "x");
    res.set("X-File", "a.txt\r\nSet-Cookie: evil=1");
    co_return res;
  });
  r.Get("/api/v1/ping", [](Request&) -> asio::awaitable<Response> {
    co_return Json(bhttp::status::ok, R"({"pong":true})");
  });
  return r;
}

// Bytes of a minimal request.
std::string RawGet(std::string_view target, std::string_view extra = {}) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra) + "\r\n";
}

void ExpectServes(HttpClient& client) {
  HttpResponse res = client.Get("/hello?still");
  EXPECT_EQ(res.status, 200) << res.error;
  EXPECT_EQ(res.body, "hello still");
}

TEST(ServerTest, ServesAHandler) {
  TestServer server(MakeRouter());
  HttpResponse res = server.Client().Get("/hello?x=1");
  ASSERT_EQ(res.status, 200) << res.error;
  EXPECT_EQ(res.body, "hello x=1");
  EXPECT_EQ(res.Header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(res.Header("Content-Length"), "9");
  EXPECT_EQ(res.Header("Server"), "zhenwu");
  EXPECT_TRUE(res.Header("Date").ends_with(" GMT")) << res.Header("Date");
  EXPECT_EQ(server.Client().Get("/cases/%E4%B8%AD").body, "case 中 /cases/{id}");
}

TEST(ServerTest, MalformedRequestLineIs400) {
  TestServer server(MakeRouter());
  HttpClient client = server.Client();
  std::string raw = client.SendRaw("GARBAGE\r\n\r\n");
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 400 ")) << raw;
  EXPECT_NE(raw.find("Connection: close"), std::string::npos);
  raw = client.SendRaw("GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 400 ")) << raw;
  raw = client.SendRaw("GET /hello HTTP/1.1\r\nBad Header\r\n\r\n");
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 400 ")) << raw;
  ExpectServes(client);
}

TEST(ServerTest, OversizedBodyByContentLengthIs413) {
  TestServerConfig config{.router = MakeRouter()};
  config.options.body_limit = 1024;
  TestServer server(std::move(config));
  HttpClient client = server.Client();
  std::string body(100000, 'x');
  std::string raw =
      client.SendRaw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + body);
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 413 ")) << raw.substr(0, 200);
  EXPECT_EQ(client.Post("/echo", std::string(1024, 'y')).status, 200);
  EXPECT_EQ(client.Post("/echo", std::string(1025, 'y')).status, 413);
  ExpectServes(client);
}

TEST(ServerTest, OversizedChunkedBodyIs413) {
  TestServerConfig config{.router = MakeRouter()};
  config.options.body_limit = 1024;
  TestServer server(std::move(config));
  HttpClient client = server.Client();
  std::string chunked;
  for (int i = 0; i < 20; ++i) chunked += "100\r\n" + std::string(256, 'z') + "\r\n";
  chunked += "0\r\n\r\n";
  std::string raw = client.SendRaw(
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked);
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 413 ")) << raw.substr(0, 200);
  // A small chunked body is fine.
  raw = client.SendRaw(
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "5\r\nhello\r\n0\r\n\r\n");
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 200 ")) << raw;
  EXPECT_TRUE(raw.ends_with("\r\n\r\nhello")) << raw;
  ExpectServes(client);
}

TEST(ServerTest, HugeHeaderIs431) {
  TestServer server(MakeRouter());  // header_limit 16 KiB
  HttpClient client = server.Client();
  std::string raw =
      client.SendRaw(RawGet("/hello", "X-Big: " + std::string(32 * 1024, 'h') + "\r\n"));
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 431 ")) << raw.substr(0, 200);
  HttpResponse res = client.Get("/hello", {{"X-Big", std::string(32 * 1024, 'h')}});
  EXPECT_EQ(res.status, 431);
  ExpectServes(client);
}

TEST(ServerTest, SlowClientIsDroppedAfterTheReadTimeoutWhileOthersAreServed) {
  TestServerConfig config{.router = MakeRouter()};
  config.options.read_timeout_s = 1;
  TestServer server(std::move(config));
  const auto started = std::chrono::steady_clock::now();
  auto slow = std::async(std::launch::async, [&] {
    // Stops in the middle of the headers and waits.
    return HttpClient(server.port())
        .SendRaw("GET /hello HTTP/1.1\r\nHost: x\r\n", std::chrono::seconds(6));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  HttpClient other = server.Client();
  for (int i = 0; i < 3; ++i) ExpectServes(other);
  EXPECT_EQ(slow.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);

  std::string raw = slow.get();
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 408 ")) << raw;
  EXPECT_GE(waited, 0.9);
  EXPECT_LT(waited, 4.0);
  ExpectServes(other);
}

TEST(ServerTest, IdleKeepAliveConnectionIsClosed) {
  TestServerConfig config{.router = MakeRouter()};
  config.options.idle_timeout_s = 1;
  TestServer server(std::move(config));
  const auto started = std::chrono::steady_clock::now();
  std::string raw = server.Client().SendRaw(RawGet("/hello"), std::chrono::seconds(5));
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 200 ")) << raw;
  EXPECT_GE(waited, 0.9);
  EXPECT_LT(waited, 3.0);
}

TEST(ServerTest, UnknownRouteIsAFriendly404) {
  TestServer server(MakeRouter());
  HttpResponse res = server.Client().Get("/no/such/page");
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.Header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(res.body.find("404"), std::string::npos);
}

TEST(ServerTest, ErrorPagesComeFromTheRenderer) {
  TestServerConfig config{.router = MakeRouter()};
  config.error_page = [](const Request& req, bhttp::status status) {
    return Html(status, "<p>找不到 " + req.path + " (" + std::to_string(static_cast<int>(status)) +
                            ")</p>");
  };
  TestServer server(std::move(config));
  HttpResponse res = server.Client().Get("/missing");
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.body, "<p>找不到 /missing (404)</p>");
  EXPECT_EQ(server.Client().Get("/boom").body, "<p>找不到 /boom (500)</p>");
}

TEST(ServerTest, ApiErrorsAreJson) {
  TestServer server(MakeRouter());
  HttpResponse res = server.Client().Get("/api/v1/nothing");
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.Header("Content-Type"), "application/json");
  auto json = boost::json::parse(res.body);
  EXPECT_EQ(json.at("error").at("code").as_string(), "not_found");
  EXPECT_FALSE(json.at("error").at("message").as_string().empty());

  res = server.Client().Request("DELETE", "/api/v1/ping");
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(boost::json::parse(res.body).at("error").at("code").as_string(), "method_not_allowed");

  res = server.Client().Get("/api/v1/boom");
  EXPECT_EQ(res.status, 500);
  EXPECT_EQ(boost::json::parse(res.body).at("error").at("code").as_string(), "internal");
}

TEST(ServerTest, WrongMethodIs405WithAllow) {
  TestServer server(MakeRouter());
  HttpResponse res = server.Client().Post("/hello", "x=1");
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(res.Header("Allow"), "GET, HEAD");
  res = server.Client().Request("PUT", "/echo");
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(res.Header("Allow"), "POST");
  EXPECT_EQ(server.Client().Request("BREW", "/hello").status, 405);
}

TEST(ServerTest, HeadHasTheHeadersOfGetAndNoBody) {
  TestServer server(MakeRouter());
  HttpClient client = server.Client();
  HttpResponse get = client.Get("/hello?abc");
  HttpResponse head = client.Head("/hello?abc");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(head.Header("Content-Length"), get.Header("Content-Length"));
  EXPECT_EQ(head.Header("Content-Type"), get.Header("Content-Type"));
  // Nothing extra went over the wire: the kept connection still works.
  EXPECT_EQ(client.Get("/hello?after").body, "hello after");
  std::string raw = client.SendRaw("HEAD /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(raw.ends_with("\r\n\r\n")) << raw;
  EXPECT_NE(raw.find("Content-Length: 6\r\n"), std::string::npos) << raw;
}

TEST(ServerTest, LineBreaksInHeaderValuesCannotSplitTheHeader) {
  TestServer server(MakeRouter());
  HttpResponse res = server.Client().Get("/inject");
  EXPECT_EQ(res.status, 200);
  EXPECT_FALSE(res.HasHeader("Set-Cookie"));
  EXPECT_EQ(res.Header("X-File"), "a.txt  Set-Cookie: evil=1");
}

TEST(ServerTest, KeepsTheConnectionAlive) {
  TestServer server(MakeRouter());
  HttpClient client = server.Client();
  for (int i = 0; i < 5; ++i) {
    HttpResponse res = client.Get("/hello?" + std::to_string(i));
    ASSERT_EQ(res.status, 200);
    EXPECT_EQ(res.body, "hello " + std::to_string(i));
    EXPECT_NE(res.Header("Connection"), "close");
  }
  EXPECT_EQ(client.Post("/echo", "body").body, "body");
  EXPECT_EQ(server.server().open_connections(), 1);
}

TEST(ServerTest, AnswersPipelinedRequestsInOrder) {
  TestServer server(MakeRouter());
  std::string raw = server.Client().SendRaw(
      RawGet("/hello?first") + "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nsecond" +
      RawGet("/cases/3") + RawGet("/hello?last", "Connection: close\r\n"));
  std::vector<HttpResponse> responses = ParseResponses(raw);
  ASSERT_EQ(responses.size(), 4u) << raw;
  EXPECT_EQ(responses[0].body, "hello first");
  EXPECT_EQ(responses[1].body, "second");
  EXPECT_EQ(responses[2].body, "case 3 /cases/{id}");
  EXPECT_EQ(responses[3].body, "hello last");
  EXPECT_EQ(responses[3].Header("Connection"), "close");
}

TEST(ServerTest, Http10ClosesUnlessAskedToKeepAlive) {
  TestServer server(MakeRouter());
  std::string raw = server.Client().SendRaw("GET /hello HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(raw.starts_with("HTTP/1.0 200 ")) << raw;
  EXPECT_TRUE(raw.ends_with("hello ")) << raw;
}

TEST(ServerTest, AnswersExpectContinue) {
  TestServer server(MakeRouter());
  asio::io_context ioc;
  asio::ip::tcp::socket socket(ioc);
  socket.connect({asio::ip::make_address("127.0.0.1"), server.port()});
  std::string head =
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n";
  asio::write(socket, asio::buffer(head));
  std::string interim;
  asio::read_until(socket, asio::dynamic_buffer(interim), "\r\n\r\n");
  EXPECT_TRUE(interim.starts_with("HTTP/1.1 100 Continue\r\n")) << interim;
  asio::write(socket, asio::buffer(std::string_view("hello")));
  std::string rest = interim.substr(interim.find("\r\n\r\n") + 4);
  beast::flat_buffer buffer;
  buffer.commit(asio::buffer_copy(buffer.prepare(rest.size()), asio::buffer(rest)));
  bhttp::response<bhttp::string_body> res;
  bhttp::read(socket, buffer, res);
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_EQ(res.body(), "hello");
}

TEST(ServerTest, RequestIdIsEchoedOrGenerated) {
  TestServer server(MakeRouter());
  HttpClient client = server.Client();
  EXPECT_EQ(client.Get("/hello", {{"X-Request-Id", "trace-42_A"}}).Header("X-Request-Id"),
            "trace-42_A");
  std::string generated = client.Get("/hello").Header("X-Request-Id");
  EXPECT_EQ(generated.size(), 16u);
  EXPECT_NE(generated, client.Get("/hello").Header("X-Request-Id"));
  for (std::string bad :
       {std::string("has space"), std::string(65, 'a'), std::string("semi;colon")}) {
    std::string id = client.Get("/hello", {{"X-Request-Id", bad}}).Header("X-Request-Id");
    EXPECT_NE(id, bad);
    EXPECT_EQ(id.size(), 16u);
  }
  EXPECT_EQ(client.Get("/missing").Header("X-Request-Id").size(), 16u);
  EXPECT_FALSE(client.Get("/boom").Header("X-Request-Id").empty());
}

TEST(ServerTest, ExceptionInAHandlerIs500AndTheServerGoesOn) {
  TestServer server(MakeRouter());
  HttpClient client = server.Client();
  for (int i = 0; i < 3; ++i) {
    HttpResponse res = client.Get("/boom");
    EXPECT_EQ(res.status, 500);
    EXPECT_EQ(res.Header("Content-Type"), "text/html; charset=utf-8");
    EXPECT_EQ(res.body.find("exploded"), std::string::npos);  // no internals leak out
  }
  ExpectServes(client);
}

TEST(ServerTest, MiddlewareWrapsHandlersInOrder) {
  std::vector<Middleware> middleware;
  middleware.push_back([](Request& req, const Handler& next) -> asio::awaitable<Response> {
    req.context["trace"] = std::string("outer");
    Response res = co_await next(req);
    res.set("X-Outer", "1");
    co_return res;
  });
  middleware.push_back([](Request& req, const Handler& next) -> asio::awaitable<Response> {
    if (req.path == "/hello" && req.query == "deny") co_return Text(bhttp::status::forbidden, "no");
    std::any_cast<std::string&>(req.context["trace"]) += ">inner";
    co_return co_await next(req);
  });
  Router r;
  r.Get("/trace", [](Request& req) -> asio::awaitable<Response> {
    co_return Text(bhttp::status::ok, std::any_cast<std::string>(req.context.at("trace")));
  });
  r.Get("/hello",
        [](Request&) -> asio::awaitable<Response> { co_return Text(bhttp::status::ok, "hi"); });
  TestServer server({.router = std::move(r), .middleware = std::move(middleware)});
  HttpClient client = server.Client();
  HttpResponse res = client.Get("/trace");
  EXPECT_EQ(res.body, "outer>inner");
  EXPECT_EQ(res.Header("X-Outer"), "1");
  res = client.Get("/hello?deny");
  EXPECT_EQ(res.status, 403);
  EXPECT_EQ(res.body, "no");
  EXPECT_EQ(res.Header("X-Outer"), "1");
  EXPECT_EQ(client.Get("/missing").Header("X-Outer"), "1");  // 404s pass through middleware too
}

TEST(ServerTest, MetricsCountAnsweredRequests) {
  TestServer server(MakeRouter());
  HttpClient client = server.Client();
  for (int i = 0; i < 3; ++i) client.Get("/hello");
  client.Get("/cases/1");
  client.Get("/cases/2");
  client.Get("/nothing");
  client.SendRaw("GARBAGE\r\n\r\n");
  std::string text = server.metrics().Render();
  EXPECT_NE(
      text.find("zhenwu_http_requests_total{route=\"/hello\",method=\"GET\",status=\"200\"} 3\n"),
      std::string::npos)
      << text;
  EXPECT_NE(
      text.find(
          "zhenwu_http_requests_total{route=\"/cases/{id}\",method=\"GET\",status=\"200\"} 2\n"),
      std::string::npos);
  EXPECT_NE(
      text.find(
          "zhenwu_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1\n"),
      std::string::npos);
  EXPECT_NE(text.find("status=\"400\"} 1\n"), std::string::npos);
  EXPECT_NE(
      text.find("zhenwu_http_request_duration_seconds_count{route=\"/hello\",method=\"GET\"} 3\n"),
      std::string::npos);
  EXPECT_NE(text.find("# TYPE zhenwu_http_open_connections gauge\nzhenwu_http_open_connections "),
            std::string::npos)
      << text;
  // The raw connection above closes on its own schedule; the kept one stays.
  for (int i = 0; i < 100 && server.server().open_connections() != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(server.server().open_connections(), 1);
}

TEST(ServerTest, HandleAnswersWithoutASocket) {
  Metrics metrics;
  ServerOptions options = TestServerOptions();
  Server server(options, MakeRouter(), {}, metrics, nullptr, {});
  asio::io_context ioc;
  Request req;
  req.raw.method(bhttp::verb::get);
  req.raw.target("/cases/77?x=1");
  auto future = asio::co_spawn(ioc, server.Handle(req), asio::use_future);
  ioc.run();
  Response res = future.get();
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_EQ(res.body(), "case 77 /cases/{id}");
  EXPECT_EQ(req.path, "/cases/77");
  EXPECT_EQ(req.query, "x=1");
  EXPECT_EQ(res["X-Request-Id"].size(), 16u);
}

TEST(ServerTest, ListenRejectsBadAddresses) {
  Metrics metrics;
  for (const char* bad : {"nonsense", "127.0.0.1:99999", "999.1.1.1:80", "127.0.0.1:x"}) {
    ServerOptions options = TestServerOptions();
    options.listen = bad;
    Server server(options, Router{}, {}, metrics, nullptr, {});
    EXPECT_THROW(server.Listen(), std::runtime_error) << bad;
  }
  TestServer taken(MakeRouter());
  ServerOptions options = TestServerOptions();
  options.listen = "127.0.0.1:" + std::to_string(taken.port());
  Server server(options, Router{}, {}, metrics, nullptr, {});
  EXPECT_THROW(server.Listen(), std::runtime_error);
}

}  // namespace
}  // namespace zhenwu::http

namespace zhenwu::http {
namespace {

// Random and mangled requests: whatever arrives, the server answers or closes, and goes on.
TEST(ServerFuzzTest, SurvivesGarbage) {
  TestServerConfig config{.router = MakeRouter()};
  config.options.read_timeout_s = 1;
  config.options.header_limit = 4096;
  config.options.body_limit = 4096;
  TestServer server(std::move(config));
  HttpClient client = server.Client();
  std::mt19937 rng(20261128);
  const std::string valid =
      "POST /echo?a=%E4%B8%AD HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
      "Cookie: zw_sid=1\r\nAccept-Encoding: gzip;q=0.5\r\n\r\nhello";
  for (int round = 0; round < 150; ++round) {
    std::string bytes;
    switch (round % 3) {
      case 0:  // pure noise
        bytes.resize(rng() % 300);
        for (char& c : bytes) c = static_cast<char>(rng());
        break;
      case 1:  // a valid request with a few bytes flipped
        bytes = valid;
        for (int i = 0; i < 3; ++i) bytes[rng() % bytes.size()] = static_cast<char>(rng());
        break;
      default:  // a valid request cut short or repeated
        bytes = valid.substr(0, rng() % valid.size()) + valid;
        break;
    }
    std::string raw = client.SendRaw(bytes, std::chrono::seconds(3), /*close_write=*/true);
    if (!raw.empty()) {
      EXPECT_TRUE(raw.starts_with("HTTP/1.")) << raw.substr(0, 80);
    }
  }
  ExpectServes(client);
}

}  // namespace
}  // namespace zhenwu::http
