#include "notify/handlers.hpp"

#include <boost/json.hpp>
#include <memory>

#include "auth/principal.hpp"
#include "notify/notify.hpp"
#include "web/page.hpp"

namespace zhenwu::notify {

namespace {

using http::bhttp::field;
using http::bhttp::status;
using view::Data;

constexpr int kInboxPage = 30;
constexpr int kOutboxPage = 50;

struct Deps {
  const Clock& clock;
  db::Database& db;
  const view::View& view;
  bool sms_enabled = false;
};

const std::string& S(const Deps& d, std::string_view key) { return d.view.strings().Get(key); }

std::optional<int64_t> ParseId(const std::optional<std::string>& text) {
  if (!text || text->empty() || text->size() > 18 ||
      text->find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoll(*text);
}

audit::Actor ActorOf(const http::Request& req) {
  audit::Actor a;
  if (const auth::Principal* p = auth::CurrentPrincipal(req)) {
    a.user_id = p->user_id;
    a.name = p->login;
  }
  a.ip = req.remote_ip;
  a.request_id = req.request_id;
  return a;
}

http::Response Private(http::Response res) {
  res.set(field::cache_control, "private, no-store");
  return res;
}

// --- inbox ----------------------------------------------------------------------------------

struct InboxPage {
  std::vector<InboxItem> items;
  int64_t unread = 0;
};

asio::awaitable<http::Response> GetInbox(const Deps& d, http::Request& req) {
  const auth::Principal* who = auth::CurrentPrincipal(req);
  if (!who) co_return web::LoginRedirect(req);
  const auto before = ParseId(req.QueryForm().Get("before"));
  auto work = [uid = who->user_id, before](db::Conn& c) -> Result<InboxPage> {
    InboxPage page;
    auto items = ListInbox(c, uid, before, kInboxPage + 1);
    if (!items) return std::move(items).error();
    auto unread = CountUnread(c, uid);
    if (!unread) return std::move(unread).error();
    page.items = std::move(*items);
    page.unread = *unread;
    return page;
  };
  auto page = co_await d.db.Read<InboxPage>(work);
  if (!page) co_return web::ErrorPage(req, d.view, web::StatusFor(page.error().code));
  const bool more = page->items.size() > static_cast<std::size_t>(kInboxPage);
  if (more) page->items.pop_back();
  Data items{Data::type::list};
  for (const auto& m : page->items) {
    Data item{Data::type::object};
    item.set("id", std::to_string(m.id));
    item.set("title", m.title);
    if (!m.body.empty()) item.set("body", m.body);
    if (!m.link.empty()) item.set("link", m.link);
    item.set("time", FormatShanghaiMinute(m.created_at_ms));
    item.set("read", m.read_at_ms ? Data::type::bool_true : Data::type::bool_false);
    items.push_back(item);
  }
  Data data{Data::type::object};
  data.set("items", items);
  data.set("empty", page->items.empty() ? Data::type::bool_true : Data::type::bool_false);
  if (page->unread > 0) data.set("unread", std::to_string(page->unread));
  if (more) data.set("next", std::to_string(page->items.back().id));
  data.set("paged", before ? Data::type::bool_true : Data::type::bool_false);
  if (req.QueryForm().GetOr("done") == "all") data.set("notice", S(d, "notify.all_marked"));
  co_return Private(web::RenderPage(req, d.view, S(d, "notify.inbox_title"), "inbox",
                                    "notify/inbox", std::move(data)));
}

asio::awaitable<http::Response> PostRead(const Deps& d, http::Request& req) {
  const auth::Principal* who = auth::CurrentPrincipal(req);
  if (!who) co_return web::LoginRedirect(req);
  const auto id = ParseId(req.Param("id"));
  if (!id) co_return web::ErrorPage(req, d.view, status::not_found);
  const bool open = req.BodyForm().GetOr("open") == "1";
  auto work = [&d, uid = who->user_id, id = *id](db::Conn& c) -> Result<std::string> {
    if (auto s = MarkRead(c, d.clock, uid, id); !s) return std::move(s).error();
    auto row =
        c.QueryOne("SELECT link FROM notify_inbox WHERE id = $1 AND user_id = $2", {id, uid});
    if (!row) return std::move(row).error();
    return *row ? (*row)->Text(0) : std::string();
  };
  auto link = co_await d.db.Write<std::string>(work);
  if (!link) co_return web::ErrorPage(req, d.view, web::StatusFor(link.error().code));
  // The link was checked to be a local path when the message was made.
  if (open && !link->empty()) co_return http::Redirect(*link);
  co_return http::Redirect("/account/inbox");
}

asio::awaitable<http::Response> PostReadAll(const Deps& d, http::Request& req) {
  const auth::Principal* who = auth::CurrentPrincipal(req);
  if (!who) co_return web::LoginRedirect(req);
  auto work = [&d, uid = who->user_id](db::Conn& c) { return MarkAllRead(c, d.clock, uid); };
  auto done = co_await d.db.Write<int64_t>(work);
  if (!done) co_return web::ErrorPage(req, d.view, web::StatusFor(done.error().code));
  co_return http::Redirect("/account/inbox?done=all");
}

asio::awaitable<http::Response> GetApiInbox(const Deps& d, http::Request& req) {
  const auth::Principal* who = auth::CurrentPrincipal(req);
  if (!who) co_return web::JsonError(Error{ErrorCode::kUnauthenticated, "需要 API 令牌", {}});
  std::optional<int64_t> before;
  if (auto b = req.QueryForm().Get("before")) {
    before = ParseId(b);
    if (!before) co_return web::JsonError(Error::Invalid("before", "before 应为消息编号"));
  }
  auto work = [uid = who->user_id, before](db::Conn& c) -> Result<InboxPage> {
    InboxPage page;
    auto items = ListInbox(c, uid, before, kInboxPage);
    if (!items) return std::move(items).error();
    auto unread = CountUnread(c, uid);
    if (!unread) return std::move(unread).error();
    page.items = std::move(*items);
    page.unread = *unread;
    return page;
  };
  auto page = co_await d.db.Read<InboxPage>(work);
  if (!page) co_return web::JsonError(page.error());
  boost::json::array items;
  for (const auto& m : page->items) {
    boost::json::object o{{"id", m.id},
                          {"title", m.title},
                          {"body", m.body},
                          {"link", m.link},
                          {"created_at_ms", m.created_at_ms}};
    if (m.read_at_ms) {
      o["read_at_ms"] = *m.read_at_ms;
    } else {
      o["read_at_ms"] = nullptr;
    }
    items.push_back(std::move(o));
  }
  boost::json::object body{{"unread", page->unread}, {"items", std::move(items)}};
  co_return Private(http::Json(status::ok, boost::json::serialize(body)));
}

// --- outbox ---------------------------------------------------------------------------------

// System administrators only: the queue holds messages of every unit. Only the admin role
// carries user management, so that permission stands for "system administrator" here.
std::optional<http::Response> DeniedOutbox(const Deps& d, const http::Request& req) {
  const auth::Principal* who = auth::CurrentPrincipal(req);
  if (!who) return web::LoginRedirect(req);
  auto allowed = auth::AuthorizeAny(who, auth::Permission::kUserManage);
  if (allowed && who->kind == auth::Principal::Kind::kStaff) return std::nullopt;
  return web::ErrorPage(req, d.view, status::forbidden);
}

struct OutboxPage {
  std::vector<OutboxItem> items;
  OutboxCounts counts;
};

std::string StatusLabel(const Deps& d, OutboxStatus s) {
  switch (s) {
    case OutboxStatus::kPending:
      return S(d, "notify.status_pending");
    case OutboxStatus::kSent:
      return S(d, "notify.status_sent");
    case OutboxStatus::kFailed:
      return S(d, "notify.status_failed");
  }
  return {};
}

asio::awaitable<http::Response> RenderOutbox(const Deps& d, http::Request& req, std::string notice,
                                             std::string error, status code) {
  const std::string status_text = req.QueryForm().GetOr("status");
  OutboxQuery query;
  query.status = OutboxStatusFromName(status_text);
  query.before_id = ParseId(req.QueryForm().Get("before"));
  query.limit = kOutboxPage + 1;
  auto work = [query](db::Conn& c) -> Result<OutboxPage> {
    OutboxPage page;
    auto items = ListOutbox(c, query);
    if (!items) return std::move(items).error();
    auto counts = CountOutbox(c);
    if (!counts) return std::move(counts).error();
    page.items = std::move(*items);
    page.counts = *counts;
    return page;
  };
  auto page = co_await d.db.Read<OutboxPage>(work);
  if (!page) co_return web::ErrorPage(req, d.view, web::StatusFor(page.error().code));
  const bool more = page->items.size() > static_cast<std::size_t>(kOutboxPage);
  if (more) page->items.pop_back();

  Data items{Data::type::list};
  for (const auto& o : page->items) {
    Data item{Data::type::object};
    item.set("id", std::to_string(o.id));
    item.set("created", FormatShanghaiMinute(o.created_at_ms));
    item.set("phone", o.phone_mask);
    item.set("text", o.text);
    item.set("ref", o.ref);
    item.set("status", std::string(OutboxStatusName(o.status)));
    item.set("status_label", StatusLabel(d, o.status));
    item.set("attempts", std::to_string(o.attempts));
    item.set("last_error", o.last_error);
    if (o.status == OutboxStatus::kPending && d.sms_enabled) {
      item.set("next", FormatShanghaiMinute(o.next_attempt_at_ms));
    }
    if (o.sent_at_ms) item.set("sent", FormatShanghaiMinute(*o.sent_at_ms));
    item.set("can_retry", o.status == OutboxStatus::kFailed && o.has_phone
                              ? Data::type::bool_true
                              : Data::type::bool_false);
    // Failed, but its phone was dropped after kFailedPhoneKeepDays: say why there is no 重试.
    item.set("phone_gone", o.status == OutboxStatus::kFailed && !o.has_phone
                               ? Data::type::bool_true
                               : Data::type::bool_false);
    items.push_back(item);
  }
  Data counts{Data::type::object};
  counts.set("pending", std::to_string(page->counts.pending));
  counts.set("sent", std::to_string(page->counts.sent));
  counts.set("failed", std::to_string(page->counts.failed));
  auto flag = [](bool b) { return b ? Data::type::bool_true : Data::type::bool_false; };
  Data data{Data::type::object};
  data.set("items", items);
  data.set("counts", counts);
  data.set("empty", flag(page->items.empty()));
  data.set("disabled", flag(!d.sms_enabled));
  data.set("is_all", flag(!query.status));
  data.set("is_pending", flag(query.status == OutboxStatus::kPending));
  data.set("is_failed", flag(query.status == OutboxStatus::kFailed));
  data.set("is_sent", flag(query.status == OutboxStatus::kSent));
  if (query.status) data.set("status", std::string(OutboxStatusName(*query.status)));
  if (more) {
    std::string next = "before=" + std::to_string(page->items.back().id);
    if (query.status) next += "&status=" + std::string(OutboxStatusName(*query.status));
    data.set("next_page", next);
  }
  data.set("paged", flag(query.before_id.has_value()));
  if (!notice.empty()) data.set("notice", notice);
  if (!error.empty()) data.set("error", error);
  co_return Private(web::RenderPage(req, d.view, S(d, "notify.outbox_title"), "outbox",
                                    "notify/outbox", std::move(data), code));
}

asio::awaitable<http::Response> GetOutbox(const Deps& d, http::Request& req) {
  if (auto r = DeniedOutbox(d, req)) co_return std::move(*r);
  std::string notice;
  if (ParseId(req.QueryForm().Get("retried"))) notice = S(d, "notify.retried");
  co_return co_await RenderOutbox(d, req, std::move(notice), {}, status::ok);
}

asio::awaitable<http::Response> PostRetry(const Deps& d, http::Request& req) {
  if (auto r = DeniedOutbox(d, req)) co_return std::move(*r);
  const auto id = ParseId(req.Param("id"));
  if (!id) co_return web::ErrorPage(req, d.view, status::not_found);
  const audit::Actor actor = ActorOf(req);
  auto work = [&d, &actor, id = *id](db::Conn& c) -> Result<int> {
    if (auto s = RetryFailed(c, d.clock, actor, id); !s) return std::move(s).error();
    return 1;
  };
  auto done = co_await d.db.Write<int>(work);
  if (!done) {
    if (done.error().code == ErrorCode::kConflict) {
      co_return co_await RenderOutbox(d, req, {}, S(d, "notify.retry_conflict"), status::conflict);
    }
    co_return web::ErrorPage(req, d.view, web::StatusFor(done.error().code));
  }
  co_return http::Redirect("/admin/outbox?status=pending&retried=" + std::to_string(*id));
}

template <class Fn>
http::Handler Bind(const std::shared_ptr<Deps>& deps, Fn fn) {
  return
      [deps, fn](http::Request& req) -> asio::awaitable<http::Response> { return fn(*deps, req); };
}

}  // namespace

void RegisterRoutes(web::ModuleContext& ctx) {
  auto deps =
      std::make_shared<Deps>(Deps{ctx.clock, ctx.db, ctx.view, !ctx.config.sms_url.empty()});
  ctx.router.Get("/account/inbox", Bind(deps, GetInbox));
  ctx.router.Post("/account/inbox/read-all", Bind(deps, PostReadAll));
  ctx.router.Post("/account/inbox/{id}/read", Bind(deps, PostRead));
  ctx.router.Get("/api/v1/inbox", Bind(deps, GetApiInbox));
  ctx.router.Get("/admin/outbox", Bind(deps, GetOutbox));
  ctx.router.Post("/admin/outbox/{id}/retry", Bind(deps, PostRetry));
  ctx.view.AddAdminNav({"outbox", S(*deps, "notify.outbox_title"), "/admin/outbox", 95});
}

}  // namespace zhenwu::notify
