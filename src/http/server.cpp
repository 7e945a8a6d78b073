#include "http/server.hpp"

#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <ctime>
#include <list>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

#include "core/result.hpp"
#include "http/content.hpp"
#include "http/gzip.hpp"

namespace zhenwu::http {
namespace {

using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Parser = bhttp::request_parser<bhttp::string_body>;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

constexpr std::string_view kServerName = "zhenwu";
constexpr std::string_view kRequestIdHeader = "X-Request-Id";
// Per-request compression trades a little size for speed; cached pages and static files are
// compressed once, harder.
constexpr int kDynamicGzipLevel = 4;
constexpr int kCachedGzipLevel = 6;
constexpr std::size_t kReadChunk = 16 * 1024;
// After an error response the client may still be sending; reading a little more before closing
// keeps the kernel from answering with a reset that would destroy our response in flight.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr std::size_t kLingerMaxBytes = 1024 * 1024;
// The stream's own deadline is a backstop behind the read timer that answers 408.
constexpr auto kReadBackstop = std::chrono::seconds(2);
constexpr auto kDrainPoll = std::chrono::milliseconds(10);

// ---- small helpers -----------------------------------------------------------------------

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The Date header value, formatted once per second per thread.
std::string_view HttpDate() {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  thread_local std::time_t cached = -1;
  thread_local std::array<char, 32> text{};
  thread_local std::size_t length = 0;
  std::time_t now = std::time(nullptr);
  if (now != cached) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    auto r = fmt::format_to_n(text.data(), text.size(), "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
                              kDays[tm.tm_wday], tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900,
                              tm.tm_hour, tm.tm_min, tm.tm_sec);
    length = std::min(r.size, text.size());
    cached = now;
  }
  return {text.data(), length};
}

// 16 hex digits from a per-thread generator seeded once from the OS.
std::string NewRequestId() {
  thread_local uint64_t state = [] {
    std::random_device rd;
    return (uint64_t{rd()} << 32) ^ rd() ^ std::hash<std::thread::id>{}(std::this_thread::get_id());
  }();
  // splitmix64
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(16, '0');
  for (int i = 15; i >= 0; --i, z >>= 4) id[static_cast<std::size_t>(i)] = kHex[z & 0xf];
  return id;
}

bool IsValidRequestId(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

bool IsApiPath(std::string_view path) { return path == "/api" || path.starts_with("/api/"); }

// Fills req.path and req.query from the request target; false when it is not a valid
// origin-form (or absolute-form) target.
bool SplitTarget(Request& req) {
  std::string_view target = req.raw.target();
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.size() > scheme.size() && IEquals(target.substr(0, scheme.size()), scheme)) {
      auto slash = target.find('/', scheme.size());
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
  }
  if (target.empty() || target[0] != '/') return false;
  auto q = target.find('?');
  auto path = PercentDecode(target.substr(0, q), false);
  if (!path || path->find('\0') != std::string::npos) return false;
  req.path = std::move(*path);
  req.query = q == std::string_view::npos ? std::string() : std::string(target.substr(q + 1));
  return true;
}

std::string_view MethodLabel(const Request& req) {
  return req.method() == bhttp::verb::unknown ? std::string_view("OTHER")
                                              : std::string_view(bhttp::to_string(req.method()));
}

bool HasNoBody(unsigned status) {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

const char* ErrorCodeForStatus(bhttp::status status) {
  switch (status) {
    case bhttp::status::bad_request:
      return ErrorCodeName(ErrorCode::kMalformedRequest);
    case bhttp::status::unprocessable_entity:
      return ErrorCodeName(ErrorCode::kInvalidInput);
    case bhttp::status::unauthorized:
      return ErrorCodeName(ErrorCode::kUnauthenticated);
    case bhttp::status::forbidden:
      return ErrorCodeName(ErrorCode::kForbidden);
    case bhttp::status::not_found:
    case bhttp::status::gone:
      return ErrorCodeName(ErrorCode::kNotFound);
    case bhttp::status::conflict:
      return ErrorCodeName(ErrorCode::kConflict);
    case bhttp::status::too_many_requests:
      return ErrorCodeName(ErrorCode::kTooManyRequests);
    case bhttp::status::service_unavailable:
      return ErrorCodeName(ErrorCode::kUnavailable);
    case bhttp::status::method_not_allowed:
      return "method_not_allowed";
    case bhttp::status::request_timeout:
      return "request_timeout";
    case bhttp::status::payload_too_large:
      return "payload_too_large";
    case bhttp::status::request_header_fields_too_large:
      return "header_too_large";
    default:
      break;
  }
  return static_cast<unsigned>(status) >= 500 ? ErrorCodeName(ErrorCode::kInternal)
                                              : ErrorCodeName(ErrorCode::kInvalidInput);
}

Response DefaultErrorPage(bhttp::status status) {
  std::string reason(bhttp::obsolete_reason(status));
  return Html(status, fmt::format("<!doctype html>\n<html lang=\"zh-CN\"><meta charset=\"utf-8\">"
                                  "<title>{0} {1}</title><h1>{0} {1}</h1></html>\n",
                                  static_cast<unsigned>(status), reason));
}

void AddVaryAcceptEncoding(Response& res) {
  auto vary = res[bhttp::field::vary];
  if (vary.empty()) {
    res.set(bhttp::field::vary, "Accept-Encoding");
  } else if (vary.find("Accept-Encoding") == std::string_view::npos && vary != "*") {
    res.set(bhttp::field::vary, std::string(vary) + ", Accept-Encoding");
  }
}

// Turns `res` into a 304 for it: same validators and caching headers, no body.
void MakeNotModified(Response& res) {
  res.result(bhttp::status::not_modified);
  res.body().clear();
  res.erase(bhttp::field::content_type);
  res.erase(bhttp::field::content_length);
  res.erase(bhttp::field::content_encoding);
}

// The 408 / 413 / 431 / 400 a failed read deserves; nullopt when the peer just went away.
std::optional<bhttp::status> StatusForReadError(const beast::error_code& ec) {
  if (ec == bhttp::error::body_limit) return bhttp::status::payload_too_large;
  if (ec == bhttp::error::header_limit) return bhttp::status::request_header_fields_too_large;
  if (ec == beast::error::timeout) return bhttp::status::request_timeout;
  if (ec == bhttp::error::partial_message || ec == bhttp::error::end_of_stream) {
    return std::nullopt;
  }
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category()) {
    return bhttp::status::bad_request;
  }
  return std::nullopt;
}

bool ExpectsContinue(const RawRequest& req) {
  return IEquals(Trim(req[bhttp::field::expect]), "100-continue");
}

// The status line and header block of `res`, as Beast's serializer would write them. Writing
// this and the body with one gather write costs less than the generic serializer, and the
// server always knows the body length (Content-Length), so nothing else is needed.
void SerializeHead(const Response& res, std::string& out) {
  std::string_view reason = res.reason();
  out.reserve(512);
  out.append(res.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  const unsigned status = res.result_int();
  out.push_back(static_cast<char>('0' + status / 100 % 10));
  out.push_back(static_cast<char>('0' + status / 10 % 10));
  out.push_back(static_cast<char>('0' + status % 10));
  out.push_back(' ');
  out.append(reason).append("\r\n");
  for (const auto& field : res) {
    out.append(std::string_view(field.name_string())).append(": ");
    std::string_view value = field.value();
    if (value.find_first_of("\r\n") == std::string_view::npos) {
      out.append(value);
    } else {
      // A line break in a value (say, a file name from an upload) would split the header.
      for (char c : value) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
    }
    out.append("\r\n");
  }
  out.append("\r\n");
}

template <class Stream>
asio::awaitable<beast::error_code> WriteResponse(Stream& stream, const Response& res) {
  std::string head;
  SerializeHead(res, head);
  std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(res.body())};
  auto [ec, n] = co_await asio::async_write(stream, buffers, kUseTuple);
  co_return ec;
}

void LogException(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    spdlog::error("http: unexpected exception in a connection: {}", ex.what());
  } catch (...) {
    spdlog::error("http: unexpected exception in a connection");
  }
}

// What the read timer of a request checks. The header has a fixed deadline; the body, which on
// weak 4G may take minutes, only has to keep arriving: no pause of `timeout`, and at least `need`
// bytes in every window of `timeout`. Touched only on the connection's strand.
struct ReadWatch {
  Clock::time_point header_deadline;
  Clock::duration timeout{};
  std::size_t need = 1;
  bool body = false;  // the header is in; the body is arriving
  Clock::time_point last_progress;
  Clock::time_point window_end;
  std::size_t window_bytes = 0;

  void StartBody(Clock::time_point now) {
    body = true;
    last_progress = now;
    window_end = now + timeout;
    window_bytes = 0;
  }
  void Received(std::size_t n, Clock::time_point now) {
    if (!body || n == 0) return;
    window_bytes += n;
    last_progress = now;
  }
  // When the timer has to look next.
  Clock::time_point NextCheck() const {
    return body ? std::min(window_end, last_progress + timeout) : header_deadline;
  }
  // The timer fired at `now`: false when the request is too slow; otherwise a full window that
  // met the rate starts the next one.
  bool StillOnTime(Clock::time_point now) {
    if (!body || now - last_progress >= timeout) return false;
    if (now >= window_end) {
      if (window_bytes < need) return false;
      window_end = now + timeout;
      window_bytes = 0;
    }
    return true;
  }
};

struct Connection {
  explicit Connection(tcp::socket socket)
      : stream(std::move(socket)), read_timer(stream.get_executor()) {}

  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  asio::steady_timer read_timer;
  std::string remote_ip;
  bool idle = false;            // waiting for the first byte of a request
  bool read_timed_out = false;  // the read timer cancelled the read
  uint64_t read_generation = 0;
  ReadWatch watch;
  std::list<std::weak_ptr<Connection>>::iterator registry_entry;
};

// Sets the read timer to the watch's next check. When it fires and the request is too slow, the
// pending read is cancelled and marked timed out; otherwise it sets itself again. A new
// generation (the read finished) silences it.
void ArmReadTimer(const std::shared_ptr<Connection>& conn, uint64_t generation) {
  conn->read_timer.expires_at(conn->watch.NextCheck());
  conn->read_timer.async_wait([conn, generation](const beast::error_code& ec) {
    if (ec || conn->read_generation != generation) return;
    if (conn->watch.StillOnTime(Clock::now())) {
      ArmReadTimer(conn, generation);
      return;
    }
    conn->read_timed_out = true;
    beast::error_code ignored;
    conn->stream.socket().cancel(ignored);
  });
}

// Handlers chained behind middleware: next(req) of middleware i runs middleware i + 1. The
// lambda captures two words, so std::function keeps it inline without allocating.
struct Chain {
  const std::vector<Middleware>* middleware;
  const Handler* last;
};

asio::awaitable<Response> RunChain(const Chain* chain, std::size_t i, Request& req) {
  if (i == chain->middleware->size()) co_return co_await (*chain->last)(req);
  Handler next = [chain, i](Request& r) { return RunChain(chain, i + 1, r); };
  co_return co_await (*chain->middleware)[i](req, next);
}

}  // namespace

// ---- the server -------------------------------------------------------------------------

struct Server::Impl {
  Impl(ServerOptions opts, Router r, std::vector<Middleware> mw, Metrics& m, PageCache* cache,
       ErrorPageRenderer renderer)
      : options(std::move(opts)),
        threads(options.io_threads > 0
                    ? options.io_threads
                    : std::max(1, static_cast<int>(std::thread::hardware_concurrency()))),
        router(std::move(r)),
        middleware(std::move(mw)),
        metrics(m),
        page_cache(cache),
        error_page(std::move(renderer)),
        ioc(threads),
        accept_strand(asio::make_strand(ioc)),
        acceptor(accept_strand),
        signals(accept_strand) {
    if (options.access_log) {
      access_log = spdlog::get("access");
      if (!access_log) {
        try {
          access_log = spdlog::stdout_logger_mt("access");
        } catch (const spdlog::spdlog_ex&) {
          access_log = spdlog::get("access");  // another server made it meanwhile
        }
      }
    }
    metrics.AddGauge("zhenwu_http_open_connections", "Open HTTP connections.",
                     [open = open_connections] { return static_cast<double>(open->load()); });
  }

  asio::awaitable<Response> Handle(Request& req);
  asio::awaitable<Response> Dispatch(Request& req);
  asio::awaitable<Response> CallHandler(Request& req, const Handler& handler);
  Response ErrorResponse(const Request& req, bhttp::status status) const;
  Response FromCache(const PageCache::Entry& entry, const Request& req) const;
  void Represent(const Request& req, Response& res) const;
  void Finish(const Request& req, Response& res, Clock::time_point started) const;

  void Listen();
  void Start();
  void BeginShutdown();
  asio::awaitable<void> Drain();
  asio::awaitable<void> AcceptLoop();
  void StartSession(tcp::socket socket);
  asio::awaitable<void> Session(std::shared_ptr<Connection> conn);
  asio::awaitable<beast::error_code> ReadRequest(const std::shared_ptr<Connection>& conn,
                                                 Parser& parser, Clock::time_point deadline);
  asio::awaitable<void> SendErrorAndClose(Connection& conn, const Parser& parser,
                                          bhttp::status status, Clock::time_point started);
  asio::awaitable<void> LingerClose(Connection& conn);

  // Declaration order matters: the io_context goes before what its pending coroutines use, and
  // the I/O objects go before it.
  const ServerOptions options;
  const int threads;
  Router router;
  const std::vector<Middleware> middleware;
  Metrics& metrics;
  PageCache* const page_cache;
  const ErrorPageRenderer error_page;
  std::shared_ptr<spdlog::logger> access_log;
  const Handler not_found = [](Request&) -> asio::awaitable<Response> {
    co_return Response{bhttp::status::not_found, 11};
  };
  const Handler not_allowed = [](Request&) -> asio::awaitable<Response> {
    co_return Response{bhttp::status::method_not_allowed, 11};
  };

  std::shared_ptr<std::atomic<int>> open_connections = std::make_shared<std::atomic<int>>(0);
  std::atomic<bool> stopping{false};
  std::atomic<bool> stop_requested{false};
  std::atomic<uint16_t> port{0};
  std::mutex registry_mu;
  std::list<std::weak_ptr<Connection>> registry;

  asio::io_context ioc;
  asio::strand<asio::io_context::executor_type> accept_strand;
  tcp::acceptor acceptor;
  asio::signal_set signals;
};

// ---- request -> response ----------------------------------------------------------------

asio::awaitable<Response> Server::Impl::Handle(Request& req) {
  const auto started = Clock::now();
  if (!IsValidRequestId(req.request_id)) {
    std::string_view incoming = req.Header(kRequestIdHeader);
    req.request_id = IsValidRequestId(incoming) ? std::string(incoming) : NewRequestId();
  }
  if (options.trust_proxy) {
    std::string_view forwarded = req.Header("X-Forwarded-For");
    if (!forwarded.empty()) {
      // The last hop is the one our proxy added; earlier ones are the client's word.
      auto comma = forwarded.rfind(',');
      std::string_view ip =
          Trim(comma == std::string_view::npos ? forwarded : forwarded.substr(comma + 1));
      if (!ip.empty()) req.remote_ip = std::string(ip);
    }
    req.secure = IEquals(Trim(req.Header("X-Forwarded-Proto")), "https");
  }

  Response res;
  if (req.path.empty() && !SplitTarget(req)) {
    req.path = "/";
    res = ErrorResponse(req, bhttp::status::bad_request);
    res.keep_alive(false);
  } else {
    res = co_await Dispatch(req);
  }
  Finish(req, res, started);
  co_return res;
}

asio::awaitable<Response> Server::Impl::Dispatch(Request& req) {
  Router::Match match = router.Find(req.method(), req.path);
  const Handler* handler = match.handler;
  if (handler) {
    req.route = *match.pattern;
    for (auto& [name, value] : match.params) req.params.emplace(std::move(name), std::move(value));
  } else {
    handler = match.allowed.empty() ? &not_found : &not_allowed;
  }

  const bool head_or_get = req.method() == bhttp::verb::get || req.method() == bhttp::verb::head;
  // Anonymous means no session cookie and no bearer token: only then is the page the same for
  // everyone.
  const bool cacheable = match.handler && match.options.cacheable && page_cache && head_or_get &&
                         !req.Cookie(kSessionCookie) &&
                         req.raw.find(bhttp::field::authorization) == req.raw.end();
  std::string key;
  uint64_t generation = 0;
  int64_t now_ms = 0;
  if (cacheable) {
    now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
                 .count();
    auto text_size = req.Cookie(kTextSizeCookie);
    key.reserve(req.path.size() + req.query.size() + 8);
    key.append(req.path).append("?").append(req.query).append("|");
    if (text_size) key.append(*text_size);
    if (auto entry = page_cache->Get(key, now_ms)) co_return FromCache(*entry, req);
    generation = page_cache->generation();
  }

  Response res = co_await CallHandler(req, *handler);

  if (res.result() == bhttp::status::method_not_allowed && !match.allowed.empty() &&
      res.find(bhttp::field::allow) == res.end()) {
    res.set(bhttp::field::allow, match.allowed);
  }
  // A handler may answer an error with an empty body; the site's error page fills it in.
  if (res.result_int() >= 400 && res.body().empty() &&
      res.find(bhttp::field::content_type) == res.end()) {
    Response page = ErrorResponse(req, res.result());
    for (const auto& field : res) {
      if (page.find(field.name_string()) == page.end())
        page.insert(field.name_string(), field.value());
    }
    res = std::move(page);
  }

  if (cacheable && res.result() == bhttp::status::ok &&
      res.find(bhttp::field::set_cookie) == res.end() &&
      res.find(bhttp::field::content_encoding) == res.end()) {
    auto entry = std::make_shared<PageCache::Entry>();
    entry->response = std::move(res);
    Response& cached = entry->response;
    auto etag = cached[bhttp::field::etag];
    entry->etag = etag.empty() ? ContentEtag(cached.body()) : std::string(etag);
    cached.set(bhttp::field::etag, entry->etag);
    if (cached.body().size() >= kGzipMinBytes &&
        IsCompressibleType(cached[bhttp::field::content_type])) {
      std::string gz = GzipCompress(cached.body(), kCachedGzipLevel);
      if (gz.size() < cached.body().size()) {
        entry->gzip_body = std::move(gz);
        AddVaryAcceptEncoding(cached);
      }
    }
    cached.prepare_payload();
    entry->stored_ms = now_ms;
    entry->generation = generation;
    Response out = FromCache(*entry, req);
    page_cache->Put(key, std::move(entry));
    co_return out;
  }
  Represent(req, res);
  co_return res;
}

asio::awaitable<Response> Server::Impl::CallHandler(Request& req, const Handler& handler) {
  std::string failure;
  try {
    if (middleware.empty()) co_return co_await handler(req);
    Chain chain{&middleware, &handler};
    co_return co_await RunChain(&chain, 0, req);
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    failure = "unknown exception";
  }
  spdlog::error("request {}: {} {} failed: {}", req.request_id, MethodLabel(req),
                std::string_view(req.raw.target()), failure);
  co_return Response{bhttp::status::internal_server_error, 11};
}

Response Server::Impl::ErrorResponse(const Request& req, bhttp::status status) const {
  if (IsApiPath(req.path)) {
    boost::json::object error;
    error["code"] = ErrorCodeForStatus(status);
    error["message"] = bhttp::obsolete_reason(status);
    boost::json::object body;
    body["error"] = std::move(error);
    return Json(status, boost::json::serialize(body));
  }
  if (error_page) {
    try {
      Response res = error_page(req, status);
      res.result(status);
      return res;
    } catch (const std::exception& e) {
      spdlog::error("request {}: error page for {} failed: {}", req.request_id,
                    static_cast<unsigned>(status), e.what());
    }
  }
  return DefaultErrorPage(status);
}

Response Server::Impl::FromCache(const PageCache::Entry& entry, const Request& req) const {
  const bool gzip = !entry.gzip_body.empty() && req.AcceptsGzip();
  Response res(entry.response.base(), gzip ? entry.gzip_body : entry.response.body());
  if (gzip) {
    res.set(bhttp::field::content_encoding, "gzip");
    res.set(bhttp::field::etag, WeakEtag(entry.etag));
  }
  if (EtagMatches(req.Header("If-None-Match"), entry.etag)) MakeNotModified(res);
  return res;
}

void Server::Impl::Represent(const Request& req, Response& res) const {
  const unsigned status = res.result_int();
  auto etag = res[bhttp::field::etag];
  if (status == 200 && !etag.empty() &&
      (req.method() == bhttp::verb::get || req.method() == bhttp::verb::head) &&
      EtagMatches(req.Header("If-None-Match"), etag)) {
    MakeNotModified(res);
    return;
  }
  if (HasNoBody(status) || res.body().size() < kGzipMinBytes ||
      res.find(bhttp::field::content_encoding) != res.end() ||
      !IsCompressibleType(res[bhttp::field::content_type])) {
    return;
  }
  AddVaryAcceptEncoding(res);
  if (!req.AcceptsGzip()) return;
  std::string gz = GzipCompress(res.body(), kDynamicGzipLevel);
  if (gz.size() >= res.body().size()) return;
  res.body() = std::move(gz);
  res.set(bhttp::field::content_encoding, "gzip");
  if (!etag.empty()) res.set(bhttp::field::etag, WeakEtag(etag));
}

void Server::Impl::Finish(const Request& req, Response& res, Clock::time_point started) const {
  res.set(kRequestIdHeader, req.request_id);
  res.set(bhttp::field::server, kServerName);
  res.set(bhttp::field::date, HttpDate());
  const unsigned status = res.result_int();
  if (HasNoBody(status)) {
    res.body().clear();
    res.erase(bhttp::field::content_length);
    res.erase(bhttp::field::transfer_encoding);
  } else if (req.method() == bhttp::verb::head) {
    // The headers a GET would get, Content-Length included, and no body.
    const std::size_t length = res.body().size();
    res.body() = std::string();
    res.content_length(length);
  } else {
    res.prepare_payload();
  }

  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  metrics.Observe(req.route, MethodLabel(req), static_cast<int>(status), seconds);
  if (access_log) {
    access_log->info(
        "{} {} {} {} {} {} {:.1f}ms", req.request_id,
        req.remote_ip.empty() ? std::string_view("-") : std::string_view(req.remote_ip),
        MethodLabel(req), std::string_view(req.raw.target()), status, res.body().size(),
        seconds * 1000);
  }
}

// ---- sockets ----------------------------------------------------------------------------

void Server::Impl::Listen() {
  std::string_view listen = options.listen;
  std::string_view host, port_text;
  if (!listen.empty() && listen.front() == '[') {
    auto close = listen.find("]:");
    if (close == std::string_view::npos)
      throw std::runtime_error("malformed listen address: " + options.listen);
    host = listen.substr(1, close - 1);
    port_text = listen.substr(close + 2);
  } else {
    auto colon = listen.rfind(':');
    if (colon == std::string_view::npos)
      throw std::runtime_error("malformed listen address (host:port): " + options.listen);
    host = listen.substr(0, colon);
    port_text = listen.substr(colon + 1);
  }
  unsigned port_number = 0;
  auto [end, perr] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port_number);
  if (perr != std::errc() || end != port_text.data() + port_text.size() || port_number > 65535) {
    throw std::runtime_error("malformed port in listen address: " + options.listen);
  }
  if (host.empty() || host == "*") host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";
  beast::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("malformed host in listen address: " + options.listen);

  tcp::endpoint endpoint(address, static_cast<uint16_t>(port_number));
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    beast::error_code ignored;
    acceptor.close(ignored);
    throw std::runtime_error("cannot listen on " + options.listen + ": " + ec.message());
  }
  port = acceptor.local_endpoint().port();
}

void Server::Impl::Start() {
  signals.add(SIGINT);
  signals.add(SIGTERM);
  signals.async_wait([this](const beast::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("http: signal {} received, shutting down", signal);
    BeginShutdown();
  });
  asio::co_spawn(accept_strand, AcceptLoop(), LogException);
}

void Server::Impl::BeginShutdown() {
  // Runs on accept_strand.
  if (stopping.exchange(true)) return;
  stop_requested = true;
  beast::error_code ignored;
  acceptor.close(ignored);
  signals.cancel(ignored);
  {
    std::lock_guard lock(registry_mu);
    for (const auto& weak : registry) {
      if (auto conn = weak.lock()) {
        // Idle connections close now; busy ones finish their response with Connection: close.
        asio::post(conn->stream.get_executor(), [conn] {
          if (conn->idle) conn->stream.cancel();
        });
      }
    }
  }
  asio::co_spawn(accept_strand, Drain(), LogException);
}

asio::awaitable<void> Server::Impl::Drain() {
  const auto deadline = Clock::now() + std::chrono::seconds(options.shutdown_grace_s);
  asio::steady_timer timer(accept_strand);
  while (open_connections->load() > 0 && Clock::now() < deadline) {
    timer.expires_after(kDrainPoll);
    co_await timer.async_wait(kUseTuple);
  }
  if (open_connections->load() > 0) {
    spdlog::warn("http: {} connections still busy after {} s, closing them",
                 open_connections->load(), options.shutdown_grace_s);
  }
  ioc.stop();
}

asio::awaitable<void> Server::Impl::AcceptLoop() {
  while (!stopping) {
    tcp::socket socket(asio::make_strand(ioc));
    auto [ec] = co_await acceptor.async_accept(socket, kUseTuple);
    if (stopping || !acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors and the like: back off instead of spinning.
      spdlog::warn("http: accept failed: {}", ec.message());
      asio::steady_timer pause(accept_strand, std::chrono::milliseconds(50));
      co_await pause.async_wait(kUseTuple);
      continue;
    }
    StartSession(std::move(socket));
  }
}

void Server::Impl::StartSession(tcp::socket socket) {
  auto conn = std::make_shared<Connection>(std::move(socket));
  beast::error_code ec;
  auto& sock = conn->stream.socket();
  auto endpoint = sock.remote_endpoint(ec);
  if (!ec) conn->remote_ip = endpoint.address().to_string();
  sock.set_option(tcp::no_delay(true), ec);
  {
    std::lock_guard lock(registry_mu);
    registry.push_front(conn);
    conn->registry_entry = registry.begin();
  }
  open_connections->fetch_add(1);
  asio::co_spawn(conn->stream.get_executor(), Session(conn), LogException);
}

asio::awaitable<void> Server::Impl::Session(std::shared_ptr<Connection> conn) {
  // Also runs when the io_context is destroyed with this coroutine still suspended.
  struct Unregister {
    Impl* impl;
    Connection* conn;
    ~Unregister() {
      std::lock_guard lock(impl->registry_mu);
      impl->registry.erase(conn->registry_entry);
      impl->open_connections->fetch_sub(1);
    }
  } unregister{this, conn.get()};

  auto& stream = conn->stream;
  const auto idle_timeout = std::chrono::seconds(options.idle_timeout_s);
  const auto read_timeout = std::chrono::seconds(options.read_timeout_s);
  for (;;) {
    if (stopping) break;
    if (conn->buffer.size() == 0) {
      conn->idle = true;
      stream.expires_after(idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(conn->buffer.prepare(kReadChunk), kUseTuple);
      conn->idle = false;
      if (ec) break;  // closed by the client, idle timeout, or shutdown
      conn->buffer.commit(n);
    }

    const auto started = Clock::now();
    Parser parser;
    parser.header_limit(
        static_cast<std::uint32_t>(std::min<std::size_t>(options.header_limit, UINT32_MAX)));
    parser.body_limit(options.body_limit);
    parser.eager(true);
    beast::error_code ec = co_await ReadRequest(conn, parser, started + read_timeout);
    if (ec) {
      if (auto status = StatusForReadError(ec)) {
        co_await SendErrorAndClose(*conn, parser, *status, started);
        co_return;
      }
      break;
    }

    Request req;
    req.raw = parser.release();
    req.remote_ip = conn->remote_ip;
    Response res = co_await Handle(req);
    const bool keep_alive = req.raw.keep_alive() && res.keep_alive() && !stopping;
    res.version(req.raw.version());
    res.keep_alive(keep_alive);
    stream.expires_after(read_timeout);
    if (co_await WriteResponse(stream, res)) co_return;
    if (!keep_alive) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.close();
}

asio::awaitable<beast::error_code> Server::Impl::ReadRequest(
    const std::shared_ptr<Connection>& conn, Parser& parser, Clock::time_point deadline) {
  Connection& c = *conn;
  beast::error_code ec;
  bool timer_armed = false;
  bool sent_continue = false;
  c.read_timed_out = false;
  c.watch = ReadWatch{};
  c.watch.header_deadline = deadline;
  c.watch.timeout = std::chrono::seconds(options.read_timeout_s);
  c.watch.need = static_cast<std::size_t>(
      std::max<int64_t>(1, options.body_min_rate_bps * int64_t{options.read_timeout_s}));
  for (;;) {
    while (c.buffer.size() > 0 && !parser.is_done()) {
      const std::size_t used = parser.put(c.buffer.data(), ec);
      c.buffer.consume(used);
      if (ec == bhttp::error::need_more) {
        ec = {};
        break;
      }
      if (ec || used == 0) break;
    }
    if (ec || parser.is_done()) break;

    if (parser.is_header_done() && !c.watch.body) {
      // From here on the body's pace counts, not the header's deadline.
      c.watch.StartBody(Clock::now());
      if (timer_armed) ArmReadTimer(conn, c.read_generation);
    }
    if (c.read_timed_out) {
      // The timer fired just as the last read completed, too late to cancel it.
      ec = beast::error::timeout;
      break;
    }

    if (parser.is_header_done() && !sent_continue && ExpectsContinue(parser.get())) {
      sent_continue = true;
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      c.stream.expires_after(std::chrono::seconds(options.read_timeout_s));
      auto [wec, n] = co_await asio::async_write(c.stream, asio::buffer(kContinue), kUseTuple);
      if (wec) {
        ec = wec;
        break;
      }
    }
    if (!timer_armed) {
      // Only requests that do not arrive in one piece pay for this timer.
      timer_armed = true;
      ArmReadTimer(conn, ++c.read_generation);
    }
    // A read spans at most one window that met the rate (the next one without a byte fails).
    c.stream.expires_at(c.watch.NextCheck() + (c.watch.body ? c.watch.timeout : Clock::duration{}) +
                        kReadBackstop);
    auto [rec, n] = co_await c.stream.async_read_some(c.buffer.prepare(kReadChunk), kUseTuple);
    if (rec == asio::error::eof) {
      parser.put_eof(ec);
      if (!ec && !parser.is_done()) ec = bhttp::error::partial_message;
      break;
    }
    if (rec) {
      ec = c.read_timed_out ? beast::error_code(beast::error::timeout) : rec;
      break;
    }
    c.buffer.commit(n);
    c.watch.Received(n, Clock::now());
  }
  if (timer_armed) {
    ++c.read_generation;
    c.read_timer.cancel();
  }
  co_return ec;
}

asio::awaitable<void> Server::Impl::SendErrorAndClose(Connection& conn, const Parser& parser,
                                                      bhttp::status status,
                                                      Clock::time_point started) {
  Request req;
  // Also when the header is not done: the request line comes first, so an /api/ request whose
  // declared body is too large (Beast stops just before marking the header done) or whose header
  // is too long or too slow still gets the JSON error shape.
  req.raw.base() = parser.get().base();
  req.remote_ip = conn.remote_ip;
  if (!SplitTarget(req)) req.path = "/";
  std::string_view incoming = req.Header(kRequestIdHeader);
  req.request_id = IsValidRequestId(incoming) ? std::string(incoming) : NewRequestId();
  Response res = ErrorResponse(req, status);
  Finish(req, res, started);
  res.keep_alive(false);
  conn.stream.expires_after(std::chrono::seconds(options.read_timeout_s));
  co_await WriteResponse(conn.stream, res);
  co_await LingerClose(conn);
}

asio::awaitable<void> Server::Impl::LingerClose(Connection& conn) {
  beast::error_code ignored;
  conn.stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  conn.stream.expires_after(kLingerTime);
  std::array<char, 4096> sink;
  std::size_t total = 0;
  while (total < kLingerMaxBytes) {
    auto [ec, n] = co_await conn.stream.async_read_some(asio::buffer(sink), kUseTuple);
    if (ec) break;
    total += n;
  }
  conn.stream.close();
}

// ---- public API -------------------------------------------------------------------------

Server::Server(ServerOptions options, Router router, std::vector<Middleware> middleware,
               Metrics& metrics, PageCache* page_cache, ErrorPageRenderer error_page)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router), std::move(middleware),
                                   metrics, page_cache, std::move(error_page))) {}

Server::~Server() = default;

uint16_t Server::Listen() {
  impl_->Listen();
  return impl_->port;
}

void Server::Run() {
  if (!impl_->acceptor.is_open()) Listen();
  impl_->Start();
  auto run = [this] {
    for (;;) {
      try {
        impl_->ioc.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("http: io thread caught: {}", e.what());
      }
    }
  };
  std::vector<std::thread> workers;
  for (int i = 1; i < impl_->threads; ++i) workers.emplace_back(run);
  run();
  for (auto& t : workers) t.join();
  // Connections still busy after the grace period: no thread runs the io_context any more, so
  // their sockets can be closed from here; clients see the end now, not when *this is destroyed.
  std::lock_guard lock(impl_->registry_mu);
  for (const auto& weak : impl_->registry) {
    if (auto conn = weak.lock()) {
      beast::error_code ignored;
      conn->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      conn->stream.socket().close(ignored);
    }
  }
}

void Server::Stop() {
  if (impl_->stop_requested.exchange(true)) return;
  asio::post(impl_->accept_strand, [impl = impl_.get()] { impl->BeginShutdown(); });
}

uint16_t Server::port() const { return impl_->port; }

int Server::open_connections() const { return impl_->open_connections->load(); }

asio::awaitable<Response> Server::Handle(Request& req) { return impl_->Handle(req); }

}  // namespace zhenwu::http
