// The staff side of 政务服务: the clerk's desk (queue, case page and its actions), the village
// cadre's 代办 desk, walk-in and 代办 applications, the leader's overview, follow-ups after bad
// ratings and the 台账 exports. Handlers parse the input, call service.hpp (which checks every
// permission and rule) and render; they never decide a rule themselves.

#include <xlsxwriter.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "audit/csv.hpp"
#include "auth/principal.hpp"
#include "core/clock.hpp"
#include "files/file_store.hpp"
#include "http/multipart.hpp"
#include "org/model.hpp"
#include "org/store.hpp"
#include "people/keys.hpp"
#include "people/validate.hpp"
#include "services/handlers.hpp"
#include "web/once.hpp"
#include "web/page.hpp"

namespace zhenwu::services {

namespace {

using http::Request;
using http::Response;
using view::Data;
using Perm = auth::Permission;
using HttpStatus = http::bhttp::status;

constexpr int kPageSize = 50;
constexpr int kExportMax = 50000;
// The form name every action form of a case page claims its one-time token under.
constexpr std::string_view kCaseForm = "services.desk.case";
constexpr std::string_view kApplyForm = "services.desk.apply";
constexpr std::string_view kFollowUpForm = "services.desk.followup";

Data Obj() { return Data{Data::type::object}; }
Data List() { return Data{Data::type::list}; }

std::optional<int64_t> ParseId(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v <= 0) return std::nullopt;
  return v;
}

audit::Actor ActorOf(const Request& req, const auth::Principal& who) {
  return {who.user_id, who.login, req.remote_ip, req.request_id};
}

bool HasRole(const auth::Principal* who, auth::Role role) {
  if (who == nullptr) return false;
  return std::any_of(who->grants.begin(), who->grants.end(),
                     [&](const auth::Grant& g) { return g.role == role; });
}

std::string Replace(std::string text, std::string_view key, std::string_view value) {
  for (auto at = text.find(key); at != std::string::npos; at = text.find(key, at + value.size())) {
    text.replace(at, key.size(), value);
  }
  return text;
}

std::string HumanSize(int64_t bytes) {
  char buf[32];
  if (bytes >= 1024 * 1024) {
    std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  } else {
    std::snprintf(buf, sizeof buf, "%lld KB", static_cast<long long>((bytes + 1023) / 1024));
  }
  return buf;
}

// The values of a POSTed form, urlencoded or multipart, and its non-empty file parts.
struct Posted {
  http::Form fields;
  std::vector<http::MultipartPart> files;
};

Result<Posted> ReadPosted(const Request& req) {
  Posted out;
  if (http::MultipartBoundary(req.Header("Content-Type"))) {
    auto form = http::ParseMultipart(req);
    if (!form) return std::move(form).error();
    out.fields = form->Fields();
    for (const auto& p : form->parts()) {
      if (p.filename && !p.filename->empty() && !p.data.empty()) out.files.push_back(p);
    }
  } else {
    out.fields = req.BodyForm();
  }
  return out;
}

void AddFieldError(Error& e, std::string field, std::string message) {
  e.code = ErrorCode::kInvalidInput;
  if (e.message.empty()) e.message = message;
  e.fields.push_back({std::move(field), std::move(message)});
}

// {field: message} for templates ({{#errors.name}}…{{/errors.name}}); dotted field names are
// left out (the pages place those themselves).
Data ErrorsData(const Error* error) {
  Data d = Obj();
  if (error == nullptr) return d;
  for (const auto& f : error->fields) {
    if (f.field.find('.') == std::string::npos && !d.get(f.field)) d.set(f.field, f.message);
  }
  return d;
}

// The messages of fields a page has no place for, so none is lost.
std::vector<std::string> Unplaced(const Error* error, const std::set<std::string>& placed) {
  std::vector<std::string> out;
  if (error == nullptr) return out;
  for (const auto& f : error->fields) {
    if (!placed.contains(f.field)) out.push_back(f.message);
  }
  if (error->fields.empty() && !error->message.empty()) out.push_back(error->message);
  return out;
}

Data MessagesData(const std::vector<std::string>& messages) {
  Data list = List();
  for (const auto& m : messages) {
    Data o = Obj();
    o.set("message", m);
    list.push_back(o);
  }
  return list;
}

// The filter of the queue and of the exports, as typed.
struct Filter {
  std::string status = "open";  // open | all | a status name
  std::string due, q, channel, unit, from, to, after;
  Error error;  // field messages for bad dates
  CaseQuery query;
  std::optional<int64_t> unit_id;

  // The filter as a query string (without the cursor), for links.
  std::string Encoded() const {
    std::string out;
    auto add = [&](std::string_view name, const std::string& value) {
      if (value.empty()) return;
      out += (out.empty() ? "" : "&") + std::string(name) + "=" + http::PercentEncode(value);
    };
    add("status", status == "open" ? "" : status);
    add("due", due);
    add("q", q);
    add("channel", channel);
    add("unit", unit);
    add("from", from);
    add("to", to);
    return out;
  }
};

Filter ParseFilter(const http::Form& form) {
  Filter f;
  f.status = form.GetOr("status", "open");
  f.due = form.GetOr("due");
  f.q = people::Trim(form.GetOr("q"));
  f.channel = form.GetOr("channel");
  f.unit = form.GetOr("unit");
  f.from = people::Trim(form.GetOr("from"));
  f.to = people::Trim(form.GetOr("to"));
  f.after = form.GetOr("after");
  CaseQuery& q = f.query;
  if (f.status == "open") {
    q.statuses = {CaseStatus::kSubmitted, CaseStatus::kCorrecting, CaseStatus::kAccepted};
  } else if (auto s = StatusFromName(f.status)) {
    q.statuses = {*s};
    q.order_recent = !IsOpen(*s);
  } else {
    f.status = "all";
    q.order_recent = true;
  }
  if (f.due == "on_time") {
    q.due_state = DueState::kOnTime;
  } else if (f.due == "due_soon") {
    q.due_state = DueState::kDueSoon;
  } else if (f.due == "overdue") {
    q.due_state = DueState::kOverdue;
  } else {
    f.due.clear();
  }
  if (q.due_state && q.order_recent) {
    // A deadline filter only means something for open cases.
    q.order_recent = false;
  }
  if (auto c = ChannelFromName(f.channel)) {
    q.channel = *c;
  } else {
    f.channel.clear();
  }
  if (auto id = ParseId(f.unit)) {
    f.unit_id = *id;
    q.unit_id = *id;
  } else {
    f.unit.clear();
  }
  q.text = f.q;
  Date d;
  if (!f.from.empty()) {
    if (ParseDate(f.from, &d)) {
      q.from = d;
    } else {
      AddFieldError(f.error, "from", "日期格式应为 2026-11-30");
    }
  }
  if (!f.to.empty()) {
    if (ParseDate(f.to, &d)) {
      q.to = d;
    } else {
      AddFieldError(f.error, "to", "日期格式应为 2026-11-30");
    }
  }
  if (!f.after.empty()) q.after = f.after;
  q.limit = kPageSize;
  return f;
}

// The workload at the head of the queue: open cases per status, and how many are 超期 and
// 即将超期, handled by units within a kCaseView scope of `who` (within `unit_path` if set). Only
// the handling unit counts here, not where a case was applied, and only open cases, so every
// count is one range of the (unit_path, status, due_day) index however many finished cases a
// window has. That range still holds the whole open workload (50,000 cases: ~13 ms on SQLite,
// more on PostgreSQL), so the counts are kept for a few seconds in env.caches (desk_cache.hpp),
// per scope, unit filter and day; `generation` is the cache's, read before the work started.
using Counts = DeskCounts;

Result<Counts> CountCases(db::Conn& conn, const auth::Principal& who, const WorkCalendar& cal,
                          Date today, int due_soon_days, const std::string& unit_path,
                          CaseCaches& caches, uint64_t generation) {
  Counts out;
  const std::string t = FormatDate(today);
  const std::string soon = FormatDate(cal.AddWorkingDays(today, due_soon_days));
  const auto scopes = auth::ScopesFor(who, Perm::kCaseView);
  std::string key = t + "|" + soon + "|" + unit_path;
  for (const auto& scope : scopes) key += (scope.exact ? "|=" : "|<") + scope.path;
  if (auto hit = caches.counts.Get(key)) return std::move(*hit);
  for (const auto& scope : scopes) {
    db::Params params{t, soon};
    std::string where;
    if (scope.exact) {
      params.push_back(scope.path);
      where = "unit_path = $3";
    } else {
      params.push_back(scope.path);
      params.push_back(org::SubtreeUpperBound(scope.path));
      where = "unit_path >= $3 AND unit_path < $4";
    }
    if (!unit_path.empty()) {
      params.push_back(unit_path);
      const std::string a = "$" + std::to_string(params.size());
      params.push_back(org::SubtreeUpperBound(unit_path));
      const std::string b = "$" + std::to_string(params.size());
      where += " AND unit_path >= " + a + " AND unit_path < " + b;
    }
    auto rows = conn.Query(
        "SELECT status, COUNT(*), "
        "SUM(CASE WHEN status <> 'correcting' AND due_day < $1 THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status <> 'correcting' AND due_day >= $1 AND due_day <= $2 THEN 1 ELSE 0 "
        "END) FROM services_cases WHERE " +
            where + " AND status IN ('submitted', 'correcting', 'accepted') GROUP BY status",
        params);
    if (!rows) return std::move(rows).error();
    for (const auto& r : rows->rows) {
      out.by_status[r.Text(0)] += r.Int(1);
      out.overdue += r.Int(2);
      out.due_soon += r.Int(3);
    }
  }
  caches.counts.Put(key, generation, out);
  return out;
}

// The windows (and departments) of the town a case belongs to, for the 移交 select: town
// windows first, then each village's windows.
struct TargetGroup {
  std::string label;
  std::vector<org::OrgUnit> units;
};

std::vector<TargetGroup> TransferTargets(const std::vector<org::OrgUnit>& all,
                                         const std::string& case_unit_path, int64_t case_unit_id) {
  const org::OrgUnit* town = nullptr;
  for (const auto& u : all) {
    if (u.kind == org::UnitKind::kTown && org::PathWithin(case_unit_path, u.path)) town = &u;
  }
  std::vector<TargetGroup> out;
  if (town == nullptr) return out;
  std::map<int64_t, const org::OrgUnit*> by_id;
  for (const auto& u : all) by_id[u.id] = &u;
  TargetGroup town_group{town->name, {}};
  std::map<std::string, TargetGroup> villages;  // by village path, so in tree order
  for (const auto& u : all) {
    if (u.retired() || u.id == case_unit_id || !org::PathWithin(u.path, town->path)) continue;
    if (u.kind == org::UnitKind::kWindow || u.kind == org::UnitKind::kDepartment) {
      town_group.units.push_back(u);
    } else if (u.kind == org::UnitKind::kVillageWindow && u.parent_id &&
               by_id.contains(*u.parent_id)) {
      const org::OrgUnit* village = by_id[*u.parent_id];
      auto& g = villages[village->path];
      g.label = village->name;
      g.units.push_back(u);
    }
  }
  if (!town_group.units.empty()) out.push_back(std::move(town_group));
  for (auto& [_, g] : villages) out.push_back(std::move(g));
  return out;
}

class Desk {
 public:
  Desk(web::ModuleContext& ctx, std::shared_ptr<Env> env) : env_(std::move(env)), pool_(ctx.pool) {}

  // ---- helpers ------------------------------------------------------------------------------

  Response Refuse(const Request& req, const Error& e) const {
    return web::RefusePage(req, env_->view, e);
  }

  Response Render(const Request& req, const std::string& title, std::string_view name, Data data,
                  HttpStatus status = HttpStatus::ok) const {
    return web::RenderPage(req, env_->view, title, "desk", "services/" + std::string(name),
                           std::move(data), status);
  }

  std::string T(std::string_view key) const { return env_->view.strings().Get(key); }

  std::string DueText(const ServiceCase& c, const WorkCalendar& cal, Date today) const {
    if (!IsOpen(c.status)) return "";
    if (c.status == CaseStatus::kCorrecting || c.clock.paused_since) {
      return T("services.desk.clock_paused");
    }
    if (!c.due) return "";
    const int left = DaysLeft(cal, *c.due, today);
    if (left > 0) return Replace(T("services.desk.days_left"), "{n}", std::to_string(left));
    if (*c.due == today) return T("services.desk.due_today");
    return Replace(T("services.desk.days_over"), "{n}", std::to_string(std::max(1, -left)));
  }

  Data CaseRow(const ServiceCase& c, const WorkCalendar& cal, Date today) const {
    Data d = Obj();
    d.set("number", c.number);
    d.set("url", "/desk/cases/" + c.number);
    d.set("service_name", c.service_name);
    d.set("applicant_name", c.applicant_name);
    d.set("phone_mask", c.applicant_phone_mask);
    d.set("channel", std::string(ChannelName(c.channel)));
    d.set("channel_label", std::string(ChannelLabel(c.channel)));
    d.set("status", std::string(StatusName(c.status)));
    d.set("status_label", std::string(StatusLabel(c.status)));
    d.set("unit_name", c.unit_name);
    if (!c.agent_name.empty()) d.set("agent_name", c.agent_name);
    d.set("applied", FormatShanghaiMinute(c.created_at_ms));
    if (c.due) d.set("due", FormatDate(*c.due));
    d.set("due_text", DueText(c, cal, today));
    if (c.due_state == DueState::kDueSoon) d.set("due_soon", true);
    if (c.due_state == DueState::kOverdue) d.set("overdue", true);
    if (c.status == CaseStatus::kCorrecting) d.set("correcting", true);
    if (c.overdue_at_completion) d.set("completed_late", true);
    if (c.rating) {
      d.set("rating", std::string(RatingLabel(c.rating->score)));
      if (IsBadRating(c.rating->score)) d.set("bad_rating", true);
    }
    if (c.demo) d.set("demo", true);
    return d;
  }

  // ---- GET /desk ----------------------------------------------------------------------------

  asio::awaitable<Response> Home(Request& req) {
    const auth::Principal* who = auth::CurrentPrincipal(req);
    if (who == nullptr) co_return Refuse(req, Error{ErrorCode::kUnauthenticated, "", {}});
    if (HasRole(who, auth::Role::kVillageCadre)) co_return http::Redirect("/desk/proxy");
    if (auth::AuthorizeAny(who, Perm::kCaseHandle).ok()) co_return http::Redirect("/desk/cases");
    if (auth::AuthorizeAny(who, Perm::kCaseView).ok()) {
      co_return http::Redirect("/desk/overview");
    }
    if (auth::AuthorizeAny(who, Perm::kCatalogueEdit).ok()) {
      co_return http::Redirect("/admin/services");
    }
    co_return Refuse(req, Error{ErrorCode::kForbidden, "", {}});
  }

  // ---- GET /desk/cases ----------------------------------------------------------------------

  struct QueueData {
    CasePage page;
    Counts counts;
    std::shared_ptr<const WorkCalendar> cal;
    std::optional<org::OrgUnit> unit;  // the unit filter's unit
    std::string my_unit;               // the name of the signed-in person's unit
  };

  asio::awaitable<Response> Queue(Request& req) {
    const auth::Principal* who = auth::CurrentPrincipal(req);
    if (auto s = auth::AuthorizeAny(who, Perm::kCaseView); !s) co_return Refuse(req, s.error());
    Filter filter = ParseFilter(req.QueryForm());
    const Env& env = *env_;
    const uint64_t generation = env.caches->counts.Generation();
    auto work = [&env, &filter, who, generation](db::Conn& c) -> Result<QueueData> {
      auto bound = env.Bind(c);
      QueueData out;
      out.cal = bound.calendar;
      std::string unit_path;
      if (filter.unit_id) {
        auto unit = org::FindUnit(c, *filter.unit_id);
        if (!unit) return std::move(unit).error();
        out.unit = *unit;
        unit_path = *unit ? (*unit)->path : "/none/";
      }
      if (who->unit_id != 0) {
        auto mine = org::FindUnit(c, who->unit_id);
        if (!mine) return std::move(mine).error();
        if (*mine) out.my_unit = (*mine)->name;
      }
      const Date today = ShanghaiDate(env.clock.NowMs());
      auto counts = CountCases(c, *who, *bound.calendar, today, env.due_soon_days, unit_path,
                               *env.caches, generation);
      if (!counts) return std::move(counts).error();
      out.counts = std::move(*counts);
      if (!filter.error.fields.empty()) return out;
      auto page = ListCases(c, bound.deps, *who, filter.query);
      if (!page) return std::move(page).error();
      out.page = std::move(*page);
      return out;
    };
    auto loaded = co_await env_->db.Read<QueueData>(work);
    if (!loaded && loaded.error().code == ErrorCode::kInvalidInput) {
      // A stale or hand-made cursor: start again from the first page.
      filter.error = loaded.error();
      filter.query.after.reset();
      filter.after.clear();
      loaded = co_await env_->db.Read<QueueData>(work);
    }
    if (!loaded) co_return Refuse(req, loaded.error());
    const Date today = ShanghaiDate(env_->clock.NowMs());

    Data data = Obj();
    if (!loaded->my_unit.empty()) data.set("my_unit", loaded->my_unit);
    data.set("q", filter.q);
    data.set("from", filter.from);
    data.set("to", filter.to);
    data.set("errors", ErrorsData(&filter.error));
    data.set("error_list", MessagesData(Unplaced(&filter.error, {"from", "to"})));
    Data statuses = List();
    auto status_option = [&](const std::string& value, const std::string& label) {
      Data o = Obj();
      o.set("value", value);
      o.set("label", label);
      if (filter.status == value) o.set("selected", true);
      statuses.push_back(o);
    };
    status_option("open", T("services.desk.status_open"));
    for (CaseStatus s : {CaseStatus::kSubmitted, CaseStatus::kCorrecting, CaseStatus::kAccepted,
                         CaseStatus::kCompleted, CaseStatus::kRejected, CaseStatus::kWithdrawn}) {
      status_option(std::string(StatusName(s)), std::string(StatusLabel(s)));
    }
    status_option("all", T("services.desk.status_all"));
    data.set("statuses", statuses);
    Data dues = List();
    for (auto [value, key] :
         {std::pair{"", "services.desk.due_any"}, std::pair{"overdue", "services.desk.due_overdue"},
          std::pair{"due_soon", "services.desk.due_soon"},
          std::pair{"on_time", "services.desk.due_on_time"}}) {
      Data o = Obj();
      o.set("value", std::string(value));
      o.set("label", T(key));
      if (filter.due == value) o.set("selected", true);
      dues.push_back(o);
    }
    data.set("dues", dues);
    Data channels = List();
    {
      Data any = Obj();
      any.set("value", std::string());
      any.set("label", T("services.desk.channel_any"));
      channels.push_back(any);
    }
    for (Channel ch : {Channel::kOnline, Channel::kProxy, Channel::kWindow}) {
      Data o = Obj();
      o.set("value", std::string(ChannelName(ch)));
      o.set("label", std::string(ChannelLabel(ch)));
      if (filter.channel == ChannelName(ch)) o.set("selected", true);
      channels.push_back(o);
    }
    data.set("channels", channels);
    if (loaded->unit) {
      data.set("unit", std::to_string(loaded->unit->id));
      data.set("unit_name", loaded->unit->name);
      Filter without = filter;
      without.unit.clear();
      data.set("clear_unit_url", "/desk/cases?" + without.Encoded());
    }

    // The head: counts per status (links keep the other filters) and by deadline.
    auto link_with = [&](std::string status, std::string due) {
      Filter f = filter;
      f.status = std::move(status);
      f.due = std::move(due);
      return "/desk/cases?" + f.Encoded();
    };
    Data counts = List();
    int64_t open_total = 0;
    for (CaseStatus s : {CaseStatus::kSubmitted, CaseStatus::kCorrecting, CaseStatus::kAccepted,
                         CaseStatus::kCompleted, CaseStatus::kRejected, CaseStatus::kWithdrawn}) {
      const std::string name(StatusName(s));
      const int64_t n =
          loaded->counts.by_status.contains(name) ? loaded->counts.by_status.at(name) : 0;
      Data o = Obj();
      o.set("status", name);
      o.set("label", std::string(StatusLabel(s)));
      // Finished cases are not workload: their tabs are links without a count.
      if (IsOpen(s)) {
        open_total += n;
        o.set("count", std::to_string(n));
      }
      o.set("url", link_with(name, ""));
      if (filter.status == name && filter.due.empty()) o.set("current", true);
      counts.push_back(o);
    }
    data.set("counts", counts);
    data.set("open_total", std::to_string(open_total));
    data.set("open_url", link_with("open", ""));
    data.set("overdue_count", std::to_string(loaded->counts.overdue));
    data.set("overdue_url", link_with("open", "overdue"));
    if (loaded->counts.overdue > 0) data.set("has_overdue", true);
    data.set("due_soon_count", std::to_string(loaded->counts.due_soon));
    data.set("due_soon_url", link_with("open", "due_soon"));
    if (loaded->counts.due_soon > 0) data.set("has_due_soon", true);

    Data rows = List();
    for (const auto& c : loaded->page.cases) rows.push_back(CaseRow(c, *loaded->cal, today));
    data.set("rows", rows);
    if (loaded->page.cases.empty()) data.set("empty", true);
    const std::string encoded = filter.Encoded();
    if (loaded->page.next) {
      data.set("next_url", "/desk/cases?" + encoded + (encoded.empty() ? "" : "&") +
                               "after=" + http::PercentEncode(*loaded->page.next));
    }
    if (!filter.after.empty()) data.set("first_url", "/desk/cases?" + encoded);
    data.set("csv_url", "/desk/cases.csv" + (encoded.empty() ? "" : "?" + encoded));
    data.set("xlsx_url", "/desk/cases.xlsx" + (encoded.empty() ? "" : "?" + encoded));
    if (auth::AuthorizeAny(who, Perm::kCaseHandle).ok() ||
        auth::AuthorizeAny(who, Perm::kCaseApplyForOthers).ok()) {
      data.set("can_apply", true);
    }
    if (auth::AuthorizeAny(who, Perm::kCaseApplyForOthers).ok()) data.set("can_proxy", true);
    const auto status =
        filter.error.fields.empty() ? HttpStatus::ok : HttpStatus::unprocessable_entity;
    co_return Render(req, T("services.desk.queue_title"), "services_desk_queue", std::move(data),
                     status);
  }

  // ---- GET /desk/cases.csv, /desk/cases.xlsx -------------------------------------------------

  struct ExportData {
    std::vector<ServiceCase> cases;
    std::shared_ptr<const WorkCalendar> cal;
  };

  std::vector<std::string> LedgerHeader() const {
    std::vector<std::string> out;
    for (const char* key : {"number", "service", "applicant", "phone", "channel", "agent", "unit",
                            "status", "applied", "promised_days", "due", "due_state", "completed",
                            "completed_late", "result", "rating"}) {
      out.push_back(T(std::string("services.desk.col_") + key));
    }
    return out;
  }

  std::vector<std::string> LedgerRow(const ServiceCase& c) const {
    std::string due_state;
    if (IsOpen(c.status)) {
      due_state = c.status == CaseStatus::kCorrecting ? T("services.desk.clock_paused")
                                                      : std::string(DueStateLabel(c.due_state));
    }
    return {c.number,
            c.service_name,
            c.applicant_name,
            c.applicant_phone_mask,
            std::string(ChannelLabel(c.channel)),
            c.agent_name,
            c.unit_name,
            std::string(StatusLabel(c.status)),
            FormatShanghaiMinute(c.created_at_ms),
            std::to_string(c.promised_days),
            c.due ? FormatDate(*c.due) : "",
            due_state,
            c.completed_at_ms ? FormatShanghaiMinute(*c.completed_at_ms) : "",
            c.completed_at_ms ? (c.overdue_at_completion ? "是" : "否") : "",
            c.result,
            c.rating ? std::string(RatingLabel(c.rating->score)) : ""};
  }

  asio::awaitable<Response> Export(Request& req, bool xlsx) {
    const auth::Principal* who = auth::CurrentPrincipal(req);
    if (auto s = auth::AuthorizeAny(who, Perm::kCaseView); !s) co_return Refuse(req, s.error());
    Filter filter = ParseFilter(req.QueryForm());
    if (!filter.error.fields.empty()) co_return Refuse(req, filter.error);
    filter.query.after.reset();
    const Env& env = *env_;
    auto work = [&env, &filter, who](db::Conn& c) -> Result<ExportData> {
      auto bound = env.Bind(c);
      auto cases = ListAllCases(c, bound.deps, *who, filter.query, kExportMax);
      if (!cases) return std::move(cases).error();
      return ExportData{std::move(*cases), bound.calendar};
    };
    auto loaded = co_await env_->db.Read<ExportData>(work);
    if (!loaded) {
      if (loaded.error().code == ErrorCode::kInvalidInput) {
        co_return http::MakeResponse(HttpStatus::unprocessable_entity,
                                     loaded.error().message + "\n", "text/plain; charset=utf-8");
      }
      co_return Refuse(req, loaded.error());
    }
    const Date today = ShanghaiDate(env_->clock.NowMs());
    std::vector<std::vector<std::string>> table;
    table.push_back(LedgerHeader());
    for (const auto& c : loaded->cases) table.push_back(LedgerRow(c));
    const std::string base = T("services.desk.ledger_name") + "-" + FormatDate(today);
    std::string body;
    std::string type;
    std::string ascii_name;
    if (xlsx) {
      auto build = [table = std::move(table), sheet = T("services.desk.ledger_name")]() {
        return BuildXlsx(table, sheet);
      };
      auto made = co_await pool_.Run(std::move(build));
      if (!made) co_return Refuse(req, made.error());
      body = std::move(*made);
      type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
      ascii_name = "cases-" + FormatDate(today) + ".xlsx";
    } else {
      body = std::string(audit::kUtf8Bom);
      for (const auto& row : table) body += audit::CsvRow(row);
      type = "text/csv; charset=utf-8";
      ascii_name = "cases-" + FormatDate(today) + ".csv";
    }
    auto res = http::MakeResponse(HttpStatus::ok, std::move(body), type);
    res.set(http::bhttp::field::content_disposition,
            "attachment; filename=\"" + ascii_name + "\"; filename*=UTF-8''" +
                http::PercentEncode(base + (xlsx ? ".xlsx" : ".csv")));
    res.set(http::bhttp::field::cache_control, "no-store");
    co_return res;
  }

  // The workbook as bytes: libxlsxwriter 1.1.4 writes only to a file, so a private temporary
  // file is written, read back and removed.
  static Result<std::string> BuildXlsx(const std::vector<std::vector<std::string>>& table,
                                       const std::string& sheet_name) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path path =
        fs::temp_directory_path(ec) / ("zhenwu-ledger-" + web::NewOnceToken() + ".xlsx");
    if (ec) return Error::Internal("no temporary folder for the ledger: " + ec.message());
    lxw_workbook* book = workbook_new(path.c_str());
    if (book == nullptr) return Error::Internal("cannot create the ledger workbook");
    lxw_worksheet* sheet = workbook_add_worksheet(book, sheet_name.c_str());
    lxw_format* head = workbook_add_format(book);
    format_set_bold(head);
    format_set_bg_color(head, 0xEEEEEE);
    format_set_border(head, LXW_BORDER_THIN);
    std::vector<std::size_t> widths;
    for (std::size_t r = 0; r < table.size(); ++r) {
      for (std::size_t col = 0; col < table[r].size(); ++col) {
        const std::string& cell = table[r][col];
        if (widths.size() <= col) widths.resize(col + 1, 8);
        // Roughly: a CJK character (3 bytes) is two columns wide.
        widths[col] = std::max<std::size_t>(widths[col], std::min<std::size_t>(60, cell.size()));
        worksheet_write_string(sheet, static_cast<lxw_row_t>(r), static_cast<lxw_col_t>(col),
                               cell.c_str(), r == 0 ? head : nullptr);
      }
    }
    for (std::size_t col = 0; col < widths.size(); ++col) {
      worksheet_set_column(sheet, static_cast<lxw_col_t>(col), static_cast<lxw_col_t>(col),
                           static_cast<double>(widths[col]) * 0.8 + 2, nullptr);
    }
    worksheet_freeze_panes(sheet, 1, 0);
    if (!table.empty() && !table[0].empty()) {
      worksheet_autofilter(sheet, 0, 0, static_cast<lxw_row_t>(table.size() - 1),
                           static_cast<lxw_col_t>(table[0].size() - 1));
    }
    const lxw_error closed = workbook_close(book);
    std::string bytes;
    if (closed == LXW_NO_ERROR) {
      std::ifstream in(path, std::ios::binary);
      std::ostringstream text;
      text << in.rdbuf();
      bytes = text.str();
    }
    fs::remove(path, ec);
    if (closed != LXW_NO_ERROR || bytes.empty()) {
      return Error::Internal(std::string("cannot write the ledger workbook: ") +
                             lxw_strerror(closed));
    }
    return bytes;
  }

  // ---- uploads -------------------------------------------------------------------------------

  // Stores uploaded file parts (blocking: runs on the pool). `material_of` maps a part's field
  // name to its material id (nullopt: not a file field of this form). A refused file is a field
  // message on the part's field; the other files are still stored and returned.
  struct Stored {
    std::vector<UploadedFile> files;
    std::vector<std::pair<std::string, UploadedFile>> by_field;
    Error error;
  };

  asio::awaitable<Stored> StoreUploads(
      const std::vector<http::MultipartPart>& parts,
      std::function<std::optional<int64_t>(const std::string&)> material_of) {
    Stored out;
    std::vector<std::pair<const http::MultipartPart*, int64_t>> todo;
    for (const auto& p : parts) {
      if (auto m = material_of(p.name)) todo.emplace_back(&p, *m);
    }
    if (todo.empty()) co_return out;
    if (env_->files == nullptr) {
      AddFieldError(out.error, todo.front().first->name, T("services.desk.no_file_store"));
      co_return out;
    }
    files::FileStore* store = env_->files;
    const int64_t max = env_->max_upload_bytes;
    auto put = [store, max, todo]() {
      std::vector<std::pair<std::string, Result<files::StoredFile>>> results;
      for (const auto& [part, _] : todo) {
        results.emplace_back(part->name, store->PutChecked(part->data, kAllowedTypes, max));
      }
      return results;
    };
    auto results = co_await pool_.Run(std::move(put));
    for (std::size_t i = 0; i < results.size(); ++i) {
      auto& [field, r] = results[i];
      if (!r) {
        AddFieldError(out.error, field, r.error().message);
        continue;
      }
      UploadedFile f;
      f.material_id = todo[i].second;
      f.sha256 = r->sha256;
      f.name = SafeFileName(*todo[i].first->filename);
      f.content_type = r->content_type;
      f.size = r->size;
      out.files.push_back(f);
      out.by_field.emplace_back(field, f);
    }
    co_return out;
  }

  // Marks the files kept from an earlier try as in use (files::FileStore::Keep), so that the
  // sweep of unreferenced files leaves them until the case refers to them; one no longer stored
  // is dropped (its material is then missing, as if never uploaded). On the blocking pool.
  asio::awaitable<void> KeepKept(std::vector<std::pair<std::string, UploadedFile>>& kept) {
    files::FileStore* store = env_->files;
    if (kept.empty() || store == nullptr) co_return;
    std::vector<std::string> hashes;
    for (const auto& [_, f] : kept) hashes.push_back(f.sha256);
    auto keep = [store, hashes]() {
      std::vector<char> stored;
      for (const auto& h : hashes) stored.push_back(store->Keep(h) ? 1 : 0);
      return stored;
    };
    const std::vector<char> stored = co_await pool_.Run(std::move(keep));
    std::size_t i = 0;
    std::erase_if(kept, [&](const auto&) { return stored[i++] == 0; });
  }

  static std::string SafeFileName(std::string_view name) {
    // Browsers of old send the whole path; keep the last part, at most 200 bytes.
    const auto slash = name.find_last_of("/\\");
    if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
    std::string out(name.substr(0, 200));
    std::erase_if(out, [](char ch) { return static_cast<unsigned char>(ch) < 0x20; });
    return out.empty() ? "file" : out;
  }

  inline static const std::vector<std::string_view> kAllowedTypes = {"application/pdf",
                                                                     "image/jpeg", "image/png"};

  // ---- GET /desk/cases/{number} ----------------------------------------------------------------

  struct Detail {
    ServiceCase c;
    std::optional<Service> service;
    std::vector<TargetGroup> targets;
    std::shared_ptr<const WorkCalendar> cal;
  };

  // What the page shows after a failed action: the action, what was typed, the messages.
  struct ActionState {
    std::string action;
    http::Form values;
    const Error* error = nullptr;
    std::string conflict;
    std::vector<std::pair<std::string, UploadedFile>> kept;  // files stored before the failure
  };

  asio::awaitable<Result<Detail>> LoadDetail(const auth::Principal* who, std::string number) {
    const Env& env = *env_;
    auto work = [&env, who, number](db::Conn& c) -> Result<Detail> {
      auto bound = env.Bind(c);
      auto found = GetCase(c, bound.deps, who, number);
      if (!found) return std::move(found).error();
      Detail d;
      d.c = std::move(*found);
      d.cal = bound.calendar;
      auto svc = GetService(c, d.c.service_id);
      if (!svc) return std::move(svc).error();
      d.service = *svc;
      if (IsOpen(d.c.status) && auth::Authorize(who, Perm::kCaseHandle, d.c.unit_path).ok()) {
        auto all = org::AllUnits(c);
        if (!all) return std::move(all).error();
        d.targets = TransferTargets(*all, d.c.unit_path, d.c.unit_id);
      }
      return d;
    };
    co_return co_await env_->db.Read<Detail>(work);
  }

  Data DetailData(const Request& req, const Detail& d, const ActionState& state) const {
    const auth::Principal* who = auth::CurrentPrincipal(req);
    const ServiceCase& c = d.c;
    const Date today = ShanghaiDate(env_->clock.NowMs());
    Data data = CaseRow(c, *d.cal, today);
    data.set("applicant_kind_label",
             T(c.applicant_kind == "enterprise" ? "services.desk.kind_enterprise"
                                                : "services.desk.kind_person"));
    if (!c.description.empty()) data.set("description", c.description);
    if (!c.result.empty()) data.set("result", c.result);
    data.set("start", FormatDate(c.clock.start));
    data.set("promised_days", std::to_string(c.promised_days));
    if (c.clock.paused_since) data.set("paused_since", FormatDate(*c.clock.paused_since));
    if (c.clock.paused_days > 0) data.set("paused_days", std::to_string(c.clock.paused_days));
    if (c.completed_at_ms) data.set("completed", FormatShanghaiMinute(*c.completed_at_ms));
    if (c.due_state == DueState::kOnTime) data.set("on_time", true);
    data.set("is_open", IsOpen(c.status));
    if (d.service) {
      data.set("service_code", d.service->code);
      data.set("service_url", "/services/" + d.service->code);
    }

    // Materials: the application's and each 补正 round's files, then the result documents.
    Data materials = List();
    Data results = List();
    int material_count = 0, result_count = 0;
    for (const auto& f : c.files) {
      Data o = Obj();
      o.set("url", "/files/case/" + std::to_string(f.id));
      o.set("name", f.name);
      o.set("material", f.material_name.empty() ? T("services.desk.extra_file") : f.material_name);
      o.set("size", HumanSize(f.size));
      o.set("round", f.round == 0
                         ? T("services.desk.round_0")
                         : Replace(T("services.desk.round_n"), "{n}", std::to_string(f.round)));
      o.set("uploaded", FormatShanghaiMinute(f.uploaded_at_ms));
      if (f.superseded) o.set("superseded", true);
      if (f.kind == "result") {
        results.push_back(o);
        ++result_count;
      } else {
        materials.push_back(o);
        ++material_count;
      }
    }
    data.set("files", materials);
    if (material_count == 0) data.set("no_files", true);
    data.set("result_files", results);
    if (result_count > 0) data.set("has_result_files", true);
    if (d.service) {
      Data listed = List();
      for (const auto& m : d.service->materials) {
        Data o = Obj();
        o.set("name", m.name);
        o.set("form", std::string(MaterialFormLabel(m.form)));
        o.set("copies", std::to_string(m.copies));
        if (m.required) o.set("required", true);
        const bool have = std::any_of(c.files.begin(), c.files.end(), [&](const CaseFile& f) {
          return f.kind == "material" && f.material_id == m.id && !f.superseded;
        });
        if (have) o.set("received", true);
        listed.push_back(o);
      }
      data.set("listed_materials", listed);
      if (!d.service->materials.empty()) data.set("has_listed_materials", true);
    }

    // 补正 rounds, newest first.
    std::map<int, std::vector<const CorrectionItem*>, std::greater<>> rounds;
    for (const auto& item : c.corrections) rounds[item.round].push_back(&item);
    Data round_list = List();
    std::vector<const CorrectionItem*> open_items;
    for (const auto& [n, items] : rounds) {
      Data r = Obj();
      r.set("label", Replace(T("services.desk.round_n"), "{n}", std::to_string(n)));
      Data list = List();
      bool resolved = true;
      for (const auto* item : items) {
        Data o = Obj();
        o.set("material", item->material_name.empty() ? T("services.desk.correction_note")
                                                      : item->material_name);
        o.set("reason", item->reason);
        list.push_back(o);
        if (!item->resolved) {
          resolved = false;
          open_items.push_back(item);
        }
      }
      r.set("items", list);
      r.set("resolved", resolved);
      round_list.push_back(r);
    }
    data.set("rounds", round_list);
    if (!rounds.empty()) data.set("has_rounds", true);

    Data events = List();
    for (const auto& e : c.events) {
      Data o = Obj();
      o.set("at", FormatShanghaiMinute(e.at_ms));
      o.set("action", std::string(ActionLabel(e.action)));
      o.set("actor", e.actor_name);
      if (!e.unit_name.empty()) o.set("unit", e.unit_name);
      o.set("status", std::string(StatusLabel(e.to_status)));
      if (e.from_status && *e.from_status != e.to_status) o.set("changed", true);
      if (!e.note.empty()) o.set("note", e.note);
      if (!e.public_note) o.set("internal", true);
      events.push_back(o);
    }
    data.set("events", events);

    if (c.rating) {
      Data r = Obj();
      r.set("label", std::string(RatingLabel(c.rating->score)));
      r.set("score", std::to_string(c.rating->score));
      if (!c.rating->comment.empty()) r.set("comment", c.rating->comment);
      r.set("at", FormatShanghaiMinute(c.rating->at_ms));
      if (IsBadRating(c.rating->score)) r.set("bad", true);
      data.set("rated", r);
    }
    if (c.followup) {
      Data f = Obj();
      f.set("due", FormatDate(c.followup->due));
      if (!c.followup->owner_name.empty()) f.set("owner", c.followup->owner_name);
      if (c.followup->closed) {
        f.set("closed", true);
        f.set("outcome", c.followup->outcome);
        if (c.followup->closed_at_ms)
          f.set("closed_at", FormatShanghaiMinute(*c.followup->closed_at_ms));
      } else if (today > c.followup->due) {
        f.set("overdue", true);
      }
      data.set("followup", f);
    }

    const std::string done = req.QueryForm().GetOr("done");
    if (!done.empty() && ActionFromName(done)) {
      data.set("notice", T("services.desk.done_" + done));
    } else if (done == "created") {
      data.set("notice", T("services.desk.done_created"));
      data.set("just_created", true);
    }
    if (!state.conflict.empty()) data.set("conflict", state.conflict);
    if (state.error != nullptr) data.set("form_error", T("services.desk.form_error"));

    // The action forms this person may use now.
    const bool handler = auth::Authorize(who, Perm::kCaseHandle, c.unit_path).ok();
    const bool agent = c.channel == Channel::kProxy &&
                       auth::Authorize(who, Perm::kCaseApplyForOthers, c.origin_path).ok();
    std::set<std::string> placed;
    auto form_data = [&](std::string_view action, std::initializer_list<const char*> fields) {
      const bool active = state.action == action;
      Data v = Obj();
      Data e = Obj();
      for (const char* f : fields) {
        v.set(f, active ? state.values.GetOr(f) : std::string());
        if (active && state.error != nullptr) {
          for (const auto& fe : state.error->fields) {
            if (fe.field == f && !e.get(f)) e.set(f, fe.message);
          }
        }
        if (active) placed.insert(f);
      }
      data.set("v_" + std::string(action), v);
      data.set("e_" + std::string(action), e);
      if (active) data.set("open_" + std::string(action), true);
    };
    if (handler) {
      data.set("can_handle", true);
      for (Action a : StaffActions(c.status)) {
        data.set("can_" + std::string(ActionName(a)), true);
      }
      form_data("accept", {"note"});
      form_data("reject", {"reason"});
      form_data("correct", {"note", "materials"});
      form_data("transfer", {"target_unit_id", "note"});
      form_data("complete", {"result", "note", "files"});
      {
        Data slots = List();
        for (const char* field : {"result_file_1", "result_file_2", "result_file_3"}) {
          Data o = Obj();
          o.set("field", field);
          if (state.action == "complete") {
            for (const auto& [f, file] : state.kept) {
              if (f == field) SetKept(o, file);
            }
            if (state.error != nullptr) {
              for (const auto& fe : state.error->fields) {
                if (fe.field == field) o.set("error", fe.message);
              }
              placed.insert(field);
            }
          }
          slots.push_back(o);
        }
        data.set("result_slots", slots);
      }
      form_data("note", {"note"});
      if (state.action == "reject" && state.error != nullptr) {
        // The reason travels as the step's note.
        for (const auto& fe : state.error->fields) {
          if (fe.field == "note") {
            Data e = Obj();
            e.set("reason", fe.message);
            data.set("e_reject", e);
            placed.insert("note");
          }
        }
      }
      // 一次性告知: every material of the service, each with its reason.
      if (d.service) {
        Data items = List();
        const bool active = state.action == "correct";
        for (const auto& m : d.service->materials) {
          Data o = Obj();
          const std::string id = std::to_string(m.id);
          o.set("id", id);
          o.set("name", m.name);
          if (m.required) o.set("required", true);
          if (active && state.values.GetOr("item_" + id) == "1") o.set("checked", true);
          o.set("reason", active ? state.values.GetOr("reason_" + id) : std::string());
          items.push_back(o);
        }
        data.set("correction_items", items);
      }
      Data groups = List();
      const std::string chosen =
          state.action == "transfer" ? state.values.GetOr("target_unit_id") : std::string();
      for (const auto& g : d.targets) {
        Data o = Obj();
        o.set("label", g.label);
        Data units = List();
        for (const auto& u : g.units) {
          Data opt = Obj();
          opt.set("value", std::to_string(u.id));
          opt.set("label", u.name);
          if (chosen == std::to_string(u.id)) opt.set("selected", true);
          units.push_back(opt);
        }
        o.set("units", units);
        groups.push_back(o);
      }
      data.set("target_groups", groups);
      if (d.targets.empty()) data.set("no_targets", true);
    }
    if (c.status == CaseStatus::kCorrecting && (handler || agent)) {
      data.set("can_resubmit", true);
      if (!handler) data.set("resubmit_needs_files", true);
      const bool active = state.action == "resubmit";
      Data items = List();
      for (const auto* item : open_items) {
        if (item->material_id == 0) continue;
        Data o = Obj();
        const std::string field = "file_" + std::to_string(item->material_id);
        o.set("field", field);
        o.set("name", item->material_name);
        o.set("reason", item->reason);
        if (active && state.error != nullptr) {
          for (const auto& fe : state.error->fields) {
            if (fe.field == field) o.set("error", fe.message);
          }
          placed.insert(field);
        }
        for (const auto& [f, file] : state.kept) {
          if (f == field) SetKept(o, file);
        }
        items.push_back(o);
      }
      data.set("resubmit_items", items);
      form_data("resubmit", {"note", "files"});
    }
    data.set("error_list", MessagesData(Unplaced(state.error, placed)));
    return data;
  }

  asio::awaitable<Response> Show(Request& req) {
    const auth::Principal* who = auth::CurrentPrincipal(req);
    if (who == nullptr) co_return Refuse(req, Error{ErrorCode::kUnauthenticated, "", {}});
    const std::string number = req.Param("number").value_or("");
    auto d = co_await LoadDetail(who, number);
    if (!d) co_return Refuse(req, d.error());
    const ActionState none;
    co_return Render(req, d->c.number, "services_desk_case", DetailData(req, *d, none));
  }

  // ---- POST /desk/cases/{number}/{action} -----------------------------------------------------

  // Files kept from an earlier failed submit of the same form: hidden kept_<field>_* inputs that
  // name a file already in the store.
  std::vector<std::pair<std::string, UploadedFile>> KeptFiles(
      const http::Form& form,
      const std::function<std::optional<int64_t>(const std::string&)>& material_of) const {
    std::vector<std::pair<std::string, UploadedFile>> out;
    constexpr std::string_view kSuffix = "_kept_sha256";
    for (const auto& [name, value] : form.items()) {
      if (name.size() <= kSuffix.size() ||
          name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
        continue;
      }
      const std::string field = name.substr(0, name.size() - kSuffix.size());
      auto mid = material_of(field);
      if (!mid || value.empty()) continue;
      UploadedFile f;
      f.material_id = *mid;
      f.sha256 = value;
      f.name = form.GetOr(field + "_kept_name");
      f.content_type = form.GetOr(field + "_kept_type");
      int64_t size = 0;
      const std::string s = form.GetOr(field + "_kept_size");
      std::from_chars(s.data(), s.data() + s.size(), size);
      f.size = size;
      // Only a file this form stored itself comes back (the signature).
      if (form.GetOr(field + "_kept_sig") != KeptSignature(f)) continue;
      out.emplace_back(field, f);
    }
    return out;
  }

  // The signature of a kept file's hidden fields (the same as the public pages'), so a form can
  // only carry back a file it uploaded, never name another stored file.
  std::string KeptSignature(const UploadedFile& f) const {
    return env_->keys->BlindIndex(
        "services.kept_file",
        f.sha256 + "\n" + f.name + "\n" + f.content_type + "\n" + std::to_string(f.size));
  }

  void SetKept(Data& o, const UploadedFile& file) const {
    o.set("kept_name", file.name);
    o.set("kept_sha256", file.sha256);
    o.set("kept_type", file.content_type);
    o.set("kept_size", std::to_string(file.size));
    o.set("kept_sig", KeptSignature(file));
  }

  asio::awaitable<Response> Act(Request& req) {
    const auth::Principal* who = auth::CurrentPrincipal(req);
    if (who == nullptr) co_return Refuse(req, Error{ErrorCode::kUnauthenticated, "", {}});
    const std::string number = req.Param("number").value_or("");
    const std::string action_name = req.Param("action").value_or("");
    auto action = ActionFromName(action_name);
    static const std::set<Action> kDeskActions = {
        Action::kAccept,   Action::kReject, Action::kRequestCorrection, Action::kTransfer,
        Action::kComplete, Action::kNote,   Action::kResubmit};
    if (!action || !kDeskActions.contains(*action)) {
      co_return Refuse(req, Error::NotFound());
    }
    auto posted = ReadPosted(req);
    if (!posted) co_return web::ErrorPage(req, env_->view, HttpStatus::bad_request);
    const http::Form& form = posted->fields;

    TransitionInput input;
    input.action = *action;
    input.note = form.GetOr("note");
    if (auto s = StatusFromName(form.GetOr("expect_status"))) input.expect_status = *s;
    ActionState state;
    state.action = action_name;
    state.values = form;
    Error local;  // field messages found here, before the service
    switch (*action) {
      case Action::kReject:
        input.note = form.GetOr("reason");
        break;
      case Action::kRequestCorrection:
        for (const auto& [name, value] : form.items()) {
          if (name.rfind("item_", 0) != 0 || value != "1") continue;
          auto mid = ParseId(std::string_view(name).substr(5));
          if (!mid) continue;
          CorrectionItem item;
          item.material_id = *mid;
          item.reason = people::Trim(form.GetOr("reason_" + std::to_string(*mid)));
          input.corrections.push_back(std::move(item));
        }
        break;
      case Action::kTransfer:
        input.target_unit_id = ParseId(form.GetOr("target_unit_id")).value_or(0);
        break;
      case Action::kComplete:
        input.result = form.GetOr("result");
        break;
      default:
        break;
    }
    // Files: result documents of 办结, corrected materials of 补正.
    std::function<std::optional<int64_t>(const std::string&)> material_of =
        [&](const std::string& field) -> std::optional<int64_t> {
      if (*action == Action::kComplete &&
          (field == "result_file_1" || field == "result_file_2" || field == "result_file_3")) {
        return 0;
      }
      if (*action == Action::kResubmit && field.rfind("file_", 0) == 0) {
        return ParseId(std::string_view(field).substr(5));
      }
      return std::nullopt;
    };
    if (*action == Action::kComplete || *action == Action::kResubmit) {
      state.kept = KeptFiles(form, material_of);
      co_await KeepKept(state.kept);
      auto stored = co_await StoreUploads(posted->files, material_of);
      for (auto& [field, f] : stored.by_field) {
        // A new file for a field replaces the one kept from before.
        std::erase_if(state.kept, [&](const auto& k) { return k.first == field; });
        state.kept.emplace_back(field, f);
      }
      for (const auto& fe : stored.error.fields) AddFieldError(local, fe.field, fe.message);
      for (const auto& [_, f] : state.kept) input.files.push_back(f);
    }

    Result<std::string> done = Error::Internal("");
    if (!local.fields.empty()) {
      done = local;
    } else {
      const Env& env = *env_;
      const audit::Actor actor = ActorOf(req, *who);
      const std::string token = form.GetOr(std::string(web::kOnceField));
      auto work = [&env, &actor, &input, &number, &token, &action_name,
                   who](db::Conn& c) -> Result<std::string> {
        auto claim = web::ClaimOnce(c, env.clock, kCaseForm, token);
        if (!claim) return std::move(claim).error();
        if (*claim) return claim->value_or("");
        auto bound = env.Bind(c);
        auto changed = Transition(c, bound.deps, actor, who, number, input);
        if (!changed) return std::move(changed).error();
        std::string url = "/desk/cases/" + changed->number + "?done=" + action_name;
        // After a hand-over the case may be out of sight: go back to the queue.
        if (!auth::Authorize(who, Perm::kCaseView, changed->unit_path).ok() &&
            !auth::Authorize(who, Perm::kCaseView, changed->origin_path).ok()) {
          url = "/desk/cases?done=" + action_name;
        }
        if (auto s = web::FinishOnce(c, token, url); !s) return std::move(s).error();
        return url;
      };
      done = co_await env_->db.Write<std::string>(work);
      env_->caches->CasesChanged();
    }
    if (done) {
      co_return http::Redirect(done->empty() ? "/desk/cases/" + number : *done);
    }
    const Error& err = done.error();
    if (err.code != ErrorCode::kInvalidInput && err.code != ErrorCode::kConflict) {
      co_return Refuse(req, err);
    }
    auto d = co_await LoadDetail(who, number);
    if (!d) co_return Refuse(req, d.error());
    if (err.code == ErrorCode::kConflict) {
      state.conflict = err.message;
      state.action.clear();
      co_return Render(req, d->c.number, "services_desk_case", DetailData(req, *d, state),
                       HttpStatus::conflict);
    }
    state.error = &err;
    co_return Render(req, d->c.number, "services_desk_case", DetailData(req, *d, state),
                     HttpStatus::unprocessable_entity);
  }

  // ---- GET/POST /desk/apply: walk-in at the window, or 代办 by a village cadre ----------------

  struct ApplyState {
    http::Form values;
    const Error* error = nullptr;
    std::vector<std::pair<std::string, UploadedFile>> kept;
  };

  // Which channel this person applies through: 代办 for a village cadre, else the window. A
  // person holding both may choose with ?channel=.
  static Channel ChannelFor(const auth::Principal* who, std::string_view asked) {
    const bool proxy = auth::AuthorizeAny(who, Perm::kCaseApplyForOthers).ok();
    const bool window = auth::AuthorizeAny(who, Perm::kCaseHandle).ok();
    if (asked == "window" && window) return Channel::kWindow;
    if (asked == "proxy" && proxy) return Channel::kProxy;
    return HasRole(who, auth::Role::kVillageCadre) && proxy ? Channel::kProxy : Channel::kWindow;
  }

  struct ApplyData {
    std::vector<Service> services;   // step 1
    std::optional<Service> service;  // step 2
    std::vector<org::OrgUnit> villages;
  };

  asio::awaitable<Result<ApplyData>> LoadApply(const auth::Principal* who, Channel channel,
                                               std::string code, std::string q) {
    auto work = [who, channel, code, q](db::Conn& c) -> Result<ApplyData> {
      ApplyData out;
      auto all = org::AllUnits(c);
      if (!all) return std::move(all).error();
      const Perm perm = channel == Channel::kProxy ? Perm::kCaseApplyForOthers : Perm::kCaseHandle;
      if (code.empty()) {
        ServiceQuery query;
        query.text = q;
        query.proxy_only = channel == Channel::kProxy;
        query.limit = 500;
        auto list = ListServices(c, query);
        if (!list) return std::move(list).error();
        for (auto& s : *list) {
          // 代办: any service that allows it; at the window: the services of one's own windows.
          if (channel == Channel::kWindow &&
              !auth::Authorize(who, Perm::kCaseHandle, s.unit_path).ok()) {
            continue;
          }
          out.services.push_back(std::move(s));
        }
        return out;
      }
      auto svc = GetServiceByCode(c, code);
      if (!svc) return std::move(svc).error();
      if (!*svc || (*svc)->retired) return Error::NotFound("事项不存在");
      out.service = **svc;
      // Villages: those in the cadre's scope for 代办; the villages of the service's town at
      // the window.
      std::string town_path;
      for (const auto& u : *all) {
        if (u.kind == org::UnitKind::kTown && org::PathWithin(out.service->unit_path, u.path)) {
          town_path = u.path;
        }
      }
      for (const auto& u : *all) {
        if (u.kind != org::UnitKind::kVillage || u.retired()) continue;
        const bool ok = channel == Channel::kProxy
                            ? auth::Authorize(who, perm, u.path).ok()
                            : !town_path.empty() && org::PathWithin(u.path, town_path);
        if (ok) out.villages.push_back(u);
      }
      return out;
    };
    co_return co_await env_->db.Read<ApplyData>(work);
  }

  Data ApplyFormData(const ApplyData& d, Channel channel, const ApplyState& state) const {
    const Service& s = *d.service;
    Data data = Obj();
    data.set("step_form", true);
    data.set("channel", std::string(ChannelName(channel)));
    data.set("channel_label", std::string(ChannelLabel(channel)));
    if (channel == Channel::kProxy) data.set("proxy", true);
    if (channel == Channel::kWindow) data.set("window", true);
    Data svc = Obj();
    svc.set("code", s.code);
    svc.set("name", s.name);
    svc.set("unit_name", s.unit_name);
    svc.set("promised_days", std::to_string(s.promised_days));
    data.set("service", svc);
    const http::Form& v = state.values;
    Data f = Obj();
    for (const char* name : {"name", "id_card", "phone", "address", "enterprise_name", "uscc",
                             "legal_rep", "description"}) {
      f.set(name, v.GetOr(name));
    }
    const std::string kind = v.GetOr("applicant_kind", "person");
    if (kind == "enterprise" && channel != Channel::kProxy) {
      f.set("enterprise", true);
    } else {
      f.set("person", true);
    }
    data.set("f", f);
    const std::string village = v.GetOr("village_id");
    Data villages = List();
    for (const auto& u : d.villages) {
      Data o = Obj();
      o.set("value", std::to_string(u.id));
      o.set("label", u.name);
      if (village == std::to_string(u.id) || d.villages.size() == 1) o.set("selected", true);
      villages.push_back(o);
    }
    data.set("villages", villages);
    if (d.villages.size() != 1) data.set("choose_village", true);
    data.set("errors", ErrorsData(state.error));
    std::set<std::string> placed = {"name",        "id_card",         "phone", "village_id",
                                    "address",     "enterprise_name", "uscc",  "legal_rep",
                                    "description", "applicant_kind",  "files"};
    Data materials = List();
    for (const auto& m : s.materials) {
      Data o = Obj();
      const std::string field = "file_" + std::to_string(m.id);
      o.set("field", field);
      o.set("name", m.name);
      o.set("form", std::string(MaterialFormLabel(m.form)));
      o.set("copies", std::to_string(m.copies));
      if (!m.note.empty()) o.set("note", m.note);
      if (m.required) o.set("required", true);
      if (!m.sample_sha256.empty()) {
        o.set("sample_url", "/services/materials/" + std::to_string(m.id) + "/sample");
      }
      if (state.error != nullptr) {
        for (const auto& fe : state.error->fields) {
          if (fe.field == field) o.set("error", fe.message);
        }
      }
      placed.insert(field);
      for (const auto& [kf, file] : state.kept) {
        if (kf == field) SetKept(o, file);
      }
      materials.push_back(o);
    }
    data.set("materials", materials);
    if (!s.materials.empty()) data.set("has_materials", true);
    if (state.error != nullptr) {
      data.set("form_error", T("services.desk.form_error"));
      data.set("error_list", MessagesData(Unplaced(state.error, placed)));
    }
    data.set("max_mb", std::to_string(env_->max_upload_bytes / (1024 * 1024)));
    return data;
  }

  asio::awaitable<Response> ApplyPage(Request& req) {
    const auth::Principal* who = auth::CurrentPrincipal(req);
    if (!auth::AuthorizeAny(who, Perm::kCaseHandle).ok()) {
      if (auto s = auth::AuthorizeAny(who, Perm::kCaseApplyForOthers); !s) {
        co_return Refuse(req, s.error());
      }
    }
    const http::Form& query = req.QueryForm();
    const Channel channel = ChannelFor(who, query.GetOr("channel"));
    const std::string code = query.GetOr("service");
    const std::string q = people::Trim(query.GetOr("q"));
    auto d = co_await LoadApply(who, channel, code, q);
    if (!d) co_return Refuse(req, d.error());
    const std::string title = T(channel == Channel::kProxy ? "services.desk.apply_proxy_title"
                                                           : "services.desk.apply_window_title");
    if (!d->service) {
      Data data = Obj();
      data.set("step_pick", true);
      data.set("channel", std::string(ChannelName(channel)));
      if (channel == Channel::kProxy) data.set("proxy", true);
      data.set("q", q);
      Data list = List();
      for (const auto& s : d->services) {
        Data o = Obj();
        o.set("code", s.code);
        o.set("name", s.name);
        o.set("unit_name", s.unit_name);
        o.set("promised_days", std::to_string(s.promised_days));
        o.set("url", "/desk/apply?service=" + http::PercentEncode(s.code) +
                         "&channel=" + std::string(ChannelName(channel)));
        list.push_back(o);
      }
      data.set("services", list);
      if (d->services.empty()) data.set("no_services", true);
      co_return Render(req, title, "services_desk_apply", std::move(data));
    }
    if (channel == Channel::kProxy && !d->service->proxy) {
      Data data = Obj();
      data.set("step_pick", true);
      data.set("channel", std::string(ChannelName(channel)));
      data.set("proxy", true);
      data.set("services", List());
      data.set("pick_error", T("services.desk.not_proxy_service"));
      co_return Render(req, title, "services_desk_apply", std::move(data),
                       HttpStatus::unprocessable_entity);
    }
    ApplyState state;
    if (query.GetOr("kind") == "enterprise") state.values.Add("applicant_kind", "enterprise");
    co_return Render(req, title, "services_desk_apply", ApplyFormData(*d, channel, state));
  }

  asio::awaitable<Response> ApplyPost(Request& req) {
    const auth::Principal* who = auth::CurrentPrincipal(req);
    if (!auth::AuthorizeAny(who, Perm::kCaseHandle).ok()) {
      if (auto s = auth::AuthorizeAny(who, Perm::kCaseApplyForOthers); !s) {
        co_return Refuse(req, s.error());
      }
    }
    auto posted = ReadPosted(req);
    if (!posted) co_return web::ErrorPage(req, env_->view, HttpStatus::bad_request);
    const http::Form& form = posted->fields;
    const Channel channel = ChannelFor(who, form.GetOr("channel"));
    const std::string code = form.GetOr("service");
    const std::string no_query;
    auto d = co_await LoadApply(who, channel, code, no_query);
    if (!d) co_return Refuse(req, d.error());
    const Service& service = *d->service;

    ApplyState state;
    state.values = form;
    std::function<std::optional<int64_t>(const std::string&)> material_of =
        [&service](const std::string& field) -> std::optional<int64_t> {
      if (field.rfind("file_", 0) != 0) return std::nullopt;
      auto id = ParseId(std::string_view(field).substr(5));
      if (!id) return std::nullopt;
      for (const auto& m : service.materials) {
        if (m.id == *id) return *id;
      }
      return std::nullopt;
    };
    state.kept = KeptFiles(form, material_of);
    co_await KeepKept(state.kept);
    auto stored = co_await StoreUploads(posted->files, material_of);
    for (auto& [field, f] : stored.by_field) {
      std::erase_if(state.kept, [&](const auto& k) { return k.first == field; });
      state.kept.emplace_back(field, f);
    }

    ApplyInput input;
    input.service_id = service.id;
    input.channel = channel;
    input.applicant_kind =
        channel == Channel::kProxy ? "person" : form.GetOr("applicant_kind", "person");
    input.name = form.GetOr("name");
    input.id_card = form.GetOr("id_card");
    input.phone = form.GetOr("phone");
    input.address = form.GetOr("address");
    input.village_id = ParseId(form.GetOr("village_id")).value_or(0);
    input.enterprise_name = form.GetOr("enterprise_name");
    input.uscc = form.GetOr("uscc");
    input.legal_rep = form.GetOr("legal_rep");
    input.description = form.GetOr("description");
    for (const auto& [_, f] : state.kept) input.files.push_back(f);

    Result<std::string> done = Error::Internal("");
    if (!stored.error.fields.empty()) {
      done = stored.error;
    } else {
      const Env& env = *env_;
      const audit::Actor actor = ActorOf(req, *who);
      const std::string token = form.GetOr(std::string(web::kOnceField));
      auto work = [&env, &actor, &input, &token, who](db::Conn& c) -> Result<std::string> {
        auto claim = web::ClaimOnce(c, env.clock, kApplyForm, token);
        if (!claim) return std::move(claim).error();
        if (*claim) return claim->value_or("");
        auto bound = env.Bind(c);
        auto made = Apply(c, bound.deps, actor, who, input);
        if (!made) return std::move(made).error();
        std::string url = "/desk/cases/" + made->number + "?done=created";
        if (auto s = web::FinishOnce(c, token, url); !s) return std::move(s).error();
        return url;
      };
      done = co_await env_->db.Write<std::string>(work);
      env_->caches->CasesChanged();
    }
    if (done) co_return http::Redirect(done->empty() ? "/desk/cases" : *done);
    if (done.error().code != ErrorCode::kInvalidInput) co_return Refuse(req, done.error());
    // Keep everything typed; a service_id message means the service no longer takes the case.
    Error err = done.error();
    state.error = &err;
    const std::string title = T(channel == Channel::kProxy ? "services.desk.apply_proxy_title"
                                                           : "services.desk.apply_window_title");
    co_return Render(req, title, "services_desk_apply", ApplyFormData(*d, channel, state),
                     HttpStatus::unprocessable_entity);
  }

  // ---- GET /desk/proxy: the cadre's 代办 cases ------------------------------------------------

  asio::awaitable<Response> Proxy(Request& req) {
    const auth::Principal* who = auth::CurrentPrincipal(req);
    if (auto s = auth::AuthorizeAny(who, Perm::kCaseApplyForOthers); !s) {
      co_return Refuse(req, s.error());
    }
    Filter filter = ParseFilter(req.QueryForm());
    const std::string status = req.QueryForm().GetOr("status", "all");
    filter.status = status;
    filter.query.statuses.clear();
    filter.query.order_recent = true;
    if (status == "open") {
      filter.query.statuses = {CaseStatus::kSubmitted, CaseStatus::kCorrecting,
                               CaseStatus::kAccepted};
    } else if (auto st = StatusFromName(status)) {
      filter.query.statuses = {*st};
    } else {
      filter.status = "all";
    }
    filter.query.channel = Channel::kProxy;
    filter.query.due_state.reset();
    const Env& env = *env_;
    struct ProxyData {
      CasePage page;
      int64_t correcting = 0;
      std::shared_ptr<const WorkCalendar> cal;
    };
    auto work = [&env, &filter, who](db::Conn& c) -> Result<ProxyData> {
      auto bound = env.Bind(c);
      ProxyData out;
      out.cal = bound.calendar;
      auto page = ListCases(c, bound.deps, *who, filter.query);
      if (!page) return std::move(page).error();
      out.page = std::move(*page);
      CaseQuery waiting;
      waiting.channel = Channel::kProxy;
      waiting.statuses = {CaseStatus::kCorrecting};
      waiting.limit = 500;
      auto w = ListCases(c, bound.deps, *who, waiting);
      if (!w) return std::move(w).error();
      out.correcting = static_cast<int64_t>(w->cases.size());
      return out;
    };
    auto loaded = co_await env_->db.Read<ProxyData>(work);
    if (!loaded && loaded.error().code == ErrorCode::kInvalidInput) {
      filter.query.after.reset();
      loaded = co_await env_->db.Read<ProxyData>(work);
    }
    if (!loaded) co_return Refuse(req, loaded.error());
    const Date today = ShanghaiDate(env_->clock.NowMs());
    Data data = Obj();
    Data rows = List();
    for (const auto& c : loaded->page.cases) rows.push_back(CaseRow(c, *loaded->cal, today));
    data.set("rows", rows);
    if (loaded->page.cases.empty()) data.set("empty", true);
    data.set("correcting_count", std::to_string(loaded->correcting));
    if (loaded->correcting > 0) data.set("has_correcting", true);
    Data tabs = List();
    for (auto [value, label] :
         {std::pair<std::string, std::string>{"all", T("services.desk.status_all")},
          {"open", T("services.desk.status_open")},
          {"correcting", std::string(StatusLabel(CaseStatus::kCorrecting))},
          {"completed", std::string(StatusLabel(CaseStatus::kCompleted))}}) {
      Data o = Obj();
      o.set("label", label);
      o.set("url", "/desk/proxy?status=" + value);
      if (filter.status == value) o.set("current", true);
      tabs.push_back(o);
    }
    data.set("tabs", tabs);
    if (loaded->page.next) {
      data.set("next_url", "/desk/proxy?status=" + filter.status +
                               "&after=" + http::PercentEncode(*loaded->page.next));
    }
    if (auth::AuthorizeAny(who, Perm::kCaseHandle).ok()) data.set("can_queue", true);
    co_return Render(req, T("services.desk.proxy_title"), "services_desk_proxy", std::move(data));
  }

  // ---- GET /desk/overview: the leader's view of every window ---------------------------------

  Data StatsData(const UnitStats& s, bool total) const {
    Data d = Obj();
    d.set("name", s.unit_name);
    const std::string unit = total ? "" : "unit=" + std::to_string(s.unit_id);
    auto url = [&](std::string extra) {
      std::string q = unit;
      if (!extra.empty()) q += (q.empty() ? "" : "&") + extra;
      return "/desk/cases" + (q.empty() ? "" : "?" + q);
    };
    d.set("open", std::to_string(s.open));
    d.set("open_url", url(""));
    d.set("due_soon", std::to_string(s.due_soon));
    d.set("due_soon_url", url("due=due_soon"));
    if (s.due_soon > 0) d.set("has_due_soon", true);
    d.set("overdue", std::to_string(s.overdue));
    d.set("overdue_url", url("due=overdue"));
    if (s.overdue > 0) d.set("has_overdue", true);
    d.set("correcting", std::to_string(s.correcting));
    d.set("correcting_url", url("status=correcting"));
    d.set("completed", std::to_string(s.completed));
    d.set("completed_overdue", std::to_string(s.completed_overdue));
    if (s.completed_overdue > 0) d.set("has_completed_overdue", true);
    d.set("ratings", std::to_string(s.ratings));
    if (s.ratings > 0) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "%.1f", s.average_rating);
      d.set("average", std::string(buf));
    } else {
      d.set("average", "—");
    }
    d.set("bad_ratings", std::to_string(s.bad_ratings));
    if (s.bad_ratings > 0) d.set("has_bad_ratings", true);
    d.set("open_followups", std::to_string(s.open_followups));
    if (s.open_followups > 0) d.set("has_open_followups", true);
    return d;
  }

  asio::awaitable<Response> OverviewPage(Request& req) {
    const auth::Principal* who = auth::CurrentPrincipal(req);
    if (auto s = auth::AuthorizeAny(who, Perm::kCaseView); !s) co_return Refuse(req, s.error());
    const Date today = ShanghaiDate(env_->clock.NowMs());
    const http::Form& query = req.QueryForm();
    std::string from_text = people::Trim(query.GetOr("from"));
    std::string to_text = people::Trim(query.GetOr("to"));
    Date from{today.year, today.month, 1};
    Date to = today;
    Error error;
    if (!from_text.empty() && !ParseDate(from_text, &from)) {
      AddFieldError(error, "from", "日期格式应为 2026-11-30");
    }
    if (!to_text.empty() && !ParseDate(to_text, &to)) {
      AddFieldError(error, "to", "日期格式应为 2026-11-30");
    }
    if (error.fields.empty() && to < from) {
      AddFieldError(error, "to", "结束日期不能早于开始日期");
    }
    if (!error.fields.empty()) {
      from = Date{today.year, today.month, 1};
      to = today;
    }
    const Env& env = *env_;
    // Kept for a few seconds like the queue's counts (desk_cache.hpp): per day, period and scope.
    std::string key = FormatDate(today) + "|" + FormatDate(from) + "|" + FormatDate(to);
    for (const auto& scope : auth::ScopesFor(*who, Perm::kCaseView)) {
      key += (scope.exact ? "|=" : "|<") + scope.path;
    }
    const uint64_t generation = env.caches->overview.Generation();
    auto work = [&env, who, from, to, &key, generation](db::Conn& c) -> Result<Overview> {
      if (auto hit = env.caches->overview.Get(key)) return std::move(*hit);
      auto bound = env.Bind(c);
      auto computed = CaseOverview(c, bound.deps, *who, from, to);
      if (computed) env.caches->overview.Put(key, generation, *computed);
      return computed;
    };
    auto overview = co_await env_->db.Read<Overview>(work);
    if (!overview) co_return Refuse(req, overview.error());
    Data data = Obj();
    data.set("from", from_text.empty() ? FormatDate(from) : from_text);
    data.set("to", to_text.empty() ? FormatDate(to) : to_text);
    data.set("period", FormatDateChinese(from) + " — " + FormatDateChinese(to));
    data.set("errors", ErrorsData(&error));
    Data units = List();
    for (const auto& s : overview->units) units.push_back(StatsData(s, false));
    data.set("units", units);
    if (overview->units.empty()) data.set("empty", true);
    data.set("total", StatsData(overview->total, true));
    co_return Render(req, T("services.desk.overview_title"), "services_desk_overview",
                     std::move(data),
                     error.fields.empty() ? HttpStatus::ok : HttpStatus::unprocessable_entity);
  }

  // ---- follow-ups (回访/整改) ------------------------------------------------------------------

  struct FollowUpState {
    int64_t id = 0;
    std::string outcome;
    const Error* error = nullptr;
    std::string conflict;
  };

  asio::awaitable<Response> FollowUpsPage(Request& req, const FollowUpState& state,
                                          HttpStatus status) {
    const auth::Principal* who = auth::CurrentPrincipal(req);
    if (auto s = auth::AuthorizeAny(who, Perm::kCaseView); !s) co_return Refuse(req, s.error());
    const bool all = req.QueryForm().GetOr("all") == "1";
    const Env& env = *env_;
    auto work = [&env, who, all](db::Conn& c) -> Result<std::vector<FollowUp>> {
      auto bound = env.Bind(c);
      FollowUpQuery q;
      q.open_only = !all;
      q.limit = 200;
      return ListFollowUps(c, bound.deps, *who, q);
    };
    auto list = co_await env_->db.Read<std::vector<FollowUp>>(work);
    if (!list) co_return Refuse(req, list.error());
    const Date today = ShanghaiDate(env_->clock.NowMs());
    const bool may_close = auth::AuthorizeAny(who, Perm::kCaseHandle).ok();
    Data rows = List();
    for (const auto& f : *list) {
      Data o = Obj();
      o.set("id", std::to_string(f.id));
      o.set("number", f.case_number);
      o.set("case_url", "/desk/cases/" + f.case_number);
      o.set("score", std::string(RatingLabel(f.score)));
      o.set("owner", f.owner_name.empty() ? T("services.desk.no_owner") : f.owner_name);
      o.set("due", FormatDate(f.due));
      o.set("created", FormatShanghaiMinute(f.created_at_ms));
      if (f.closed) {
        o.set("closed", true);
        o.set("outcome", f.outcome);
        if (f.closed_at_ms) o.set("closed_at", FormatShanghaiMinute(*f.closed_at_ms));
      } else {
        if (today > f.due) o.set("overdue", true);
        if (may_close) o.set("can_close", true);
        if (state.id == f.id) {
          o.set("value", state.outcome);
          if (state.error != nullptr) {
            for (const auto& fe : state.error->fields) {
              if (fe.field == "outcome") o.set("error", fe.message);
            }
          }
          if (!state.conflict.empty()) o.set("error", state.conflict);
        }
      }
      rows.push_back(o);
    }
    Data data = Obj();
    data.set("rows", rows);
    if (list->empty()) data.set("empty", true);
    if (all) data.set("all", true);
    if (req.QueryForm().GetOr("done") == "closed") {
      data.set("notice", T("services.desk.followup_closed"));
    }
    if (state.error != nullptr || !state.conflict.empty()) {
      data.set("form_error",
               state.conflict.empty() ? T("services.desk.form_error") : state.conflict);
    }
    co_return Render(req, T("services.desk.followups_title"), "services_desk_followups",
                     std::move(data), status);
  }

  asio::awaitable<Response> FollowUps(Request& req) {
    const FollowUpState none;
    co_return co_await FollowUpsPage(req, none, HttpStatus::ok);
  }

  asio::awaitable<Response> CloseFollowUpPost(Request& req) {
    const auth::Principal* who = auth::CurrentPrincipal(req);
    if (auto s = auth::AuthorizeAny(who, Perm::kCaseHandle); !s) co_return Refuse(req, s.error());
    auto id = ParseId(req.Param("id").value_or(""));
    if (!id) co_return Refuse(req, Error::NotFound());
    const http::Form& form = req.BodyForm();
    const std::string outcome = form.GetOr("outcome");
    const std::string token = form.GetOr(std::string(web::kOnceField));
    const Env& env = *env_;
    const audit::Actor actor = ActorOf(req, *who);
    const int64_t fid = *id;
    auto work = [&env, &actor, &outcome, &token, who, fid](db::Conn& c) -> Result<std::string> {
      auto claim = web::ClaimOnce(c, env.clock, kFollowUpForm, token);
      if (!claim) return std::move(claim).error();
      if (*claim) return claim->value_or("");
      auto bound = env.Bind(c);
      auto closed = CloseFollowUp(c, bound.deps, actor, who, fid, outcome);
      if (!closed) return std::move(closed).error();
      const std::string url = "/desk/followups?done=closed";
      if (auto s = web::FinishOnce(c, token, url); !s) return std::move(s).error();
      return url;
    };
    auto done = co_await env_->db.Write<std::string>(work);
    env_->caches->CasesChanged();
    if (done) co_return http::Redirect(done->empty() ? "/desk/followups" : *done);
    const Error& err = done.error();
    FollowUpState state;
    state.id = fid;
    state.outcome = outcome;
    if (err.code == ErrorCode::kInvalidInput) {
      state.error = &err;
      co_return co_await FollowUpsPage(req, state, HttpStatus::unprocessable_entity);
    }
    if (err.code == ErrorCode::kConflict) {
      state.conflict = err.message;
      co_return co_await FollowUpsPage(req, state, HttpStatus::conflict);
    }
    co_return Refuse(req, err);
  }

 private:
  std::shared_ptr<Env> env_;
  BlockingPool& pool_;
};

}  // namespace

void RegisterDeskRoutes(web::ModuleContext& ctx, std::shared_ptr<Env> env) {
  auto desk = std::make_shared<Desk>(ctx, std::move(env));
  auto bind = [desk](asio::awaitable<Response> (Desk::*fn)(Request&)) {
    return [desk, fn](Request& req) { return ((*desk).*fn)(req); };
  };
  ctx.router.Get("/desk", bind(&Desk::Home));
  ctx.router.Get("/desk/cases", bind(&Desk::Queue));
  ctx.router.Get("/desk/cases.csv",
                 [desk](Request& req) { return desk->Export(req, /*xlsx=*/false); });
  ctx.router.Get("/desk/cases.xlsx",
                 [desk](Request& req) { return desk->Export(req, /*xlsx=*/true); });
  ctx.router.Get("/desk/cases/{number}", bind(&Desk::Show));
  ctx.router.Post("/desk/cases/{number}/{action}", bind(&Desk::Act));
  ctx.router.Get("/desk/apply", bind(&Desk::ApplyPage));
  ctx.router.Post("/desk/apply", bind(&Desk::ApplyPost));
  ctx.router.Get("/desk/proxy", bind(&Desk::Proxy));
  ctx.router.Get("/desk/overview", bind(&Desk::OverviewPage));
  ctx.router.Get("/desk/followups", bind(&Desk::FollowUps));
  ctx.router.Post("/desk/followups/{id}/close", bind(&Desk::CloseFollowUpPost));
}

}  // namespace zhenwu::services
