#include "notify/dispatcher.hpp"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include "people/keys.hpp"

namespace zhenwu::notify {

namespace {

constexpr int64_t kFirstBackoffMs = 30 * 1000;
constexpr int64_t kMaxBackoffMs = 60 * 60 * 1000;

std::string RandomToken() {
  static const bool ready = sodium_init() >= 0;
  if (!ready) throw std::runtime_error("libsodium failed to initialise");
  unsigned char buf[16];
  randombytes_buf(buf, sizeof buf);
  char hex[sizeof buf * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, buf, sizeof buf);
  return hex;
}

// Last errors are shown on the outbox page; keep them short.
std::string Shorten(std::string text) {
  if (text.size() <= 300) return text;
  std::size_t cut = 300;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  return text + "…";
}

}  // namespace

int64_t BackoffMs(int attempts) {
  if (attempts <= 1) return kFirstBackoffMs;
  int64_t wait = kFirstBackoffMs;
  for (int i = 1; i < attempts && wait < kMaxBackoffMs; ++i) wait *= 2;
  return std::min(wait, kMaxBackoffMs);
}

Result<std::vector<ClaimedSms>> ClaimDue(db::Conn& conn, int64_t now_ms, int64_t lease_ms,
                                         const std::string& token, int limit) {
  // PostgreSQL: rows another transaction is claiming right now are skipped, not waited for; a
  // row claimed and committed meanwhile fails claimed_until_ms <= now on recheck. SQLite has one
  // writer, so the plain UPDATE is already exclusive.
  const std::string lock =
      conn.dialect() == db::Dialect::kPostgres ? " FOR UPDATE SKIP LOCKED" : "";
  auto rows = conn.Query(
      "UPDATE notify_outbox SET claimed_until_ms = $1, claim_token = $2 "
      "WHERE id IN (SELECT id FROM notify_outbox WHERE status = 'pending' "
      "AND next_attempt_at_ms <= $3 AND claimed_until_ms <= $3 "
      "ORDER BY next_attempt_at_ms, id LIMIT $4" +
          lock + ") RETURNING id, phone_enc, text, ref, attempts",
      {now_ms + lease_ms, token, now_ms, int64_t{limit}});
  if (!rows) return std::move(rows).error();
  std::vector<ClaimedSms> out;
  for (const auto& r : rows->rows) {
    out.push_back({r.Int(0), r.Text(1), r.Text(2), r.Text(3), static_cast<int>(r.Int(4))});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

Result<int64_t> ForgetOldFailedPhones(db::Conn& conn, int64_t now_ms) {
  return conn.Exec(
      "UPDATE notify_outbox SET phone_enc = NULL WHERE status = 'failed' "
      "AND next_attempt_at_ms < $1 AND phone_enc IS NOT NULL",
      {now_ms - kFailedPhoneKeepMs});
}

Dispatcher::Dispatcher(db::Database& db, const Clock& clock,
                       std::shared_ptr<const people::Keys> keys,
                       std::shared_ptr<SmsGateway> gateway, DispatchOptions options)
    : db_(db),
      clock_(clock),
      keys_(std::move(keys)),
      gateway_(std::move(gateway)),
      options_(options) {
  if (options_.lease_ms <= 0) {
    options_.lease_ms = options_.batch * options_.timeout_ms + 60 * 1000;
  }
}

Result<DispatchStats> Dispatcher::RunOnce() {
  DispatchStats stats;
  // Hourly, not every run: the index narrows the UPDATE to failed rows older than the limit, but
  // those whose phone is already gone stay in that range for good, so a run every 5 s would
  // re-read them for nothing. An hour late on a 30-day limit does not matter.
  if (const int64_t now = clock_.NowMs(); now >= next_forget_ms_ && !stopping_) {
    auto forgotten =
        db_.WriteSync<int64_t>([&](db::Conn& c) { return ForgetOldFailedPhones(c, now); });
    if (!forgotten) {
      // Not fatal to delivery: logged, and tried again on the next run.
      spdlog::warn("notify: dropping the phones of old failed SMS failed: {}",
                   forgotten.error().message);
    } else {
      next_forget_ms_ = now + kForgetPhonesEveryMs;
      stats.forgotten = static_cast<int>(*forgotten);
      if (*forgotten > 0) {
        spdlog::info("notify: dropped the phone of {} SMS failed more than {} days ago", *forgotten,
                     kFailedPhoneKeepDays);
      }
    }
  }
  if (!gateway_ || !keys_) return stats;
  while (!stopping_) {
    const std::string token = RandomToken();
    const int64_t now = clock_.NowMs();
    auto claimed = db_.WriteSync<std::vector<ClaimedSms>>(
        [&](db::Conn& c) { return ClaimDue(c, now, options_.lease_ms, token, options_.batch); });
    if (!claimed) return std::move(claimed).error();
    if (claimed->empty()) return stats;
    stats.claimed += static_cast<int>(claimed->size());

    for (const auto& sms : *claimed) {
      if (stopping_) {
        auto released = db_.WriteSync<int64_t>([&](db::Conn& c) {
          return c.Exec(
              "UPDATE notify_outbox SET claimed_until_ms = 0, claim_token = NULL "
              "WHERE claim_token = $1 AND status = 'pending'",
              {token});
        });
        if (!released) return std::move(released).error();
        return stats;
      }
      Status sent = Error::Internal("手机号已不再保存");
      bool retry = false;
      if (!sms.phone_enc.empty()) {
        auto phone = keys_->Decrypt(sms.phone_enc);
        if (!phone) {
          sent = Error::Internal("无法解密手机号（密钥不符）");
        } else {
          sent = gateway_->Send({sms.id, *phone, sms.text, sms.ref});
          retry = !sent;
        }
      }
      const int attempts = sms.attempts + 1;
      const int64_t at = clock_.NowMs();
      std::string sql;
      db::Params params;
      if (sent) {
        sql =
            "UPDATE notify_outbox SET status = 'sent', sent_at_ms = $1, attempts = $2, "
            "phone_enc = NULL, claimed_until_ms = 0, claim_token = NULL "
            "WHERE id = $3 AND claim_token = $4 AND status = 'pending'";
        params = {at, int64_t{attempts}, sms.id, token};
      } else {
        const bool give_up = !retry || attempts >= options_.max_attempts;
        sql =
            "UPDATE notify_outbox SET status = $1, attempts = $2, next_attempt_at_ms = $3, "
            "last_error = $4, claimed_until_ms = 0, claim_token = NULL "
            "WHERE id = $5 AND claim_token = $6 AND status = 'pending'";
        params = {std::string(give_up ? "failed" : "pending"),
                  int64_t{attempts},
                  at + (give_up ? 0 : BackoffMs(attempts)),
                  Shorten(sent.error().message),
                  sms.id,
                  token};
      }
      auto recorded = db_.WriteSync<int64_t>([&](db::Conn& c) { return c.Exec(sql, params); });
      if (!recorded) return std::move(recorded).error();
      if (*recorded == 0) {
        ++stats.lost;
        spdlog::warn("notify: the claim on SMS {} ran out before its outcome was recorded", sms.id);
        continue;
      }
      if (sent) {
        ++stats.sent;
      } else if (!retry || attempts >= options_.max_attempts) {
        ++stats.failed;
        spdlog::warn("notify: SMS {} failed for good after {} attempts: {}", sms.id, attempts,
                     sent.error().message);
      } else {
        ++stats.retrying;
      }
    }
  }
  return stats;
}

Result<std::unique_ptr<Dispatcher>> DispatcherFromConfig(const Config& config, db::Database& db,
                                                         const Clock& clock,
                                                         std::shared_ptr<const people::Keys> keys) {
  auto gateway = GatewayFromConfig(config);
  if (!gateway) return std::move(gateway).error();
  DispatchOptions options;
  options.max_attempts = static_cast<int>(config.sms_max_attempts);
  options.timeout_ms = config.sms_timeout_ms;
  return std::make_unique<Dispatcher>(db, clock, std::move(keys), std::move(gateway).value(),
                                      options);
}

}  // namespace zhenwu::notify
