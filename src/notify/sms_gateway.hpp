#pragma once
// The SMS gateway is pluggable: the dispatcher hands each message to an SmsGateway. The one
// shipped posts JSON to an HTTP endpoint configured as notify.sms_url, so any provider can be
// attached through a small adapter (or the provider's own HTTP API where it takes this shape).

#include <cstdint>
#include <memory>
#include <string>

#include "core/config.hpp"
#include "core/result.hpp"

namespace zhenwu::notify {

struct SmsRequest {
  int64_t id = 0;     // the outbox id: the same id means the same message (for deduplication)
  std::string phone;  // 11 digits
  std::string text;
  std::string ref;  // what it is about ("services_case:12"), may be ""
};

class SmsGateway {
 public:
  virtual ~SmsGateway() = default;
  // Sends one message; blocking (call it off the IO threads). OK only when the gateway took it.
  // Any failure is an Error whose message says why (kept as the outbox row's last_error).
  virtual Status Send(const SmsRequest& sms) = 0;
};

// POSTs {"phone","text","ref","id"} as application/json to an http:// URL, with
// "Authorization: Bearer <token>" when a token is set; a 2xx answer is success, anything else
// (another status, refused connection, no answer within timeout_ms) a failure. https is not
// spoken here: point the URL at a local relay (e.g. nginx proxy_pass https://…).
class HttpSmsGateway final : public SmsGateway {
 public:
  // Fails with kInvalidInput (field "notify.sms_url") unless `url` is http://host[:port][/path].
  static Result<std::unique_ptr<HttpSmsGateway>> Create(const std::string& url, std::string token,
                                                        int64_t timeout_ms);
  Status Send(const SmsRequest& sms) override;

 private:
  HttpSmsGateway() = default;
  std::string host_, port_, target_, token_;
  int64_t timeout_ms_ = 5000;
};

// The gateway the configuration asks for: null when notify.sms_url is empty (SMS disabled:
// messages stay pending and visible on /admin/outbox), an HttpSmsGateway otherwise.
Result<std::shared_ptr<SmsGateway>> GatewayFromConfig(const Config& config);

}  // namespace zhenwu::notify
