// The JSON API of 政务服务 under /api/v1/: the catalogue and the cases (list, get, create,
// transition) and file uploads for case materials. Callers authenticate with an API token
// (Authorization: Bearer …); the service functions make the same permission checks as the pages.
// Errors are {"error":{"code","message","field"}} with the status web::StatusFor gives the code:
// a body that is not a JSON object (or not application/json) 400, invalid input 422 naming the
// field, a case outside the caller's scope 404, an illegal step 409.

#include <boost/json.hpp>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "audit/audit.hpp"
#include "auth/principal.hpp"
#include "core/blocking_pool.hpp"
#include "files/file_store.hpp"
#include "http/json_body.hpp"
#include "services/handlers.hpp"
#include "web/once.hpp"
#include "web/page.hpp"

namespace zhenwu::services {

namespace {

namespace json = boost::json;
using auth::Principal;
using http::bhttp::field;
using http::bhttp::status;

constexpr int kMaxPageSize = 500;
constexpr int kDefaultPageSize = 50;
constexpr std::size_t kMaxFilesPerRequest = 50;

// ---- small helpers ---------------------------------------------------------------------------

const std::string& S(const Env& env, std::string_view key) {
  return env.view.strings().Get(std::string("services.api.") + std::string(key));
}

http::Response JsonOk(status code, const json::value& body) {
  auto res = http::Json(code, json::serialize(body));
  res.set(field::cache_control, "no-store");
  return res;
}

http::Response Fail(const Error& error) {
  auto res = web::JsonError(error);
  res.set(field::cache_control, "no-store");
  if (error.code == ErrorCode::kUnauthenticated) {
    res.set(field::www_authenticate, "Bearer realm=\"zhenwu\"");
  }
  return res;
}

// The caller of an API request: only an API token counts. A browser session cookie does not
// (the API has no CSRF protection, so a cookie must never be enough to change anything).
Result<const Principal*> Caller(const Env& env, const http::Request& req) {
  const Principal* who = auth::CurrentPrincipal(req);
  if (who == nullptr || !who->session_id.empty()) {
    return Error{ErrorCode::kUnauthenticated, S(env, "token_required"), {}};
  }
  return who;
}

audit::Actor ActorOf(const http::Request& req, const Principal& who) {
  return audit::Actor{who.user_id, who.login, req.remote_ip, req.request_id};
}

// "2026-11-30T09:00:00+08:00": RFC 3339 in Shanghai time.
std::string Rfc3339(int64_t epoch_ms) {
  const int64_t local_ms = epoch_ms + kShanghaiOffsetMs;
  int64_t secs = local_ms / 1000;
  if (local_ms % 1000 < 0) --secs;
  int64_t day_secs = secs % 86400;
  if (day_secs < 0) day_secs += 86400;
  const Date d = ShanghaiDate(epoch_ms);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d+08:00", d.year, d.month, d.day,
                static_cast<int>(day_secs / 3600), static_cast<int>(day_secs / 60 % 60),
                static_cast<int>(day_secs % 60));
  return buf;
}

json::value OptTime(const std::optional<int64_t>& ms) {
  if (!ms) return nullptr;
  return json::value(Rfc3339(*ms));
}

json::value OptInt(const std::optional<int64_t>& v) {
  if (!v) return nullptr;
  return json::value(*v);
}

std::optional<int64_t> ParsePositive(std::string_view text) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != text.npos) {
    return std::nullopt;
  }
  const int64_t v = std::stoll(std::string(text));
  if (v <= 0) return std::nullopt;
  return v;
}

// ---- JSON request bodies ---------------------------------------------------------------------

// Typed reads of an object's members (http/json_body.hpp) that go on after a wrong one, so one
// answer names every wrong field; each is named by its path ("files.0.sha256").
class Reader {
 public:
  Reader(const Env& env, std::vector<FieldError>& errors) : env_(env), errors_(errors) {}

  // A string member ("" when absent or null).
  std::string Text(const json::object& o, std::string_view key, const std::string& path) {
    auto v = http::GetString(o, key, false);
    if (!v) return Keep(path, v.error(), std::string());
    return std::move(*v);
  }
  // An integer member (0 when absent or null). A number with a fraction is refused.
  int64_t Int(const json::object& o, std::string_view key, const std::string& path) {
    auto v = http::GetInt(o, key, false);
    if (!v) return Keep(path, v.error(), int64_t{0});
    return v->value_or(0);
  }
  // An array member (null when absent or null).
  const json::array* Array(const json::object& o, std::string_view key, const std::string& path) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) return nullptr;
    if (!v->is_array()) {
      Wrong(path, "want_array");
      return nullptr;
    }
    return &v->as_array();
  }
  const json::object* Object(const json::value& v, const std::string& path) {
    if (!v.is_object()) {
      Wrong(path, "want_object");
      return nullptr;
    }
    return &v.as_object();
  }
  // Records the message of catalogue entry services.api.`key` on `path` (once per path).
  void Wrong(const std::string& path, std::string_view key) { Add(path, S(env_, key)); }

 private:
  template <class T>
  T Keep(const std::string& path, const Error& e, T fallback) {
    Add(path, e.fields.empty() ? e.message : e.fields.front().message);
    return fallback;
  }
  void Add(const std::string& path, std::string message) {
    for (const auto& e : errors_) {
      if (e.field == path) return;
    }
    errors_.push_back({path, std::move(message)});
  }

  const Env& env_;
  std::vector<FieldError>& errors_;
};

Error InvalidFields(std::vector<FieldError> fields) {
  Error e{ErrorCode::kInvalidInput, fields.front().message, std::move(fields)};
  return e;
}

// A file named by its content address, as a request refers to an earlier upload.
struct FileRef {
  int64_t material_id = 0;
  std::string sha256;
  std::string name;
  std::string field;  // "files.0"
};

std::vector<FileRef> ReadFiles(Reader& r, const json::object& o) {
  std::vector<FileRef> out;
  const json::array* files = r.Array(o, "files", "files");
  if (files == nullptr) return out;
  if (files->size() > kMaxFilesPerRequest) {
    r.Wrong("files", "too_many_files");
    return out;
  }
  for (std::size_t i = 0; i < files->size(); ++i) {
    const std::string base = "files." + std::to_string(i);
    const json::object* f = r.Object((*files)[i], base);
    if (f == nullptr) continue;
    FileRef ref;
    ref.field = base;
    ref.material_id = r.Int(*f, "material_id", base + ".material_id");
    ref.sha256 = r.Text(*f, "sha256", base + ".sha256");
    ref.name = r.Text(*f, "name", base + ".name");
    if (!files::IsSha256Hex(ref.sha256)) {
      r.Wrong(base + ".sha256", "sha256_bad");
      continue;
    }
    if (ref.name.size() > 255) r.Wrong(base + ".name", "file_name_long");
    out.push_back(std::move(ref));
  }
  return out;
}

// The stored files behind `refs` (type and size from the file store, never from the caller).
Result<std::vector<UploadedFile>> ResolveFiles(const Env& env, const std::vector<FileRef>& refs) {
  std::vector<UploadedFile> out;
  if (env.files == nullptr) return Error::Unavailable(S(env, "files_off"));
  for (const auto& ref : refs) {
    // Type and size from the stored bytes (which Read also checks against their hash). Kept
    // first, so that the sweep of unreferenced files leaves it until the case refers to it.
    auto bytes = env.files->Keep(ref.sha256) ? env.files->Read(ref.sha256)
                                             : Result<std::string>(Error::NotFound("文件不存在"));
    if (!bytes) {
      if (bytes.error().code == ErrorCode::kNotFound) {
        return Error::Invalid(ref.field + ".sha256", S(env, "file_unknown"));
      }
      return std::move(bytes).error();
    }
    UploadedFile f;
    f.material_id = ref.material_id;
    f.sha256 = ref.sha256;
    f.name = ref.name.empty() ? ref.sha256.substr(0, 12) : ref.name;
    f.content_type = std::string(files::DetectType(*bytes));
    f.size = static_cast<int64_t>(bytes->size());
    out.push_back(std::move(f));
  }
  return out;
}

// ---- JSON renderings -------------------------------------------------------------------------

json::object UnitJson(int64_t id, const std::string& name) {
  return json::object{{"id", id}, {"name", name}};
}

json::object ServiceJson(const Service& s, bool detail) {
  json::array events;
  for (const auto& key : s.life_events) {
    auto label = LifeEventLabel(key);
    events.push_back(json::object{{"key", key}, {"label", label ? *label : std::string_view()}});
  }
  json::object o{
      {"id", s.id},
      {"code", s.code},
      {"name", s.name},
      {"category", s.category},
      {"unit", UnitJson(s.unit_id, s.unit_name)},
      {"life_events", std::move(events)},
      {"statutory_days", s.statutory_days},
      {"promised_days", s.promised_days},
      {"fee", s.fee},
      {"online", s.online},
      {"proxy", s.proxy},
      {"retired", s.retired},
  };
  if (detail) {
    o["legal_basis"] = s.legal_basis;
    o["conditions"] = s.conditions;
    o["place"] = s.place;
    o["hours"] = s.hours;
    o["phone"] = s.phone;
    json::array materials;
    for (const auto& m : s.materials) {
      json::object mo{{"id", m.id},
                      {"name", m.name},
                      {"form", MaterialFormName(m.form)},
                      {"form_label", MaterialFormLabel(m.form)},
                      {"copies", m.copies},
                      {"required", m.required},
                      {"note", m.note}};
      if (!m.sample_sha256.empty()) {
        mo["sample"] =
            json::object{{"url", "/services/materials/" + std::to_string(m.id) + "/sample"},
                         {"name", m.sample_name},
                         {"content_type", m.sample_type}};
      }
      materials.push_back(std::move(mo));
    }
    o["materials"] = std::move(materials);
  }
  return o;
}

json::object CaseJson(const ServiceCase& c, bool detail) {
  json::object applicant{{"kind", c.applicant_kind},
                         {"name", c.applicant_name},
                         {"phone", c.applicant_phone_mask},
                         {"resident_id", OptInt(c.resident_id)},
                         {"enterprise_id", OptInt(c.enterprise_id)},
                         {"user_id", OptInt(c.applicant_user_id)}};
  json::value agent = nullptr;
  if (c.agent_user_id) agent = json::object{{"user_id", *c.agent_user_id}, {"name", c.agent_name}};
  json::value rating = nullptr;
  if (c.rating) {
    rating = json::object{{"score", c.rating->score},
                          {"label", RatingLabel(c.rating->score)},
                          {"comment", c.rating->comment},
                          {"at", Rfc3339(c.rating->at_ms)}};
  }
  json::object o{
      {"number", c.number},
      {"service", json::object{{"id", c.service_id}, {"name", c.service_name}}},
      {"unit", UnitJson(c.unit_id, c.unit_name)},
      {"origin_unit_id", c.origin_unit_id},
      {"channel", ChannelName(c.channel)},
      {"channel_label", ChannelLabel(c.channel)},
      {"status", StatusName(c.status)},
      {"status_label", StatusLabel(c.status)},
      {"applicant", std::move(applicant)},
      {"agent", std::move(agent)},
      {"description", c.description},
      {"result", c.result},
      {"promised_days", c.promised_days},
      {"applied_on", FormatDate(c.clock.start)},
      {"due_on", c.due ? json::value(FormatDate(*c.due)) : json::value(nullptr)},
      {"due_state", DueStateName(c.due_state)},
      {"due_state_label", DueStateLabel(c.due_state)},
      {"paused_since",
       c.clock.paused_since ? json::value(FormatDate(*c.clock.paused_since)) : json::value()},
      {"correction_round", c.correction_round},
      {"created_at", Rfc3339(c.created_at_ms)},
      {"updated_at", Rfc3339(c.updated_at_ms)},
      {"completed_at", OptTime(c.completed_at_ms)},
      {"overdue_at_completion", c.overdue_at_completion},
      {"rating", std::move(rating)},
      {"demo", c.demo},
  };
  if (!detail) return o;
  json::array files;
  for (const auto& f : c.files) {
    files.push_back(json::object{{"id", f.id},
                                 {"url", "/files/case/" + std::to_string(f.id)},
                                 {"kind", f.kind},
                                 {"material_id", f.material_id},
                                 {"material_name", f.material_name},
                                 {"sha256", f.sha256},
                                 {"name", f.name},
                                 {"content_type", f.content_type},
                                 {"size", f.size},
                                 {"round", f.round},
                                 {"superseded", f.superseded},
                                 {"uploaded_at", Rfc3339(f.uploaded_at_ms)}});
  }
  json::array corrections;
  for (const auto& k : c.corrections) {
    corrections.push_back(json::object{{"round", k.round},
                                       {"material_id", k.material_id},
                                       {"material_name", k.material_name},
                                       {"reason", k.reason},
                                       {"resolved", k.resolved}});
  }
  json::array events;
  for (const auto& e : c.events) {
    events.push_back(json::object{
        {"action", ActionName(e.action)},
        {"action_label", ActionLabel(e.action)},
        {"from_status", e.from_status ? json::value(StatusName(*e.from_status)) : json::value()},
        {"to_status", StatusName(e.to_status)},
        {"at", Rfc3339(e.at_ms)},
        {"actor_user_id", OptInt(e.actor_user_id)},
        {"actor_name", e.actor_name},
        {"unit_name", e.unit_name},
        {"note", e.note},
        {"public", e.public_note}});
  }
  json::value followup = nullptr;
  if (c.followup) {
    const FollowUp& f = *c.followup;
    followup = json::object{{"id", f.id},
                            {"score", f.score},
                            {"owner_user_id", OptInt(f.owner_user_id)},
                            {"owner_name", f.owner_name},
                            {"due_on", FormatDate(f.due)},
                            {"closed", f.closed},
                            {"outcome", f.outcome},
                            {"created_at", Rfc3339(f.created_at_ms)},
                            {"closed_at", OptTime(f.closed_at_ms)}};
  }
  o["files"] = std::move(files);
  o["corrections"] = std::move(corrections);
  o["events"] = std::move(events);
  o["followup"] = std::move(followup);
  return o;
}

std::string CasePath(std::string_view number) { return "/api/v1/cases/" + std::string(number); }

// ---- catalogue -------------------------------------------------------------------------------

asio::awaitable<http::Response> ListServicesApi(const Env& env, BlockingPool&, http::Request& req) {
  auto who = Caller(env, req);
  if (!who) co_return Fail(who.error());
  const auto& q = req.QueryForm();
  ServiceQuery query;
  std::vector<FieldError> errors;
  if (auto w = q.Get("window"); w && !w->empty()) {
    if (auto id = ParsePositive(*w)) {
      query.unit_id = *id;
    } else {
      errors.push_back({"window", S(env, "bad_id")});
    }
  }
  if (auto e = q.Get("event"); e && !e->empty()) {
    if (LifeEventLabel(*e)) {
      query.life_event = *e;
    } else {
      errors.push_back({"event", S(env, "bad_event")});
    }
  }
  query.text = q.GetOr("q");
  query.online_only = q.GetOr("online") == "1" || q.GetOr("online") == "true";
  query.proxy_only = q.GetOr("proxy") == "1" || q.GetOr("proxy") == "true";
  query.limit = 1000;
  if (!errors.empty()) co_return Fail(InvalidFields(std::move(errors)));
  auto work = [&query](db::Conn& c) { return ListServices(c, query); };
  auto list = co_await env.db.Read<std::vector<Service>>(work);
  if (!list) co_return Fail(list.error());
  json::array items;
  for (const auto& s : *list) items.push_back(ServiceJson(s, false));
  co_return JsonOk(status::ok, json::object{{"services", std::move(items)}});
}

asio::awaitable<http::Response> GetServiceApi(const Env& env, BlockingPool&, http::Request& req) {
  auto who = Caller(env, req);
  if (!who) co_return Fail(who.error());
  const std::string code = req.Param("code").value_or("");
  auto work = [code](db::Conn& c) { return GetServiceByCode(c, code); };
  auto found = co_await env.db.Read<std::optional<Service>>(work);
  if (!found) co_return Fail(found.error());
  if (!*found) co_return Fail(Error::NotFound(S(env, "no_service")));
  co_return JsonOk(status::ok, ServiceJson(**found, true));
}

// ---- cases -----------------------------------------------------------------------------------

// The desk's filters from the query string: status (repeated or comma-separated), due, q,
// channel, unit_id, origin_unit_id, service_id, from, to, order=recent, limit, cursor.
Result<CaseQuery> ReadCaseQuery(const Env& env, const http::Form& q) {
  CaseQuery query;
  std::vector<FieldError> errors;
  for (const auto& value : q.GetAll("status")) {
    std::string_view rest = value;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const std::string_view name = rest.substr(0, comma);
      rest = comma == rest.npos ? std::string_view() : rest.substr(comma + 1);
      if (name.empty()) continue;
      if (auto s = StatusFromName(name)) {
        query.statuses.push_back(*s);
      } else {
        errors.push_back({"status", S(env, "bad_status")});
        break;
      }
    }
  }
  if (auto due = q.Get("due"); due && !due->empty()) {
    if (*due == "on_time") {
      query.due_state = DueState::kOnTime;
    } else if (*due == "due_soon") {
      query.due_state = DueState::kDueSoon;
    } else if (*due == "overdue") {
      query.due_state = DueState::kOverdue;
    } else {
      errors.push_back({"due", S(env, "bad_due")});
    }
  }
  query.text = q.GetOr("q");
  if (auto ch = q.Get("channel"); ch && !ch->empty()) {
    if (auto c = ChannelFromName(*ch)) {
      query.channel = *c;
    } else {
      errors.push_back({"channel", S(env, "bad_channel")});
    }
  }
  auto id_param = [&](std::string_view name, std::optional<int64_t>& out) {
    if (auto v = q.Get(name); v && !v->empty()) {
      if (auto id = ParsePositive(*v)) {
        out = *id;
      } else {
        errors.push_back({std::string(name), S(env, "bad_id")});
      }
    }
  };
  id_param("unit_id", query.unit_id);
  id_param("origin_unit_id", query.origin_unit_id);
  id_param("service_id", query.service_id);
  auto date_param = [&](std::string_view name, std::optional<Date>& out) {
    if (auto v = q.Get(name); v && !v->empty()) {
      Date d;
      if (ParseDate(*v, &d)) {
        out = d;
      } else {
        errors.push_back({std::string(name), S(env, "bad_date")});
      }
    }
  };
  date_param("from", query.from);
  date_param("to", query.to);
  if (auto order = q.Get("order"); order && !order->empty()) {
    if (*order == "recent") {
      query.order_recent = true;
    } else if (*order != "due") {
      errors.push_back({"order", S(env, "bad_order")});
    }
  }
  query.limit = kDefaultPageSize;
  if (auto limit = q.Get("limit"); limit && !limit->empty()) {
    auto n = ParsePositive(*limit);
    if (n && *n <= kMaxPageSize) {
      query.limit = static_cast<int>(*n);
    } else {
      errors.push_back({"limit", S(env, "bad_limit")});
    }
  }
  if (auto cursor = q.Get("cursor"); cursor && !cursor->empty()) query.after = *cursor;
  if (!errors.empty()) return InvalidFields(std::move(errors));
  return query;
}

// The query string of `req` with `cursor` replaced (for the next page's URL).
std::string NextUrl(const http::Request& req, const std::string& cursor) {
  std::string url = "/api/v1/cases?";
  bool first = true;
  for (const auto& [name, value] : req.QueryForm().items()) {
    if (name == "cursor") continue;
    if (!first) url += '&';
    first = false;
    url += http::PercentEncode(name) + "=" + http::PercentEncode(value);
  }
  if (!first) url += '&';
  url += "cursor=" + http::PercentEncode(cursor);
  return url;
}

asio::awaitable<http::Response> ListCasesApi(const Env& env, BlockingPool&, http::Request& req) {
  auto who = Caller(env, req);
  if (!who) co_return Fail(who.error());
  auto query = ReadCaseQuery(env, req.QueryForm());
  if (!query) co_return Fail(query.error());
  auto work = [&env, &query, p = *who](db::Conn& c) -> Result<CasePage> {
    auto bound = env.Bind(c);
    return ListCases(c, bound.deps, *p, *query);
  };
  auto page = co_await env.db.Read<CasePage>(work);
  if (!page) {
    // Beyond the filters read here, the only input ListCases can find wrong is the cursor.
    Error e = page.error();
    for (auto& f : e.fields) {
      if (f.field == "after") f.field = "cursor";
    }
    co_return Fail(e);
  }
  json::array items;
  for (const auto& c : page->cases) items.push_back(CaseJson(c, false));
  json::object body{{"cases", std::move(items)}};
  if (page->next) {
    body["next_cursor"] = *page->next;
    body["next"] = NextUrl(req, *page->next);
  } else {
    body["next_cursor"] = nullptr;
    body["next"] = nullptr;
  }
  co_return JsonOk(status::ok, body);
}

asio::awaitable<http::Response> GetCaseApi(const Env& env, BlockingPool&, http::Request& req) {
  auto who = Caller(env, req);
  if (!who) co_return Fail(who.error());
  const std::string number = req.Param("number").value_or("");
  if (!LooksLikeCaseNumber(number)) co_return Fail(Error::NotFound(S(env, "no_case")));
  auto work = [&env, number, p = *who](db::Conn& c) -> Result<ServiceCase> {
    auto bound = env.Bind(c);
    // A citizen sees their own case as the tracking page shows it (public events only).
    if (p->kind == Principal::Kind::kCitizen) return TrackCase(c, bound.deps, p, number, "");
    return GetCase(c, bound.deps, p, number);
  };
  auto found = co_await env.db.Read<ServiceCase>(work);
  if (!found) co_return Fail(found.error());
  co_return JsonOk(status::ok, CaseJson(*found, true));
}

// What a create or a step answers: the case, and whether it repeats an earlier request with the
// same Idempotency-Key.
struct Outcome {
  ServiceCase c;
  bool replayed = false;
};

// The one-time token (web/once.hpp) standing for an Idempotency-Key of one account's operation.
std::string OnceToken(const std::string& operation, const std::string& key) {
  return files::Sha256Hex(operation + "\n" + key);
}

// Claims the request's Idempotency-Key (if any) for `operation` of this caller. A repeat gives
// the number of the case the first request answered with. What is stored is a hash of the
// account, the operation and the key, so two clients that happen to pick the same key (or one
// client using a key for a create and a step) never answer each other.
Result<std::optional<std::string>> Claim(const Env& env, db::Conn& c, const std::string& key,
                                         const std::string& operation) {
  if (key.empty()) return std::optional<std::string>();
  if (!web::WellFormedOnceToken(key)) {
    return Error::Invalid(std::string(web::kIdempotencyKeyHeader), S(env, "key_bad"));
  }
  const std::string token = OnceToken(operation, key);
  auto claim = web::ClaimOnce(c, env.clock, operation, token);
  if (!claim) return std::move(claim).error();
  if (!*claim) return std::optional<std::string>();
  std::string number = **claim;
  const std::string prefix = "/api/v1/cases/";
  if (number.rfind(prefix, 0) == 0) number = number.substr(prefix.size());
  return std::optional<std::string>(std::move(number));
}

asio::awaitable<http::Response> CreateCaseApi(const Env& env, BlockingPool& pool,
                                              http::Request& req) {
  auto who = Caller(env, req);
  if (!who) co_return Fail(who.error());
  const Principal& p = **who;
  auto body = http::ParseJsonObject(req);
  if (!body) co_return Fail(body.error());
  const json::object& o = *body;

  std::vector<FieldError> errors;
  Reader r(env, errors);
  ApplyInput input;
  input.service_id = r.Int(o, "service_id", "service_id");
  input.service_code = r.Text(o, "service_code", "service_code");
  // Without a channel, Apply takes the caller's usual one.
  if (const std::string name = r.Text(o, "channel", "channel"); !name.empty()) {
    input.channel = ChannelFromName(name);
    if (!input.channel) r.Wrong("channel", "bad_channel");
  }
  input.applicant_kind = r.Text(o, "applicant_kind", "applicant_kind");
  if (input.applicant_kind.empty()) input.applicant_kind = "person";
  input.name = r.Text(o, "name", "name");
  input.id_card = r.Text(o, "id_card", "id_card");
  input.phone = r.Text(o, "phone", "phone");
  input.address = r.Text(o, "address", "address");
  input.village_id = r.Int(o, "village_id", "village_id");
  input.enterprise_name = r.Text(o, "enterprise_name", "enterprise_name");
  input.uscc = r.Text(o, "uscc", "uscc");
  input.legal_rep = r.Text(o, "legal_rep", "legal_rep");
  input.description = r.Text(o, "description", "description");
  std::vector<FileRef> refs = ReadFiles(r, o);
  if (input.service_id <= 0 && input.service_code.empty() && errors.empty()) {
    errors.push_back({"service_code", S(env, "service_required")});
  }
  if (!errors.empty()) co_return Fail(InvalidFields(std::move(errors)));
  if (!refs.empty()) {
    // Reading the stored files is disk work: on the blocking pool, not on this IO thread.
    auto resolve = [&env, &refs] { return ResolveFiles(env, refs); };
    auto files = co_await pool.Run(resolve);
    if (!files) co_return Fail(files.error());
    input.files = std::move(*files);
  }

  const std::string key = web::IdempotencyKey(req);
  const std::string operation = "api.services.case.create/" + std::to_string(p.user_id);
  const audit::Actor actor = ActorOf(req, p);
  auto work = [&env, &input, &key, &operation, &actor, &p](db::Conn& c) -> Result<Outcome> {
    auto bound = env.Bind(c);
    auto repeat = Claim(env, c, key, operation);
    if (!repeat) return std::move(repeat).error();
    if (*repeat) {
      auto first = GetCase(c, bound.deps, &p, **repeat);
      if (!first && first.error().code == ErrorCode::kNotFound) {
        first = TrackCase(c, bound.deps, &p, **repeat, "");
      }
      if (!first) return std::move(first).error();
      return Outcome{std::move(*first), true};
    }
    auto created = Apply(c, bound.deps, actor, &p, input);
    if (!created) return std::move(created).error();
    if (!key.empty()) {
      if (auto s = web::FinishOnce(c, OnceToken(operation, key), CasePath(created->number)); !s) {
        return std::move(s).error();
      }
    }
    return Outcome{std::move(*created), false};
  };
  auto done = co_await env.db.Write<Outcome>(work);
  env.caches->CasesChanged();
  if (!done) co_return Fail(done.error());
  auto res = JsonOk(done->replayed ? status::ok : status::created, CaseJson(done->c, true));
  res.set(field::location, CasePath(done->c.number));
  if (done->replayed) res.set("Idempotent-Replayed", "true");
  co_return res;
}

// A step on a case: {"action": "accept" | "reject" | "correct" | "transfer" | "complete" |
// "note" | "resubmit" | "withdraw" | "rate", …}. Staff steps go through Transition; a citizen's
// own withdraw / resubmit / rate through ApplicantStep and RateCase.
asio::awaitable<http::Response> TransitionApi(const Env& env, BlockingPool& pool,
                                              http::Request& req) {
  auto who = Caller(env, req);
  if (!who) co_return Fail(who.error());
  const Principal& p = **who;
  const std::string number = req.Param("number").value_or("");
  if (!LooksLikeCaseNumber(number)) co_return Fail(Error::NotFound(S(env, "no_case")));
  auto body = http::ParseJsonObject(req);
  if (!body) co_return Fail(body.error());
  const json::object& o = *body;

  std::vector<FieldError> errors;
  Reader r(env, errors);
  TransitionInput input;
  if (auto a = ActionFromName(r.Text(o, "action", "action")); a && *a != Action::kSubmit) {
    input.action = *a;
  } else {
    r.Wrong("action", "bad_action");
  }
  input.note = r.Text(o, "note", "note");
  if (const std::string reason = r.Text(o, "reason", "reason"); !reason.empty()) {
    input.note = reason;
  }
  input.result = r.Text(o, "result", "result");
  input.target_unit_id = r.Int(o, "target_unit_id", "target_unit_id");
  if (const json::array* items = r.Array(o, "corrections", "corrections")) {
    for (std::size_t i = 0; i < items->size(); ++i) {
      const std::string base = "corrections." + std::to_string(i);
      const json::object* item = r.Object((*items)[i], base);
      if (item == nullptr) continue;
      CorrectionItem ci;
      ci.material_id = r.Int(*item, "material_id", base + ".material_id");
      ci.reason = r.Text(*item, "reason", base + ".reason");
      input.corrections.push_back(std::move(ci));
    }
  }
  if (const std::string expect = r.Text(o, "expect_status", "expect_status"); !expect.empty()) {
    if (auto s = StatusFromName(expect)) {
      input.expect_status = *s;
    } else {
      r.Wrong("expect_status", "bad_status");
    }
  }
  const int64_t score = r.Int(o, "score", "score");
  const std::string comment = r.Text(o, "comment", "comment");
  std::vector<FileRef> refs = ReadFiles(r, o);
  if (!errors.empty()) co_return Fail(InvalidFields(std::move(errors)));
  if (!refs.empty()) {
    // Reading the stored files is disk work: on the blocking pool, not on this IO thread.
    auto resolve = [&env, &refs] { return ResolveFiles(env, refs); };
    auto files = co_await pool.Run(resolve);
    if (!files) co_return Fail(files.error());
    input.files = std::move(*files);
  }

  const std::string key = web::IdempotencyKey(req);
  const std::string operation = "api.services.case.step/" + std::to_string(p.user_id);
  const audit::Actor actor = ActorOf(req, p);
  auto work = [&env, &input, &key, &operation, &actor, &p, &number, score,
               &comment](db::Conn& c) -> Result<Outcome> {
    auto bound = env.Bind(c);
    auto repeat = Claim(env, c, key, operation);
    if (!repeat) return std::move(repeat).error();
    const bool citizen = p.kind == Principal::Kind::kCitizen;
    if (*repeat) {
      auto now = citizen ? TrackCase(c, bound.deps, &p, **repeat, "")
                         : GetCase(c, bound.deps, &p, **repeat);
      if (!now) return std::move(now).error();
      return Outcome{std::move(*now), true};
    }
    Result<ServiceCase> done = Error::Internal("no step");
    if (input.action == Action::kRate) {
      if (score < 1 || score > 5) return Error::Invalid("score", S(env, "bad_score"));
      done = RateCase(c, bound.deps, actor, &p, number, "", static_cast<int>(score), comment);
    } else if (citizen) {
      done = ApplicantStep(c, bound.deps, actor, &p, number, "", input);
    } else {
      done = Transition(c, bound.deps, actor, &p, number, input);
    }
    if (!done) {
      Error e = std::move(done).error();
      // The API's name for the 补正 items (the pages call them "materials").
      for (auto& f : e.fields) {
        if (f.field == "materials") f.field = "corrections";
      }
      return e;
    }
    if (!key.empty()) {
      if (auto s = web::FinishOnce(c, OnceToken(operation, key), CasePath(done->number)); !s) {
        return std::move(s).error();
      }
    }
    if (!citizen) return Outcome{std::move(*done), false};
    // A citizen gets the public view (no internal notes), as on the tracking page.
    auto mine = TrackCase(c, bound.deps, &p, number, "");
    if (!mine) return std::move(mine).error();
    return Outcome{std::move(*mine), false};
  };
  auto done = co_await env.db.Write<Outcome>(work);
  env.caches->CasesChanged();
  if (!done) co_return Fail(done.error());
  auto res = JsonOk(status::ok, CaseJson(done->c, true));
  if (done->replayed) res.set("Idempotent-Replayed", "true");
  co_return res;
}

// ---- files -----------------------------------------------------------------------------------

// POST /api/v1/files?name=… with the file's bytes as the body: stores a PDF, JPEG or PNG (type
// sniffed from the content) and answers its content address for "files" of a later request.
asio::awaitable<http::Response> UploadFileApi(const Env& env, BlockingPool& pool,
                                              http::Request& req) {
  auto who = Caller(env, req);
  if (!who) co_return Fail(who.error());
  if (env.files == nullptr) co_return Fail(Error::Unavailable(S(env, "files_off")));
  const std::string& bytes = req.raw.body();
  if (bytes.empty()) co_return Fail(Error::Invalid("file", S(env, "empty_file")));
  std::string name = req.QueryForm().GetOr("name");
  if (name.size() > 255) co_return Fail(Error::Invalid("name", S(env, "file_name_long")));
  // Storing is durable (fsync): on the blocking pool, not on this IO thread.
  auto put = [&env, &bytes] {
    return env.files->PutChecked(bytes, {files::kPdf, files::kJpeg, files::kPng},
                                 env.max_upload_bytes);
  };
  auto stored = co_await pool.Run(put);
  if (!stored) {
    Error e = stored.error();
    if (e.code == ErrorCode::kInvalidInput) {
      for (auto& f : e.fields) f.field = "file";
      if (e.fields.empty()) e.fields.push_back({"file", e.message});
    }
    co_return Fail(e);
  }
  co_return JsonOk(status::created, json::object{{"sha256", stored->sha256},
                                                 {"content_type", stored->content_type},
                                                 {"size", stored->size},
                                                 {"name", name}});
}

template <class Fn>
http::Handler Bind(const std::shared_ptr<Env>& env, BlockingPool& pool, Fn fn) {
  return [env, pool = &pool, fn](http::Request& req) -> asio::awaitable<http::Response> {
    return fn(*env, *pool, req);
  };
}

}  // namespace

void RegisterApiRoutes(web::ModuleContext& ctx, std::shared_ptr<Env> env) {
  ctx.router.Get("/api/v1/services", Bind(env, ctx.pool, ListServicesApi));
  ctx.router.Get("/api/v1/services/{code}", Bind(env, ctx.pool, GetServiceApi));
  ctx.router.Get("/api/v1/cases", Bind(env, ctx.pool, ListCasesApi));
  ctx.router.Post("/api/v1/cases", Bind(env, ctx.pool, CreateCaseApi));
  ctx.router.Get("/api/v1/cases/{number}", Bind(env, ctx.pool, GetCaseApi));
  ctx.router.Post("/api/v1/cases/{number}/transitions", Bind(env, ctx.pool, TransitionApi));
  ctx.router.Post("/api/v1/files", Bind(env, ctx.pool, UploadFileApi));
}

}  // namespace zhenwu::services
