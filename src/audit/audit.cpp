#include "audit/audit.hpp"

#include <sodium.h>

#include <boost/json.hpp>
#include <stdexcept>
#include <type_traits>

namespace zhenwu::audit {

const std::string kZeroHash(64, '0');

namespace {

constexpr std::string_view kEncodingTag = "zhenwu.audit.v1;";

void EnsureSodium() {
  static const bool ready = sodium_init() >= 0;
  if (!ready) throw std::runtime_error("libsodium failed to initialise");
}

// Valid UTF-8 without NUL bytes: PostgreSQL refuses both, and the hash must cover exactly what
// is stored on either backend.
std::string CleanText(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c == 0) {
      ++i;
      continue;
    }
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    int len = 0;
    uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    }
    bool ok = len > 0 && i + static_cast<std::size_t>(len) <= in.size();
    for (int k = 1; ok && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(in[i + k]);
      if ((cc & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (ok && ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
               (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))) {
      ok = false;
    }
    if (ok) {
      out.append(in.substr(i, static_cast<std::size_t>(len)));
      i += static_cast<std::size_t>(len);
    } else {
      out.append("\xEF\xBF\xBD");
      ++i;
    }
  }
  return out;
}

void AppendField(std::string& out, std::string_view value) {
  out.append(std::to_string(value.size()));
  out.push_back(':');
  out.append(value);
  out.push_back(';');
}

void AppendNumber(std::string& out, std::optional<int64_t> value) {
  if (!value) {
    out.append("-;");
    return;
  }
  AppendField(out, std::to_string(*value));
}

db::Value OptValue(const std::optional<int64_t>& v) {
  if (v) return *v;
  return std::monostate{};
}

}  // namespace

Event EventFromRow(const db::Row& row) {
  Event e;
  e.id = row.Int(0);
  e.seq = row.OptInt(1).value_or(0);
  e.at_ms = row.Int(2);
  e.actor.user_id = row.OptInt(3);
  e.actor.name = row.Text(4);
  e.actor.ip = row.Text(5);
  e.actor.request_id = row.Text(6);
  e.entry.action = row.Text(7);
  e.entry.entity = row.Text(8);
  e.entry.entity_id = row.Text(9);
  e.entry.unit_id = row.OptInt(10);
  e.entry.summary = row.Text(11);
  e.entry.before = row.Text(12);
  e.entry.after = row.Text(13);
  e.prev_hash = row.Text(14);
  e.hash = row.Text(15);
  return e;
}

namespace {

struct Head {
  int64_t last_seq = 0;
  std::string last_hash;
  int64_t anchor_seq = 0;
  std::string anchor_hash;
};

Result<Head> ReadHead(db::Conn& conn) {
  auto row = conn.QueryOne(
      "SELECT last_seq, last_hash, anchor_seq, anchor_hash FROM audit_chain_head WHERE id = 1");
  if (!row) return std::move(row).error();
  if (!*row) return Error::Internal("audit_chain_head has no row (migration missing?)");
  return Head{(*row)->Int(0), (*row)->Text(1), (*row)->Int(2), (*row)->Text(3)};
}

}  // namespace

std::string CanonicalEncoding(const Event& e) {
  std::string out(kEncodingTag);
  AppendNumber(out, e.seq);
  AppendNumber(out, e.at_ms);
  AppendNumber(out, e.actor.user_id);
  AppendField(out, e.actor.name);
  AppendField(out, e.actor.ip);
  AppendField(out, e.actor.request_id);
  AppendField(out, e.entry.action);
  AppendField(out, e.entry.entity);
  AppendField(out, e.entry.entity_id);
  AppendNumber(out, e.entry.unit_id);
  AppendField(out, e.entry.summary);
  AppendField(out, e.entry.before);
  AppendField(out, e.entry.after);
  AppendField(out, e.prev_hash);
  return out;
}

std::string EventHash(const Event& event) {
  EnsureSodium();
  const std::string bytes = CanonicalEncoding(event);
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return std::string(hex, crypto_hash_sha256_BYTES * 2);
}

Status Record(db::Conn& conn, const Clock& clock, const Actor& actor, const Entry& entry) {
  // No lock on the chain head here: the event goes in unchained (seq, prev_hash, hash NULL) and
  // Chain() links it once this transaction has committed. Concurrent writers therefore do not
  // queue behind each other's commits.
  auto inserted = conn.Exec(
      "INSERT INTO audit_events (at_ms, actor_user_id, actor_name, ip, request_id, action, "
      "entity, entity_id, unit_id, summary, before_json, after_json) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
      {clock.NowMs(), OptValue(actor.user_id), CleanText(actor.name), CleanText(actor.ip),
       CleanText(actor.request_id), CleanText(entry.action), CleanText(entry.entity),
       CleanText(entry.entity_id), OptValue(entry.unit_id), CleanText(entry.summary),
       CleanText(entry.before), CleanText(entry.after)});
  if (!inserted) return std::move(inserted).error();
  return {};
}

Result<int64_t> Chain(db::Conn& conn, int max_rows) {
  if (max_rows < 1) max_rows = 1;
  // The head row's lock (an UPDATE: on PostgreSQL held until this transaction ends) makes
  // chainers take turns. Under READ COMMITTED each later statement sees what the previous
  // chainer committed, so the next one continues its chain instead of forking it.
  auto head = conn.QueryOne(
      "UPDATE audit_chain_head SET last_seq = last_seq WHERE id = 1 "
      "RETURNING last_seq, last_hash");
  if (!head) return std::move(head).error();
  if (!*head) return Error::Internal("audit_chain_head has no row (migration missing?)");
  int64_t seq = (*head)->Int(0);
  std::string prev = (*head)->Text(1);

  auto rows = conn.Query("SELECT " + std::string(kEventColumns) +
                             " FROM audit_events WHERE seq IS NULL ORDER BY id LIMIT $1",
                         {int64_t{max_rows}});
  if (!rows) return std::move(rows).error();
  if (rows->rows.empty()) return int64_t{0};

  std::vector<int64_t> ids;
  std::vector<int64_t> seqs;
  std::vector<std::string> prevs;
  std::vector<std::string> hashes;
  for (const auto& row : rows->rows) {
    Event e = EventFromRow(row);
    e.seq = ++seq;
    e.prev_hash = prev;
    e.hash = EventHash(e);
    prev = e.hash;
    ids.push_back(e.id);
    seqs.push_back(e.seq);
    prevs.push_back(std::move(e.prev_hash));
    hashes.push_back(std::move(e.hash));
  }

  const int64_t count = static_cast<int64_t>(ids.size());
  if (conn.dialect() == db::Dialect::kPostgres) {
    // One statement for the whole batch: ids and seqs are integers and hashes lowercase hex, so
    // the array literals need no quoting.
    auto array = [](const auto& values) {
      std::string out = "{";
      for (std::size_t k = 0; k < values.size(); ++k) {
        if (k > 0) out.push_back(',');
        if constexpr (std::is_same_v<std::decay_t<decltype(values[k])>, std::string>) {
          out += values[k];
        } else {
          out += std::to_string(values[k]);
        }
      }
      out.push_back('}');
      return out;
    };
    auto updated = conn.Exec(
        "UPDATE audit_events AS e SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash "
        "FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) "
        "AS v(id, seq, prev_hash, hash) WHERE e.id = v.id AND e.seq IS NULL",
        {array(ids), array(seqs), array(prevs), array(hashes)});
    if (!updated) return std::move(updated).error();
    if (*updated != count) return Error::Internal("audit: an event was chained twice");
  } else {
    for (std::size_t k = 0; k < ids.size(); ++k) {
      auto updated = conn.Exec(
          "UPDATE audit_events SET seq = $1, prev_hash = $2, hash = $3 "
          "WHERE id = $4 AND seq IS NULL",
          {seqs[k], prevs[k], hashes[k], ids[k]});
      if (!updated) return std::move(updated).error();
      if (*updated != 1) return Error::Internal("audit: an event was chained twice");
    }
  }
  auto moved = conn.Exec("UPDATE audit_chain_head SET last_seq = $1, last_hash = $2 WHERE id = 1",
                         {seq, prev});
  if (!moved) return std::move(moved).error();
  return count;
}

Result<int64_t> ChainPending(db::Database& db, int batch) {
  if (batch < 1) batch = 1;
  int64_t total = 0;
  for (;;) {
    auto chained = db.WriteSync<int64_t>([batch](db::Conn& c) { return Chain(c, batch); });
    if (!chained) return std::move(chained).error();
    total += *chained;
    if (*chained < batch) return total;
  }
}

Result<VerifyReport> Verify(db::Database& db, int page_size, bool chain_first) {
  if (page_size < 1) page_size = 1;
  if (chain_first) {
    if (auto chained = ChainPending(db); !chained) return std::move(chained).error();
  }
  auto head = db.ReadSync<Head>([](db::Conn& c) { return ReadHead(c); });
  if (!head) return std::move(head).error();

  VerifyReport report;
  report.anchor_seq = head->anchor_seq;
  report.last_seq = head->last_seq;
  auto pending = db.ReadSync<int64_t>([](db::Conn& c) -> Result<int64_t> {
    auto row = c.QueryOne("SELECT COUNT(*) FROM audit_events WHERE seq IS NULL");
    if (!row) return std::move(row).error();
    return *row ? (*row)->Int(0) : 0;
  });
  if (!pending) return std::move(pending).error();
  report.pending = *pending;
  auto broken = [&](VerifyReport::Problem problem, int64_t seq, std::string detail) {
    report.intact = false;
    report.problem = problem;
    report.broken_seq = seq;
    report.detail = std::move(detail);
    return report;
  };

  int64_t expect_seq = head->anchor_seq + 1;
  std::string expect_prev = head->anchor_hash;
  std::optional<std::string> last_prune_after;
  const std::string sql = "SELECT " + std::string(kEventColumns) +
                          " FROM audit_events WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3";
  for (;;) {
    const int64_t after = expect_seq - 1;
    auto page = db.ReadSync<std::vector<Event>>([&](db::Conn& c) -> Result<std::vector<Event>> {
      auto rows = c.Query(sql, {after, head->last_seq, int64_t{page_size}});
      if (!rows) return std::move(rows).error();
      std::vector<Event> events;
      events.reserve(rows->rows.size());
      for (const auto& row : rows->rows) events.push_back(EventFromRow(row));
      return events;
    });
    if (!page) return std::move(page).error();
    for (const auto& e : *page) {
      if (e.seq != expect_seq) {
        return broken(VerifyReport::Problem::kMissingRows, expect_seq,
                      "第 " + std::to_string(expect_seq) + " 至 " + std::to_string(e.seq - 1) +
                          " 条记录缺失（已被删除）");
      }
      if (EventHash(e) != e.hash) {
        return broken(VerifyReport::Problem::kHashMismatch, e.seq,
                      "第 " + std::to_string(e.seq) + " 条记录的内容与其哈希不符（记录被修改）");
      }
      if (e.prev_hash != expect_prev) {
        return broken(
            VerifyReport::Problem::kLinkMismatch, e.seq,
            "第 " + std::to_string(e.seq) + " 条记录的前序哈希与上一条记录不符（链条被改动）");
      }
      if (e.entry.action == "audit.prune") last_prune_after = e.entry.after;
      ++report.checked;
      expect_prev = e.hash;
      ++expect_seq;
    }
    if (page->size() < static_cast<std::size_t>(page_size)) break;
  }
  if (expect_seq - 1 != head->last_seq) {
    return broken(VerifyReport::Problem::kMissingRows, expect_seq,
                  "第 " + std::to_string(expect_seq) + " 至 " + std::to_string(head->last_seq) +
                      " 条记录缺失（已被删除）");
  }
  if (expect_prev != head->last_hash) {
    return broken(
        VerifyReport::Problem::kHeadMismatch, head->last_seq,
        "最后一条记录（第 " + std::to_string(head->last_seq) + " 条）的哈希与链头记录不符");
  }
  if (head->anchor_seq > 0) {
    bool anchor_ok = false;
    if (last_prune_after) {
      boost::system::error_code ec;
      auto v = boost::json::parse(*last_prune_after, ec);
      if (!ec && v.is_object()) {
        const auto& o = v.as_object();
        const auto* s = o.if_contains("anchor_seq");
        const auto* h = o.if_contains("anchor_hash");
        anchor_ok = s && h && s->is_int64() && h->is_string() &&
                    s->as_int64() == head->anchor_seq && h->as_string() == head->anchor_hash;
      }
    }
    if (!anchor_ok) {
      return broken(
          VerifyReport::Problem::kAnchorMismatch, head->anchor_seq + 1,
          "清理锚点（第 " + std::to_string(head->anchor_seq) + " 条）与最近一次清理事件的记录不符");
    }
  }
  report.intact = true;
  return report;
}

namespace {

std::string PendingNote(const VerifyReport& r) {
  if (r.pending <= 0) return "";
  return "\n另有 " + std::to_string(r.pending) +
         " 条刚写入的记录尚未入链（后台每秒入链一次），不在本次校验范围内，下次校验时检查。";
}

}  // namespace

std::string FormatReport(const VerifyReport& r) {
  if (r.intact) {
    std::string text = "审计日志完整：共校验 " + std::to_string(r.checked) + " 条记录";
    if (r.checked > 0) {
      text += "（第 " + std::to_string(r.anchor_seq + 1) + " 至 " + std::to_string(r.last_seq) +
              " 条）";
    }
    text += "，哈希链未被篡改。";
    if (r.anchor_seq > 0) {
      text += "\n第 " + std::to_string(r.anchor_seq) + " 条及以前的记录已按保存期限清理。";
    }
    return text + PendingNote(r);
  }
  return "审计日志已被篡改：" + r.detail + "。\n问题首次出现在第 " + std::to_string(r.broken_seq) +
         " 条；此前的 " + std::to_string(r.checked) + " 条记录校验无误。" + PendingNote(r);
}

Result<int64_t> Prune(db::Conn& conn, const Clock& clock, int keep_days) {
  if (keep_days < kMinKeepDays) {
    return Error::Invalid("keep_days", "审计日志至少保存 " + std::to_string(kMinKeepDays) +
                                           " 天（等保 2.0 要求不少于六个月）");
  }
  // Chaining locks the head first, so no other chainer interleaves with the pruning, and links
  // everything committed so far: only chained rows can be pruned (a prefix of the chain).
  for (;;) {
    auto chained = Chain(conn);
    if (!chained) return std::move(chained).error();
    if (*chained < 1000) break;
  }
  auto head = ReadHead(conn);
  if (!head) return std::move(head).error();

  const int64_t cutoff_ms = clock.NowMs() - int64_t{keep_days} * 86'400'000;
  // Only a prefix of the chain may go: up to the first row that is still to be kept.
  auto first_kept =
      conn.QueryOne("SELECT MIN(seq) FROM audit_events WHERE at_ms >= $1", {cutoff_ms});
  if (!first_kept) return std::move(first_kept).error();
  int64_t anchor_seq = head->last_seq;
  if (*first_kept && !(*first_kept)->IsNull(0)) anchor_seq = (*first_kept)->Int(0) - 1;

  int64_t deleted = 0;
  std::string anchor_hash = head->anchor_hash;
  if (anchor_seq > head->anchor_seq) {
    auto row = conn.QueryOne("SELECT hash FROM audit_events WHERE seq = $1", {anchor_seq});
    if (!row) return std::move(row).error();
    if (!*row) return Error::Internal("audit row " + std::to_string(anchor_seq) + " is missing");
    anchor_hash = (*row)->Text(0);
    auto removed = conn.Exec("DELETE FROM audit_events WHERE seq <= $1", {anchor_seq});
    if (!removed) return std::move(removed).error();
    deleted = *removed;
    auto moved =
        conn.Exec("UPDATE audit_chain_head SET anchor_seq = $1, anchor_hash = $2 WHERE id = 1",
                  {anchor_seq, anchor_hash});
    if (!moved) return std::move(moved).error();
  } else {
    anchor_seq = head->anchor_seq;
  }

  boost::json::object after{{"anchor_seq", anchor_seq},
                            {"anchor_hash", anchor_hash},
                            {"deleted", deleted},
                            {"keep_days", keep_days},
                            {"cutoff_ms", cutoff_ms}};
  Entry entry{.action = "audit.prune",
              .entity = "audit_log",
              .summary = "清理 " + std::to_string(keep_days) + " 天前的审计日志 " +
                         std::to_string(deleted) + " 条",
              .after = boost::json::serialize(after)};
  if (auto s = Record(conn, clock, Actor{std::nullopt, "system", "", ""}, entry); !s) {
    return std::move(s).error();
  }
  // The pruning event is chained with the pruning, so the anchor it names is always provable.
  if (auto chained = Chain(conn); !chained) return std::move(chained).error();
  return deleted;
}

}  // namespace zhenwu::audit
