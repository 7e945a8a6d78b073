#include "auth/service.hpp"

#include <algorithm>

#include "auth/password.hpp"
#include "org/store.hpp"

namespace zhenwu::auth {

namespace {

Error Conflict(std::string field, std::string message) {
  Error e{ErrorCode::kConflict, message, {}};
  e.fields.push_back({std::move(field), std::move(message)});
  return e;
}

std::string KindText(Principal::Kind kind) {
  return kind == Principal::Kind::kStaff ? "staff" : "citizen";
}

std::string GrantsJson(const std::vector<GrantSpec>& grants) {
  std::string out = "[";
  for (std::size_t i = 0; i < grants.size(); ++i) {
    if (i) out += ",";
    out += "{\"role\":\"" + std::string(RoleName(grants[i].role)) + "\",\"scope\":\"" +
           std::string(ScopeName(grants[i].scope)) +
           "\",\"unit_id\":" + std::to_string(grants[i].unit_id) + "}";
  }
  return out + "]";
}

Status Audit(db::Conn& conn, const Clock& clock, const audit::Actor& actor, std::string action,
             std::optional<int64_t> user_id, std::optional<int64_t> unit_id, std::string summary,
             std::string before = {}, std::string after = {}) {
  audit::Entry entry;
  entry.action = std::move(action);
  entry.entity = user_id ? "user" : "";
  entry.entity_id = user_id ? std::to_string(*user_id) : "";
  entry.unit_id = unit_id;
  entry.summary = std::move(summary);
  entry.before = std::move(before);
  entry.after = std::move(after);
  return audit::Record(conn, clock, actor, entry);
}

// Checks that every grant names an existing, live unit.
Status CheckGrants(db::Conn& conn, const std::vector<GrantSpec>& grants) {
  for (const auto& g : grants) {
    auto unit = org::FindUnit(conn, g.unit_id);
    if (!unit) return std::move(unit).error();
    if (!*unit || (*unit)->retired()) return Error::Invalid("grants", "授权的单位不存在");
  }
  return {};
}

Status InsertGrants(db::Conn& conn, int64_t user_id, const std::vector<GrantSpec>& grants,
                    int64_t now) {
  for (const auto& g : grants) {
    auto r = conn.Exec(
        "INSERT INTO auth_grants (user_id, role, scope, unit_id, created_ms) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, role, unit_id) DO NOTHING",
        {user_id, std::string(RoleName(g.role)), std::string(ScopeName(g.scope)), g.unit_id, now});
    if (!r) return std::move(r).error();
  }
  return {};
}

Result<int64_t> InsertUser(db::Conn& conn, const Clock& clock, Principal::Kind kind,
                           const std::string& login, const std::string& display_name,
                           std::optional<int64_t> unit_id, const std::string& hash,
                           bool must_change) {
  const int64_t now = clock.NowMs();
  auto taken = conn.QueryOne("SELECT id FROM auth_users WHERE login = $1", {login});
  if (!taken) return std::move(taken).error();
  if (*taken) {
    return Conflict(kind == Principal::Kind::kStaff ? "login" : "phone",
                    kind == Principal::Kind::kStaff ? "该用户名已被使用" : "该手机号已注册");
  }
  db::Value unit = unit_id ? db::Value(*unit_id) : db::Value();
  auto row = conn.QueryOne(
      "INSERT INTO auth_users (kind, login, display_name, unit_id, password_hash, "
      "must_change_password, password_changed_ms, created_ms, updated_ms) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7) RETURNING id",
      {KindText(kind), login, display_name, unit, hash, int64_t{must_change ? 1 : 0}, now});
  if (!row) return std::move(row).error();
  return (*row)->Int(0);
}

std::string TrimmedName(std::string_view name) {
  const auto b = name.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const auto e = name.find_last_not_of(" \t\r\n");
  return std::string(name.substr(b, e - b + 1));
}

constexpr std::string_view kUserColumns =
    "u.id, u.kind, u.login, u.display_name, u.unit_id, u.must_change_password, u.disabled, "
    "u.locked_until_ms, u.last_login_ms, o.name, o.path";

User UserFromRow(const db::Row& r) {
  User u;
  u.id = r.Int(0);
  u.kind = r.Text(1) == "staff" ? Principal::Kind::kStaff : Principal::Kind::kCitizen;
  u.login = r.Text(2);
  u.display_name = r.Text(3);
  u.unit_id = r.OptInt(4);
  u.must_change_password = r.Int(5) != 0;
  u.disabled = r.Int(6) != 0;
  u.locked_until_ms = r.Int(7);
  u.last_login_ms = r.OptInt(8);
  u.unit_name = r.Text(9);
  u.unit_path = r.Text(10);
  return u;
}

Status LoadGrants(db::Conn& conn, User& user) {
  auto rows = conn.Query(
      "SELECT g.role, g.scope, g.unit_id, o.path FROM auth_grants g "
      "JOIN org_units o ON o.id = g.unit_id WHERE g.user_id = $1 ORDER BY g.id",
      {user.id});
  if (!rows) return std::move(rows).error();
  for (const auto& r : rows->rows) {
    auto role = RoleFromName(r.Text(0));
    auto scope = ScopeFromName(r.Text(1));
    if (!role || !scope) continue;
    user.grants.push_back({*role, *scope, r.Int(2), r.Text(3)});
  }
  return {};
}

Result<std::optional<User>> FindUserWhere(db::Conn& conn, std::string_view where,
                                          const db::Params& params) {
  auto row = conn.QueryOne("SELECT " + std::string(kUserColumns) +
                               " FROM auth_users u LEFT JOIN org_units o ON o.id = u.unit_id "
                               "WHERE " +
                               std::string(where),
                           params);
  if (!row) return std::move(row).error();
  if (!*row) return std::optional<User>();
  User user = UserFromRow(**row);
  if (auto s = LoadGrants(conn, user); !s) return std::move(s).error();
  return std::optional<User>(std::move(user));
}

Status DeleteSessionsOf(db::Conn& conn, int64_t user_id, std::string_view except_hash = {}) {
  auto r = conn.Exec("DELETE FROM auth_sessions WHERE user_id = $1 AND id_hash <> $2",
                     {user_id, std::string(except_hash)});
  if (!r) return std::move(r).error();
  return {};
}

}  // namespace

audit::Actor SystemActor() { return audit::Actor{std::nullopt, "system", "", ""}; }

Result<int64_t> CreateStaff(db::Conn& conn, const Clock& clock, const audit::Actor& actor,
                            const NewStaff& staff) {
  Error invalid{ErrorCode::kInvalidInput, "输入有误", {}};
  if (!IsStaffLogin(staff.login)) {
    invalid.fields.push_back({"login", "用户名应为 3–32 位小写字母、数字或 . _ -，以字母开头"});
  }
  const std::string name = TrimmedName(staff.display_name);
  if (name.empty() || name.size() > 100) invalid.fields.push_back({"display_name", "请填写姓名"});
  if (staff.password_hash.empty()) {
    if (auto s = CheckPasswordRules(staff.password, staff.login); !s) {
      invalid.fields.push_back(s.error().fields.front());
    }
  }
  auto unit = org::FindUnit(conn, staff.unit_id);
  if (!unit) return std::move(unit).error();
  if (!*unit || (*unit)->retired()) invalid.fields.push_back({"unit_id", "请选择所属单位"});
  if (!invalid.fields.empty()) {
    invalid.message = invalid.fields.front().message;
    return invalid;
  }
  if (auto s = CheckGrants(conn, staff.grants); !s) return std::move(s).error();
  const std::string hash =
      staff.password_hash.empty() ? HashPassword(staff.password) : staff.password_hash;
  auto id = InsertUser(conn, clock, Principal::Kind::kStaff, staff.login, name, staff.unit_id, hash,
                       staff.must_change_password);
  if (!id) return id;
  if (auto s = InsertGrants(conn, *id, staff.grants, clock.NowMs()); !s) {
    return std::move(s).error();
  }
  if (auto s =
          Audit(conn, clock, actor, "auth.user.create", *id, staff.unit_id,
                "新建工作人员账户 " + staff.login + "（" + name + "）", "",
                "{\"login\":\"" + staff.login + "\",\"grants\":" + GrantsJson(staff.grants) + "}");
      !s) {
    return std::move(s).error();
  }
  return id;
}

Result<int64_t> CreateCitizen(db::Conn& conn, const Clock& clock, const audit::Actor& actor,
                              const NewCitizen& citizen) {
  Error invalid{ErrorCode::kInvalidInput, "输入有误", {}};
  if (!IsMobilePhone(citizen.phone)) {
    invalid.fields.push_back({"phone", "请填写 11 位手机号码"});
  }
  const std::string name = TrimmedName(citizen.display_name);
  if (name.empty() || name.size() > 100) invalid.fields.push_back({"display_name", "请填写姓名"});
  if (citizen.password_hash.empty()) {
    if (auto s = CheckPasswordRules(citizen.password, citizen.phone); !s) {
      invalid.fields.push_back(s.error().fields.front());
    }
  }
  if (!invalid.fields.empty()) {
    invalid.message = invalid.fields.front().message;
    return invalid;
  }
  const std::string hash =
      citizen.password_hash.empty() ? HashPassword(citizen.password) : citizen.password_hash;
  auto id = InsertUser(conn, clock, Principal::Kind::kCitizen, citizen.phone, name, std::nullopt,
                       hash, false);
  if (!id) return id;
  const std::string masked = citizen.phone.substr(0, 3) + "****" + citizen.phone.substr(7);
  if (auto s = Audit(conn, clock, actor, "auth.user.create", *id, std::nullopt,
                     "新建群众账户 " + masked);
      !s) {
    return std::move(s).error();
  }
  return id;
}

Status InitFirstAdmin(db::Conn& conn, const Clock& clock, std::string_view login,
                      std::string_view password) {
  auto any = conn.QueryOne("SELECT id FROM auth_users WHERE kind = 'staff' LIMIT 1");
  if (!any) return std::move(any).error();
  if (*any) return Error::Conflict("已有工作人员账户，不能再初始化管理员");
  auto roots = org::Roots(conn);
  if (!roots) return std::move(roots).error();
  if (roots->empty()) return Error::Invalid("unit", "还没有组织机构：请先建立组织机构");
  NewStaff staff;
  staff.login = std::string(login);
  staff.display_name = "系统管理员";
  staff.unit_id = roots->front().id;
  staff.password = std::string(password);
  staff.grants.push_back({Role::kAdmin, Scope::kSubtree, staff.unit_id});
  auto id = CreateStaff(conn, clock, SystemActor(), staff);
  if (!id) return std::move(id).error();
  return {};
}

Status CreateDemoAccounts(db::Conn& conn, const Clock& clock) {
  auto units = org::AllUnits(conn);
  if (!units) return std::move(units).error();
  auto find = [&](std::string_view name, std::string_view under = {}) -> const org::OrgUnit* {
    for (const auto& u : *units) {
      if (u.name == name && (under.empty() || u.path.rfind(under, 0) == 0)) return &u;
    }
    return nullptr;
  };
  const org::OrgUnit* city = find("玉林市");
  const org::OrgUnit* town = find("平政镇");
  if (!city || !town) return Error::NotFound("演示组织机构中缺少 玉林市 或 平政镇");
  const org::OrgUnit* window = find("民政办", town->path);
  const org::OrgUnit* village1 = find("示例一村", town->path);
  const org::OrgUnit* village2 = find("示例二村", town->path);
  if (!window || !village1 || !village2) {
    return Error::NotFound("演示组织机构中缺少 民政办、示例一村 或 示例二村");
  }
  struct Demo {
    const char* login;
    const char* name;
    const org::OrgUnit* unit;
    Role role;
    Scope scope;
  };
  const Demo demos[] = {
      {"admin", "系统管理员", city, Role::kAdmin, Scope::kSubtree},
      {"leader", "李镇长", town, Role::kLeader, Scope::kSubtree},
      {"clerk", "王窗口", window, Role::kClerk, Scope::kUnit},
      {"cadre1", "张村干", village1, Role::kVillageCadre, Scope::kSubtree},
      {"cadre2", "陈村干", village2, Role::kVillageCadre, Scope::kSubtree},
      {"editor", "刘信息员", town, Role::kEditor, Scope::kSubtree},
      {"auditor", "赵审计", town, Role::kAuditor, Scope::kSubtree},
  };
  // One hash for all: the demo password is the same and hashing is slow.
  const std::string hash = HashPassword(kDemoPassword);
  for (const auto& d : demos) {
    auto exists = conn.QueryOne("SELECT id FROM auth_users WHERE login = $1", {d.login});
    if (!exists) return std::move(exists).error();
    if (*exists) continue;
    NewStaff staff;
    staff.login = d.login;
    staff.display_name = d.name;
    staff.unit_id = d.unit->id;
    staff.password_hash = hash;
    staff.grants.push_back({d.role, d.scope, d.unit->id});
    auto id = CreateStaff(conn, clock, SystemActor(), staff);
    if (!id) return std::move(id).error();
  }
  return {};
}

Status UpdateStaff(db::Conn& conn, const Clock& clock, const audit::Actor& actor, int64_t user_id,
                   const StaffUpdate& update) {
  auto before = FindUserWhere(conn, "u.id = $1 AND u.kind = 'staff'", {user_id});
  if (!before) return std::move(before).error();
  if (!*before) return Error::NotFound();
  const User& old = **before;
  const std::string name = TrimmedName(update.display_name);
  if (name.empty() || name.size() > 100) return Error::Invalid("display_name", "请填写姓名");
  auto unit = org::FindUnit(conn, update.unit_id);
  if (!unit) return std::move(unit).error();
  if (!*unit || (*unit)->retired()) return Error::Invalid("unit_id", "请选择所属单位");
  if (auto s = CheckGrants(conn, update.grants); !s) return s;
  const int64_t now = clock.NowMs();
  auto r = conn.Exec(
      "UPDATE auth_users SET display_name = $2, unit_id = $3, disabled = $4, updated_ms = $5 "
      "WHERE id = $1",
      {user_id, name, update.unit_id, int64_t{update.disabled ? 1 : 0}, now});
  if (!r) return std::move(r).error();
  if (auto s =
          Audit(conn, clock, actor, "auth.user.update", user_id, update.unit_id,
                "修改账户 " + old.login + (update.disabled ? "（停用）" : ""),
                "{\"display_name\":\"" + old.display_name +
                    "\",\"unit_id\":" + std::to_string(old.unit_id.value_or(0)) +
                    ",\"disabled\":" + (old.disabled ? "true" : "false") + "}",
                "{\"display_name\":\"" + name + "\",\"unit_id\":" + std::to_string(update.unit_id) +
                    ",\"disabled\":" + (update.disabled ? "true" : "false") + "}");
      !s) {
    return s;
  }
  std::vector<GrantSpec> old_grants;
  for (const auto& g : old.grants) old_grants.push_back({g.role, g.scope, g.unit_id});
  const std::string old_json = GrantsJson(old_grants), new_json = GrantsJson(update.grants);
  if (old_json != new_json) {
    auto d = conn.Exec("DELETE FROM auth_grants WHERE user_id = $1", {user_id});
    if (!d) return std::move(d).error();
    if (auto s = InsertGrants(conn, user_id, update.grants, now); !s) return s;
    if (auto s = Audit(conn, clock, actor, "auth.grants.change", user_id, update.unit_id,
                       "修改账户 " + old.login + " 的角色与范围", old_json, new_json);
        !s) {
      return s;
    }
  }
  if (update.disabled) return DeleteSessionsOf(conn, user_id);
  return {};
}

Status SetPasswordHash(db::Conn& conn, const Clock& clock, const audit::Actor& actor,
                       int64_t user_id, std::string_view hash, bool forced,
                       std::string_view keep_session_hash) {
  const int64_t now = clock.NowMs();
  auto row = conn.QueryOne(
      "UPDATE auth_users SET password_hash = $2, must_change_password = $3, "
      "password_changed_ms = $4, updated_ms = $4, failed_count = 0, locked_until_ms = 0 "
      "WHERE id = $1 RETURNING login, unit_id",
      {user_id, std::string(hash), int64_t{forced ? 1 : 0}, now});
  if (!row) return std::move(row).error();
  if (!*row) return Error::NotFound();
  const std::string login = (*row)->Text(0);
  if (auto s = DeleteSessionsOf(conn, user_id, forced ? std::string_view{} : keep_session_hash);
      !s) {
    return s;
  }
  return Audit(conn, clock, actor, forced ? "auth.password.reset" : "auth.password.change", user_id,
               (*row)->OptInt(1),
               forced ? "重置账户 " + login + " 的密码" : "账户 " + login + " 修改了密码");
}

Result<std::optional<User>> FindUser(db::Conn& conn, int64_t id) {
  return FindUserWhere(conn, "u.id = $1", {id});
}

Result<std::optional<User>> FindUserByLogin(db::Conn& conn, std::string_view login) {
  return FindUserWhere(conn, "u.login = $1", {std::string(login)});
}

Result<std::string> PasswordHashOf(db::Conn& conn, int64_t user_id) {
  auto row = conn.QueryOne("SELECT password_hash FROM auth_users WHERE id = $1", {user_id});
  if (!row) return std::move(row).error();
  if (!*row) return std::string();
  return (*row)->Text(0);
}

Result<std::vector<User>> ListStaff(db::Conn& conn, const std::vector<ScopePath>& scopes,
                                    std::optional<int64_t> unit_id) {
  std::vector<User> out;
  for (const auto& scope : scopes) {
    auto rows = scope.exact
                    ? conn.Query("SELECT " + std::string(kUserColumns) +
                                     " FROM auth_users u JOIN org_units o ON o.id = u.unit_id "
                                     "WHERE u.kind = 'staff' AND o.path = $1",
                                 {scope.path})
                    : conn.Query("SELECT " + std::string(kUserColumns) +
                                     " FROM auth_users u JOIN org_units o ON o.id = u.unit_id "
                                     "WHERE u.kind = 'staff' AND o.path >= $1 AND o.path < $2",
                                 {scope.path, org::SubtreeUpperBound(scope.path)});
    if (!rows) return std::move(rows).error();
    for (const auto& r : rows->rows) {
      User u = UserFromRow(r);
      if (unit_id && u.unit_id != unit_id) continue;
      const bool seen =
          std::any_of(out.begin(), out.end(), [&](const User& x) { return x.id == u.id; });
      if (!seen) out.push_back(std::move(u));
    }
  }
  for (auto& u : out) {
    if (auto s = LoadGrants(conn, u); !s) return std::move(s).error();
  }
  std::sort(out.begin(), out.end(), [](const User& a, const User& b) {
    return std::tie(a.unit_path, a.login) < std::tie(b.unit_path, b.login);
  });
  return out;
}

Result<LoginCandidate> PrepareLogin(db::Conn& conn, const Clock& clock, std::string_view login,
                                    std::string_view ip) {
  LoginCandidate out;
  auto blocked = conn.QueryOne("SELECT blocked_until_ms FROM auth_ip_failures WHERE ip = $1",
                               {std::string(ip)});
  if (!blocked) return std::move(blocked).error();
  if (*blocked && (*blocked)->Int(0) > clock.NowMs()) out.ip_blocked_until_ms = (*blocked)->Int(0);
  auto user = conn.QueryOne("SELECT id, password_hash FROM auth_users WHERE login = $1",
                            {std::string(login)});
  if (!user) return std::move(user).error();
  if (*user) {
    out.user_id = (*user)->Int(0);
    out.password_hash = (*user)->Text(1);
  }
  return out;
}

Result<LoginOutcome> FinishLogin(db::Conn& conn, const Clock& clock, const SessionPolicy& policy,
                                 const audit::Actor& actor, std::string_view login,
                                 const LoginCandidate& candidate, bool password_ok) {
  const int64_t now = clock.NowMs();
  const int64_t window_cut = now - kFailureWindowMs;
  LoginOutcome out;
  std::optional<int64_t> unit_id;
  bool disabled = false;
  int64_t locked_until = 0;
  if (candidate.user_id) {
    auto row = conn.QueryOne(
        "SELECT disabled, locked_until_ms, must_change_password, unit_id FROM auth_users "
        "WHERE id = $1",
        {*candidate.user_id});
    if (!row) return std::move(row).error();
    if (*row) {
      disabled = (*row)->Int(0) != 0;
      locked_until = (*row)->Int(1);
      out.must_change_password = (*row)->Int(2) != 0;
      unit_id = (*row)->OptInt(3);
      out.user_id = *candidate.user_id;
    }
  }
  const bool known = out.user_id != 0;
  if (known && password_ok && !disabled && locked_until <= now) {
    out.kind = LoginOutcome::Kind::kOk;
    out.session_id = RandomToken(32);
    auto s = conn.Exec(
        "INSERT INTO auth_sessions (id_hash, user_id, csrf, created_ms, last_seen_ms, expires_ms, "
        "ip) VALUES ($1, $2, $3, $4, $4, $5, $6)",
        {Sha256Hex(out.session_id), out.user_id, RandomToken(32), now, now + policy.max_ms,
         actor.ip});
    if (!s) return std::move(s).error();
    auto u = conn.Exec("UPDATE auth_users SET failed_count = 0, last_login_ms = $2 WHERE id = $1",
                       {out.user_id, now});
    if (!u) return std::move(u).error();
    // Sessions that ended by time are removed when their owner comes back.
    auto old = conn.Exec(
        "DELETE FROM auth_sessions WHERE user_id = $1 AND (expires_ms <= $2 OR last_seen_ms <= $3)",
        {out.user_id, now, now - policy.idle_ms});
    if (!old) return std::move(old).error();
    audit::Actor who = actor;
    who.user_id = out.user_id;
    who.name = std::string(login);
    if (auto a = Audit(conn, clock, who, "auth.login.ok", out.user_id, unit_id,
                       "登录成功：" + std::string(login));
        !a) {
      return std::move(a).error();
    }
    return out;
  }

  // A failure: count it against the IP, and against the account when there is one.
  auto ip = conn.QueryOne(
      "INSERT INTO auth_ip_failures (ip, failures, window_start_ms, blocked_until_ms) "
      "VALUES ($1, 1, $2, 0) ON CONFLICT (ip) DO UPDATE SET "
      "failures = CASE WHEN auth_ip_failures.window_start_ms <= $3 THEN 1 "
      "ELSE auth_ip_failures.failures + 1 END, "
      "window_start_ms = CASE WHEN auth_ip_failures.window_start_ms <= $3 THEN $2 "
      "ELSE auth_ip_failures.window_start_ms END "
      "RETURNING failures",
      {actor.ip, now, window_cut});
  if (!ip) return std::move(ip).error();
  const int64_t ip_failures = *ip ? (*ip)->Int(0) : 0;
  if (ip_failures >= kIpMaxFailures) {
    auto b = conn.Exec(
        "UPDATE auth_ip_failures SET blocked_until_ms = $2, failures = 0, window_start_ms = $3 "
        "WHERE ip = $1",
        {actor.ip, now + kLockMs, now});
    if (!b) return std::move(b).error();
    if (auto a = Audit(conn, clock, actor, "auth.ip_blocked", std::nullopt, std::nullopt,
                       "来自 " + actor.ip + " 的登录失败次数过多，暂停登录 15 分钟");
        !a) {
      return std::move(a).error();
    }
  }

  // "Disabled" only to someone who knows the password: others learn nothing about the account.
  if (known && disabled && password_ok) {
    out.kind = LoginOutcome::Kind::kDisabled;
  } else if (known && locked_until > now) {
    out.kind = LoginOutcome::Kind::kLocked;
    out.until_ms = locked_until;
  } else {
    out.kind = LoginOutcome::Kind::kBadPassword;
  }
  if (known && out.kind == LoginOutcome::Kind::kBadPassword) {
    auto count = conn.QueryOne(
        "UPDATE auth_users SET "
        "failed_count = CASE WHEN failed_window_start_ms <= $3 THEN 1 ELSE failed_count + 1 END, "
        "failed_window_start_ms = CASE WHEN failed_window_start_ms <= $3 THEN $2 "
        "ELSE failed_window_start_ms END "
        "WHERE id = $1 RETURNING failed_count",
        {out.user_id, now, window_cut});
    if (!count) return std::move(count).error();
    if (*count && (*count)->Int(0) >= kAccountMaxFailures) {
      auto lock = conn.Exec(
          "UPDATE auth_users SET locked_until_ms = $2, failed_count = 0, "
          "failed_window_start_ms = 0 WHERE id = $1",
          {out.user_id, now + kLockMs});
      if (!lock) return std::move(lock).error();
      out.kind = LoginOutcome::Kind::kLocked;
      out.until_ms = now + kLockMs;
      if (auto a = Audit(conn, clock, actor, "auth.lockout", out.user_id, unit_id,
                         "账户 " + std::string(login) + " 连续登录失败 5 次，锁定 15 分钟");
          !a) {
        return std::move(a).error();
      }
    }
  }
  if (auto a = Audit(conn, clock, actor, "auth.login.failed",
                     known ? std::optional<int64_t>(out.user_id) : std::nullopt, unit_id,
                     "登录失败：" + std::string(login.substr(0, 64)));
      !a) {
    return std::move(a).error();
  }
  if (ip_failures >= kIpMaxFailures) {
    out.kind = LoginOutcome::Kind::kIpBlocked;
    out.until_ms = now + kLockMs;
  }
  return out;
}

Result<std::optional<SessionView>> LoadSession(db::Conn& conn, const Clock& clock,
                                               const SessionPolicy& policy,
                                               std::string_view session_id) {
  const std::string id_hash = Sha256Hex(session_id);
  // One indexed query: the session, its user and the user's grants with their unit paths.
  auto rows = conn.Query(
      "SELECT s.user_id, s.csrf, s.created_ms, s.last_seen_ms, s.expires_ms, u.kind, u.login, "
      "u.display_name, u.unit_id, u.must_change_password, u.disabled, g.role, g.scope, g.unit_id, "
      "o.path FROM auth_sessions s JOIN auth_users u ON u.id = s.user_id "
      "LEFT JOIN auth_grants g ON g.user_id = u.id "
      "LEFT JOIN org_units o ON o.id = g.unit_id "
      "WHERE s.id_hash = $1 ORDER BY g.id",
      {id_hash});
  if (!rows) return std::move(rows).error();
  if (rows->rows.empty()) return std::optional<SessionView>();
  const db::Row& first = rows->rows.front();
  const int64_t now = clock.NowMs();
  if (first.Int(4) <= now || first.Int(3) + policy.idle_ms <= now ||
      first.Int(2) + policy.max_ms <= now || first.Int(10) != 0) {
    return std::optional<SessionView>();
  }
  SessionView view;
  view.id_hash = id_hash;
  view.csrf = first.Text(1);
  view.last_seen_ms = first.Int(3);
  Principal& p = view.principal;
  p.user_id = first.Int(0);
  p.kind = first.Text(5) == "staff" ? Principal::Kind::kStaff : Principal::Kind::kCitizen;
  p.login = first.Text(6);
  p.display_name = first.Text(7);
  p.unit_id = first.OptInt(8).value_or(0);
  p.must_change_password = first.Int(9) != 0;
  p.session_id = std::string(session_id);
  for (const auto& r : rows->rows) {
    if (r.IsNull(11) || r.IsNull(14)) continue;
    auto role = RoleFromName(r.Text(11));
    auto scope = ScopeFromName(r.Text(12));
    if (role && scope) p.grants.push_back({*role, *scope, r.Int(13), r.Text(14)});
  }
  return std::optional<SessionView>(std::move(view));
}

Status TouchSession(db::Conn& conn, const Clock& clock, std::string_view id_hash) {
  auto r = conn.Exec("UPDATE auth_sessions SET last_seen_ms = $2 WHERE id_hash = $1",
                     {std::string(id_hash), clock.NowMs()});
  if (!r) return std::move(r).error();
  return {};
}

Status EndSession(db::Conn& conn, const Clock& clock, const audit::Actor& actor,
                  std::string_view session_id) {
  auto row = conn.QueryOne("DELETE FROM auth_sessions WHERE id_hash = $1 RETURNING user_id",
                           {Sha256Hex(session_id)});
  if (!row) return std::move(row).error();
  if (!*row) return {};
  return Audit(conn, clock, actor, "auth.logout", (*row)->Int(0), std::nullopt,
               "退出登录：" + actor.name);
}

Status EndAllSessions(db::Conn& conn, const Clock& clock, const audit::Actor& actor,
                      int64_t user_id) {
  if (auto s = DeleteSessionsOf(conn, user_id); !s) return s;
  return Audit(conn, clock, actor, "auth.logout_everywhere", user_id, std::nullopt,
               "在所有设备上退出登录：" + actor.name);
}

Result<int64_t> CountSessions(db::Conn& conn, const Clock& clock, const SessionPolicy& policy,
                              int64_t user_id) {
  const int64_t now = clock.NowMs();
  auto row = conn.QueryOne(
      "SELECT COUNT(*) FROM auth_sessions WHERE user_id = $1 AND expires_ms > $2 "
      "AND last_seen_ms > $3",
      {user_id, now, now - policy.idle_ms});
  if (!row) return std::move(row).error();
  return (*row)->Int(0);
}

Result<IssuedToken> IssueToken(db::Conn& conn, const Clock& clock, std::string_view login,
                               std::optional<int> expires_days, std::string_view label,
                               const audit::Actor& actor) {
  if (expires_days && (*expires_days < 1 || *expires_days > 3650)) {
    return Error::Invalid("expires", "有效天数应在 1 到 3650 之间");
  }
  std::size_t label_chars = 0;
  for (unsigned char c : label) {
    if (c < 0x20 || c == 0x7f) return Error::Invalid("label", "名称不能包含控制字符");
    if ((c & 0xC0) != 0x80) ++label_chars;
  }
  if (label_chars > kMaxTokenLabelChars) {
    return Error::Invalid("label", "名称最多 " + std::to_string(kMaxTokenLabelChars) + " 个字符");
  }
  auto user = conn.QueryOne("SELECT id, unit_id FROM auth_users WHERE login = $1 AND disabled = 0",
                            {std::string(login)});
  if (!user) return std::move(user).error();
  if (!*user) {
    Error e = Error::NotFound("没有这个用户：" + std::string(login));
    e.fields.push_back({"login", "没有这个用户，或它已停用"});
    return e;
  }
  const int64_t now = clock.NowMs();
  IssuedToken out;
  out.token = "zw_" + RandomToken(32);
  db::Value expires =
      expires_days ? db::Value(now + int64_t{*expires_days} * 86400000) : db::Value();
  auto id = conn.QueryOne(
      "INSERT INTO auth_tokens (user_id, token_hash, prefix, created_ms, expires_ms, label) "
      "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
      {(*user)->Int(0), Sha256Hex(out.token), out.token.substr(0, 8), now, expires,
       std::string(label)});
  if (!id) return std::move(id).error();
  out.id = (*id)->Int(0);
  std::string summary =
      "为 " + std::string(login) + " 创建 API 令牌 " + out.token.substr(0, 8) + "…";
  if (!label.empty()) summary += "（" + std::string(label) + "）";
  if (auto a = Audit(conn, clock, actor, "auth.token.create", (*user)->Int(0), (*user)->OptInt(1),
                     summary);
      !a) {
    return std::move(a).error();
  }
  return out;
}

Result<std::string> CreateToken(db::Conn& conn, const Clock& clock, std::string_view login,
                                std::optional<int> expires_days, const audit::Actor& actor,
                                std::string_view label) {
  auto issued = IssueToken(conn, clock, login, expires_days, label, actor);
  if (!issued) return std::move(issued).error();
  return std::move(issued->token);
}

Status RevokeToken(db::Conn& conn, const Clock& clock, int64_t token_id,
                   const audit::Actor& actor) {
  auto row = conn.QueryOne(
      "UPDATE auth_tokens SET revoked_ms = $2 WHERE id = $1 AND revoked_ms IS NULL "
      "RETURNING user_id, prefix",
      {token_id, clock.NowMs()});
  if (!row) return std::move(row).error();
  if (!*row) return Error::NotFound("没有这个令牌，或已吊销");
  auto unit = conn.QueryOne("SELECT unit_id FROM auth_users WHERE id = $1", {(*row)->Int(0)});
  if (!unit) return std::move(unit).error();
  return Audit(conn, clock, actor, "auth.token.revoke", (*row)->Int(0),
               *unit ? (*unit)->OptInt(0) : std::nullopt, "吊销 API 令牌 " + (*row)->Text(1) + "…");
}

namespace {

constexpr std::string_view kTokenColumns =
    "t.id, t.user_id, u.login, t.prefix, t.created_ms, t.expires_ms, t.revoked_ms, "
    "t.last_used_ms, t.label, u.display_name, u.unit_id, o.name, o.path";
constexpr std::string_view kTokenFrom =
    " FROM auth_tokens t JOIN auth_users u ON u.id = t.user_id "
    "LEFT JOIN org_units o ON o.id = u.unit_id ";

TokenInfo TokenFromRow(const db::Row& r) {
  TokenInfo t;
  t.id = r.Int(0);
  t.user_id = r.Int(1);
  t.login = r.Text(2);
  t.prefix = r.Text(3);
  t.created_ms = r.Int(4);
  t.expires_ms = r.OptInt(5);
  t.revoked_ms = r.OptInt(6);
  t.last_used_ms = r.OptInt(7);
  t.label = r.Text(8);
  t.display_name = r.Text(9);
  t.unit_id = r.OptInt(10);
  if (!r.IsNull(11)) t.unit_name = r.Text(11);
  if (!r.IsNull(12)) t.unit_path = r.Text(12);
  return t;
}

}  // namespace

Result<std::vector<TokenInfo>> ListTokens(db::Conn& conn, std::string_view login) {
  auto rows = conn.Query("SELECT " + std::string(kTokenColumns) + std::string(kTokenFrom) +
                             "WHERE $1 = '' OR u.login = $1 ORDER BY t.id DESC",
                         {std::string(login)});
  if (!rows) return std::move(rows).error();
  std::vector<TokenInfo> out;
  for (const auto& r : rows->rows) out.push_back(TokenFromRow(r));
  return out;
}

Result<std::vector<TokenInfo>> ListTokensInScope(db::Conn& conn,
                                                 const std::vector<ScopePath>& scopes) {
  std::vector<TokenInfo> out;
  const std::string select = "SELECT " + std::string(kTokenColumns) + std::string(kTokenFrom);
  for (const auto& scope : scopes) {
    auto rows = scope.exact ? conn.Query(select + "WHERE o.path = $1", {scope.path})
                            : conn.Query(select + "WHERE o.path >= $1 AND o.path < $2",
                                         {scope.path, org::SubtreeUpperBound(scope.path)});
    if (!rows) return std::move(rows).error();
    for (const auto& r : rows->rows) {
      TokenInfo t = TokenFromRow(r);
      const bool seen =
          std::any_of(out.begin(), out.end(), [&](const TokenInfo& x) { return x.id == t.id; });
      if (!seen) out.push_back(std::move(t));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const TokenInfo& a, const TokenInfo& b) { return a.id > b.id; });
  return out;
}

Result<std::optional<TokenInfo>> FindToken(db::Conn& conn, int64_t token_id) {
  auto row = conn.QueryOne(
      "SELECT " + std::string(kTokenColumns) + std::string(kTokenFrom) + "WHERE t.id = $1",
      {token_id});
  if (!row) return std::move(row).error();
  if (!*row) return std::optional<TokenInfo>();
  return std::optional<TokenInfo>(TokenFromRow(**row));
}

Result<std::optional<TokenUse>> UseToken(db::Conn& conn, const Clock& clock,
                                         std::string_view token) {
  auto row = conn.QueryOne(
      "SELECT t.user_id, t.expires_ms, t.revoked_ms, t.id, t.last_used_ms FROM auth_tokens t "
      "JOIN auth_users u ON u.id = t.user_id WHERE t.token_hash = $1 AND u.disabled = 0",
      {Sha256Hex(token)});
  if (!row) return std::move(row).error();
  if (!*row) return std::optional<TokenUse>();
  const auto expires = (*row)->OptInt(1);
  if (!(*row)->IsNull(2) || (expires && *expires <= clock.NowMs())) {
    return std::optional<TokenUse>();
  }
  auto user = FindUser(conn, (*row)->Int(0));
  if (!user) return std::move(user).error();
  if (!*user) return std::optional<TokenUse>();
  TokenUse use;
  use.token_id = (*row)->Int(3);
  use.last_used_ms = (*row)->OptInt(4);
  use.expires_ms = expires;
  Principal& p = use.principal;
  p.user_id = (*user)->id;
  p.kind = (*user)->kind;
  p.login = (*user)->login;
  p.display_name = (*user)->display_name;
  p.unit_id = (*user)->unit_id.value_or(0);
  p.grants = (*user)->grants;
  return std::optional<TokenUse>(std::move(use));
}

Result<std::optional<Principal>> PrincipalForToken(db::Conn& conn, const Clock& clock,
                                                   std::string_view token) {
  auto use = UseToken(conn, clock, token);
  if (!use) return std::move(use).error();
  if (!*use) return std::optional<Principal>();
  return std::optional<Principal>(std::move((*use)->principal));
}

Status TouchToken(db::Conn& conn, const Clock& clock, int64_t token_id) {
  auto r = conn.Exec("UPDATE auth_tokens SET last_used_ms = $2 WHERE id = $1",
                     {token_id, clock.NowMs()});
  if (!r) return std::move(r).error();
  return {};
}

}  // namespace zhenwu::auth
