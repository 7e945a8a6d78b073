#pragma once
// Accounts: staff (login name, belonging to an org unit, holding role grants) and citizens or
// enterprises (their mobile phone is the login). Sessions and API tokens identify an account
// to the server; only their SHA-256 digests are stored.
//
// Glossary: 用户 user, 工作人员 staff, 群众/企业 citizen, 授权 grant, 范围 scope, 会话 session,
// 令牌 token, 锁定 lockout, 重置密码 password reset.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "auth/principal.hpp"

namespace zhenwu::auth {

struct User {
  int64_t id = 0;
  Principal::Kind kind = Principal::Kind::kStaff;
  std::string login;
  std::string display_name;
  std::optional<int64_t> unit_id;
  std::string unit_name;
  std::string unit_path;
  bool must_change_password = false;
  bool disabled = false;
  int64_t locked_until_ms = 0;
  std::optional<int64_t> last_login_ms;
  std::vector<Grant> grants;
};

// A grant as a form or the command line states it.
struct GrantSpec {
  Role role = Role::kClerk;
  Scope scope = Scope::kUnit;
  int64_t unit_id = 0;
};

struct NewStaff {
  std::string login;
  std::string display_name;
  int64_t unit_id = 0;
  std::string password;       // checked against the rules and hashed, unless password_hash is set
  std::string password_hash;  // already hashed on a blocking pool (HTTP path)
  std::vector<GrantSpec> grants;
  bool must_change_password = false;
};

struct NewCitizen {
  std::string phone;
  std::string display_name;
  std::string password;
  std::string password_hash;
};

struct StaffUpdate {
  std::string display_name;
  int64_t unit_id = 0;
  std::vector<GrantSpec> grants;
  bool disabled = false;
};

struct TokenInfo {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string login;
  std::string prefix;
  int64_t created_ms = 0;
  std::optional<int64_t> expires_ms;
  std::optional<int64_t> revoked_ms;
  std::optional<int64_t> last_used_ms;  // updated at most once a minute
  std::string label;                    // what the token is for ("12345 热线对接")
  std::string display_name;             // the owner's
  std::optional<int64_t> unit_id;       // the owner's unit (none for citizens)
  std::string unit_name;
  std::string unit_path;  // "" for citizens
};

// Session lifetimes (from the configuration).
struct SessionPolicy {
  int64_t idle_ms = 30 * 60 * 1000;
  int64_t max_ms = 12 * 3600 * 1000;
};

// Lockout thresholds (等保: login-failure handling).
inline constexpr int kAccountMaxFailures = 5;
inline constexpr int kIpMaxFailures = 20;
inline constexpr int64_t kFailureWindowMs = 15 * 60 * 1000;
inline constexpr int64_t kLockMs = 15 * 60 * 1000;

}  // namespace zhenwu::auth
