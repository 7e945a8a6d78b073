#pragma once
// Notifications (通知): an in-app inbox for account holders and an SMS outbox.
//
// A module announces a step by calling Enqueue inside the write transaction of that step, so the
// notification commits with the step or not at all. In-app messages are visible at once on
// /account/inbox; SMS wait in notify_outbox until the Dispatcher (dispatcher.hpp) hands them to
// the gateway, and stay there (retried with backoff) while the gateway is down or not
// configured: nothing is lost.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "db/db.hpp"

namespace zhenwu::people {
struct Keys;
}

namespace zhenwu::notify {

// One notification to one person: in-app when user_id is set, by SMS when phone is set (both
// may be).
struct Message {
  std::optional<int64_t> user_id;  // an auth_users id: goes to their inbox
  std::string phone;               // a mainland mobile number ("" = no SMS)
  std::string title;               // "您的申请已受理"
  std::string text;  // "办件 PZ-2026-0012 已受理，承诺 2026年12月4日 前办结。"
  std::string link;  // a local path for the inbox ("/cases/12"); "" = none
  std::string ref;   // what it is about, for the outbox page ("services_case:12")
};

// The text an SMS carries for `message`: "title：text" (or the text alone without a title).
std::string SmsText(const Message& message);

// Records `message` inside the caller's transaction: an inbox row for user_id, an outbox row
// (phone encrypted with `keys`, masked copy for display, due now) for phone. Fails with
// kInvalidInput (field "phone", "title", "text" or "link") when neither recipient is given, the
// phone is not a mainland mobile number, title and text are both empty, or link is not a local
// path; with the database's error otherwise (kConflict for an unknown user_id). Nothing is
// written on failure; the caller's transaction should then roll back.
Status Enqueue(db::Conn& conn, const Clock& clock, const people::Keys& keys,
               const Message& message);

// --- the inbox ---------------------------------------------------------------------------------

struct InboxItem {
  int64_t id = 0;
  std::string title, body, link;
  int64_t created_at_ms = 0;
  std::optional<int64_t> read_at_ms;
};

// The user's messages, newest first, `limit` of them with id < before_id when given.
Result<std::vector<InboxItem>> ListInbox(db::Conn& conn, int64_t user_id,
                                         std::optional<int64_t> before_id, int limit);
// How many of the user's messages are unread.
Result<int64_t> CountUnread(db::Conn& conn, int64_t user_id);
// Marks one of the user's messages read (again is fine). kNotFound when the message is not
// theirs or does not exist.
Status MarkRead(db::Conn& conn, const Clock& clock, int64_t user_id, int64_t id);
// Marks every unread message of the user read; returns how many.
Result<int64_t> MarkAllRead(db::Conn& conn, const Clock& clock, int64_t user_id);

// --- the outbox --------------------------------------------------------------------------------

enum class OutboxStatus { kPending, kSent, kFailed };
std::string_view OutboxStatusName(OutboxStatus status);  // "pending" | "sent" | "failed"
std::optional<OutboxStatus> OutboxStatusFromName(std::string_view name);

struct OutboxItem {
  int64_t id = 0;
  std::string channel;     // "sms"
  std::string phone_mask;  // "138****5678"
  bool has_phone = false;  // the encrypted phone is still kept (pending or failed)
  std::string text, link, ref;
  OutboxStatus status = OutboxStatus::kPending;
  int attempts = 0;
  int64_t next_attempt_at_ms = 0;
  std::string last_error;
  int64_t created_at_ms = 0;
  std::optional<int64_t> sent_at_ms;
};

struct OutboxQuery {
  std::optional<OutboxStatus> status;  // none: all
  std::optional<int64_t> before_id;    // keyset paging, newest first
  int limit = 50;
};
Result<std::vector<OutboxItem>> ListOutbox(db::Conn& conn, const OutboxQuery& query);
Result<std::optional<OutboxItem>> FindOutbox(db::Conn& conn, int64_t id);

struct OutboxCounts {
  int64_t pending = 0, sent = 0, failed = 0;
};
Result<OutboxCounts> CountOutbox(db::Conn& conn);

// Puts a failed SMS back in the queue, due now, with its attempts counted from zero, and audits
// it (notify.sms.retry) as `actor`. kNotFound for an unknown id; kConflict when the message is
// not failed or its phone is no longer kept.
Status RetryFailed(db::Conn& conn, const Clock& clock, const audit::Actor& actor, int64_t id);

}  // namespace zhenwu::notify
