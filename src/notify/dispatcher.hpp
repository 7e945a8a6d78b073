#pragma once
// Delivery of the SMS outbox. RunOnce claims the due pending messages atomically, hands each to
// the gateway and records the outcome:
// - claiming sets a lease (claimed_until_ms) and a random claim token on the rows in one
//   statement; PostgreSQL picks the rows with FOR UPDATE SKIP LOCKED, SQLite's single writer
//   serialises claims. Any number of server processes can run dispatchers; none sends a message
//   another one holds. A dispatcher that dies mid-batch leaves its rows to be claimed again when
//   the lease ends (so delivery is at least once; the gateway sees the same "id" again).
// - 2xx from the gateway: status 'sent', the encrypted phone dropped (only the mask stays).
// - anything else: attempts + 1 and the next try after BackoffMs(attempts); after max_attempts
//   the message is 'failed' with its last error, and waits for an administrator's 重试.
// - a failed message keeps its encrypted phone for kFailedPhoneKeepDays only; after that
//   ForgetOldFailedPhones (run by RunOnce at most once an hour) drops it, and it can no longer
//   be retried (the mask stays for the record).
// Time is the injected Clock's, so tests move a FakeClock and call RunOnce.

#include <atomic>
#include <cstdint>
#include <memory>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "db/db.hpp"
#include "notify/sms_gateway.hpp"

namespace zhenwu::people {
struct Keys;
}

namespace zhenwu::notify {

// How long a failed message keeps its encrypted phone (PIPL data minimisation): the phone is
// kept past failure only so that an administrator can press 重试 once the gateway works again;
// 30 days is ample for that, and a message that old is of no use to its recipient anyway.
// Deliberately not a config key: the limit is a policy of this module, not of a deployment.
inline constexpr int64_t kFailedPhoneKeepDays = 30;
inline constexpr int64_t kFailedPhoneKeepMs = kFailedPhoneKeepDays * 24 * 60 * 60 * 1000;
// How often one dispatcher looks for phones to forget (its first RunOnce always does).
inline constexpr int64_t kForgetPhonesEveryMs = 60 * 60 * 1000;

// The wait before the next try after `attempts` failed ones: 30 s, 1 min, 2 min, 4 min, …,
// at most 1 hour.
int64_t BackoffMs(int attempts);

struct DispatchOptions {
  int max_attempts = 20;      // tries before a message is 'failed'
  int batch = 20;             // messages claimed per claim
  int64_t lease_ms = 0;       // how long a claim holds; 0: batch × gateway timeout + 60 s
  int64_t timeout_ms = 5000;  // the gateway's timeout (for the default lease)
};

struct DispatchStats {
  int claimed = 0;
  int sent = 0;
  int retrying = 0;   // failed this time, will be tried again
  int failed = 0;     // failed for good (max attempts, or the phone cannot be decrypted)
  int lost = 0;       // the lease ran out before the outcome was recorded (another took over)
  int forgotten = 0;  // failed messages whose phone was dropped (older than kFailedPhoneKeepDays)
};

class Dispatcher {
 public:
  // `gateway` null: SMS disabled, RunOnce does nothing and messages stay pending.
  Dispatcher(db::Database& db, const Clock& clock, std::shared_ptr<const people::Keys> keys,
             std::shared_ptr<SmsGateway> gateway, DispatchOptions options = {});

  // First, at most once per kForgetPhonesEveryMs, drops the phones of messages failed more than
  // kFailedPhoneKeepDays ago (also when SMS is disabled). Then sends every message due now,
  // claim after claim, until none is due (or only ones claimed by others). Blocking: run it on a
  // background thread, never on an IO thread. Fails with the database's error (what was already
  // recorded stays recorded).
  Result<DispatchStats> RunOnce();

  bool enabled() const { return gateway_ != nullptr; }

  // Asks a RunOnce in progress (on another thread) to return after the message being sent; the
  // rest of its claim is released at once so another process can send it. Safe from any thread;
  // RunOnce does nothing afterwards. For shutdown.
  void Stop() { stopping_ = true; }

 private:
  db::Database& db_;
  const Clock& clock_;
  std::shared_ptr<const people::Keys> keys_;
  std::shared_ptr<SmsGateway> gateway_;
  DispatchOptions options_;
  std::atomic<bool> stopping_{false};
  int64_t next_forget_ms_ = 0;  // when RunOnce next looks for phones to forget
};

// One claimed message (exposed for tests of the claim itself).
struct ClaimedSms {
  int64_t id = 0;
  std::string phone_enc;  // "" when the phone is no longer kept
  std::string text, ref;
  int attempts = 0;
};
// Claims up to `limit` due pending messages for `lease_ms` under `token`, in one statement.
Result<std::vector<ClaimedSms>> ClaimDue(db::Conn& conn, int64_t now_ms, int64_t lease_ms,
                                         const std::string& token, int limit);

// Sets phone_enc = NULL on the failed messages that failed before `now_ms` −
// kFailedPhoneKeepMs and still have a phone, in one statement; phone_mask stays. A failed row's
// next_attempt_at_ms is the time it failed (giving up records the attempt's time there, and
// nothing else changes a failed row until a retry makes it pending again), and the condition
// runs on the notify_outbox_due index (status, next_attempt_at_ms). Returns how many rows.
Result<int64_t> ForgetOldFailedPhones(db::Conn& conn, int64_t now_ms);

// Builds the dispatcher the configuration asks for (notify.sms_*). kInvalidInput for a bad URL.
Result<std::unique_ptr<Dispatcher>> DispatcherFromConfig(const Config& config, db::Database& db,
                                                         const Clock& clock,
                                                         std::shared_ptr<const people::Keys> keys);

}  // namespace zhenwu::notify
