#pragma once
// A small synchronous HTTP/1.1 client over real TCP for tests. It keeps one keep-alive
// connection (reconnecting when the server closed it), remembers cookies the server sets like a
// browser would, and never throws on HTTP errors: look at `status`.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zhenwu::testing {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;  // 0: no response (connection failed or timed out; see `error`)
  Headers headers;
  std::string body;
  std::string error;

  // The first header with this name (case-insensitive); "" when absent.
  std::string Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
  // All headers with this name, e.g. every Set-Cookie.
  std::vector<std::string> HeaderValues(std::string_view name) const;
};

class HttpClient {
 public:
  explicit HttpClient(uint16_t port, std::string host = "127.0.0.1");
  ~HttpClient();
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;

  HttpResponse Get(std::string_view path, const Headers& headers = {});
  HttpResponse Head(std::string_view path, const Headers& headers = {});
  HttpResponse Post(std::string_view path, std::string_view body,
                    std::string_view content_type = "application/x-www-form-urlencoded",
                    const Headers& headers = {});
  // POSTs fields as application/x-www-form-urlencoded.
  HttpResponse PostForm(std::string_view path, const Headers& fields, const Headers& headers = {});
  // Any method. A Host header is added unless given; Content-Length when there is a body.
  HttpResponse Request(std::string_view method, std::string_view path, std::string_view body = {},
                       const Headers& headers = {});

  // Opens a fresh connection, writes `bytes` as they are (errors ignored) and returns everything
  // the server sends until it closes the connection or `read_timeout` passes. With
  // `close_write` the client then shuts down its sending side, so the server sees the end of
  // the stream instead of waiting for more.
  std::string SendRaw(std::string_view bytes,
                      std::chrono::milliseconds read_timeout = std::chrono::seconds(3),
                      bool close_write = false);

  // Inflate gzip bodies (Content-Encoding: gzip) before returning them. Off by default so
  // tests can see what went over the wire.
  void set_decompress(bool on) { decompress_ = on; }
  // Sent with every request as Accept-Encoding when non-empty (default: none).
  void set_accept_encoding(std::string value) { accept_encoding_ = std::move(value); }
  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }

  // The cookie jar: filled from Set-Cookie (Max-Age=0 removes), sent as Cookie.
  std::optional<std::string> cookie(std::string_view name) const;
  void set_cookie(std::string name, std::string value);
  void clear_cookies() { cookies_.clear(); }

  // Closes the kept connection; the next request opens a new one.
  void Disconnect();

  uint16_t port() const { return port_; }

 private:
  struct Connection;
  HttpResponse Exchange(std::string_view method, std::string_view path, std::string_view body,
                        const Headers& headers, bool retry);
  void RememberCookies(const HttpResponse& res);

  uint16_t port_;
  std::string host_;
  bool decompress_ = false;
  std::string accept_encoding_;
  std::chrono::milliseconds timeout_ = std::chrono::seconds(10);
  Headers cookies_;
  std::unique_ptr<Connection> conn_;
};

// Splits raw bytes from SendRaw into the HTTP responses they hold, in order (for pipelining
// tests). A trailing incomplete response is dropped.
std::vector<HttpResponse> ParseResponses(std::string_view raw);

}  // namespace zhenwu::testing
