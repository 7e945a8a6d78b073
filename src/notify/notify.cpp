#include "notify/notify.hpp"

#include "people/keys.hpp"
#include "people/validate.hpp"

namespace zhenwu::notify {

namespace {

constexpr std::string_view kOutboxColumns =
    "id, channel, phone_mask, CASE WHEN phone_enc IS NULL THEN 0 ELSE 1 END, text, link, ref, "
    "status, attempts, "
    "next_attempt_at_ms, last_error, created_at_ms, sent_at_ms";

bool IsLocalPath(std::string_view link) {
  if (link.empty() || link[0] != '/') return false;
  if (link.size() > 1 && (link[1] == '/' || link[1] == '\\')) return false;
  for (char c : link) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

OutboxItem OutboxFromRow(const db::Row& r) {
  OutboxItem o;
  o.id = r.Int(0);
  o.channel = r.Text(1);
  o.phone_mask = r.Text(2);
  o.has_phone = r.Int(3) != 0;
  o.text = r.Text(4);
  o.link = r.Text(5);
  o.ref = r.Text(6);
  o.status = OutboxStatusFromName(r.Text(7)).value_or(OutboxStatus::kPending);
  o.attempts = static_cast<int>(r.Int(8));
  o.next_attempt_at_ms = r.Int(9);
  o.last_error = r.Text(10);
  o.created_at_ms = r.Int(11);
  o.sent_at_ms = r.OptInt(12);
  return o;
}

}  // namespace

std::string SmsText(const Message& message) {
  if (message.title.empty()) return message.text;
  if (message.text.empty()) return message.title;
  return message.title + "：" + message.text;
}

Status Enqueue(db::Conn& conn, const Clock& clock, const people::Keys& keys,
               const Message& message) {
  if (!message.user_id && message.phone.empty()) {
    return Error::Invalid("phone", "通知没有接收人：需要账号或手机号");
  }
  if (message.title.empty() && message.text.empty()) {
    return Error::Invalid("text", "通知内容不能为空");
  }
  if (!message.link.empty() && !IsLocalPath(message.link)) {
    return Error::Invalid("link", "通知链接应为本站路径，例如 /cases/12");
  }
  std::string phone;
  if (!message.phone.empty()) {
    auto normal = people::NormalizeMobile(message.phone, "phone");
    if (!normal) return std::move(normal).error();
    phone = std::move(normal).value();
  }
  const int64_t now = clock.NowMs();
  if (message.user_id) {
    auto r = conn.Exec(
        "INSERT INTO notify_inbox (user_id, title, body, link, created_at_ms) "
        "VALUES ($1, $2, $3, $4, $5)",
        {*message.user_id, message.title, message.text, message.link, now});
    if (!r) return std::move(r).error();
  }
  if (!phone.empty()) {
    auto r = conn.Exec(
        "INSERT INTO notify_outbox (channel, phone_enc, phone_mask, text, link, ref, status, "
        "attempts, next_attempt_at_ms, created_at_ms) "
        "VALUES ('sms', $1, $2, $3, $4, $5, 'pending', 0, $6, $6)",
        {keys.Encrypt(phone), people::MaskPhone(phone), SmsText(message), message.link, message.ref,
         now});
    if (!r) return std::move(r).error();
  }
  return {};
}

Result<std::vector<InboxItem>> ListInbox(db::Conn& conn, int64_t user_id,
                                         std::optional<int64_t> before_id, int limit) {
  auto rows = conn.Query(
      "SELECT id, title, body, link, created_at_ms, read_at_ms FROM notify_inbox "
      "WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
      {user_id, before_id.value_or(INT64_MAX), int64_t{limit}});
  if (!rows) return std::move(rows).error();
  std::vector<InboxItem> out;
  for (const auto& r : rows->rows) {
    out.push_back({r.Int(0), r.Text(1), r.Text(2), r.Text(3), r.Int(4), r.OptInt(5)});
  }
  return out;
}

Result<int64_t> CountUnread(db::Conn& conn, int64_t user_id) {
  auto row = conn.QueryOne(
      "SELECT COUNT(*) FROM notify_inbox WHERE user_id = $1 AND read_at_ms IS NULL", {user_id});
  if (!row) return std::move(row).error();
  return *row ? (*row)->Int(0) : 0;
}

Status MarkRead(db::Conn& conn, const Clock& clock, int64_t user_id, int64_t id) {
  auto found = conn.QueryOne("SELECT read_at_ms FROM notify_inbox WHERE id = $1 AND user_id = $2",
                             {id, user_id});
  if (!found) return std::move(found).error();
  if (!*found) return Error::NotFound("没有这条消息");
  if (!(*found)->IsNull(0)) return {};
  auto r = conn.Exec("UPDATE notify_inbox SET read_at_ms = $1 WHERE id = $2 AND user_id = $3",
                     {clock.NowMs(), id, user_id});
  if (!r) return std::move(r).error();
  return {};
}

Result<int64_t> MarkAllRead(db::Conn& conn, const Clock& clock, int64_t user_id) {
  return conn.Exec(
      "UPDATE notify_inbox SET read_at_ms = $1 WHERE user_id = $2 AND read_at_ms IS NULL",
      {clock.NowMs(), user_id});
}

std::string_view OutboxStatusName(OutboxStatus status) {
  switch (status) {
    case OutboxStatus::kPending:
      return "pending";
    case OutboxStatus::kSent:
      return "sent";
    case OutboxStatus::kFailed:
      return "failed";
  }
  return "pending";
}

std::optional<OutboxStatus> OutboxStatusFromName(std::string_view name) {
  if (name == "pending") return OutboxStatus::kPending;
  if (name == "sent") return OutboxStatus::kSent;
  if (name == "failed") return OutboxStatus::kFailed;
  return std::nullopt;
}

Result<std::vector<OutboxItem>> ListOutbox(db::Conn& conn, const OutboxQuery& query) {
  std::string sql = "SELECT " + std::string(kOutboxColumns) + " FROM notify_outbox WHERE id < $1";
  db::Params params{query.before_id.value_or(INT64_MAX)};
  if (query.status) {
    sql += " AND status = $2";
    params.emplace_back(std::string(OutboxStatusName(*query.status)));
  }
  sql += " ORDER BY id DESC LIMIT $" + std::to_string(params.size() + 1);
  params.emplace_back(int64_t{query.limit});
  auto rows = conn.Query(sql, params);
  if (!rows) return std::move(rows).error();
  std::vector<OutboxItem> out;
  for (const auto& r : rows->rows) out.push_back(OutboxFromRow(r));
  return out;
}

Result<std::optional<OutboxItem>> FindOutbox(db::Conn& conn, int64_t id) {
  auto row = conn.QueryOne(
      "SELECT " + std::string(kOutboxColumns) + " FROM notify_outbox WHERE id = $1", {id});
  if (!row) return std::move(row).error();
  if (!*row) return std::optional<OutboxItem>();
  return std::optional<OutboxItem>(OutboxFromRow(**row));
}

Result<OutboxCounts> CountOutbox(db::Conn& conn) {
  auto rows = conn.Query("SELECT status, COUNT(*) FROM notify_outbox GROUP BY status");
  if (!rows) return std::move(rows).error();
  OutboxCounts counts;
  for (const auto& r : rows->rows) {
    const auto status = OutboxStatusFromName(r.Text(0));
    if (!status) continue;
    (*status == OutboxStatus::kPending ? counts.pending
     : *status == OutboxStatus::kSent  ? counts.sent
                                       : counts.failed) = r.Int(1);
  }
  return counts;
}

Status RetryFailed(db::Conn& conn, const Clock& clock, const audit::Actor& actor, int64_t id) {
  auto item = FindOutbox(conn, id);
  if (!item) return std::move(item).error();
  if (!*item) return Error::NotFound("没有这条短信");
  if ((*item)->status != OutboxStatus::kFailed) {
    return Error::Conflict("只有发送失败的短信可以重试");
  }
  if (!(*item)->has_phone) return Error::Conflict("这条短信的手机号已超过保留期限删除，无法重试");
  auto r = conn.Exec(
      "UPDATE notify_outbox SET status = 'pending', attempts = 0, next_attempt_at_ms = $1, "
      "claimed_until_ms = 0, claim_token = NULL "
      "WHERE id = $2 AND status = 'failed' AND phone_enc IS NOT NULL",
      {clock.NowMs(), id});
  if (!r) return std::move(r).error();
  // Changed since it was read: retried meanwhile, or its phone just passed the keeping limit.
  if (*r == 0) return Error::Conflict("只有发送失败且仍保存手机号的短信可以重试");
  audit::Entry entry;
  entry.action = "notify.sms.retry";
  entry.entity = "notify_outbox";
  entry.entity_id = std::to_string(id);
  entry.summary = "重试发送短信至 " + (*item)->phone_mask;
  entry.before = "{\"status\":\"failed\",\"attempts\":" + std::to_string((*item)->attempts) + "}";
  entry.after = "{\"status\":\"pending\",\"attempts\":0}";
  return audit::Record(conn, clock, actor, entry);
}

}  // namespace zhenwu::notify
