#include "support/fake_sms_gateway.hpp"

#include <boost/json.hpp>

namespace zhenwu::testing {

FakeSmsGateway::FakeSmsGateway() : state_(std::make_shared<State>()) {
  http::Router router;
  router.Post("/sms", [state = state_](http::Request& req) -> asio::awaitable<http::Response> {
    ReceivedSms sms;
    sms.body = req.raw.body();
    sms.authorization = std::string(req.Header("Authorization"));
    sms.content_type = std::string(req.Header("Content-Type"));
    boost::system::error_code ec;
    auto json = boost::json::parse(sms.body, ec);
    if (!ec && json.is_object()) {
      const auto& o = json.as_object();
      if (auto* v = o.if_contains("phone"); v && v->is_string()) sms.phone = v->as_string();
      if (auto* v = o.if_contains("text"); v && v->is_string()) sms.text = v->as_string();
      if (auto* v = o.if_contains("ref"); v && v->is_string()) sms.ref = v->as_string();
      if (auto* v = o.if_contains("id"); v && v->is_int64()) sms.id = v->as_int64();
    }
    std::lock_guard lock(state->mutex);
    sms.accepted = !state->failing && !ec;
    state->received.push_back(sms);
    if (ec) co_return http::Text(http::bhttp::status::bad_request, "bad json");
    if (state->failing) {
      co_return http::Text(http::bhttp::status::internal_server_error, "gateway down");
    }
    co_return http::Json(http::bhttp::status::ok, "{\"ok\":true}");
  });
  server_ = std::make_unique<TestServer>(std::move(router));
  port_ = server_->port();
}

FakeSmsGateway::~FakeSmsGateway() { stop(); }

std::string FakeSmsGateway::url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/sms";
}

void FakeSmsGateway::set_failing(bool failing) {
  std::lock_guard lock(state_->mutex);
  state_->failing = failing;
}

void FakeSmsGateway::stop() {
  if (server_) server_->Stop();
}

std::vector<ReceivedSms> FakeSmsGateway::received() const {
  std::lock_guard lock(state_->mutex);
  return state_->received;
}

std::vector<ReceivedSms> FakeSmsGateway::accepted() const {
  std::lock_guard lock(state_->mutex);
  std::vector<ReceivedSms> out;
  for (const auto& r : state_->received) {
    if (r.accepted) out.push_back(r);
  }
  return out;
}

}  // namespace zhenwu::testing
