#include "web/once.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <stdexcept>

namespace zhenwu::web {

namespace {

constexpr std::size_t kTokenBytes = 16;
constexpr std::size_t kMinTokenChars = 16;
constexpr std::size_t kMaxTokenChars = 128;

// Shown beside the form (the hidden field has no place of its own); the handler re-renders the
// form with the person's input and a fresh token, so one more tap sends it.
constexpr std::string_view kStaleMessage = "页面已过期，请核对后再提交一次";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string NewOnceToken() {
  static const bool ready = sodium_init() >= 0;
  if (!ready) throw std::runtime_error("libsodium could not be initialised");
  std::array<unsigned char, kTokenBytes> raw;
  randombytes_buf(raw.data(), raw.size());
  std::array<char, sodium_base64_ENCODED_LEN(kTokenBytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING)>
      text;
  sodium_bin2base64(text.data(), text.size(), raw.data(), raw.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return std::string(text.data());
}

bool WellFormedOnceToken(std::string_view token) {
  return token.size() >= kMinTokenChars && token.size() <= kMaxTokenChars &&
         std::all_of(token.begin(), token.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
         });
}

std::string IdempotencyKey(const http::Request& req) {
  std::string_view key = Trim(req.Header(kIdempotencyKeyHeader));
  if (key.size() >= 2 && key.front() == '"' && key.back() == '"') {
    key = key.substr(1, key.size() - 2);
  }
  return std::string(key);
}

namespace {

constexpr std::string_view kInsertSql =
    "INSERT INTO core_form_once (token, form, result, created_at_ms) VALUES ($1, $2, '', $3) "
    "ON CONFLICT (token) DO NOTHING";

// PruneOnce's statement on PostgreSQL, with the cutoff and the row limit as parameters $cutoff
// and $limit: rows a concurrent prune already holds are left to it instead of waited for.
std::string PgPruneSql(int cutoff, int limit) {
  return "DELETE FROM core_form_once WHERE token IN (SELECT token FROM core_form_once "
         "WHERE created_at_ms < $" +
         std::to_string(cutoff) + " LIMIT $" + std::to_string(limit) + " FOR UPDATE SKIP LOCKED)";
}

}  // namespace

Result<std::optional<std::string>> ClaimOnce(db::Conn& conn, const Clock& clock,
                                             std::string_view form, std::string_view token) {
  if (!WellFormedOnceToken(token)) {
    return Error::Invalid(std::string(kOnceField), std::string(kStaleMessage));
  }
  const int64_t now = clock.NowMs();
  // PostgreSQL prunes and inserts in one statement (one round trip per claim instead of two);
  // SQLite, in-process, runs the two statements.
  const bool pg = conn.dialect() == db::Dialect::kPostgres;
  if (!pg) {
    if (auto pruned = PruneOnce(conn, clock, kOncePruneOnClaim); !pruned) {
      return std::move(pruned).error();
    }
  }
  // Two rounds: the row that made the insert do nothing may be an expired one that a concurrent
  // prune (or this statement's own) deleted before we could read it; then the token is free.
  static const std::string kPgPruneAndInsert =
      "WITH pruned AS (" + PgPruneSql(4, 5) + ") " + std::string(kInsertSql);
  for (int round = 0; round < 2; ++round) {
    auto inserted = pg && round == 0
                        ? conn.Query(kPgPruneAndInsert, {std::string(token), std::string(form), now,
                                                         now - kOnceKeepMs, kOncePruneOnClaim})
                        : conn.Query(kInsertSql, {std::string(token), std::string(form), now});
    if (!inserted) return std::move(inserted).error();
    if (inserted->affected == 1) return std::optional<std::string>();

    auto first = conn.QueryOne("SELECT form, result FROM core_form_once WHERE token = $1",
                               {std::string(token)});
    if (!first) return std::move(first).error();
    if (!*first) continue;
    if ((*first)->Text(0) != form) {
      return Error::Invalid(std::string(kOnceField), std::string(kStaleMessage));
    }
    return std::optional<std::string>((*first)->Text(1));
  }
  return Error::Conflict("form token " + std::string(token) + " changed while being claimed");
}

Status FinishOnce(db::Conn& conn, std::string_view token, std::string_view result) {
  auto updated = conn.Exec("UPDATE core_form_once SET result = $2 WHERE token = $1",
                           {std::string(token), std::string(result)});
  if (!updated) return std::move(updated).error();
  if (*updated != 1) return Error::Internal("FinishOnce: form token was not claimed");
  return {};
}

Result<int64_t> PruneOnce(db::Conn& conn, const Clock& clock, int64_t max_rows) {
  const int64_t cutoff = clock.NowMs() - kOnceKeepMs;
  static const std::string kPgPrune = PgPruneSql(1, 2);
  const std::string_view sql =
      conn.dialect() == db::Dialect::kPostgres
          ? std::string_view(kPgPrune)
          : "DELETE FROM core_form_once WHERE token IN (SELECT token FROM core_form_once "
            "WHERE created_at_ms < $1 LIMIT $2)";
  return conn.Exec(sql, {cutoff, max_rows});
}

}  // namespace zhenwu::web
