#include "support/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cctype>

#include "http/gzip.hpp"
#include "http/types.hpp"

namespace zhenwu::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

HttpResponse Convert(bhttp::response<bhttp::string_body>&& res) {
  HttpResponse out;
  out.status = static_cast<int>(res.result_int());
  for (const auto& field : res) {
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  out.body = std::move(res.body());
  return out;
}

// Runs the io_context until the operations started on it complete.
void RunAll(asio::io_context& ioc) {
  ioc.restart();
  ioc.run();
}

}  // namespace

std::string HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (IEquals(key, name)) return value;
  }
  return {};
}

bool HttpResponse::HasHeader(std::string_view name) const {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& kv) { return IEquals(kv.first, name); });
}

std::vector<std::string> HttpResponse::HeaderValues(std::string_view name) const {
  std::vector<std::string> values;
  for (const auto& [key, value] : headers) {
    if (IEquals(key, name)) values.push_back(value);
  }
  return values;
}

struct HttpClient::Connection {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
};

HttpClient::HttpClient(uint16_t port, std::string host) : port_(port), host_(std::move(host)) {}
HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

HttpResponse HttpClient::Get(std::string_view path, const Headers& headers) {
  return Request("GET", path, {}, headers);
}

HttpResponse HttpClient::Head(std::string_view path, const Headers& headers) {
  return Request("HEAD", path, {}, headers);
}

HttpResponse HttpClient::Post(std::string_view path, std::string_view body,
                              std::string_view content_type, const Headers& headers) {
  Headers all = headers;
  all.emplace_back("Content-Type", std::string(content_type));
  return Request("POST", path, body, all);
}

HttpResponse HttpClient::PostForm(std::string_view path, const Headers& fields,
                                  const Headers& headers) {
  std::string body;
  for (const auto& [name, value] : fields) {
    if (!body.empty()) body.push_back('&');
    body.append(http::PercentEncode(name)).append("=").append(http::PercentEncode(value));
  }
  return Post(path, body, "application/x-www-form-urlencoded", headers);
}

HttpResponse HttpClient::Request(std::string_view method, std::string_view path,
                                 std::string_view body, const Headers& headers) {
  return Exchange(method, path, body, headers, /*retry=*/true);
}

HttpResponse HttpClient::Exchange(std::string_view method, std::string_view path,
                                  std::string_view body, const Headers& headers, bool retry) {
  const bool reused = conn_ != nullptr;
  HttpResponse failed;
  if (!conn_) {
    conn_ = std::make_unique<Connection>();
    beast::error_code ec;
    conn_->stream.expires_after(timeout_);
    conn_->stream.async_connect(tcp::endpoint(asio::ip::make_address(host_), port_),
                                [&](const beast::error_code& e) { ec = e; });
    RunAll(conn_->ioc);
    if (ec) {
      conn_.reset();
      failed.error = "connect: " + ec.message();
      return failed;
    }
  }

  bhttp::request<bhttp::string_body> req;
  req.method_string(method);
  req.target(path);
  req.version(11);
  bool has_host = false;
  bool has_cookie = false;
  for (const auto& [name, value] : headers) {
    req.insert(name, value);
    has_host = has_host || IEquals(name, "Host");
    has_cookie = has_cookie || IEquals(name, "Cookie");
  }
  if (!has_host) req.set(bhttp::field::host, host_ + ":" + std::to_string(port_));
  if (!accept_encoding_.empty() && req.find(bhttp::field::accept_encoding) == req.end()) {
    req.set(bhttp::field::accept_encoding, accept_encoding_);
  }
  if (!has_cookie && !cookies_.empty()) {
    std::string cookie;
    for (const auto& [name, value] : cookies_) {
      if (!cookie.empty()) cookie.append("; ");
      cookie.append(name).append("=").append(value);
    }
    req.set(bhttp::field::cookie, cookie);
  }
  req.body() = std::string(body);
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    req.prepare_payload();
  }

  Connection& c = *conn_;
  beast::error_code ec;
  c.stream.expires_after(timeout_);
  bhttp::async_write(c.stream, req, [&](const beast::error_code& e, std::size_t) { ec = e; });
  RunAll(c.ioc);

  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  parser.skip(method == "HEAD");
  if (!ec) {
    c.stream.expires_after(timeout_);
    bhttp::async_read(c.stream, c.buffer, parser,
                      [&](const beast::error_code& e, std::size_t) { ec = e; });
    RunAll(c.ioc);
  }
  if (ec) {
    conn_.reset();
    // The server may have closed a kept connection just before we reused it.
    if (reused && retry) return Exchange(method, path, body, headers, false);
    failed.error = ec.message();
    return failed;
  }

  auto raw = parser.release();
  const bool keep_alive = raw.keep_alive();
  HttpResponse res = Convert(std::move(raw));
  if (!keep_alive) conn_.reset();
  if (decompress_ && IEquals(res.Header("Content-Encoding"), "gzip")) {
    if (auto inflated = http::GzipDecompress(res.body)) {
      res.body = std::move(*inflated);
    } else {
      res.error = "corrupt gzip body";
    }
  }
  RememberCookies(res);
  return res;
}

void HttpClient::RememberCookies(const HttpResponse& res) {
  for (const std::string& header : res.HeaderValues("Set-Cookie")) {
    std::string_view rest = header;
    auto semi = rest.find(';');
    std::string_view pair = rest.substr(0, semi);
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    std::string name(Trim(pair.substr(0, eq)));
    std::string value(Trim(pair.substr(eq + 1)));
    bool expired = false;
    while (semi != std::string_view::npos) {
      rest.remove_prefix(semi + 1);
      semi = rest.find(';');
      std::string_view attr = Trim(rest.substr(0, semi));
      if (attr.size() > 8 && IEquals(attr.substr(0, 8), "Max-Age=")) {
        expired = attr.substr(8) == "0" || attr[8] == '-';
      }
    }
    std::erase_if(cookies_, [&](const auto& kv) { return kv.first == name; });
    if (!expired) cookies_.emplace_back(std::move(name), std::move(value));
  }
}

std::optional<std::string> HttpClient::cookie(std::string_view name) const {
  for (const auto& [key, value] : cookies_) {
    if (key == name) return value;
  }
  return std::nullopt;
}

void HttpClient::set_cookie(std::string name, std::string value) {
  std::erase_if(cookies_, [&](const auto& kv) { return kv.first == name; });
  cookies_.emplace_back(std::move(name), std::move(value));
}

void HttpClient::Disconnect() { conn_.reset(); }

std::string HttpClient::SendRaw(std::string_view bytes, std::chrono::milliseconds read_timeout,
                                bool close_write) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::error_code ec;
  stream.expires_after(timeout_);
  stream.async_connect(tcp::endpoint(asio::ip::make_address(host_), port_),
                       [&](const beast::error_code& e) { ec = e; });
  RunAll(ioc);
  if (ec) return {};

  const auto deadline = std::chrono::steady_clock::now() + read_timeout;
  stream.expires_at(deadline);
  asio::async_write(stream, asio::buffer(bytes.data(), bytes.size()),
                    [](const beast::error_code&, std::size_t) {});
  RunAll(ioc);
  if (close_write) stream.socket().shutdown(tcp::socket::shutdown_send, ec);

  std::string received;
  std::array<char, 16 * 1024> chunk;
  for (;;) {
    std::size_t n = 0;
    stream.expires_at(deadline);
    stream.async_read_some(asio::buffer(chunk), [&](const beast::error_code& e, std::size_t got) {
      ec = e;
      n = got;
    });
    RunAll(ioc);
    received.append(chunk.data(), n);
    if (ec) break;
  }
  return received;
}

std::vector<HttpResponse> ParseResponses(std::string_view raw) {
  std::vector<HttpResponse> out;
  while (!raw.empty()) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.eager(true);
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    beast::error_code ec;
    std::size_t used = parser.put(asio::buffer(raw.data(), raw.size()), ec);
    raw.remove_prefix(used);
    if (!parser.is_done() && !ec && parser.is_header_done() && raw.empty()) {
      parser.put_eof(ec);  // a body delimited by the end of the connection
    }
    if (ec || !parser.is_done()) break;
    out.push_back(Convert(parser.release()));
  }
  return out;
}

}  // namespace zhenwu::testing
