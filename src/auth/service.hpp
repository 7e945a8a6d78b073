#pragma once
// Accounts, login, sessions and API tokens: validation, the transaction's statements and the
// audit record of every security event, written in the caller's transaction. Functions taking a
// db::Conn run inside the caller's Database::Write (or Read, where they only read). Password
// hashing is never done here on the HTTP path: handlers hash on a blocking pool first and pass
// the hash in (NewStaff::password_hash); the command line may pass plain passwords.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit.hpp"
#include "auth/model.hpp"
#include "core/clock.hpp"
#include "db/db.hpp"

namespace zhenwu::auth {

// The actor for the command line and jobs.
audit::Actor SystemActor();

// --- accounts --------------------------------------------------------------------------------

// Creates the first administrator (role admin, scope subtree) at the first root org unit.
// Fails with kConflict when any staff account exists, kInvalidInput when no org unit exists yet
// (field "unit") or the login / password break the rules (fields "login", "password").
Status InitFirstAdmin(db::Conn& conn, const Clock& clock, std::string_view login,
                      std::string_view password);

// Creates a staff account with its grants. kInvalidInput (fields "login", "display_name",
// "unit_id", "password", "grants") for a bad value or a unit that does not exist; kConflict
// (field "login") when the login is taken. Audited as auth.user.create.
Result<int64_t> CreateStaff(db::Conn& conn, const Clock& clock, const audit::Actor& actor,
                            const NewStaff& staff);

// Creates a citizen/enterprise account; the phone is the login. kInvalidInput for a phone that
// is not an 11-digit mainland mobile (field "phone") or a weak password; kConflict when taken.
Result<int64_t> CreateCitizen(db::Conn& conn, const Clock& clock, const audit::Actor& actor,
                              const NewCitizen& citizen);

// One account per role on org's demo tree (see docs/auth.md), all with kDemoPassword. Units are
// found by name (玉林市, 平政镇, 民政办, 示例一村, 示例二村): kNotFound names a missing one.
// Accounts that exist already are left alone, so it may run twice.
inline constexpr std::string_view kDemoPassword = "Demo@2026";
Status CreateDemoAccounts(db::Conn& conn, const Clock& clock);

// Changes name, unit, grants and the disabled flag; audits the change (grants separately as
// auth.grants.change). kNotFound for an unknown user; kInvalidInput as CreateStaff. Disabling
// ends the user's sessions.
Status UpdateStaff(db::Conn& conn, const Clock& clock, const audit::Actor& actor, int64_t user_id,
                   const StaffUpdate& update);

// Sets a new password hash. `forced` (an admin's reset) makes the next login go to
// /account/password first and ends every session of the user; a person's own change keeps the
// session `keep_session_hash` and ends the others. Audited as auth.password.reset / change.
Status SetPasswordHash(db::Conn& conn, const Clock& clock, const audit::Actor& actor,
                       int64_t user_id, std::string_view hash, bool forced,
                       std::string_view keep_session_hash = {});

// Reads.
Result<std::optional<User>> FindUser(db::Conn& conn, int64_t id);
Result<std::optional<User>> FindUserByLogin(db::Conn& conn, std::string_view login);
// The argon2id hash of a user (for verifying the old password), empty when none.
Result<std::string> PasswordHashOf(db::Conn& conn, int64_t user_id);
// Staff whose unit lies within `scopes`, optionally only those of unit `unit_id` (or its
// subtree when `subtree`), ordered by unit path then login.
Result<std::vector<User>> ListStaff(db::Conn& conn, const std::vector<ScopePath>& scopes,
                                    std::optional<int64_t> unit_id);

// --- login -----------------------------------------------------------------------------------

// What the first, read-only step of a login finds.
struct LoginCandidate {
  std::optional<int64_t> user_id;
  std::string password_hash;  // empty for an unknown login (verify against the dummy)
  int64_t ip_blocked_until_ms = 0;
};
Result<LoginCandidate> PrepareLogin(db::Conn& conn, const Clock& clock, std::string_view login,
                                    std::string_view ip);

struct LoginOutcome {
  enum class Kind { kOk, kBadPassword, kLocked, kDisabled, kIpBlocked };
  Kind kind = Kind::kBadPassword;
  int64_t user_id = 0;
  std::string session_id;  // kOk: the cookie value (only its hash is stored)
  bool must_change_password = false;
  int64_t until_ms = 0;  // kLocked / kIpBlocked: when trying again is allowed
};
// The write step: with the password verdict, either opens a session (kOk) or counts the
// failure against the account and the IP, locking / blocking at the thresholds. Every outcome
// is audited. Rechecks lock and disabled state inside the transaction.
Result<LoginOutcome> FinishLogin(db::Conn& conn, const Clock& clock, const SessionPolicy& policy,
                                 const audit::Actor& actor, std::string_view login,
                                 const LoginCandidate& candidate, bool password_ok);

// --- sessions --------------------------------------------------------------------------------

struct SessionView {
  Principal principal;
  std::string csrf;
  std::string id_hash;
  int64_t last_seen_ms = 0;
};
// The live session for the cookie value `session_id` with its principal and grants (one indexed
// query), or nullopt when unknown, expired (idle or absolute) or the account is disabled.
Result<std::optional<SessionView>> LoadSession(db::Conn& conn, const Clock& clock,
                                               const SessionPolicy& policy,
                                               std::string_view session_id);
// Records activity on a session (keeps it from idling out).
Status TouchSession(db::Conn& conn, const Clock& clock, std::string_view id_hash);
// Ends one session / every session of a user (audited as auth.logout / auth.logout_everywhere).
Status EndSession(db::Conn& conn, const Clock& clock, const audit::Actor& actor,
                  std::string_view session_id);
Status EndAllSessions(db::Conn& conn, const Clock& clock, const audit::Actor& actor,
                      int64_t user_id);
// Live sessions of a user (for tests and the account page).
Result<int64_t> CountSessions(db::Conn& conn, const Clock& clock, const SessionPolicy& policy,
                              int64_t user_id);

// --- API tokens ------------------------------------------------------------------------------

// Longest token label, in characters.
inline constexpr std::size_t kMaxTokenLabelChars = 64;

struct IssuedToken {
  int64_t id = 0;
  std::string token;  // "zw_…", shown once; only its SHA-256 is kept
};

// Creates a token for the user `login` valid for `expires_days` (none: until revoked), with a
// `label` saying what it is for, and audits it (auth.token.create). kNotFound (field "login")
// for an unknown or disabled login, kInvalidInput for days outside 1–3650 (field "expires") or
// a label longer than kMaxTokenLabelChars or with control characters (field "label").
Result<IssuedToken> IssueToken(db::Conn& conn, const Clock& clock, std::string_view login,
                               std::optional<int> expires_days, std::string_view label,
                               const audit::Actor& actor);
// IssueToken, returning only the token text (`zhenwu token create`).
Result<std::string> CreateToken(db::Conn& conn, const Clock& clock, std::string_view login,
                                std::optional<int> expires_days,
                                const audit::Actor& actor = SystemActor(),
                                std::string_view label = {});
// Revokes token `token_id` and audits it (auth.token.revoke). kNotFound when there is no such
// token or it is revoked already.
Status RevokeToken(db::Conn& conn, const Clock& clock, int64_t token_id,
                   const audit::Actor& actor = SystemActor());
// Tokens of `login` (every user's when empty), newest first.
Result<std::vector<TokenInfo>> ListTokens(db::Conn& conn, std::string_view login = {});
// Tokens of the staff whose unit lies within `scopes` (ScopesFor(who, kUserManage)), newest
// first; citizens' tokens are never in it.
Result<std::vector<TokenInfo>> ListTokensInScope(db::Conn& conn,
                                                 const std::vector<ScopePath>& scopes);
// One token with its owner and the owner's unit, nullopt when there is none.
Result<std::optional<TokenInfo>> FindToken(db::Conn& conn, int64_t token_id);

// A valid Bearer token: whom it stands for, when it was last used and when it expires.
struct TokenUse {
  Principal principal;
  int64_t token_id = 0;
  std::optional<int64_t> last_used_ms;
  std::optional<int64_t> expires_ms;
};
// The use of a Bearer token, or nullopt when it is unknown, expired, revoked or the account is
// disabled. Only reads.
Result<std::optional<TokenUse>> UseToken(db::Conn& conn, const Clock& clock,
                                         std::string_view token);
// UseToken's principal.
Result<std::optional<Principal>> PrincipalForToken(db::Conn& conn, const Clock& clock,
                                                   std::string_view token);
// Records that token `token_id` was used now (the auth middleware calls it at most once a
// minute per token).
Status TouchToken(db::Conn& conn, const Clock& clock, int64_t token_id);

}  // namespace zhenwu::auth
