// /admin/tokens: API tokens for system administrators, within the units their kUserManage
// grants cover. The same service functions as `zhenwu token create/revoke/list`, audited the same
// way; the secret is shown once, on the page that answers the create.

#include <optional>
#include <string>

#include "auth/handlers.hpp"
#include "auth/middleware.hpp"
#include "auth/service.hpp"
#include "web/once.hpp"
#include "web/page.hpp"

namespace zhenwu::auth {

namespace {

using http::bhttp::field;
using http::bhttp::status;
using view::Data;

constexpr std::string_view kCreateForm = "auth.token.create";

struct Deps {
  const Clock& clock;
  db::Database& db;
  const view::View& view;
};

const std::string& S(const Deps& d, std::string_view key) { return d.view.strings().Get(key); }

Data Bool(bool b) { return b ? Data::type::bool_true : Data::type::bool_false; }

audit::Actor ActorOf(const http::Request& req, const Principal& who) {
  return audit::Actor{who.user_id, who.login, req.remote_ip, req.request_id};
}

// Administrators only: anonymous → login, citizens and staff without kUserManage → 403.
std::optional<http::Response> RequireAdmin(const Deps& d, const http::Request& req) {
  const Principal* who = CurrentPrincipal(req);
  if (!who) return web::LoginRedirect(req);
  if (who->kind != Principal::Kind::kStaff || !AuthorizeAny(who, Permission::kUserManage)) {
    return web::ErrorPage(req, d.view, status::forbidden);
  }
  return std::nullopt;
}

// What the create form shows again: the values typed and a message beside each wrong field.
struct TokenForm {
  std::string login, label, expires;
  Error errors;
};

struct Issued {
  int64_t id = 0;
  std::string token;
  std::string login;
};

struct Listing {
  std::vector<TokenInfo> tokens;
  std::vector<User> users;  // staff in scope, for the login suggestions
};

std::string State(const Deps& d, const TokenInfo& t, int64_t now) {
  if (t.revoked_ms) return S(d, "auth.token_state_revoked");
  if (t.expires_ms && *t.expires_ms <= now) return S(d, "auth.token_state_expired");
  return S(d, "auth.token_state_active");
}

asio::awaitable<http::Response> RenderTokens(const Deps& d, http::Request& req,
                                             const TokenForm& form,
                                             const std::optional<Issued>& issued,
                                             status code = status::ok) {
  const Principal& who = *CurrentPrincipal(req);
  auto zw_list = [&who](db::Conn& c) -> Result<Listing> {
    Listing l;
    const auto scopes = ScopesFor(who, Permission::kUserManage);
    auto tokens = ListTokensInScope(c, scopes);
    if (!tokens) return std::move(tokens).error();
    l.tokens = std::move(tokens).value();
    auto users = ListStaff(c, scopes, std::nullopt);
    if (!users) return std::move(users).error();
    l.users = std::move(users).value();
    return l;
  };
  auto listing = co_await d.db.Read<Listing>(zw_list);
  if (!listing) co_return web::ErrorPage(req, d.view, web::StatusFor(listing.error().code));

  const int64_t now = d.clock.NowMs();
  Data rows{Data::type::list};
  for (const auto& t : listing->tokens) {
    Data r{Data::type::object};
    r.set("id", std::to_string(t.id));
    r.set("login", t.login);
    r.set("name", t.display_name);
    r.set("unit", t.unit_name);
    r.set("label", t.label);
    r.set("prefix", t.prefix);
    r.set("created", FormatShanghaiMinute(t.created_ms));
    r.set("expires",
          t.expires_ms ? FormatShanghaiMinute(*t.expires_ms) : S(d, "auth.token_never_expires"));
    r.set("last_used",
          t.last_used_ms ? FormatShanghaiMinute(*t.last_used_ms) : S(d, "auth.token_never_used"));
    r.set("state", State(d, t, now));
    r.set("active", Bool(!t.revoked_ms && !(t.expires_ms && *t.expires_ms <= now)));
    r.set("revocable", Bool(!t.revoked_ms));
    rows.push_back(r);
  }
  Data users{Data::type::list};
  for (const auto& u : listing->users) {
    if (u.disabled) continue;
    Data o{Data::type::object};
    o.set("login", u.login);
    o.set("name", u.display_name + "（" + u.unit_name + "）");
    users.push_back(o);
  }
  Data errors{Data::type::object};
  for (const auto& f : form.errors.fields) errors.set(f.field, f.message);

  Data data{Data::type::object};
  data.set("tokens", rows);
  data.set("empty", Bool(listing->tokens.empty()));
  data.set("users", users);
  data.set("login", form.login);
  data.set("label", form.label);
  data.set("expires", form.expires);
  data.set("errors", errors);
  data.set("has_errors", Bool(!form.errors.fields.empty()));
  if (issued) {
    Data i{Data::type::object};
    i.set("id", std::to_string(issued->id));
    i.set("token", issued->token);
    i.set("login", issued->login);
    data.set("issued", i);
  }
  const auto query = req.QueryForm();
  const auto number = [&query](std::string_view key) -> std::string {
    const std::string v(query.GetOr(std::string(key)));
    const bool ok = !v.empty() && v.size() <= 18 && v.find_first_not_of("0123456789") == v.npos;
    return ok ? v : std::string();
  };
  if (const auto id = number("created"); !id.empty() && !issued) {
    data.set("notice", S(d, "auth.token_created_before") + id + S(d, "auth.token_created_after"));
  } else if (const auto rid = number("revoked"); !rid.empty()) {
    data.set("notice", S(d, "auth.token_revoked_before") + rid + S(d, "auth.token_revoked_after"));
  }
  auto res = web::RenderPage(req, d.view, S(d, "auth.tokens_title"), "", "auth/tokens",
                             std::move(data), code);
  // The page may carry a secret: never kept by a browser or a proxy.
  res.set(field::cache_control, "no-store");
  co_return res;
}

asio::awaitable<http::Response> GetTokens(const Deps& d, http::Request& req) {
  if (auto r = RequireAdmin(d, req)) co_return std::move(*r);
  // Named, not temporaries: g++ 12 destroys a temporary of a co_await expression twice.
  const TokenForm blank;
  const std::optional<Issued> none;
  co_return co_await RenderTokens(d, req, blank, none);
}

asio::awaitable<http::Response> PostTokens(const Deps& d, http::Request& req) {
  if (auto r = RequireAdmin(d, req)) co_return std::move(*r);
  const Principal& who = *CurrentPrincipal(req);
  const http::Form& body = req.BodyForm();
  TokenForm form;
  form.login = body.GetOr("login");
  form.label = body.GetOr("label");
  form.expires = body.GetOr("expires");
  // What people paste around a login name.
  while (!form.login.empty() && (form.login.back() == ' ' || form.login.back() == '\t')) {
    form.login.pop_back();
  }
  while (!form.login.empty() && (form.login.front() == ' ' || form.login.front() == '\t')) {
    form.login.erase(0, 1);
  }
  form.errors.code = ErrorCode::kInvalidInput;
  if (form.login.empty()) form.errors.fields.push_back({"login", S(d, "auth.token_need_login")});
  std::optional<int> days;
  if (!form.expires.empty()) {
    const bool digits = form.expires.size() <= 4 &&
                        form.expires.find_first_not_of("0123456789") == std::string::npos;
    if (digits) days = std::stoi(form.expires);
    if (!digits || *days < 1 || *days > 3650) {
      form.errors.fields.push_back({"expires", S(d, "auth.token_bad_expires")});
    }
  }
  const std::optional<Issued> none;  // named: see GetTokens
  if (!form.errors.fields.empty()) {
    co_return co_await RenderTokens(d, req, form, none, status::unprocessable_entity);
  }

  struct Outcome {
    std::optional<std::string> repeat;  // a double submit: where the first one's result lives
    Issued issued;
  };
  const audit::Actor actor = ActorOf(req, who);
  const std::string once = body.GetOr(std::string(web::kOnceField));
  const std::string out_of_scope = S(d, "auth.token_no_such_user");
  auto zw_create = [&d, &who, &actor, &form, &once, &days,
                    &out_of_scope](db::Conn& c) -> Result<Outcome> {
    Outcome out;
    auto claim = web::ClaimOnce(c, d.clock, kCreateForm, once);
    if (!claim) return std::move(claim).error();
    if (*claim) {
      out.repeat = **claim;
      return out;
    }
    auto user = FindUserByLogin(c, form.login);
    if (!user) return std::move(user).error();
    // Unknown, a citizen, or outside the administrator's units: one answer for all three.
    if (!*user || (*user)->unit_path.empty() ||
        !Authorize(&who, Permission::kUserManage, (*user)->unit_path)) {
      return Error::Invalid("login", out_of_scope);
    }
    auto issued = IssueToken(c, d.clock, form.login, days, form.label, actor);
    if (!issued) return std::move(issued).error();
    out.issued = Issued{issued->id, issued->token, form.login};
    if (auto s = web::FinishOnce(c, once, "/admin/tokens?created=" + std::to_string(issued->id));
        !s) {
      return std::move(s).error();
    }
    return out;
  };
  auto done = co_await d.db.Write<Outcome>(zw_create);
  if (!done) {
    const Error& e = done.error();
    if (e.fields.empty()) co_return web::ErrorPage(req, d.view, web::StatusFor(e.code));
    form.errors.fields = e.fields;
    co_return co_await RenderTokens(d, req, form, none, status::unprocessable_entity);
  }
  if (done->repeat) {
    co_return http::Redirect(done->repeat->empty() ? "/admin/tokens" : *done->repeat);
  }
  const TokenForm blank;
  const std::optional<Issued> issued = done->issued;
  co_return co_await RenderTokens(d, req, blank, issued, status::created);
}

asio::awaitable<http::Response> PostRevoke(const Deps& d, http::Request& req) {
  if (auto r = RequireAdmin(d, req)) co_return std::move(*r);
  const Principal& who = *CurrentPrincipal(req);
  const std::string id_text(req.Param("id").value_or(""));
  if (id_text.empty() || id_text.size() > 18 ||
      id_text.find_first_not_of("0123456789") != std::string::npos) {
    co_return web::ErrorPage(req, d.view, status::not_found);
  }
  const int64_t id = std::stoll(id_text);
  const audit::Actor actor = ActorOf(req, who);
  auto zw_revoke = [&d, &who, &actor, id](db::Conn& c) -> Result<bool> {
    auto token = FindToken(c, id);
    if (!token) return std::move(token).error();
    // Another administrator's units learn nothing, not even that the token exists.
    if (!*token || (*token)->unit_path.empty()) return Error::NotFound();
    if (auto s = Authorize(&who, Permission::kUserManage, (*token)->unit_path); !s) {
      return std::move(s).error();
    }
    if ((*token)->revoked_ms) return false;  // a repeated click: nothing more to do
    if (auto s = RevokeToken(c, d.clock, id, actor); !s) return std::move(s).error();
    return true;
  };
  auto done = co_await d.db.Write<bool>(zw_revoke);
  if (done && *done) AccountsChanged();
  if (!done) co_return web::ErrorPage(req, d.view, web::StatusFor(done.error().code));
  co_return http::Redirect("/admin/tokens?revoked=" + std::to_string(id));
}

template <class Fn>
http::Handler Bind(const std::shared_ptr<Deps>& deps, Fn fn) {
  return
      [deps, fn](http::Request& req) -> asio::awaitable<http::Response> { return fn(*deps, req); };
}

}  // namespace

void RegisterTokenRoutes(web::ModuleContext& ctx) {
  auto deps = std::make_shared<Deps>(Deps{ctx.clock, ctx.db, ctx.view});
  ctx.router.Get("/admin/tokens", Bind(deps, GetTokens));
  ctx.router.Post("/admin/tokens", Bind(deps, PostTokens));
  ctx.router.Post("/admin/tokens/{id}/revoke", Bind(deps, PostRevoke));
  ctx.view.AddAdminNav({"tokens", ctx.view.strings().Get("auth.nav_tokens"), "/admin/tokens", 22});
}

}  // namespace zhenwu::auth
