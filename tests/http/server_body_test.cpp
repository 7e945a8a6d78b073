// Request bodies over real sockets: on a weak network an upload may take longer than
// read_timeout_s as long as it keeps arriving at server.body_min_rate_bps; a stalled or too slow
// body, or a header that dawdles, gets 408; the body limit (413) still holds for slow bodies; JSON
// bodies give the JSON error shape (400 malformed, 413 too large).

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "http/json_body.hpp"
#include "http/router.hpp"
#include "support/http_client.hpp"
#include "support/test_server.hpp"
#include "web/page.hpp"

namespace zhenwu::http {
namespace {

using namespace std::chrono_literals;
using testing::HttpClient;
using testing::HttpResponse;
using testing::ParseResponses;
using testing::TestServer;
using testing::TestServerConfig;
using SteadyClock = std::chrono::steady_clock;

// A plain TCP connection whose bytes the test sends at its own pace.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }

  // False once the server has closed its side (or reset the connection).
  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Whether the server has answered (or closed) by now.
  bool Answered() {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  }

  // Everything the server sends until it closes or `timeout` passes.
  std::string ReadAll(std::chrono::milliseconds timeout) {
    std::string out;
    const auto deadline = SteadyClock::now() + timeout;
    char buffer[4096];
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      out.append(buffer, static_cast<std::size_t>(n));
    }
    return out;
  }

 private:
  int fd_;
  bool connected_ = false;
};

Router MakeRouter() {
  Router r;
  r.Post("/size", [](Request& req) -> asio::awaitable<Response> {
    co_return Text(bhttp::status::ok, std::to_string(req.raw.body().size()));
  });
  r.Get("/hello",
        [](Request&) -> asio::awaitable<Response> { co_return Text(bhttp::status::ok, "hello"); });
  r.Post("/api/v1/things", [](Request& req) -> asio::awaitable<Response> {
    auto body = ParseJsonObject(req);
    if (!body) co_return web::JsonError(body.error());
    auto title = GetString(*body, "title", true);
    if (!title) co_return web::JsonError(title.error());
    co_return Json(bhttp::status::ok,
                   boost::json::serialize(boost::json::object{{"title", *title}}));
  });
  return r;
}

// read_timeout_s 1 s and the default minimum rate of 2048 bytes/s.
TestServerConfig SlowNetworkConfig() {
  TestServerConfig config{.router = MakeRouter()};
  config.options.read_timeout_s = 1;
  config.options.body_min_rate_bps = 2048;
  config.options.body_limit = 64 * 1024;
  return config;
}

double SecondsSince(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

TEST(ServerBody, ASlowSteadyUploadOutlastsTheReadTimeout) {
  TestServer server(SlowNetworkConfig());
  RawConnection conn(server.port());
  ASSERT_TRUE(conn.connected());
  constexpr int kChunks = 16;
  constexpr std::size_t kChunk = 1024;
  const auto started = SteadyClock::now();
  ASSERT_TRUE(conn.Send("POST /size HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                        std::to_string(kChunks * kChunk) + "\r\n\r\n"));
  // About 6.8 KB/s for about 2.4 s: more than twice the read timeout, above the minimum rate.
  for (int i = 0; i < kChunks; ++i) {
    std::this_thread::sleep_for(150ms);
    std::string chunk(kChunk, static_cast<char>('a' + i));
    // The next request follows the body on the same keep-alive connection.
    if (i + 1 == kChunks) chunk += "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ASSERT_TRUE(conn.Send(chunk)) << "the server gave up after " << SecondsSince(started) << " s";
  }
  EXPECT_GT(SecondsSince(started), 2.0);
  auto responses = ParseResponses(conn.ReadAll(5s));
  ASSERT_EQ(responses.size(), 2u);
  EXPECT_EQ(responses[0].status, 200);
  EXPECT_EQ(responses[0].body, std::to_string(kChunks * kChunk));
  EXPECT_EQ(responses[1].status, 200);
  EXPECT_EQ(responses[1].body, "hello");
}

TEST(ServerBody, AStalledBodyGets408AfterTheReadTimeout) {
  TestServer server(SlowNetworkConfig());
  RawConnection conn(server.port());
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(conn.Send("POST /size HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n"));
  std::this_thread::sleep_for(300ms);
  // Enough for the first second's minimum rate, then nothing more.
  ASSERT_TRUE(conn.Send(std::string(3000, 'x')));
  const auto stalled = SteadyClock::now();
  const std::string raw = conn.ReadAll(5s);
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 408 ")) << raw.substr(0, 200);
  EXPECT_GE(SecondsSince(stalled), 0.9);
  EXPECT_LT(SecondsSince(stalled), 3.0);
  HttpClient client = server.Client();
  EXPECT_EQ(client.Get("/hello").status, 200);
}

TEST(ServerBody, ABodyBelowTheMinimumRateGets408) {
  TestServer server(SlowNetworkConfig());
  RawConnection conn(server.port());
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(conn.Send("POST /size HTTP/1.1\r\nHost: x\r\nContent-Length: 4000\r\n\r\n"));
  // 64 bytes every 100 ms: about 640 bytes/s, never pausing, but below 2048 bytes/s. At that
  // pace the whole body would take over 6 s.
  const auto started = SteadyClock::now();
  for (int i = 0; i < 60 && !conn.Answered(); ++i) {
    if (!conn.Send(std::string(64, 'x'))) break;
    std::this_thread::sleep_for(100ms);
  }
  const std::string raw = conn.ReadAll(3s);
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 408 ")) << raw.substr(0, 200);
  EXPECT_GE(SecondsSince(started), 0.9);
  EXPECT_LT(SecondsSince(started), 4.0);
}

TEST(ServerBody, ARateOfZeroOnlyAsksThatTheBodyKeepsComing) {
  TestServerConfig config = SlowNetworkConfig();
  config.options.body_min_rate_bps = 0;
  TestServer server(std::move(config));
  RawConnection conn(server.port());
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(conn.Send(
      "POST /size HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\n"));
  // One byte every 400 ms: 4 s for the body, never a pause of 1 s.
  for (int i = 0; i < 10; ++i) {
    std::this_thread::sleep_for(400ms);
    ASSERT_TRUE(conn.Send("x"));
  }
  const std::string raw = conn.ReadAll(3s);
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 200 ")) << raw.substr(0, 200);
}

TEST(ServerBody, AHeaderThatKeepsTricklingStillHasItsDeadline) {
  TestServer server(SlowNetworkConfig());
  RawConnection conn(server.port());
  ASSERT_TRUE(conn.connected());
  const std::string header =
      "POST /size HTTP/1.1\r\nHost: x\r\nX-Padding: " + std::string(40, 'p') +
      "\r\nContent-Length: 1\r\n\r\nx";
  const auto started = SteadyClock::now();
  for (char c : header) {
    if (conn.Answered() || !conn.Send(std::string_view(&c, 1))) break;
    std::this_thread::sleep_for(50ms);  // 70 bytes: 3.5 s for the whole header
  }
  const std::string raw = conn.ReadAll(3s);
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 408 ")) << raw.substr(0, 200);
  EXPECT_LT(SecondsSince(started), 3.0);
}

TEST(ServerBody, ASlowChunkedBodyOverTheLimitGets413) {
  TestServerConfig config = SlowNetworkConfig();
  config.options.body_limit = 4096;
  TestServer server(std::move(config));
  RawConnection conn(server.port());
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(conn.Send("POST /size HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
  for (int i = 0; i < 20 && !conn.Answered(); ++i) {
    if (!conn.Send("400\r\n" + std::string(1024, 'x') + "\r\n")) break;
    std::this_thread::sleep_for(100ms);
  }
  const std::string raw = conn.ReadAll(3s);
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 413 ")) << raw.substr(0, 200);
  // A declared length over the limit is refused before any of the body is read.
  RawConnection declared(server.port());
  ASSERT_TRUE(declared.Send("POST /size HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"));
  EXPECT_TRUE(declared.ReadAll(3s).starts_with("HTTP/1.1 413 "));
}

TEST(ServerBody, JsonBodiesGetTheJsonErrorShape) {
  TestServerConfig config{.router = MakeRouter()};
  config.options.body_limit = 1024;
  TestServer server(std::move(config));
  HttpClient client = server.Client();

  HttpResponse ok = client.Post("/api/v1/things", R"({"title":"路灯不亮"})", "application/json");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, R"({"title":"路灯不亮"})");

  auto error_of = [](const HttpResponse& res) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(res.body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("error")) {
      ADD_FAILURE() << "not the JSON error shape: " << res.status << " " << res.body;
      return boost::json::object{{"code", ""}, {"message", ""}, {"field", ""}};
    }
    return v.as_object().at("error").as_object();
  };
  HttpResponse malformed = client.Post("/api/v1/things", "{\"title\":", "application/json");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(error_of(malformed).at("code").as_string(), "malformed_request");

  HttpResponse form = client.Post("/api/v1/things", "title=x");
  EXPECT_EQ(form.status, 400);
  EXPECT_EQ(error_of(form).at("message").as_string(), "请使用 application/json");

  HttpResponse missing = client.Post("/api/v1/things", "{}", "application/json");
  EXPECT_EQ(missing.status, 422);
  EXPECT_EQ(error_of(missing).at("field").as_string(), "title");

  const std::string big = R"({"title":")" + std::string(2000, 'x') + "\"}";
  HttpResponse too_big = client.Post("/api/v1/things", big, "application/json");
  EXPECT_EQ(too_big.status, 413);
  EXPECT_EQ(error_of(too_big).at("code").as_string(), "payload_too_large");
  HttpResponse huge_header =
      server.Client().Get("/api/v1/things", {{"X-Big", std::string(32 * 1024, 'h')}});
  EXPECT_EQ(huge_header.status, 431);
  EXPECT_EQ(error_of(huge_header).at("code").as_string(), "header_too_large");
  EXPECT_EQ(server.Client().Get("/hello").status, 200);
}

}  // namespace
}  // namespace zhenwu::http
