#include "audit/handlers.hpp"

#include "audit/csv.hpp"
#include "audit/query.hpp"
#include "auth/principal.hpp"
#include "org/model.hpp"
#include "org/store.hpp"
#include "web/page.hpp"

namespace zhenwu::audit {

namespace {

using http::bhttp::status;
using view::Data;

constexpr int kPageSize = 50;
constexpr int kCsvMaxRows = 200'000;

struct Deps {
  const view::View& view;
  db::Database& db;
};

struct FilterForm {
  std::string from, to, actor, action, entity, entity_id;
  std::optional<int64_t> before;
};

FilterForm ReadForm(const http::Request& req) {
  const auto& q = req.QueryForm();
  FilterForm f;
  f.from = q.GetOr("from");
  f.to = q.GetOr("to");
  f.actor = q.GetOr("actor");
  f.action = q.GetOr("action");
  f.entity = q.GetOr("entity");
  f.entity_id = q.GetOr("entity_id");
  const std::string before = q.GetOr("before");
  if (!before.empty() && before.size() < 19 &&
      before.find_first_not_of("0123456789") == std::string::npos) {
    f.before = std::stoll(before);
  }
  return f;
}

// The query string of the filter (without paging), for links.
std::string QueryOf(const FilterForm& f) {
  std::string q;
  auto add = [&](const char* name, const std::string& value) {
    if (value.empty()) return;
    if (!q.empty()) q += "&";
    q += std::string(name) + "=" + http::PercentEncode(value);
  };
  add("from", f.from);
  add("to", f.to);
  add("actor", f.actor);
  add("action", f.action);
  add("entity", f.entity);
  add("entity_id", f.entity_id);
  return q;
}

// Builds the database filter; bad dates are field errors.
Result<Filter> ToFilter(const FilterForm& f, const std::string& bad_date) {
  Filter filter;
  Error error;
  if (!f.from.empty()) {
    Date d;
    if (ParseDate(f.from, &d)) {
      filter.from_ms = ShanghaiMidnightMs(d);
    } else {
      error.fields.push_back({"from", bad_date});
    }
  }
  if (!f.to.empty()) {
    Date d;
    if (ParseDate(f.to, &d)) {
      filter.to_ms = ShanghaiMidnightMs(AddDays(d, 1));  // the end date is included
    } else {
      error.fields.push_back({"to", bad_date});
    }
  }
  if (!error.fields.empty()) {
    error.code = ErrorCode::kInvalidInput;
    error.message = bad_date;
    return error;
  }
  filter.actor = f.actor;
  filter.action_prefix = f.action;
  filter.entity = f.entity;
  filter.entity_id = f.entity_id;
  return filter;
}

// Narrows `filter` to the units `who` may audit.
Status ApplyScope(db::Conn& conn, const auth::Principal& who, Filter& filter) {
  std::vector<int64_t> ids;
  bool at_root = false;
  for (const auto& scope : auth::ScopesFor(who, auth::Permission::kAuditView)) {
    if (!scope.exact && org::PathDepth(scope.path) == 0) at_root = true;
    auto units = org::Subtree(conn, scope.path);
    if (!units) return std::move(units).error();
    for (const auto& u : *units) {
      if (scope.exact && u.path != scope.path) continue;
      ids.push_back(u.id);
    }
  }
  filter.include_unitless = at_root;
  if (at_root) {
    auto roots = org::Roots(conn);
    if (!roots) return std::move(roots).error();
    bool all_roots = true;
    for (const auto& r : *roots) {
      all_roots = all_roots && std::find(ids.begin(), ids.end(), r.id) != ids.end();
    }
    if (all_roots) return {};  // every unit: no list needed
  }
  filter.unit_ids = std::move(ids);
  return {};
}

std::optional<http::Response> Denied(const Deps& d, const http::Request& req) {
  const auth::Principal* who = auth::CurrentPrincipal(req);
  auto allowed = auth::AuthorizeAny(who, auth::Permission::kAuditView);
  if (allowed) return std::nullopt;
  return web::RefusePage(req, d.view, allowed.error());
}

std::string UnitText(const std::optional<int64_t>& unit_id) {
  return unit_id ? std::to_string(*unit_id) : std::string();
}

asio::awaitable<http::Response> GetList(const Deps& d, http::Request& req) {
  if (auto r = Denied(d, req)) co_return std::move(*r);
  const auth::Principal who = *auth::CurrentPrincipal(req);
  const FilterForm form = ReadForm(req);
  const auto& strings = d.view.strings();
  auto filter = ToFilter(form, strings.Get("audit.bad_date"));

  Data data{Data::type::object};
  Data f{Data::type::object};
  f.set("from", form.from);
  f.set("to", form.to);
  f.set("actor", form.actor);
  f.set("action", form.action);
  f.set("entity", form.entity);
  f.set("entity_id", form.entity_id);
  data.set("f", f);
  data.set("query", QueryOf(form));
  Data events{Data::type::list};
  auto code = status::ok;
  bool all_units = true;
  if (!filter) {
    Data errors{Data::type::object};
    for (const auto& fe : filter.error().fields) errors.set(fe.field, fe.message);
    data.set("errors", errors);
    code = status::unprocessable_entity;
  } else {
    Filter scoped = *filter;
    auto zw_work1 = [&who, &scoped,
                     before = form.before](db::Conn& c) -> Result<std::vector<Event>> {
      if (auto s = ApplyScope(c, who, scoped); !s) return std::move(s).error();
      return ListEvents(c, scoped, before, kPageSize + 1);
    };
    auto rows = co_await d.db.Read<std::vector<Event>>(zw_work1);
    if (!rows) co_return web::ErrorPage(req, d.view, web::StatusFor(rows.error().code));
    all_units = !scoped.unit_ids.has_value();
    const bool more = rows->size() > static_cast<std::size_t>(kPageSize);
    if (more) rows->pop_back();
    for (const auto& e : *rows) {
      Data row{Data::type::object};
      row.set("seq", e.seq > 0 ? std::to_string(e.seq) : strings.Get("audit.unchained"));
      row.set("time", FormatShanghaiMinute(e.at_ms));
      row.set("actor", e.actor.name);
      row.set("ip", e.actor.ip);
      row.set("action", e.entry.action);
      row.set("entity", e.entry.entity);
      row.set("entity_id", e.entry.entity_id);
      row.set("summary", e.entry.summary);
      events.push_back(row);
    }
    if (more && !rows->empty()) {
      std::string next = QueryOf(form);
      next += (next.empty() ? "" : "&") + std::string("before=") + std::to_string(rows->back().id);
      data.set("next", next);
    }
    data.set("empty", rows->empty());
  }
  data.set("events", events);
  data.set("paged", form.before.has_value());
  data.set("all_units", all_units);
  co_return web::RenderPage(req, d.view, strings.Get("audit.title"), "audit", "audit/list",
                            std::move(data), code);
}

asio::awaitable<http::Response> GetCsv(const Deps& d, http::Request& req) {
  if (auto r = Denied(d, req)) co_return std::move(*r);
  const auth::Principal who = *auth::CurrentPrincipal(req);
  const auto& s = d.view.strings();
  auto filter = ToFilter(ReadForm(req), s.Get("audit.bad_date"));
  if (!filter) co_return web::ErrorPage(req, d.view, status::bad_request);

  auto zw_work2 = [&](db::Conn& c) -> Result<std::string> {
    Filter scoped = *filter;
    if (auto st = ApplyScope(c, who, scoped); !st) return std::move(st).error();
    std::string out(kUtf8Bom);
    out += CsvRow({s.Get("audit.col_seq"), s.Get("audit.col_time"), s.Get("audit.col_actor"),
                   s.Get("audit.col_ip"), s.Get("audit.col_request"), s.Get("audit.col_action"),
                   s.Get("audit.col_entity"), s.Get("audit.col_entity_id"), s.Get("audit.col_unit"),
                   s.Get("audit.col_summary"), s.Get("audit.col_before"), s.Get("audit.col_after"),
                   s.Get("audit.col_hash")});
    std::optional<int64_t> before;
    int total = 0;
    while (total < kCsvMaxRows) {
      auto page = ListEvents(c, scoped, before, 1000);
      if (!page) return std::move(page).error();
      for (const auto& e : *page) {
        out += CsvRow({e.seq > 0 ? std::to_string(e.seq) : s.Get("audit.unchained"),
                       FormatShanghaiMinute(e.at_ms), e.actor.name, e.actor.ip, e.actor.request_id,
                       e.entry.action, e.entry.entity, e.entry.entity_id, UnitText(e.entry.unit_id),
                       e.entry.summary, e.entry.before, e.entry.after, e.hash});
      }
      total += static_cast<int>(page->size());
      if (page->size() < 1000) break;
      before = page->back().id;
    }
    return out;
  };
  auto body = co_await d.db.Read<std::string>(zw_work2);
  if (!body) co_return web::ErrorPage(req, d.view, web::StatusFor(body.error().code));
  auto res = http::MakeResponse(status::ok, std::move(*body), "text/csv; charset=utf-8");
  res.set(http::bhttp::field::content_disposition,
          "attachment; filename=\"audit-log.csv\"; filename*=UTF-8''" +
              http::PercentEncode("审计日志.csv"));
  res.set(http::bhttp::field::cache_control, "private, no-store");
  co_return res;
}

}  // namespace

void RegisterRoutes(web::ModuleContext& ctx) {
  auto deps = std::make_shared<Deps>(Deps{ctx.view, ctx.db});
  ctx.router.Get("/admin/audit", [deps](http::Request& req) { return GetList(*deps, req); });
  ctx.router.Get("/admin/audit.csv", [deps](http::Request& req) { return GetCsv(*deps, req); });
  ctx.view.AddAdminNav({"audit", ctx.view.strings().Get("audit.title"), "/admin/audit", 90});
}

}  // namespace zhenwu::audit
