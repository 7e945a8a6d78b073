#pragma once
// One-time form tokens: a double submit (weak network, impatient tap, a retried API call)
// creates one record.
//
// Every page rendered by web::RenderPage gets a fresh {{once}}; a form that creates something
// carries it as <input type="hidden" name="_once" value="{{once}}">. The JSON API takes the same
// token from an `Idempotency-Key` header (IdempotencyKey below). Inside the write transaction
// that does the form's work the handler calls
//
//   auto claim = ClaimOnce(conn, clock, "services.case.create", token);
//   if (!claim) return claim.error();            // malformed token: re-render, input kept
//   if (*claim) return Done{**claim};             // a repeat: write nothing, answer the first
//   ... create the record ...
//   if (auto s = FinishOnce(conn, token, "/services/cases/" + number); !s) return s.error();
//
// and answers a repeat exactly as it answered the first (usually a 303 to the same receipt).
// The claim is part of the transaction: a first attempt that fails or rolls back leaves the
// token unused, so correcting the input and submitting again works.
//
// Such a form also carries _csrf (every POST does), and a page holding the anonymous CSRF
// token is never put in the page cache, so no two visitors are ever given the same token.
//
// Rows live in core_form_once (owned by the core module) and are pruned after two days, a
// bounded batch at every claim (PruneOnce), so no separate job is needed.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "db/db.hpp"
#include "http/types.hpp"

namespace zhenwu::web {

// The form field that carries the token, and the field an error about it names.
inline constexpr std::string_view kOnceField = "_once";
// The header the JSON API reads the token from.
inline constexpr std::string_view kIdempotencyKeyHeader = "Idempotency-Key";
// How long a used token is remembered.
inline constexpr int64_t kOnceKeepMs = int64_t{2} * 24 * 3600 * 1000;
// Most expired tokens one claim deletes on its way.
inline constexpr int64_t kOncePruneOnClaim = 32;

// A fresh token: 128 random bits (libsodium) as 22 characters of unpadded base64url.
std::string NewOnceToken();

// Whether `token` has the shape of a token: 16 to 128 characters of [A-Za-z0-9_-] (our own
// tokens, UUIDs and the usual client-made idempotency keys all fit).
bool WellFormedOnceToken(std::string_view token);

// The token of a JSON API request: the Idempotency-Key header, with the double quotes of the
// structured-field form ("…") removed. "" when the header is absent.
std::string IdempotencyKey(const http::Request& req);

// Claims `token` for `form` (a stable name of the form or API operation, e.g.
// "services.case.create"; an API caller's operation should include the account, e.g.
// "api.services.case.create/42", so one client's key never answers another's).
//
// First use: records the token and returns nullopt; the caller does its work and then calls
// FinishOnce in the same transaction. A repeated token for the same form: returns the result
// the first use recorded ("" when the first use recorded none), and the caller must write
// nothing else and answer with that result. On PostgreSQL a repeat that arrives while the first
// use is still in its transaction waits until that commits (then it sees the result) or rolls
// back (then it is the first use); on SQLite writes are serial anyway.
//
// Fails with kInvalidInput on field "_once" when the token is malformed or missing, or when it
// was already used by a different form (two forms of one page share a token: the page has to
// be sent again, which gives it a fresh one); the message asks the person to submit again.
// Also deletes up to kOncePruneOnClaim expired tokens (see PruneOnce). Other failures are the
// database's.
Result<std::optional<std::string>> ClaimOnce(db::Conn& conn, const Clock& clock,
                                             std::string_view form, std::string_view token);

// Records where the result of the first use of `token` lives (a local path such as
// "/services/cases/ZW-…", or whatever the caller answers a repeat with). Fails with kInternal
// when `token` was not claimed (a bug in the caller).
Status FinishOnce(db::Conn& conn, std::string_view token, std::string_view result);

// Deletes up to `max_rows` tokens older than kOnceKeepMs; returns how many it deleted. On
// PostgreSQL rows another transaction is deleting are skipped, so concurrent claims never wait
// on each other's pruning.
Result<int64_t> PruneOnce(db::Conn& conn, const Clock& clock, int64_t max_rows = 10000);

}  // namespace zhenwu::web
