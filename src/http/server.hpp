#pragma once
// The HTTP/1.1 server: Boost.Beast on Asio C++20 coroutines, one io_context run by `io_threads`
// threads, one coroutine per connection. Keep-alive, pipelined requests answered in order,
// read/idle timeouts, header and body limits (431 / 413), 400 for malformed requests, graceful
// shutdown on SIGINT/SIGTERM: stop accepting, let in-flight requests finish, close idle
// connections, then return from Run().

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/blocking_pool.hpp"
#include "http/metrics.hpp"
#include "http/page_cache.hpp"
#include "http/router.hpp"
#include "http/types.hpp"

namespace zhenwu::http {

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";      // host:port; port 0 picks a free one
  int io_threads = 0;                         // 0: one per core
  std::size_t header_limit = 16 * 1024;       // bytes; larger header block -> 431
  std::size_t body_limit = 32 * 1024 * 1024;  // bytes; larger body -> 413
  // The header must arrive within read_timeout_s of the request's first byte. The body may take
  // longer as long as it keeps coming: no pause of read_timeout_s, and in every read_timeout_s
  // after the header at least body_min_rate_bps * read_timeout_s bytes (at least one). Else 408.
  int read_timeout_s = 30;
  int64_t body_min_rate_bps = 2048;
  int idle_timeout_s = 75;    // keep-alive connection with no request
  int shutdown_grace_s = 20;  // most time in-flight requests get on shutdown
  bool trust_proxy = false;   // honour X-Forwarded-For / X-Forwarded-Proto
  bool access_log = true;
};

// Renders the page for an error status (404, 405, 413, 500 …) in the site's look. Used for
// unknown routes and for errors the server itself detects; JSON callers get the JSON shape.
using ErrorPageRenderer = std::function<Response(const Request& req, bhttp::status status)>;

class Server {
 public:
  Server(ServerOptions options, Router router, std::vector<Middleware> middleware, Metrics& metrics,
         PageCache* page_cache, ErrorPageRenderer error_page);
  ~Server();

  // Binds the listening socket; returns the bound port. Throws std::runtime_error when the
  // address is malformed or taken.
  uint16_t Listen();
  // Serves until Stop() or SIGINT/SIGTERM, then drains as described above and returns.
  // Listens first if Listen() was not called. Call once. Connections still busy when
  // shutdown_grace_s runs out are closed; their coroutines are destroyed with the Server, so a
  // BlockingPool those handlers await must be joined before the Server is destroyed.
  void Run();
  // Asks Run() to shut down gracefully; safe from any thread.
  void Stop();
  uint16_t port() const;
  // Number of open connections (for /metrics and tests).
  int open_connections() const;

  // Answers one request without a socket (router, middleware, error pages, gzip, ETag):
  // the same path a request from the network takes. Tests and the page cache warm-up use it.
  // `req.raw` must be set; `path`/`query` are derived from its target when `path` is empty.
  //
  // What it adds to what handlers return:
  // - X-Request-Id (the incoming one if it is 1..64 of [A-Za-z0-9_-], else a fresh one),
  //   Server, Date, Content-Length; for HEAD the headers of GET and no body.
  // - A status >= 400 returned with an empty body and no Content-Type gets the error page
  //   (ErrorPageRenderer, or JSON {"error":{"code","message"}} under /api/); a handler may
  //   simply `co_return Response{bhttp::status::not_found, 11};`. Unknown paths are 404, a
  //   known path with another method 405 with Allow. Both pass through the middleware.
  // - An exception escaping a handler or middleware is logged with the request id and becomes
  //   a 500 page; it never reaches the connection.
  // - Page cache (when given one): a GET/HEAD of a route marked cacheable from a visitor with
  //   no zw_sid cookie and no Authorization header is answered from the cache, keyed by path,
  //   query and the zw_text cookie, without running middleware or the handler. Only 200s
  //   without Set-Cookie and Content-Encoding are stored, with a strong ETag and a gzip form.
  // - If-None-Match against the response's ETag -> 304; gzip (with Vary: Accept-Encoding) for
  //   compressible types of 512 bytes or more when the client accepts it; a gzip body carries
  //   the weak form of the ETag.
  // Metrics::Observe and the access log line happen here too.
  asio::awaitable<Response> Handle(Request& req);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace zhenwu::http
