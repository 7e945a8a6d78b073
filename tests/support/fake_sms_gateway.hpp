#pragma once
// A stand-in for the SMS gateway: a real HTTP server on 127.0.0.1 and a free port that takes
// POST /sms like the gateway notify::HttpSmsGateway talks to, and remembers what it got.
//
//   FakeSmsGateway gateway;
//   config.sms_url = gateway.url();             // "http://127.0.0.1:PORT/sms"
//   gateway.set_failing(true);                  // answer 500: the gateway is "down"
//   ...
//   auto got = gateway.received();              // every request, in order, 500s included
//   EXPECT_EQ(got.back().phone, "13800138000");
//
// stop() closes the port altogether (connection refused), as a crashed gateway would.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "support/test_server.hpp"

namespace zhenwu::testing {

struct ReceivedSms {
  std::string phone, text, ref;
  int64_t id = 0;
  std::string authorization;  // the Authorization header as sent ("" when absent)
  std::string content_type;
  std::string body;       // the raw request body
  bool accepted = false;  // answered 2xx
};

class FakeSmsGateway {
 public:
  FakeSmsGateway();
  ~FakeSmsGateway();

  std::string url() const;
  uint16_t port() const { return port_; }
  // While failing, every request is answered 500 (and still recorded).
  void set_failing(bool failing);
  // Closes the listening port (connection refused from then on).
  void stop();
  std::vector<ReceivedSms> received() const;
  // The requests answered 2xx.
  std::vector<ReceivedSms> accepted() const;

 private:
  struct State {
    mutable std::mutex mutex;
    bool failing = false;
    std::vector<ReceivedSms> received;
  };
  std::shared_ptr<State> state_;
  std::unique_ptr<TestServer> server_;
  uint16_t port_ = 0;
};

}  // namespace zhenwu::testing
