#include "auth/handlers.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <memory>
#include <thread>

#include "auth/middleware.hpp"
#include "auth/password.hpp"
#include "auth/service.hpp"
#include "org/store.hpp"
#include "web/page.hpp"

namespace zhenwu::auth {

namespace {

using http::bhttp::field;
using http::bhttp::status;
using view::Data;

// Logins waiting for a hash beyond this many are turned away (503) instead of queueing for
// minutes: a storm must not grow memory without bound.
constexpr int kMaxWaitingHashes = 256;
constexpr int kGrantSlots = 3;

struct Deps {
  const Clock& clock;
  db::Database& db;
  const view::View& view;
  SessionPolicy policy;
  // Password hashing gets its own small pool: a login storm then queues there and never takes
  // the threads that database reads of ordinary page views run on.
  std::shared_ptr<BlockingPool> hasher;
  std::shared_ptr<std::atomic<int>> waiting = std::make_shared<std::atomic<int>>(0);
};

const std::string& S(const Deps& d, std::string_view key) { return d.view.strings().Get(key); }

audit::Actor ActorOf(const http::Request& req) {
  audit::Actor a;
  if (const Principal* p = CurrentPrincipal(req)) {
    a.user_id = p->user_id;
    a.name = p->login;
  } else {
    a.name = "anonymous";
  }
  a.ip = req.remote_ip;
  a.request_id = req.request_id;
  return a;
}

// Local paths only: never send a person to another host after login.
std::string SafeNext(std::string_view next, std::string_view fallback) {
  if (next.empty() || next[0] != '/' || (next.size() > 1 && (next[1] == '/' || next[1] == '\\'))) {
    return std::string(fallback);
  }
  for (char c : next) {
    if (static_cast<unsigned char>(c) < 0x20) return std::string(fallback);
  }
  return std::string(next);
}

Data Errors(const Error& error) {
  Data errors{Data::type::object};
  for (const auto& f : error.fields) errors.set(f.field, f.message);
  return errors;
}

// Hashing gives way to page views: the hasher threads run at this nice level, so on a busy
// machine a login storm takes the CPU the pages leave over instead of halving their throughput
// (bench/login_storm.sh). Logins then wait longer, which is the better trade.
constexpr int kHasherNice = 10;

void LowerThisThreadsPriority() {
  thread_local const bool lowered =
      ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kHasherNice) == 0;
  (void)lowered;
}

template <class Fn>
asio::awaitable<std::optional<std::invoke_result_t<Fn&>>> OnHasher(const Deps& d, Fn fn) {
  if (d.waiting->fetch_add(1) >= kMaxWaitingHashes) {
    d.waiting->fetch_sub(1);
    co_return std::nullopt;
  }
  struct Leave {
    std::atomic<int>& n;
    ~Leave() { n.fetch_sub(1); }
  } leave{*d.waiting};
  auto at_low_priority = [fn = std::move(fn)]() mutable {
    LowerThisThreadsPriority();
    return fn();
  };
  co_return co_await d.hasher->Run(std::move(at_low_priority));
}

http::Response Busy(const http::Request& req, const Deps& d) {
  auto res = web::ErrorPage(req, d.view, status::service_unavailable);
  res.set(field::retry_after, "5");
  return res;
}

// --- login -----------------------------------------------------------------------------------

struct LoginForm {
  bool citizen = false;
  std::string login, next, message;
  Error errors;
};

http::Response RenderLogin(const http::Request& req, const Deps& d, const LoginForm& f,
                           status code = status::ok) {
  Data data{Data::type::object};
  data.set("citizen", f.citizen ? Data::type::bool_true : Data::type::bool_false);
  data.set("staff", f.citizen ? Data::type::bool_false : Data::type::bool_true);
  data.set("kind", f.citizen ? "citizen" : "staff");
  data.set("login", f.login);
  data.set("next", f.next);
  data.set("next_enc", http::PercentEncode(f.next));
  data.set("message", f.message);
  data.set("errors", Errors(f.errors));
  auto res = web::RenderPage(req, d.view, S(d, "auth.login_title"), "", "auth/login",
                             std::move(data), code);
  res.set(field::cache_control, "no-store");
  return res;
}

http::Response TooManyAttempts(const http::Request& req, const Deps& d, int64_t until_ms) {
  const int64_t wait_s = std::max<int64_t>(1, (until_ms - d.clock.NowMs() + 999) / 1000);
  Data data{Data::type::object};
  data.set("until", FormatShanghaiMinute(until_ms));
  data.set("minutes", std::to_string((wait_s + 59) / 60));
  auto res = web::RenderPage(req, d.view, S(d, "auth.too_many_title"), "", "auth/too_many",
                             std::move(data), status::too_many_requests);
  res.set(field::retry_after, std::to_string(wait_s));
  res.set(field::cache_control, "no-store");
  return res;
}

asio::awaitable<http::Response> GetLogin(const Deps& d, http::Request& req) {
  const Principal* who = CurrentPrincipal(req);
  LoginForm f;
  f.next = SafeNext(req.QueryForm().GetOr("next"), "");
  if (who)
    co_return http::Redirect(
        SafeNext(f.next, who->kind == Principal::Kind::kStaff ? "/admin" : "/"));
  f.citizen = req.QueryForm().GetOr("kind") == "citizen";
  co_return RenderLogin(req, d, f);
}

asio::awaitable<http::Response> PostLogin(const Deps& d, http::Request& req) {
  const http::Form& form = req.BodyForm();
  LoginForm f;
  f.citizen = form.GetOr("kind") == "citizen";
  f.login = form.GetOr("login");
  f.next = SafeNext(form.GetOr("next"), "");
  const std::string password = form.GetOr("password");
  // Trim what people paste around a login name or phone.
  while (!f.login.empty() && (f.login.back() == ' ' || f.login.back() == '\t')) f.login.pop_back();
  while (!f.login.empty() && (f.login.front() == ' ' || f.login.front() == '\t'))
    f.login.erase(0, 1);
  if (!f.citizen) {
    for (char& c : f.login) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  f.errors.code = ErrorCode::kInvalidInput;
  if (f.login.empty()) {
    f.errors.fields.push_back({"login", S(d, f.citizen ? "auth.need_phone" : "auth.need_login")});
  } else if (f.citizen && !IsMobilePhone(f.login)) {
    f.errors.fields.push_back({"login", S(d, "auth.bad_phone")});
  }
  if (password.empty()) f.errors.fields.push_back({"password", S(d, "auth.need_password")});
  if (!f.errors.fields.empty()) co_return RenderLogin(req, d, f, status::unprocessable_entity);

  auto zw_work1 = [&d, login = f.login, ip = req.remote_ip](db::Conn& c) {
    return PrepareLogin(c, d.clock, login, ip);
  };
  auto candidate = co_await d.db.Read<LoginCandidate>(zw_work1);
  if (!candidate) co_return web::ErrorPage(req, d.view, web::StatusFor(candidate.error().code));
  if (candidate->ip_blocked_until_ms > 0) {
    co_return TooManyAttempts(req, d, candidate->ip_blocked_until_ms);
  }
  auto zw_hash1 = [hash = candidate->password_hash, password] {
    return VerifyPassword(hash, password);
  };
  // Exactly one hash per attempt, for known and unknown logins alike.
  auto verified = co_await OnHasher(d, zw_hash1);
  if (!verified) co_return Busy(req, d);

  const audit::Actor actor = ActorOf(req);
  auto zw_work2 = [&d, &actor, login = f.login, cand = *candidate, ok = *verified](db::Conn& c) {
    return FinishLogin(c, d.clock, d.policy, actor, login, cand, ok);
  };
  auto outcome = co_await d.db.Write<LoginOutcome>(zw_work2);
  if (!outcome) co_return web::ErrorPage(req, d.view, web::StatusFor(outcome.error().code));
  switch (outcome->kind) {
    case LoginOutcome::Kind::kOk: {
      const bool staff = !f.citizen;
      http::Response res = outcome->must_change_password
                               ? http::Redirect("/account/password")
                               : http::Redirect(SafeNext(f.next, staff ? "/admin" : "/"));
      res.insert(field::set_cookie, SessionCookie(outcome->session_id, req.secure));
      res.set(field::cache_control, "no-store");
      co_return res;
    }
    case LoginOutcome::Kind::kIpBlocked:
      co_return TooManyAttempts(req, d, outcome->until_ms);
    case LoginOutcome::Kind::kLocked:
      f.message = S(d, "auth.locked_before") + FormatShanghaiMinute(outcome->until_ms) +
                  S(d, "auth.locked_after");
      break;
    case LoginOutcome::Kind::kDisabled:
      f.message = S(d, "auth.disabled");
      break;
    case LoginOutcome::Kind::kBadPassword:
      f.errors.fields.push_back({"password", S(d, "auth.wrong_password")});
      break;
  }
  co_return RenderLogin(req, d, f, status::unprocessable_entity);
}

asio::awaitable<http::Response> PostLogout(const Deps& d, http::Request& req) {
  const Principal* who = CurrentPrincipal(req);
  if (who && !who->session_id.empty()) {
    const audit::Actor actor = ActorOf(req);
    auto zw_work3 = [&d, &actor, id = who->session_id](db::Conn& c) -> Result<int> {
      if (auto s = EndSession(c, d.clock, actor, id); !s) return std::move(s).error();
      return 1;
    };
    auto done = co_await d.db.Write<int>(zw_work3);
    if (!done) co_return web::ErrorPage(req, d.view, web::StatusFor(done.error().code));
  }
  auto res = http::Redirect("/");
  res.insert(field::set_cookie, ClearSessionCookie(req.secure));
  co_return res;
}

asio::awaitable<http::Response> PostLogoutEverywhere(const Deps& d, http::Request& req) {
  const Principal* who = CurrentPrincipal(req);
  if (!who) co_return web::LoginRedirect(req);
  const audit::Actor actor = ActorOf(req);
  auto zw_work4 = [&d, &actor, id = who->user_id](db::Conn& c) -> Result<int> {
    if (auto s = EndAllSessions(c, d.clock, actor, id); !s) return std::move(s).error();
    return 1;
  };
  auto done = co_await d.db.Write<int>(zw_work4);
  if (!done) co_return web::ErrorPage(req, d.view, web::StatusFor(done.error().code));
  auto res = http::Redirect("/login");
  res.insert(field::set_cookie, ClearSessionCookie(req.secure));
  co_return res;
}

// --- own password ----------------------------------------------------------------------------

http::Response RenderPassword(const http::Request& req, const Deps& d, const Error& errors,
                              bool done, status code = status::ok) {
  const Principal* who = CurrentPrincipal(req);
  Data data{Data::type::object};
  data.set("errors", Errors(errors));
  data.set("forced",
           who && who->must_change_password ? Data::type::bool_true : Data::type::bool_false);
  data.set("done", done ? Data::type::bool_true : Data::type::bool_false);
  data.set("home", who && who->kind == Principal::Kind::kStaff ? "/admin" : "/");
  auto res = web::RenderPage(req, d.view, S(d, "auth.password_title"), "", "auth/password",
                             std::move(data), code);
  res.set(field::cache_control, "no-store");
  return res;
}

asio::awaitable<http::Response> GetPassword(const Deps& d, http::Request& req) {
  if (!CurrentPrincipal(req)) co_return web::LoginRedirect(req);
  co_return RenderPassword(req, d, Error{}, false);
}

asio::awaitable<http::Response> PostPassword(const Deps& d, http::Request& req) {
  const Principal* who = CurrentPrincipal(req);
  if (!who) co_return web::LoginRedirect(req);
  const http::Form& form = req.BodyForm();
  const std::string old_pw = form.GetOr("old_password");
  const std::string new_pw = form.GetOr("new_password");
  const std::string confirm = form.GetOr("confirm_password");
  Error errors{ErrorCode::kInvalidInput, "", {}};
  if (old_pw.empty()) errors.fields.push_back({"old_password", S(d, "auth.need_old_password")});
  if (auto s = CheckPasswordRules(new_pw, who->login, "new_password"); !s) {
    errors.fields.push_back(s.error().fields.front());
  } else if (new_pw == old_pw) {
    errors.fields.push_back({"new_password", S(d, "auth.same_password")});
  }
  if (confirm != new_pw) errors.fields.push_back({"confirm_password", S(d, "auth.mismatch")});
  if (!errors.fields.empty()) {
    co_return RenderPassword(req, d, errors, false, status::unprocessable_entity);
  }
  auto zw_work5 = [id = who->user_id](db::Conn& c) { return PasswordHashOf(c, id); };
  auto hash = co_await d.db.Read<std::string>(zw_work5);
  if (!hash) co_return web::ErrorPage(req, d.view, web::StatusFor(hash.error().code));
  auto zw_hash2 = [old_hash = *hash, old_pw, new_pw]() -> std::string {
    if (!VerifyPassword(old_hash, old_pw)) return {};
    return HashPassword(new_pw);
  };
  // Verify the old password and hash the new one in one trip to the hashing pool.
  auto fresh = co_await OnHasher(d, zw_hash2);
  if (!fresh) co_return Busy(req, d);
  if (fresh->empty()) {
    errors.fields.push_back({"old_password", S(d, "auth.wrong_old_password")});
    co_return RenderPassword(req, d, errors, false, status::unprocessable_entity);
  }
  const audit::Actor actor = ActorOf(req);
  auto zw_work6 = [&d, &actor, id = who->user_id, h = *fresh,
                   keep = Sha256Hex(who->session_id)](db::Conn& c) -> Result<int> {
    if (auto s = SetPasswordHash(c, d.clock, actor, id, h, false, keep); !s) {
      return std::move(s).error();
    }
    return 1;
  };
  auto done = co_await d.db.Write<int>(zw_work6);
  if (!done) co_return web::ErrorPage(req, d.view, web::StatusFor(done.error().code));
  // The principal of this request still says "must change"; the page shows the new state.
  Principal updated = *who;
  updated.must_change_password = false;
  SetCurrentPrincipal(req, std::move(updated));
  co_return RenderPassword(req, d, Error{}, true);
}

// --- staff console ---------------------------------------------------------------------------

// The permission an admin-console entry needs to be listed; unknown entries are listed for all
// staff (their pages check for themselves).
std::optional<Permission> PermissionForNav(std::string_view key) {
  if (key == "users") return Permission::kUserView;
  if (key == "tokens") return Permission::kUserManage;
  if (key == "org") return Permission::kOrgView;
  if (key == "people") return Permission::kPeopleView;
  if (key == "audit") return Permission::kAuditView;
  if (key == "cases" || key == "services") return Permission::kCaseView;
  if (key == "content" || key == "portal") return Permission::kContentEdit;
  if (key == "catalogue") return Permission::kCatalogueEdit;
  if (key == "hotline" || key == "messages") return Permission::kMessageHandle;
  if (key == "office") return Permission::kOfficeUse;
  if (key == "assessment") return Permission::kAssessmentView;
  if (key == "outbox") return Permission::kUserManage;  // system administrators only
  return std::nullopt;
}

// Staff only: anonymous → login, citizens → 403.
std::optional<http::Response> RequireStaff(const Deps& d, const http::Request& req) {
  const Principal* who = CurrentPrincipal(req);
  if (!who) return web::LoginRedirect(req);
  if (who->kind != Principal::Kind::kStaff) return web::ErrorPage(req, d.view, status::forbidden);
  return std::nullopt;
}

http::Response Denied(const Deps& d, const http::Request& req, const Error& e) {
  return web::RefusePage(req, d.view, e);
}

asio::awaitable<http::Response> GetAdmin(const Deps& d, http::Request& req) {
  if (auto r = RequireStaff(d, req)) co_return std::move(*r);
  const Principal& who = *CurrentPrincipal(req);
  auto zw_work7 = [id = who.unit_id](db::Conn& c) { return org::FindUnit(c, id); };
  auto unit = co_await d.db.Read<std::optional<org::OrgUnit>>(zw_work7);
  Data entries{Data::type::list};
  for (const auto& item : d.view.admin_nav()) {
    auto needs = PermissionForNav(item.key);
    if (needs && !AuthorizeAny(&who, *needs)) continue;
    Data e{Data::type::object};
    e.set("label", item.label);
    e.set("path", item.path);
    entries.push_back(e);
  }
  Data data{Data::type::object};
  data.set("name", who.display_name);
  data.set("unit", unit && *unit ? (*unit)->name : std::string());
  data.set("entries", entries);
  data.set("has_entries",
           entries.list_value().empty() ? Data::type::bool_false : Data::type::bool_true);
  Data roles{Data::type::list};
  for (const auto& g : who.grants) {
    Data r{Data::type::object};
    r.set("role", S(d, "auth.role_" + std::string(RoleName(g.role))));
    roles.push_back(r);
  }
  data.set("has_roles", who.grants.empty() ? Data::type::bool_false : Data::type::bool_true);
  data.set("roles", roles);
  co_return web::RenderPage(req, d.view, S(d, "auth.admin_title"), "", "auth/admin",
                            std::move(data));
}

// Units the principal may use `permission` on, ordered by path (for unit pickers).
Result<std::vector<org::OrgUnit>> UnitsInScope(db::Conn& c, const Principal& who,
                                               Permission permission) {
  std::vector<org::OrgUnit> out;
  for (const auto& scope : ScopesFor(who, permission)) {
    auto units = org::Subtree(c, scope.path);
    if (!units) return std::move(units).error();
    for (auto& u : *units) {
      if (u.retired() || (scope.exact && u.path != scope.path)) continue;
      bool seen = false;
      for (const auto& x : out) seen = seen || x.id == u.id;
      if (!seen) out.push_back(std::move(u));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const org::OrgUnit& a, const org::OrgUnit& b) { return a.path < b.path; });
  return out;
}

Data UnitOptions(const std::vector<org::OrgUnit>& units, std::optional<int64_t> selected) {
  Data list{Data::type::list};
  for (const auto& u : units) {
    Data o{Data::type::object};
    o.set("id", std::to_string(u.id));
    o.set("name", std::string(static_cast<std::size_t>(u.depth) * 2, ' ') + u.name);
    o.set("indent", std::string(static_cast<std::size_t>(u.depth), '-'));
    o.set("label", u.name);
    o.set("selected", selected == u.id ? Data::type::bool_true : Data::type::bool_false);
    list.push_back(o);
  }
  return list;
}

asio::awaitable<http::Response> GetUsers(const Deps& d, http::Request& req) {
  if (auto r = RequireStaff(d, req)) co_return std::move(*r);
  const Principal& who = *CurrentPrincipal(req);
  if (auto s = AuthorizeAny(&who, Permission::kUserView); !s) co_return Denied(d, req, s.error());
  std::optional<int64_t> unit_filter;
  if (auto u = req.QueryForm().Get("unit"); u && !u->empty()) {
    try {
      unit_filter = std::stoll(*u);
    } catch (...) {
      unit_filter.reset();
    }
  }
  struct Listing {
    std::vector<User> users;
    std::vector<org::OrgUnit> units;
  };
  auto zw_work8 = [&who, unit_filter](db::Conn& c) -> Result<Listing> {
    Listing l;
    auto units = UnitsInScope(c, who, Permission::kUserView);
    if (!units) return std::move(units).error();
    l.units = std::move(units).value();
    auto users = ListStaff(c, ScopesFor(who, Permission::kUserView), unit_filter);
    if (!users) return std::move(users).error();
    l.users = std::move(users).value();
    return l;
  };
  auto listing = co_await d.db.Read<Listing>(zw_work8);
  if (!listing) co_return web::ErrorPage(req, d.view, web::StatusFor(listing.error().code));
  Data rows{Data::type::list};
  for (const auto& u : listing->users) {
    Data r{Data::type::object};
    r.set("id", std::to_string(u.id));
    r.set("login", u.login);
    r.set("name", u.display_name);
    r.set("unit", u.unit_name);
    std::string roles;
    for (const auto& g : u.grants) {
      if (!roles.empty()) roles += "、";
      roles += S(d, "auth.role_" + std::string(RoleName(g.role)));
    }
    r.set("roles", roles);
    r.set("disabled", u.disabled ? Data::type::bool_true : Data::type::bool_false);
    rows.push_back(r);
  }
  Data data{Data::type::object};
  data.set("users", rows);
  data.set("empty", listing->users.empty() ? Data::type::bool_true : Data::type::bool_false);
  data.set("units", UnitOptions(listing->units, unit_filter));
  data.set("can_manage", AuthorizeAny(&who, Permission::kUserManage) ? Data::type::bool_true
                                                                     : Data::type::bool_false);
  co_return web::RenderPage(req, d.view, S(d, "auth.users_title"), "", "auth/users",
                            std::move(data));
}

// What the user form shows: typed values (never passwords) and messages beside fields.
struct UserForm {
  std::optional<int64_t> id;  // editing an existing user
  std::string login, display_name;
  std::optional<int64_t> unit_id;
  std::vector<std::tuple<std::string, std::string, std::string>> grants;  // role, scope, unit
  bool disabled = false;
  Error errors;
  std::string notice;  // e.g. the temporary password after a reset, shown once
};

UserForm FormFromUser(const User& u) {
  UserForm f;
  f.id = u.id;
  f.login = u.login;
  f.display_name = u.display_name;
  f.unit_id = u.unit_id;
  f.disabled = u.disabled;
  for (const auto& g : u.grants) {
    f.grants.emplace_back(std::string(RoleName(g.role)), std::string(ScopeName(g.scope)),
                          std::to_string(g.unit_id));
  }
  return f;
}

UserForm FormFromRequest(const http::Request& req) {
  const http::Form& form = req.BodyForm();
  UserForm f;
  f.login = form.GetOr("login");
  f.display_name = form.GetOr("display_name");
  try {
    f.unit_id = std::stoll(form.GetOr("unit_id"));
  } catch (...) {
  }
  for (int i = 0; i < kGrantSlots; ++i) {
    const std::string n = std::to_string(i);
    f.grants.emplace_back(form.GetOr("role_" + n), form.GetOr("scope_" + n),
                          form.GetOr("grant_unit_" + n));
  }
  f.disabled = form.GetOr("disabled") == "1";
  return f;
}

asio::awaitable<http::Response> RenderUserForm(const Deps& d, http::Request& req, const UserForm& f,
                                               status code = status::ok) {
  const Principal& who = *CurrentPrincipal(req);
  auto zw_work9 = [&who](db::Conn& c) { return UnitsInScope(c, who, Permission::kUserManage); };
  auto units = co_await d.db.Read<std::vector<org::OrgUnit>>(zw_work9);
  if (!units) co_return web::ErrorPage(req, d.view, web::StatusFor(units.error().code));
  Data data{Data::type::object};
  data.set("editing", f.id ? Data::type::bool_true : Data::type::bool_false);
  data.set("id", f.id ? std::to_string(*f.id) : std::string());
  data.set("action", f.id ? "/admin/users/" + std::to_string(*f.id) : "/admin/users/new");
  data.set("login", f.login);
  data.set("display_name", f.display_name);
  data.set("units", UnitOptions(*units, f.unit_id));
  data.set("disabled", f.disabled ? Data::type::bool_true : Data::type::bool_false);
  data.set("errors", Errors(f.errors));
  data.set("notice", f.notice);
  Data slots{Data::type::list};
  for (int i = 0; i < kGrantSlots; ++i) {
    std::string role, scope = "unit", unit;
    if (i < static_cast<int>(f.grants.size())) std::tie(role, scope, unit) = f.grants[i];
    Data slot{Data::type::object};
    slot.set("n", std::to_string(i));
    slot.set("label_n", std::to_string(i + 1));
    Data roles{Data::type::list};
    for (Role r : {Role::kAdmin, Role::kLeader, Role::kClerk, Role::kVillageCadre, Role::kEditor,
                   Role::kAuditor}) {
      Data o{Data::type::object};
      o.set("value", std::string(RoleName(r)));
      o.set("label", S(d, "auth.role_" + std::string(RoleName(r))));
      o.set("selected", role == RoleName(r) ? Data::type::bool_true : Data::type::bool_false);
      roles.push_back(o);
    }
    slot.set("roles", roles);
    slot.set("subtree", scope == "subtree" ? Data::type::bool_true : Data::type::bool_false);
    std::optional<int64_t> unit_id;
    try {
      if (!unit.empty()) unit_id = std::stoll(unit);
    } catch (...) {
    }
    slot.set("units", UnitOptions(*units, unit_id));
    slots.push_back(slot);
  }
  data.set("slots", slots);
  const std::string title = S(d, f.id ? "auth.edit_user_title" : "auth.new_user_title");
  auto res = web::RenderPage(req, d.view, title, "", "auth/user_form", std::move(data), code);
  res.set(field::cache_control, "no-store");
  co_return res;
}

// Parses the grant slots of a form; errors name the field "grants".
Result<std::vector<GrantSpec>> ParseGrants(const Deps& d, const UserForm& f) {
  std::vector<GrantSpec> out;
  for (const auto& [role_text, scope_text, unit_text] : f.grants) {
    if (role_text.empty()) continue;
    auto role = RoleFromName(role_text);
    auto scope = ScopeFromName(scope_text.empty() ? "unit" : scope_text);
    int64_t unit = 0;
    try {
      unit = std::stoll(unit_text);
    } catch (...) {
    }
    if (!role || !scope || unit <= 0) return Error::Invalid("grants", S(d, "auth.bad_grant"));
    out.push_back({*role, *scope, unit});
  }
  return out;
}

// Within the admin's kUserManage scope: the user's unit and every granted unit.
Status CheckUnitsInScope(db::Conn& c, const Principal& who, std::optional<int64_t> unit_id,
                         const std::vector<GrantSpec>& grants, const std::string& message) {
  auto check = [&](int64_t id, const char* field_name) -> Status {
    auto unit = org::FindUnit(c, id);
    if (!unit) return std::move(unit).error();
    if (!*unit || !Authorize(&who, Permission::kUserManage, (*unit)->path)) {
      return Error::Invalid(field_name, message);
    }
    return {};
  };
  if (!unit_id) return Error::Invalid("unit_id", message);
  if (auto s = check(*unit_id, "unit_id"); !s) return s;
  for (const auto& g : grants) {
    if (auto s = check(g.unit_id, "grants"); !s) return s;
  }
  return {};
}

asio::awaitable<http::Response> GetNewUser(const Deps& d, http::Request& req) {
  if (auto r = RequireStaff(d, req)) co_return std::move(*r);
  if (auto s = AuthorizeAny(CurrentPrincipal(req), Permission::kUserManage); !s) {
    co_return Denied(d, req, s.error());
  }
  UserForm f;
  f.unit_id = CurrentPrincipal(req)->unit_id;
  co_return co_await RenderUserForm(d, req, f);
}

asio::awaitable<http::Response> PostNewUser(const Deps& d, http::Request& req) {
  if (auto r = RequireStaff(d, req)) co_return std::move(*r);
  const Principal& who = *CurrentPrincipal(req);
  if (auto s = AuthorizeAny(&who, Permission::kUserManage); !s) co_return Denied(d, req, s.error());
  UserForm f = FormFromRequest(req);
  for (char& c : f.login) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string password = req.BodyForm().GetOr("password");
  f.errors = Error{ErrorCode::kInvalidInput, "", {}};
  if (!IsStaffLogin(f.login)) f.errors.fields.push_back({"login", S(d, "auth.bad_login")});
  if (auto s = CheckPasswordRules(password, f.login); !s) {
    f.errors.fields.push_back(s.error().fields.front());
  }
  auto grants = ParseGrants(d, f);
  if (!grants) f.errors.fields.push_back(grants.error().fields.front());
  if (!f.errors.fields.empty()) {
    co_return co_await RenderUserForm(d, req, f, status::unprocessable_entity);
  }
  auto zw_hash3 = [password] { return HashPassword(password); };
  auto hash = co_await OnHasher(d, zw_hash3);
  if (!hash) co_return Busy(req, d);
  NewStaff staff;
  staff.login = f.login;
  staff.display_name = f.display_name;
  staff.unit_id = f.unit_id.value_or(0);
  staff.password_hash = *hash;
  staff.grants = *grants;
  staff.must_change_password = req.BodyForm().GetOr("must_change") == "1";
  const audit::Actor actor = ActorOf(req);
  const std::string out_of_scope = S(d, "auth.unit_out_of_scope");
  auto zw_work10 = [&d, &who, &actor, &staff, &f, &out_of_scope](db::Conn& c) -> Result<int64_t> {
    if (auto s = CheckUnitsInScope(c, who, f.unit_id, staff.grants, out_of_scope); !s) {
      return std::move(s).error();
    }
    return CreateStaff(c, d.clock, actor, staff);
  };
  auto id = co_await d.db.Write<int64_t>(zw_work10);
  if (!id) {
    if (id.error().code != ErrorCode::kInvalidInput && id.error().code != ErrorCode::kConflict) {
      co_return web::ErrorPage(req, d.view, web::StatusFor(id.error().code));
    }
    f.errors = id.error();
    co_return co_await RenderUserForm(d, req, f, status::unprocessable_entity);
  }
  co_return http::Redirect("/admin/users/" + std::to_string(*id) + "?created=1");
}

// The user `id` if `who` may see them with `permission`; kNotFound otherwise (out of scope
// looks exactly like absent).
Result<User> UserInScope(db::Conn& c, const Principal& who, int64_t id, Permission permission) {
  auto user = FindUser(c, id);
  if (!user) return std::move(user).error();
  if (!*user || (*user)->kind != Principal::Kind::kStaff) return Error::NotFound();
  if (auto s = Authorize(&who, permission, (*user)->unit_path); !s) return std::move(s).error();
  return std::move(**user);
}

std::optional<int64_t> IdParam(const http::Request& req) {
  try {
    return std::stoll(req.Param("id").value_or(""));
  } catch (...) {
    return std::nullopt;
  }
}

asio::awaitable<http::Response> GetUser(const Deps& d, http::Request& req) {
  if (auto r = RequireStaff(d, req)) co_return std::move(*r);
  const Principal& who = *CurrentPrincipal(req);
  if (auto s = AuthorizeAny(&who, Permission::kUserManage); !s) co_return Denied(d, req, s.error());
  auto id = IdParam(req);
  if (!id) co_return web::ErrorPage(req, d.view, status::not_found);
  auto zw_work11 = [&who, id = *id](db::Conn& c) {
    return UserInScope(c, who, id, Permission::kUserManage);
  };
  auto user = co_await d.db.Read<User>(zw_work11);
  if (!user) co_return Denied(d, req, user.error());
  UserForm f = FormFromUser(*user);
  if (req.QueryForm().GetOr("created") == "1") f.notice = S(d, "auth.user_created");
  if (req.QueryForm().GetOr("saved") == "1") f.notice = S(d, "auth.user_saved");
  co_return co_await RenderUserForm(d, req, f);
}

asio::awaitable<http::Response> PostUser(const Deps& d, http::Request& req) {
  if (auto r = RequireStaff(d, req)) co_return std::move(*r);
  const Principal& who = *CurrentPrincipal(req);
  if (auto s = AuthorizeAny(&who, Permission::kUserManage); !s) co_return Denied(d, req, s.error());
  auto id = IdParam(req);
  if (!id) co_return web::ErrorPage(req, d.view, status::not_found);
  auto zw_work12 = [&who, id = *id](db::Conn& c) {
    return UserInScope(c, who, id, Permission::kUserManage);
  };
  auto user = co_await d.db.Read<User>(zw_work12);
  if (!user) co_return Denied(d, req, user.error());
  const audit::Actor actor = ActorOf(req);

  if (req.BodyForm().GetOr("action") == "reset_password") {
    // A temporary password meeting the rules; the person must change it at the next login.
    const std::string temporary = "Zw-" + RandomToken(6) + "7a";
    auto zw_hash4 = [temporary] { return HashPassword(temporary); };
    auto hash = co_await OnHasher(d, zw_hash4);
    if (!hash) co_return Busy(req, d);
    auto zw_work13 = [&d, &actor, uid = *id, h = *hash](db::Conn& c) -> Result<int> {
      if (auto s = SetPasswordHash(c, d.clock, actor, uid, h, true); !s) {
        return std::move(s).error();
      }
      return 1;
    };
    auto done = co_await d.db.Write<int>(zw_work13);
    if (!done) co_return web::ErrorPage(req, d.view, web::StatusFor(done.error().code));
    UserForm f = FormFromUser(*user);
    f.notice = S(d, "auth.reset_done") + temporary;
    co_return co_await RenderUserForm(d, req, f);
  }

  UserForm f = FormFromRequest(req);
  f.id = *id;
  f.login = user->login;
  f.errors = Error{ErrorCode::kInvalidInput, "", {}};
  auto grants = ParseGrants(d, f);
  if (!grants) {
    f.errors.fields.push_back(grants.error().fields.front());
    co_return co_await RenderUserForm(d, req, f, status::unprocessable_entity);
  }
  if (f.disabled && *id == who.user_id) {
    f.errors.fields.push_back({"disabled", S(d, "auth.cannot_disable_self")});
    co_return co_await RenderUserForm(d, req, f, status::unprocessable_entity);
  }
  StaffUpdate update;
  update.display_name = f.display_name;
  update.unit_id = f.unit_id.value_or(0);
  update.grants = *grants;
  update.disabled = f.disabled;
  const std::string out_of_scope = S(d, "auth.unit_out_of_scope");
  auto zw_work14 = [&d, &who, &actor, &update, &f, &out_of_scope,
                    uid = *id](db::Conn& c) -> Result<int> {
    if (auto s = CheckUnitsInScope(c, who, f.unit_id, update.grants, out_of_scope); !s) {
      return std::move(s).error();
    }
    if (auto s = UpdateStaff(c, d.clock, actor, uid, update); !s) return std::move(s).error();
    return 1;
  };
  auto done = co_await d.db.Write<int>(zw_work14);
  if (done) AccountsChanged();  // a disabled account or removed role holds for its API tokens
  if (!done) {
    if (done.error().code != ErrorCode::kInvalidInput) {
      co_return web::ErrorPage(req, d.view, web::StatusFor(done.error().code));
    }
    f.errors = done.error();
    co_return co_await RenderUserForm(d, req, f, status::unprocessable_entity);
  }
  co_return http::Redirect("/admin/users/" + std::to_string(*id) + "?saved=1");
}

// --- API -------------------------------------------------------------------------------------

asio::awaitable<http::Response> GetApiMe(const Deps&, http::Request& req) {
  const Principal* who = CurrentPrincipal(req);
  if (!who) co_return web::JsonError(Error{ErrorCode::kUnauthenticated, "需要 API 令牌", {}});
  boost::json::array grants;
  for (const auto& g : who->grants) {
    grants.push_back(boost::json::object{{"role", RoleName(g.role)},
                                         {"scope", ScopeName(g.scope)},
                                         {"unit_id", g.unit_id},
                                         {"unit_path", g.unit_path}});
  }
  boost::json::object body{
      {"id", who->user_id},
      {"login", who->login},
      {"name", who->display_name},
      {"kind", who->kind == Principal::Kind::kStaff ? "staff" : "citizen"},
      {"unit_id", who->unit_id},
      {"grants", std::move(grants)},
  };
  auto res = http::Json(status::ok, boost::json::serialize(body));
  res.set(field::cache_control, "no-store");
  co_return res;
}

template <class Fn>
http::Handler Bind(const std::shared_ptr<Deps>& deps, Fn fn) {
  return
      [deps, fn](http::Request& req) -> asio::awaitable<http::Response> { return fn(*deps, req); };
}

}  // namespace

void RegisterRoutes(web::ModuleContext& ctx) {
  const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
  auto deps = std::make_shared<Deps>(
      Deps{ctx.clock, ctx.db, ctx.view, PolicyFrom(ctx.config),
           std::make_shared<BlockingPool>(std::max<std::size_t>(1, cores / 2))});
  ctx.router.Get("/login", Bind(deps, GetLogin));
  ctx.router.Post("/login", Bind(deps, PostLogin));
  ctx.router.Post("/logout", Bind(deps, PostLogout));
  ctx.router.Post("/logout/everywhere", Bind(deps, PostLogoutEverywhere));
  ctx.router.Get("/account/password", Bind(deps, GetPassword));
  ctx.router.Post("/account/password", Bind(deps, PostPassword));
  ctx.router.Get("/admin", Bind(deps, GetAdmin));
  ctx.router.Get("/admin/users", Bind(deps, GetUsers));
  ctx.router.Get("/admin/users/new", Bind(deps, GetNewUser));
  ctx.router.Post("/admin/users/new", Bind(deps, PostNewUser));
  ctx.router.Get("/admin/users/{id}", Bind(deps, GetUser));
  ctx.router.Post("/admin/users/{id}", Bind(deps, PostUser));
  ctx.router.Get("/api/v1/me", Bind(deps, GetApiMe));
  ctx.view.AddAdminNav({"users", ctx.view.strings().Get("auth.nav_users"), "/admin/users", 20});
  ctx.metrics.AddGauge("zhenwu_password_hashes_total",
                       "argon2id hashes computed (one per login attempt, two per password change)",
                       [] { return double(PasswordHashesComputed()); });
  ctx.metrics.AddGauge("zhenwu_password_hashes_waiting",
                       "Logins and password changes waiting for or in the hashing pool",
                       [waiting = deps->waiting] { return double(waiting->load()); });
}

}  // namespace zhenwu::auth
