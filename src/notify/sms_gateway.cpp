#include "notify/sms_gateway.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <chrono>
#include <optional>

namespace zhenwu::notify {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxAnswer = 64 * 1024;

Error Failed(const std::string& why) { return Error::Unavailable("短信网关：" + why); }

// What the gateway answered, shortened for last_error.
std::string Excerpt(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, 200)) out += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
  return out;
}

asio::awaitable<Status> Exchange(std::string host, std::string port,
                                 bhttp::request<bhttp::string_body> request,
                                 std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  auto [rerr, endpoints] = co_await resolver.async_resolve(host, port, kAsTuple);
  if (rerr) co_return Failed("无法解析 " + host + "：" + rerr.message());
  beast::tcp_stream stream(ex);
  stream.expires_after(timeout);
  auto [cerr, ep] = co_await stream.async_connect(endpoints, kAsTuple);
  if (cerr) co_return Failed("无法连接 " + host + ":" + port + "：" + cerr.message());
  auto [werr, written] = co_await bhttp::async_write(stream, request, kAsTuple);
  if (werr) co_return Failed("发送请求失败：" + werr.message());
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(kMaxAnswer);
  auto [rderr, read] = co_await bhttp::async_read(stream, buffer, parser, kAsTuple);
  if (rderr) co_return Failed("读取应答失败：" + rderr.message());
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  const auto& answer = parser.get();
  const unsigned code = answer.result_int();
  if (code < 200 || code >= 300) {
    co_return Failed("HTTP " + std::to_string(code) +
                     (answer.body().empty() ? std::string() : " " + Excerpt(answer.body())));
  }
  co_return Status{};
}

}  // namespace

Result<std::unique_ptr<HttpSmsGateway>> HttpSmsGateway::Create(const std::string& url,
                                                               std::string token,
                                                               int64_t timeout_ms) {
  auto bad = [&](const std::string& why) {
    return Error::Invalid("notify.sms_url", "配置项 notify.sms_url 无效：" + why);
  };
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return bad("应为 http://主机:端口/路径");
  if (parsed->scheme() != "http") {
    return bad("只支持 http://；https 请经本机 nginx 等中转（见 docs/notify.md）");
  }
  if (parsed->encoded_host_address().empty()) return bad("缺少主机名");
  std::unique_ptr<HttpSmsGateway> gw(new HttpSmsGateway());
  gw->host_ = std::string(parsed->encoded_host_address());
  gw->port_ = parsed->has_port() ? std::string(parsed->port()) : "80";
  gw->target_ = std::string(parsed->encoded_target());
  if (gw->target_.empty()) gw->target_ = "/";
  gw->token_ = std::move(token);
  gw->timeout_ms_ = timeout_ms > 0 ? timeout_ms : 5000;
  return gw;
}

Status HttpSmsGateway::Send(const SmsRequest& sms) {
  boost::json::object body{
      {"phone", sms.phone}, {"text", sms.text}, {"ref", sms.ref}, {"id", sms.id}};
  bhttp::request<bhttp::string_body> request{bhttp::verb::post, target_, 11};
  const std::string host = host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_;
  request.set(bhttp::field::host, port_ == "80" ? host : host + ":" + port_);
  request.set(bhttp::field::user_agent, "zhenwu-notify");
  request.set(bhttp::field::content_type, "application/json; charset=utf-8");
  request.set(bhttp::field::connection, "close");
  if (!token_.empty()) request.set(bhttp::field::authorization, "Bearer " + token_);
  request.body() = boost::json::serialize(body);
  request.prepare_payload();

  const std::chrono::milliseconds timeout(timeout_ms_);
  asio::io_context io;
  std::optional<Status> outcome;
  asio::co_spawn(io, Exchange(host_, port_, std::move(request), timeout),
                 [&outcome](std::exception_ptr error, Status status) {
                   if (error) {
                     outcome.emplace(Failed("内部错误"));
                   } else {
                     outcome.emplace(std::move(status));
                   }
                 });
  // The whole exchange, name resolution included, gets timeout_ms; whatever is still pending
  // then is abandoned with the io_context.
  io.run_for(timeout);
  if (!outcome) {
    return Failed(std::to_string(timeout_ms_) + " 毫秒内没有应答");
  }
  return std::move(*outcome);
}

Result<std::shared_ptr<SmsGateway>> GatewayFromConfig(const Config& config) {
  if (config.sms_url.empty()) return std::shared_ptr<SmsGateway>();
  auto gw = HttpSmsGateway::Create(config.sms_url, config.sms_token, config.sms_timeout_ms);
  if (!gw) return std::move(gw).error();
  return std::shared_ptr<SmsGateway>(std::move(gw).value());
}

}  // namespace zhenwu::notify
