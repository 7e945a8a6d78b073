// The editors' and admins' pages of 政务服务: the service catalogue editor (materials as
// repeated rows, added and removed without JavaScript) and the holiday calendar (节假日与调休)
// every deadline is counted on.

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "auth/principal.hpp"
#include "calendar/store.hpp"
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

constexpr std::string_view kNewServiceForm = "services.admin.service.new";
constexpr int kMaxRows = 50;

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

// The calendar belongs to the whole platform: only an administrator changes it.
Status AuthorizeAdmin(const auth::Principal* who) {
  if (who == nullptr) return Error{ErrorCode::kUnauthenticated, "请先登录", {}};
  for (const auto& g : who->grants) {
    if (g.role == auth::Role::kAdmin) return {};
  }
  return Error{ErrorCode::kForbidden, "没有权限", {}};
}

Result<http::MultipartForm> ReadMultipartOrForm(const Request& req) {
  if (http::MultipartBoundary(req.Header("Content-Type"))) return http::ParseMultipart(req);
  std::vector<http::MultipartPart> parts;
  for (const auto& [name, value] : req.BodyForm().items()) {
    parts.push_back({name, std::nullopt, "text/plain", value});
  }
  return http::MultipartForm(std::move(parts));
}

// ---- the catalogue form, as typed ------------------------------------------------------------

struct MaterialRow {
  std::string name, form = "either", copies = "1", note;
  bool required = true;
  std::string sample_sha256, sample_name, sample_type, sample_size;
};

struct ServiceForm {
  std::string code, name, category, unit_id, legal_basis, conditions, statutory_days, promised_days,
      fee, place, hours, phone;
  std::vector<std::string> life_events;
  bool online = false, proxy = false;
  std::vector<MaterialRow> rows;
};

ServiceForm FormOf(const Service& s) {
  ServiceForm f;
  f.code = s.code;
  f.name = s.name;
  f.category = s.category;
  f.unit_id = std::to_string(s.unit_id);
  f.legal_basis = s.legal_basis;
  f.conditions = s.conditions;
  f.statutory_days = std::to_string(s.statutory_days);
  f.promised_days = std::to_string(s.promised_days);
  f.fee = s.fee;
  f.place = s.place;
  f.hours = s.hours;
  f.phone = s.phone;
  f.life_events = s.life_events;
  f.online = s.online;
  f.proxy = s.proxy;
  for (const auto& m : s.materials) {
    MaterialRow r;
    r.name = m.name;
    r.form = std::string(MaterialFormName(m.form));
    r.copies = std::to_string(m.copies);
    r.note = m.note;
    r.required = m.required;
    r.sample_sha256 = m.sample_sha256;
    r.sample_name = m.sample_name;
    r.sample_type = m.sample_type;
    r.sample_size = "0";
    f.rows.push_back(std::move(r));
  }
  return f;
}

bool BlankRow(const MaterialRow& r) {
  return people::Trim(r.name).empty() && people::Trim(r.note).empty() && r.sample_sha256.empty();
}

// Inside a calendar edit's transaction: the stored deadlines of running cases and open
// follow-ups follow the new calendar (read back from this transaction, so it includes the edit).
Result<DeadlinesMoved> FollowCalendar(const Env& env, db::Conn& c) {
  auto cal = calendar::Load(c);
  if (!cal) return std::move(cal).error();
  const Deps deps{env.clock, *env.keys, *cal, env.due_soon_days, env.followup_days};
  return RefreshDeadlines(c, deps);
}

// "&moved=N" (cases) and "&followups=M" for the page's notice, each only when a calendar edit
// moved some of those deadlines.
std::string MovedParam(const DeadlinesMoved& moved) {
  std::string out;
  if (moved.cases > 0) out += "&moved=" + std::to_string(moved.cases);
  if (moved.followups > 0) out += "&followups=" + std::to_string(moved.followups);
  return out;
}

class Admin {
 public:
  Admin(web::ModuleContext& ctx, std::shared_ptr<Env> env)
      : env_(std::move(env)), pool_(ctx.pool) {}

  Response Refuse(const Request& req, const Error& e) const {
    return web::RefusePage(req, env_->view, e);
  }

  Response Render(const Request& req, const std::string& title, std::string_view name, Data data,
                  HttpStatus status = HttpStatus::ok) const {
    return web::RenderPage(req, env_->view, title, "admin", "services/" + std::string(name),
                           std::move(data), status);
  }

  std::string T(std::string_view key) const { return env_->view.strings().Get(key); }

  std::string SampleSignature(const MaterialRow& r) const {
    return env_->keys->BlindIndex("services.sample_file",
                                  r.sample_sha256 + "\n" + r.sample_name + "\n" + r.sample_type);
  }

  // ---- GET /admin/services -------------------------------------------------------------------

  asio::awaitable<Response> ListPage(Request& req) {
    const auth::Principal* who = auth::CurrentPrincipal(req);
    if (auto s = auth::AuthorizeAny(who, Perm::kCatalogueEdit); !s) {
      co_return Refuse(req, s.error());
    }
    const std::string q = people::Trim(req.QueryForm().GetOr("q"));
    auto work = [q](db::Conn& c) -> Result<std::vector<Service>> {
      ServiceQuery query;
      query.text = q;
      query.include_retired = true;
      query.limit = 1000;
      return ListServices(c, query);
    };
    auto list = co_await env_->db.Read<std::vector<Service>>(work);
    if (!list) co_return Refuse(req, list.error());
    Data rows = List();
    int shown = 0;
    for (const auto& s : *list) {
      if (!auth::Authorize(who, Perm::kCatalogueEdit, s.unit_path).ok()) continue;
      Data o = Obj();
      o.set("id", std::to_string(s.id));
      o.set("code", s.code);
      o.set("name", s.name);
      o.set("unit_name", s.unit_name);
      o.set("promised_days", std::to_string(s.promised_days));
      o.set("statutory_days", std::to_string(s.statutory_days));
      if (s.online) o.set("online", true);
      if (s.proxy) o.set("proxy", true);
      if (s.retired) o.set("retired", true);
      if (s.demo) o.set("demo", true);
      o.set("url", "/admin/services/" + std::to_string(s.id) + "/edit");
      rows.push_back(o);
      ++shown;
    }
    Data data = Obj();
    data.set("rows", rows);
    data.set("q", q);
    data.set("count", std::to_string(shown));
    if (shown == 0) data.set("empty", true);
    co_return Render(req, T("services.admin.list_title"), "services_admin_services",
                     std::move(data));
  }

  // ---- the editor ----------------------------------------------------------------------------

  struct EditorData {
    std::optional<Service> service;  // editing
    std::vector<org::OrgUnit> units;
    std::map<std::string, std::string> names;  // unit path -> name, for the select's groups
  };

  asio::awaitable<Result<EditorData>> LoadEditor(const auth::Principal* who,
                                                 std::optional<int64_t> id) {
    auto work = [who, id](db::Conn& c) -> Result<EditorData> {
      EditorData out;
      if (id) {
        auto svc = GetService(c, *id);
        if (!svc) return std::move(svc).error();
        if (!*svc) return Error::NotFound();
        if (auto s = auth::Authorize(who, Perm::kCatalogueEdit, (*svc)->unit_path); !s) {
          return std::move(s).error();
        }
        out.service = **svc;
      }
      auto all = org::AllUnits(c);
      if (!all) return std::move(all).error();
      for (auto& u : *all) {
        const bool kind = u.kind == org::UnitKind::kWindow ||
                          u.kind == org::UnitKind::kVillageWindow ||
                          u.kind == org::UnitKind::kDepartment;
        if (kind && !u.retired() && auth::Authorize(who, Perm::kCatalogueEdit, u.path).ok()) {
          out.units.push_back(u);
        }
      }
      // Keep the current unit selectable even if it was retired since.
      if (out.service &&
          std::none_of(out.units.begin(), out.units.end(),
                       [&](const org::OrgUnit& u) { return u.id == out.service->unit_id; })) {
        for (auto& u : *all) {
          if (u.id == out.service->unit_id) out.units.push_back(u);
        }
      }
      for (const auto& u : *all) out.names[u.path] = u.name;
      std::stable_sort(
          out.units.begin(), out.units.end(),
          [](const org::OrgUnit& a, const org::OrgUnit& b) { return a.path < b.path; });
      return out;
    };
    co_return co_await env_->db.Read<EditorData>(work);
  }

  Data EditorPage(const EditorData& d, const ServiceForm& f, const Error* error,
                  std::string_view notice) const {
    Data data = Obj();
    if (d.service) {
      data.set("editing", true);
      data.set("id", std::to_string(d.service->id));
      data.set("action", "/admin/services/" + std::to_string(d.service->id) + "/edit");
      data.set("public_url", "/services/" + d.service->code);
      if (d.service->retired) data.set("retired", true);
      data.set("title", d.service->name);
    } else {
      data.set("action", "/admin/services/new");
      data.set("title", T("services.admin.new_title"));
    }
    if (!notice.empty()) data.set("notice", std::string(notice));
    Data v = Obj();
    v.set("code", f.code);
    v.set("name", f.name);
    v.set("legal_basis", f.legal_basis);
    v.set("conditions", f.conditions);
    v.set("statutory_days", f.statutory_days);
    v.set("promised_days", f.promised_days);
    v.set("fee", f.fee);
    v.set("place", f.place);
    v.set("hours", f.hours);
    v.set("phone", f.phone);
    v.set("online", f.online);
    v.set("proxy", f.proxy);
    data.set("v", v);

    Data categories = List();
    bool known = false;
    for (const char* c :
         {"行政许可", "行政给付", "行政确认", "行政裁决", "公共服务", "其他行政权力"}) {
      Data o = Obj();
      o.set("value", std::string(c));
      if (f.category == c) {
        o.set("selected", true);
        known = true;
      }
      categories.push_back(o);
    }
    if (!known && !f.category.empty()) {
      Data o = Obj();
      o.set("value", f.category);
      o.set("selected", true);
      categories.push_back(o);
    }
    data.set("categories", categories);

    // Units grouped by their parent (the town's windows, each village's windows).
    std::map<std::string, std::pair<std::string, Data>> groups;  // by parent path
    std::vector<std::string> order;
    for (const auto& u : d.units) {
      const std::string parent_path =
          u.path.substr(0, u.path.find_last_of('/', u.path.size() - 2) + 1);
      auto it = groups.find(parent_path);
      if (it == groups.end()) {
        it = groups.emplace(parent_path, std::make_pair(std::string(), List())).first;
        order.push_back(parent_path);
      }
      Data o = Obj();
      o.set("value", std::to_string(u.id));
      o.set("label", u.name + (u.retired() ? "（已撤销）" : ""));
      if (f.unit_id == std::to_string(u.id)) o.set("selected", true);
      it->second.second.push_back(o);
    }
    // Group labels: the parent's name, found among the units' parents.
    Data unit_groups = List();
    for (const auto& p : order) {
      Data g = Obj();
      auto name = d.names.find(p);
      g.set("label", name == d.names.end() ? std::string() : name->second);
      g.set("units", groups[p].second);
      unit_groups.push_back(g);
    }
    data.set("unit_groups", unit_groups);

    Data events = List();
    for (const auto& e : LifeEvents()) {
      Data o = Obj();
      o.set("key", std::string(e.key));
      o.set("label", std::string(e.label));
      if (std::find(f.life_events.begin(), f.life_events.end(), e.key) != f.life_events.end()) {
        o.set("checked", true);
      }
      events.push_back(o);
    }
    data.set("life_events", events);

    // Field messages beside the fields; a row's messages beside the row.
    Data errors = Obj();
    std::map<std::string, std::string> row_errors;
    std::set<std::string> placed;
    if (error != nullptr) {
      for (const auto& fe : error->fields) {
        if (fe.field.rfind("materials.", 0) == 0) {
          row_errors.emplace(fe.field, fe.message);
          placed.insert(fe.field);
        } else if (!errors.get(fe.field)) {
          errors.set(fe.field, fe.message);
          placed.insert(fe.field);
        }
      }
      data.set("form_error", T("services.admin.form_error"));
    }
    data.set("errors", errors);

    Data rows = List();
    for (std::size_t i = 0; i < f.rows.size(); ++i) {
      const MaterialRow& r = f.rows[i];
      const std::string n = std::to_string(i);
      const std::string prefix = "materials." + n + ".";
      Data o = Obj();
      o.set("n", n);
      o.set("number", std::to_string(i + 1));
      o.set("name", r.name);
      o.set("copies", r.copies);
      o.set("note", r.note);
      o.set("required", r.required);
      Data forms = List();
      for (MaterialForm mf :
           {MaterialForm::kEither, MaterialForm::kOriginal, MaterialForm::kCopy}) {
        Data opt = Obj();
        opt.set("value", std::string(MaterialFormName(mf)));
        opt.set("label", std::string(MaterialFormLabel(mf)));
        if (r.form == MaterialFormName(mf)) opt.set("selected", true);
        forms.push_back(opt);
      }
      o.set("forms", forms);
      if (!r.sample_sha256.empty()) {
        o.set("sample_sha256", r.sample_sha256);
        o.set("sample_name", r.sample_name);
        o.set("sample_type", r.sample_type);
        o.set("sample_sig", SampleSignature(r));
      }
      for (const char* field : {"name", "form", "copies", "note", "sample"}) {
        auto it = row_errors.find(prefix + field);
        if (it != row_errors.end()) {
          o.set(std::string("error_") + field, it->second);
          o.set("has_error", true);
        }
      }
      rows.push_back(o);
    }
    data.set("rows", rows);
    if (f.rows.size() < static_cast<std::size_t>(kMaxRows)) data.set("can_add_row", true);
    Data others = List();
    if (error != nullptr) {
      for (const auto& fe : error->fields) {
        static const std::set<std::string> kPlacedFields = {
            "code",        "name",       "category",       "unit_id",       "life_events",
            "legal_basis", "conditions", "statutory_days", "promised_days", "fee",
            "place",       "hours",      "phone"};
        if (fe.field.rfind("materials.", 0) == 0 || kPlacedFields.contains(fe.field)) continue;
        Data m = Obj();
        m.set("message", fe.message);
        others.push_back(m);
      }
      if (error->fields.empty() && !error->message.empty()) {
        Data m = Obj();
        m.set("message", error->message);
        others.push_back(m);
      }
    }
    data.set("error_list", others);
    return data;
  }

  Response ShowEditor(const Request& req, const EditorData& d, const ServiceForm& f,
                      const Error* error, std::string_view notice, HttpStatus status) const {
    const std::string title = d.service ? d.service->name : T("services.admin.new_title");
    return Render(req, title, "services_admin_service_form", EditorPage(d, f, error, notice),
                  status);
  }

  asio::awaitable<Response> NewPage(Request& req) {
    const auth::Principal* who = auth::CurrentPrincipal(req);
    if (auto s = auth::AuthorizeAny(who, Perm::kCatalogueEdit); !s) {
      co_return Refuse(req, s.error());
    }
    auto d = co_await LoadEditor(who, std::nullopt);
    if (!d) co_return Refuse(req, d.error());
    ServiceForm f;
    f.rows.push_back(MaterialRow{});
    if (d->units.size() == 1) f.unit_id = std::to_string(d->units.front().id);
    const std::string no_notice;
    co_return ShowEditor(req, *d, f, nullptr, no_notice, HttpStatus::ok);
  }

  asio::awaitable<Response> EditPage(Request& req) {
    const auth::Principal* who = auth::CurrentPrincipal(req);
    if (auto s = auth::AuthorizeAny(who, Perm::kCatalogueEdit); !s) {
      co_return Refuse(req, s.error());
    }
    auto id = ParseId(req.Param("id").value_or(""));
    if (!id) co_return Refuse(req, Error::NotFound());
    auto d = co_await LoadEditor(who, *id);
    if (!d) co_return Refuse(req, d.error());
    ServiceForm f = FormOf(*d->service);
    f.rows.push_back(MaterialRow{});  // a spare row to add a material without a round trip
    const std::string done = req.QueryForm().GetOr("done");
    std::string notice;
    if (done == "created" || done == "saved" || done == "retired" || done == "restored") {
      notice = T("services.admin.done_" + done);
    }
    co_return ShowEditor(req, *d, f, nullptr, notice, HttpStatus::ok);
  }

  // Reads the posted editor form; stores uploaded sample files (their refusals are field
  // messages on materials.N.sample).
  asio::awaitable<std::pair<ServiceForm, Error>> ReadForm(const http::MultipartForm& form) {
    ServiceForm f;
    Error err{ErrorCode::kInvalidInput, "", {}};
    auto get = [&](std::string_view name) { return form.Get(name).value_or(""); };
    f.code = get("code");
    f.name = get("name");
    f.category = get("category");
    f.unit_id = get("unit_id");
    f.legal_basis = get("legal_basis");
    f.conditions = get("conditions");
    f.statutory_days = get("statutory_days");
    f.promised_days = get("promised_days");
    f.fee = get("fee");
    f.place = get("place");
    f.hours = get("hours");
    f.phone = get("phone");
    f.online = get("online") == "1";
    f.proxy = get("proxy") == "1";
    for (const auto& p : form.parts()) {
      if (p.name == "life_events" && !p.filename) f.life_events.push_back(p.data);
    }
    // Rows: materials.N.* for N = 0 … the highest present.
    int last = -1;
    for (const auto& p : form.parts()) {
      if (p.name.rfind("materials.", 0) != 0) continue;
      const auto dot = p.name.find('.', 10);
      int n = -1;
      std::from_chars(p.name.data() + 10,
                      p.name.data() + (dot == std::string::npos ? p.name.size() : dot), n);
      if (n >= 0 && n < kMaxRows) last = std::max(last, n);
    }
    std::vector<std::pair<std::size_t, const http::MultipartPart*>> uploads;
    for (int n = 0; n <= last; ++n) {
      const std::string prefix = "materials." + std::to_string(n) + ".";
      MaterialRow r;
      r.name = get(prefix + "name");
      r.form = get(prefix + "form");
      r.copies = get(prefix + "copies");
      r.note = get(prefix + "note");
      r.required = get(prefix + "required") == "1";
      r.sample_sha256 = get(prefix + "sample_sha256");
      r.sample_name = get(prefix + "sample_name");
      r.sample_type = get(prefix + "sample_type");
      if (!r.sample_sha256.empty() && (get(prefix + "sample_sig") != SampleSignature(r) ||
                                       get(prefix + "sample_remove") == "1")) {
        r.sample_sha256.clear();
        r.sample_name.clear();
        r.sample_type.clear();
      }
      const http::MultipartPart* part = form.Find(prefix + "sample");
      if (part != nullptr && part->filename && !part->filename->empty() && !part->data.empty()) {
        uploads.emplace_back(f.rows.size(), part);
      }
      f.rows.push_back(std::move(r));
    }
    // Samples carried from the stored service or an earlier try, and not replaced now, are kept
    // in the store (files::FileStore::Keep) so the sweep of unreferenced files leaves them until
    // the service refers to them; one that is gone is asked for again beside its input.
    std::vector<std::pair<std::size_t, std::string>> carried;
    for (std::size_t i = 0; i < f.rows.size(); ++i) {
      const bool replaced =
          std::any_of(uploads.begin(), uploads.end(), [i](const auto& u) { return u.first == i; });
      if (!f.rows[i].sample_sha256.empty() && !replaced) {
        carried.emplace_back(i, f.rows[i].sample_sha256);
      }
    }
    if (!carried.empty() && env_->files != nullptr) {
      files::FileStore* store = env_->files;
      auto keep = [store, carried]() {
        std::vector<char> stored;
        for (const auto& [_, sha] : carried) stored.push_back(store->Keep(sha) ? 1 : 0);
        return stored;
      };
      const std::vector<char> stored = co_await pool_.Run(std::move(keep));
      for (std::size_t i = 0; i < carried.size(); ++i) {
        if (stored[i] != 0) continue;
        MaterialRow& r = f.rows[carried[i].first];
        r.sample_sha256.clear();
        r.sample_name.clear();
        r.sample_type.clear();
        err.fields.push_back({"materials." + std::to_string(carried[i].first) + ".sample",
                              "样表文件已不在文件存储中，请重新上传"});
      }
    }
    if (!uploads.empty()) {
      files::FileStore* store = env_->files;
      const int64_t max = env_->max_upload_bytes;
      auto put = [store, max, uploads]() {
        std::vector<Result<files::StoredFile>> out;
        const std::vector<std::string_view> allowed = {"application/pdf", "image/jpeg",
                                                       "image/png"};
        for (const auto& [_, part] : uploads) {
          if (store == nullptr) {
            out.push_back(Error::Unavailable("文件存储暂不可用"));
          } else {
            out.push_back(store->PutChecked(part->data, allowed, max));
          }
        }
        return out;
      };
      auto stored = co_await pool_.Run(std::move(put));
      for (std::size_t i = 0; i < uploads.size(); ++i) {
        const std::size_t row = uploads[i].first;
        const std::string field = "materials." + std::to_string(row) + ".sample";
        if (!stored[i]) {
          const Error& e = stored[i].error();
          err.fields.push_back({field, e.fields.empty() ? e.message : e.fields.front().message});
          continue;
        }
        MaterialRow& r = f.rows[row];
        r.sample_sha256 = stored[i]->sha256;
        r.sample_type = stored[i]->content_type;
        std::string name = *uploads[i].second->filename;
        const auto slash = name.find_last_of("/\\");
        if (slash != std::string::npos) name = name.substr(slash + 1);
        r.sample_name = name.substr(0, 200);
      }
    }
    co_return std::make_pair(std::move(f), std::move(err));
  }

  // The service input of a form, without blank rows; `row_of[i]` is the form row of material i.
  static ServiceInput ToInput(const ServiceForm& f, std::vector<std::size_t>& row_of) {
    ServiceInput in;
    in.code = f.code;
    in.name = f.name;
    in.category = f.category;
    in.unit_id = ParseId(f.unit_id).value_or(0);
    in.life_events = f.life_events;
    in.legal_basis = f.legal_basis;
    in.conditions = f.conditions;
    in.statutory_days = f.statutory_days;
    in.promised_days = f.promised_days;
    in.fee = f.fee;
    in.place = f.place;
    in.hours = f.hours;
    in.phone = f.phone;
    in.online = f.online;
    in.proxy = f.proxy;
    for (std::size_t i = 0; i < f.rows.size(); ++i) {
      const MaterialRow& r = f.rows[i];
      if (BlankRow(r)) continue;
      MaterialInput m;
      m.name = r.name;
      m.form = r.form;
      const std::string copies = people::Trim(r.copies);
      int n = 0;
      auto [end, ec] = std::from_chars(copies.data(), copies.data() + copies.size(), n);
      // Not a number: 0, which the service refuses beside the field with the other messages.
      if (ec != std::errc() || end != copies.data() + copies.size()) n = 0;
      m.copies = n;
      m.required = r.required;
      m.note = r.note;
      m.sample_sha256 = r.sample_sha256;
      m.sample_name = r.sample_name;
      m.sample_type = r.sample_type;
      row_of.push_back(i);
      in.materials.push_back(std::move(m));
    }
    return in;
  }

  // The service's errors name materials by their index in the input: name the form rows.
  static Error MapRows(Error e, const std::vector<std::size_t>& row_of) {
    for (auto& fe : e.fields) {
      if (fe.field.rfind("materials.", 0) != 0) continue;
      const auto dot = fe.field.find('.', 10);
      if (dot == std::string::npos) continue;
      std::size_t i = 0;
      auto [end, ec] = std::from_chars(fe.field.data() + 10, fe.field.data() + dot, i);
      if (ec != std::errc() || i >= row_of.size()) continue;
      fe.field = "materials." + std::to_string(row_of[i]) + fe.field.substr(dot);
    }
    return e;
  }

  // POST /admin/services/new and /admin/services/{id}/edit: "添加一行" / "删除此行" rebuild the
  // form; the save button creates or updates.
  asio::awaitable<Response> Save(Request& req) {
    const auth::Principal* who = auth::CurrentPrincipal(req);
    if (auto s = auth::AuthorizeAny(who, Perm::kCatalogueEdit); !s) {
      co_return Refuse(req, s.error());
    }
    std::optional<int64_t> id;
    if (req.Param("id")) {
      id = ParseId(*req.Param("id"));
      if (!id) co_return Refuse(req, Error::NotFound());
    }
    auto d = co_await LoadEditor(who, id);
    if (!d) co_return Refuse(req, d.error());
    auto posted = ReadMultipartOrForm(req);
    if (!posted) co_return web::ErrorPage(req, env_->view, HttpStatus::bad_request);
    auto [f, upload_error] = co_await ReadForm(*posted);
    const std::string no_notice;

    if (posted->Get("add_row")) {
      if (f.rows.size() < static_cast<std::size_t>(kMaxRows)) f.rows.push_back(MaterialRow{});
      const Error* shown = upload_error.fields.empty() ? nullptr : &upload_error;
      co_return ShowEditor(req, *d, f, shown, no_notice, HttpStatus::ok);
    }
    if (auto remove = posted->Get("remove_row")) {
      std::size_t n = 0;
      auto [end, ec] = std::from_chars(remove->data(), remove->data() + remove->size(), n);
      if (ec == std::errc() && n < f.rows.size()) {
        f.rows.erase(f.rows.begin() + static_cast<std::ptrdiff_t>(n));
      }
      if (f.rows.empty()) f.rows.push_back(MaterialRow{});
      co_return ShowEditor(req, *d, f, nullptr, no_notice, HttpStatus::ok);
    }

    std::vector<std::size_t> row_of;
    Error local = upload_error;
    ServiceInput input = ToInput(f, row_of);
    Result<int64_t> saved = Error::Internal("");
    if (!local.fields.empty()) {
      saved = local;
    } else {
      const Env& env = *env_;
      const audit::Actor actor = ActorOf(req, *who);
      const std::string token = posted->Get(web::kOnceField).value_or("");
      auto work = [&env, &actor, &input, &token, who, id](db::Conn& c) -> Result<int64_t> {
        auto bound = env.Bind(c);
        if (id) {
          auto updated = UpdateService(c, bound.deps, actor, who, *id, input);
          if (!updated) return std::move(updated).error();
          return updated->id;
        }
        auto claim = web::ClaimOnce(c, env.clock, kNewServiceForm, token);
        if (!claim) return std::move(claim).error();
        if (*claim) {
          int64_t first = 0;
          const std::string& url = **claim;  // /admin/services/ID/edit?done=created
          std::from_chars(url.data() + 16, url.data() + url.size(), first);
          return first;
        }
        auto created = CreateService(c, bound.deps, actor, who, input);
        if (!created) return std::move(created).error();
        const std::string url =
            "/admin/services/" + std::to_string(created->id) + "/edit?done=created";
        if (auto s = web::FinishOnce(c, token, url); !s) return std::move(s).error();
        return created->id;
      };
      saved = co_await env_->db.Write<int64_t>(work);
    }
    if (saved) {
      env_->page_cache.Invalidate();  // the public catalogue shows the change at once
      co_return http::Redirect("/admin/services/" + std::to_string(*saved) +
                               "/edit?done=" + (id ? "saved" : "created"));
    }
    if (saved.error().code != ErrorCode::kInvalidInput) co_return Refuse(req, saved.error());
    Error err = MapRows(saved.error(), row_of);
    co_return ShowEditor(req, *d, f, &err, no_notice, HttpStatus::unprocessable_entity);
  }

  asio::awaitable<Response> Retire(Request& req) {
    const auth::Principal* who = auth::CurrentPrincipal(req);
    if (auto s = auth::AuthorizeAny(who, Perm::kCatalogueEdit); !s) {
      co_return Refuse(req, s.error());
    }
    auto id = ParseId(req.Param("id").value_or(""));
    if (!id) co_return Refuse(req, Error::NotFound());
    const bool retire = req.BodyForm().GetOr("retired", "1") != "0";
    const Env& env = *env_;
    const audit::Actor actor = ActorOf(req, *who);
    const int64_t sid = *id;
    auto work = [&env, &actor, who, sid, retire](db::Conn& c) -> Result<Service> {
      auto bound = env.Bind(c);
      return SetServiceRetired(c, bound.deps, actor, who, sid, retire);
    };
    auto done = co_await env_->db.Write<Service>(work);
    if (!done && done.error().code != ErrorCode::kConflict) co_return Refuse(req, done.error());
    if (done) env_->page_cache.Invalidate();
    co_return http::Redirect("/admin/services/" + std::to_string(sid) +
                             "/edit?done=" + (retire ? "retired" : "restored"));
  }

  // ---- the holiday calendar ------------------------------------------------------------------

  struct DayForm {
    std::string date, kind = "holiday", name;
  };

  asio::awaitable<Response> CalendarPage(const Request& req, int year, const DayForm& form,
                                         const Error* error, const Error* import_error,
                                         HttpStatus status) {
    auto work = [](db::Conn& c) { return calendar::Load(c); };
    auto cal = co_await env_->db.Read<WorkCalendar>(work);
    if (!cal) co_return Refuse(req, cal.error());
    static const char* kWeekdays[] = {"周一", "周二", "周三", "周四", "周五", "周六", "周日"};
    Data rows = List();
    std::set<int> years = {year - 1, year, year + 1};
    int holidays = 0, workdays = 0;
    for (const auto& [date, day] : cal->special_days()) {
      years.insert(date.year);
      if (date.year != year) continue;
      Data o = Obj();
      o.set("date", FormatDate(date));
      o.set("weekday", std::string(kWeekdays[Weekday(date)]));
      o.set("name", day.name);
      if (day.kind == DayKind::kHoliday) {
        o.set("holiday", true);
        ++holidays;
      } else {
        o.set("workday", true);
        ++workdays;
      }
      o.set("edit_url", "/admin/calendar?year=" + std::to_string(year) +
                            "&edit=" + FormatDate(date) + "#day-form");
      rows.push_back(o);
    }
    Data year_links = List();
    for (int y : years) {
      Data o = Obj();
      o.set("year", std::to_string(y));
      o.set("url", "/admin/calendar?year=" + std::to_string(y));
      if (y == year) o.set("current", true);
      year_links.push_back(o);
    }
    Data data = Obj();
    data.set("year", std::to_string(year));
    data.set("years", year_links);
    data.set("rows", rows);
    if (holidays + workdays == 0) data.set("empty", true);
    data.set("holidays", std::to_string(holidays));
    data.set("workdays", std::to_string(workdays));
    Data f = Obj();
    f.set("date", form.date);
    f.set("name", form.name);
    f.set("holiday", form.kind != "workday");
    f.set("workday", form.kind == "workday");
    data.set("f", f);
    data.set("errors", [&] {
      Data e = Obj();
      if (error != nullptr) {
        for (const auto& fe : error->fields) {
          if (!e.get(fe.field)) e.set(fe.field, fe.message);
        }
      }
      return e;
    }());
    if (error != nullptr) {
      data.set("form_error",
               error->fields.empty() ? error->message : T("services.admin.form_error"));
    }
    if (import_error != nullptr) {
      data.set("import_error", import_error->fields.empty() ? import_error->message
                                                            : import_error->fields.front().message);
    }
    const http::Form& q = req.QueryForm();
    const std::string done = q.GetOr("done");
    std::string notice;
    if (done == "saved" || done == "removed") {
      notice = T("services.admin.calendar_" + done);
    } else if (done == "imported") {
      notice = T("services.admin.calendar_imported");
      const std::string n = q.GetOr("n");
      const auto at = notice.find("{n}");
      if (at != std::string::npos) notice.replace(at, 3, ParseId(n) ? n : "0");
    }
    // How many deadlines of running cases and open follow-ups the change moved
    // (RefreshDeadlines); a part that moved none is not mentioned.
    const std::string cases = q.GetOr("moved");
    const std::string followups = q.GetOr("followups");
    const bool has_cases = ParseId(cases).has_value();
    const bool has_followups = ParseId(followups).has_value();
    if (!notice.empty() && (has_cases || has_followups)) {
      std::string text = T(has_cases && has_followups ? "services.admin.calendar_moved_both"
                           : has_cases                ? "services.admin.calendar_moved"
                                                      : "services.admin.calendar_moved_followups");
      auto put = [&text](std::string_view key, const std::string& value) {
        const auto at = text.find(key);
        if (at != std::string::npos) text.replace(at, key.size(), value);
      };
      put("{cases}", cases);
      put("{followups}", followups);
      notice += text;
    }
    if (!notice.empty()) data.set("notice", notice);
    co_return Render(req, T("services.admin.calendar_title"), "services_admin_calendar",
                     std::move(data), status);
  }

  // After a calendar edit committed: the next deadline computation and the desks' counts see it.
  void CalendarChanged() const {
    env_->calendar->Invalidate();
    env_->caches->CasesChanged();
  }

  int YearOf(const Request& req) const {
    const std::string text = req.QueryForm().GetOr("year");
    int year = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), year);
    if (ec != std::errc() || end != text.data() + text.size() || year < 2000 || year > 2100) {
      return ShanghaiDate(env_->clock.NowMs()).year;
    }
    return year;
  }

  asio::awaitable<Response> Calendar(Request& req) {
    if (auto s = AuthorizeAdmin(auth::CurrentPrincipal(req)); !s) co_return Refuse(req, s.error());
    DayForm form;
    const std::string edit = req.QueryForm().GetOr("edit");
    if (!edit.empty()) {
      Date d;
      if (ParseDate(edit, &d)) {
        auto work = [](db::Conn& c) { return calendar::Load(c); };
        auto cal = co_await env_->db.Read<WorkCalendar>(work);
        if (!cal) co_return Refuse(req, cal.error());
        auto it = cal->special_days().find(d);
        if (it != cal->special_days().end()) {
          form.date = edit;
          form.kind = it->second.kind == DayKind::kWorkday ? "workday" : "holiday";
          form.name = it->second.name;
        }
      }
    }
    co_return co_await CalendarPage(req, YearOf(req), form, nullptr, nullptr, HttpStatus::ok);
  }

  asio::awaitable<Response> SetDayPost(Request& req) {
    const auth::Principal* who = auth::CurrentPrincipal(req);
    if (auto s = AuthorizeAdmin(who); !s) co_return Refuse(req, s.error());
    const http::Form& body = req.BodyForm();
    DayForm form{people::Trim(body.GetOr("date")), body.GetOr("kind"), body.GetOr("name")};
    const Env& env = *env_;
    const audit::Actor actor = ActorOf(req, *who);
    auto work = [&env, &actor, &form](db::Conn& c) -> Result<DeadlinesMoved> {
      if (auto s = calendar::SetDay(c, env.clock, actor, form.date, form.kind, form.name); !s) {
        return std::move(s).error();
      }
      return FollowCalendar(env, c);
    };
    auto done = co_await env_->db.Write<DeadlinesMoved>(work);
    Date d;
    const int year = ParseDate(form.date, &d) ? d.year : YearOf(req);
    if (!done) {
      if (done.error().code != ErrorCode::kInvalidInput) co_return Refuse(req, done.error());
      co_return co_await CalendarPage(req, year, form, &done.error(), nullptr,
                                      HttpStatus::unprocessable_entity);
    }
    CalendarChanged();
    co_return http::Redirect("/admin/calendar?year=" + std::to_string(year) + "&done=saved" +
                             MovedParam(*done));
  }

  asio::awaitable<Response> RemoveDayPost(Request& req) {
    const auth::Principal* who = auth::CurrentPrincipal(req);
    if (auto s = AuthorizeAdmin(who); !s) co_return Refuse(req, s.error());
    const std::string date = req.Param("date").value_or("");
    Date d;
    if (!ParseDate(date, &d)) co_return Refuse(req, Error::NotFound());
    const Env& env = *env_;
    const audit::Actor actor = ActorOf(req, *who);
    auto work = [&env, &actor, &date](db::Conn& c) -> Result<DeadlinesMoved> {
      if (auto s = calendar::RemoveDay(c, env.clock, actor, date); !s) return std::move(s).error();
      return FollowCalendar(env, c);
    };
    auto done = co_await env_->db.Write<DeadlinesMoved>(work);
    if (!done) co_return Refuse(req, done.error());
    CalendarChanged();
    co_return http::Redirect("/admin/calendar?year=" + std::to_string(d.year) + "&done=removed" +
                             MovedParam(*done));
  }

  asio::awaitable<Response> ImportPost(Request& req) {
    const auth::Principal* who = auth::CurrentPrincipal(req);
    if (auto s = AuthorizeAdmin(who); !s) co_return Refuse(req, s.error());
    auto posted = ReadMultipartOrForm(req);
    if (!posted) co_return web::ErrorPage(req, env_->view, HttpStatus::bad_request);
    std::string csv;
    if (const http::MultipartPart* file = posted->Find("file");
        file != nullptr && file->filename && !file->data.empty()) {
      csv = file->data;
    } else {
      csv = posted->Get("csv").value_or("");
    }
    const int year = YearOf(req);
    if (people::Trim(csv).empty()) {
      const Error e = Error::Invalid("file", "请选择要导入的 CSV 文件");
      const DayForm blank;
      co_return co_await CalendarPage(req, year, blank, nullptr, &e,
                                      HttpStatus::unprocessable_entity);
    }
    // Excel saves CSV with a byte-order mark.
    if (csv.rfind("\xEF\xBB\xBF", 0) == 0) csv.erase(0, 3);
    const Env& env = *env_;
    const audit::Actor actor = ActorOf(req, *who);
    auto work = [&env, &actor, &csv](db::Conn& c) -> Result<std::pair<int, DeadlinesMoved>> {
      auto n = calendar::ImportCsv(c, env.clock, actor, csv);
      if (!n) return std::move(n).error();
      auto moved = FollowCalendar(env, c);
      if (!moved) return std::move(moved).error();
      return std::pair<int, DeadlinesMoved>{*n, *moved};
    };
    auto n = co_await env_->db.Write<std::pair<int, DeadlinesMoved>>(work);
    if (!n) {
      if (n.error().code != ErrorCode::kInvalidInput) co_return Refuse(req, n.error());
      const DayForm blank;
      co_return co_await CalendarPage(req, year, blank, nullptr, &n.error(),
                                      HttpStatus::unprocessable_entity);
    }
    CalendarChanged();
    co_return http::Redirect("/admin/calendar?year=" + std::to_string(year) + "&done=imported&n=" +
                             std::to_string(n->first) + MovedParam(n->second));
  }

 private:
  std::shared_ptr<Env> env_;
  BlockingPool& pool_;
};

}  // namespace

void RegisterAdminRoutes(web::ModuleContext& ctx, std::shared_ptr<Env> env) {
  auto admin = std::make_shared<Admin>(ctx, std::move(env));
  auto bind = [admin](asio::awaitable<Response> (Admin::*fn)(Request&)) {
    return [admin, fn](Request& req) { return ((*admin).*fn)(req); };
  };
  ctx.router.Get("/admin/services", bind(&Admin::ListPage));
  ctx.router.Get("/admin/services/new", bind(&Admin::NewPage));
  ctx.router.Post("/admin/services/new", bind(&Admin::Save));
  ctx.router.Get("/admin/services/{id}/edit", bind(&Admin::EditPage));
  ctx.router.Post("/admin/services/{id}/edit", bind(&Admin::Save));
  ctx.router.Post("/admin/services/{id}/retire", bind(&Admin::Retire));
  ctx.router.Get("/admin/calendar", bind(&Admin::Calendar));
  ctx.router.Post("/admin/calendar/day", bind(&Admin::SetDayPost));
  ctx.router.Post("/admin/calendar/{date}/delete", bind(&Admin::RemoveDayPost));
  ctx.router.Post("/admin/calendar/import", bind(&Admin::ImportPost));
}

}  // namespace zhenwu::services
