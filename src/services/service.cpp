#include "services/service.hpp"

#include <algorithm>
#include <charconv>
#include <set>

#include "org/model.hpp"
#include "org/store.hpp"
#include "people/keys.hpp"
#include "people/service.hpp"
#include "people/validate.hpp"
#include "services/notices.hpp"

namespace zhenwu::services {

namespace {

using auth::Permission;

constexpr std::size_t kMaxFilesPerStep = 30;

std::size_t Chars(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

void AddField(Error& e, std::string field, std::string message) {
  if (e.fields.empty()) e.message = message;
  e.fields.push_back({std::move(field), std::move(message)});
}

Error InvalidBase() { return Error{ErrorCode::kInvalidInput, "", {}}; }

Date Today(const Deps& deps) { return ShanghaiDate(deps.clock.NowMs()); }

// A follow-up opened at `opened_ms` with `days` working days is due on this day (RateCase opens
// it with this, RefreshDeadlines recomputes it with this after a calendar edit).
std::string FollowUpDue(const WorkCalendar& calendar, int64_t opened_ms, int days) {
  return FormatDate(calendar.AddWorkingDays(ShanghaiDate(opened_ms), days));
}

std::optional<Date> DateOf(const std::optional<std::string>& text) {
  Date d;
  if (!text || !ParseDate(*text, &d)) return std::nullopt;
  return d;
}

// ---- catalogue rows -------------------------------------------------------------------------

constexpr std::string_view kServiceCols =
    "s.id, s.code, s.unit_id, u.path, u.name, s.name, s.category, s.life_events, s.legal_basis, "
    "s.conditions, s.statutory_days, s.promised_days, s.fee, s.place, s.hours, s.phone, s.online, "
    "s.proxy, s.retired_at_ms, s.demo, s.created_at_ms, s.updated_at_ms";

std::vector<std::string> SplitEvents(const std::string& text) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    auto j = text.find(',', i);
    if (j == std::string::npos) j = text.size();
    if (j > i) out.push_back(text.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string JoinEvents(const std::vector<std::string>& events) {
  if (events.empty()) return "";
  std::string out = ",";
  for (const auto& e : events) out += e + ",";
  return out;
}

Service ServiceFromRow(const db::Row& r) {
  Service s;
  s.id = r.Int(0);
  s.code = r.Text(1);
  s.unit_id = r.Int(2);
  s.unit_path = r.Text(3);
  s.unit_name = r.Text(4);
  s.name = r.Text(5);
  s.category = r.Text(6);
  s.life_events = SplitEvents(r.Text(7));
  s.legal_basis = r.Text(8);
  s.conditions = r.Text(9);
  s.statutory_days = static_cast<int>(r.Int(10));
  s.promised_days = static_cast<int>(r.Int(11));
  s.fee = r.Text(12);
  s.place = r.Text(13);
  s.hours = r.Text(14);
  s.phone = r.Text(15);
  s.online = r.Int(16) != 0;
  s.proxy = r.Int(17) != 0;
  s.retired = !r.IsNull(18);
  s.demo = r.Int(19) != 0;
  s.created_at_ms = r.Int(20);
  s.updated_at_ms = r.Int(21);
  return s;
}

Status LoadMaterials(db::Conn& conn, Service& s) {
  auto rows = conn.Query(
      "SELECT id, service_id, sort_order, name, form, copies, required, note, sample_sha256, "
      "sample_name, sample_type FROM services_materials WHERE service_id = $1 "
      "ORDER BY sort_order, id",
      {s.id});
  if (!rows) return std::move(rows).error();
  s.materials.clear();
  for (const auto& r : rows->rows) {
    Material m;
    m.id = r.Int(0);
    m.service_id = r.Int(1);
    m.sort_order = static_cast<int>(r.Int(2));
    m.name = r.Text(3);
    m.form = MaterialFormFromName(r.Text(4)).value_or(MaterialForm::kEither);
    m.copies = static_cast<int>(r.Int(5));
    m.required = r.Int(6) != 0;
    m.note = r.Text(7);
    m.sample_sha256 = r.Text(8);
    m.sample_name = r.Text(9);
    m.sample_type = r.Text(10);
    s.materials.push_back(std::move(m));
  }
  return {};
}

Result<std::optional<Service>> ServiceWhere(db::Conn& conn, std::string_view where,
                                            const db::Params& params, bool materials = true) {
  auto row = conn.QueryOne(std::string("SELECT ") + std::string(kServiceCols) +
                               " FROM services_services s JOIN org_units u ON u.id = s.unit_id "
                               "WHERE " +
                               std::string(where),
                           params);
  if (!row) return std::move(row).error();
  if (!*row) return std::optional<Service>{};
  Service s = ServiceFromRow(**row);
  if (materials) {
    if (auto st = LoadMaterials(conn, s); !st) return std::move(st).error();
  }
  return std::optional<Service>{std::move(s)};
}

// Parses "12" into 1..365.
std::optional<int> ParseDays(std::string_view text) {
  std::string t = people::Trim(text);
  int v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || end != t.data() + t.size() || v < 1 || v > 365) {
    return std::nullopt;
  }
  return v;
}

struct CleanService {
  std::string code, name, category, legal_basis, conditions, fee, place, hours, phone;
  int statutory = 0, promised = 0;
  std::vector<std::string> events;
  std::vector<MaterialInput> materials;
};

Result<CleanService> CheckService(db::Conn& conn, const ServiceInput& in,
                                  std::optional<int64_t> self_id, org::OrgUnit* unit_out) {
  Error e = InvalidBase();
  CleanService c;
  auto code = org::CheckCode(in.code);
  if (!code) {
    AddField(e, "code", code.error().message);
  } else {
    c.code = *code;
    auto taken = conn.QueryOne("SELECT id FROM services_services WHERE code = $1", {c.code});
    if (!taken) return std::move(taken).error();
    if (*taken && (!self_id || (**taken).Int(0) != *self_id)) {
      AddField(e, "code", "事项编码“" + c.code + "”已被使用");
    }
  }
  c.name = people::Trim(in.name);
  if (c.name.empty() || Chars(c.name) > 100) AddField(e, "name", "请填写事项名称（100 字以内）");
  auto unit = org::FindUnit(conn, in.unit_id);
  if (!unit) return std::move(unit).error();
  if (!*unit || (*unit)->retired()) {
    AddField(e, "unit_id", "请选择实施窗口");
  } else if ((*unit)->kind != org::UnitKind::kWindow &&
             (*unit)->kind != org::UnitKind::kVillageWindow &&
             (*unit)->kind != org::UnitKind::kDepartment) {
    AddField(e, "unit_id", "实施单位应为窗口、村窗口或部门");
  } else if (unit_out) {
    *unit_out = **unit;
  }
  c.category = people::Trim(in.category);
  if (Chars(c.category) > 50) AddField(e, "category", "事项类型不超过 50 字");
  for (const auto& ev : in.life_events) {
    if (!LifeEventLabel(ev)) {
      AddField(e, "life_events", "未知的人生事件：" + ev);
    } else if (std::find(c.events.begin(), c.events.end(), ev) == c.events.end()) {
      c.events.push_back(ev);
    }
  }
  c.legal_basis = people::Trim(in.legal_basis);
  c.conditions = people::Trim(in.conditions);
  if (Chars(c.legal_basis) > 2000) AddField(e, "legal_basis", "设定依据不超过 2000 字");
  if (Chars(c.conditions) > 2000) AddField(e, "conditions", "受理条件不超过 2000 字");
  auto statutory = ParseDays(in.statutory_days);
  auto promised = ParseDays(in.promised_days);
  if (!statutory) AddField(e, "statutory_days", "法定时限应为 1 到 365 个工作日");
  if (!promised) AddField(e, "promised_days", "承诺时限应为 1 到 365 个工作日");
  if (statutory && promised && *promised > *statutory) {
    AddField(e, "promised_days", "承诺时限不能长于法定时限");
  }
  c.statutory = statutory.value_or(0);
  c.promised = promised.value_or(0);
  c.fee = people::Trim(in.fee);
  c.place = people::Trim(in.place);
  c.hours = people::Trim(in.hours);
  c.phone = people::Trim(in.phone);
  if (Chars(c.fee) > 200) AddField(e, "fee", "收费说明不超过 200 字");
  if (Chars(c.place) > 200) AddField(e, "place", "办理地点不超过 200 字");
  if (Chars(c.hours) > 200) AddField(e, "hours", "办理时间不超过 200 字");
  if (Chars(c.phone) > 50) AddField(e, "phone", "咨询电话不超过 50 字");
  if (in.materials.size() > 50) AddField(e, "materials", "申请材料不超过 50 项");
  for (std::size_t i = 0; i < in.materials.size() && i < 50; ++i) {
    MaterialInput m = in.materials[i];
    const std::string prefix = "materials." + std::to_string(i) + ".";
    m.name = people::Trim(m.name);
    m.note = people::Trim(m.note);
    if (m.name.empty() || Chars(m.name) > 100) {
      AddField(e, prefix + "name", "请填写材料名称（100 字以内）");
    }
    if (!MaterialFormFromName(m.form)) AddField(e, prefix + "form", "请选择原件或复印件");
    if (m.copies < 1 || m.copies > 20) AddField(e, prefix + "copies", "份数应为 1 到 20");
    if (Chars(m.note) > 500) AddField(e, prefix + "note", "说明不超过 500 字");
    c.materials.push_back(std::move(m));
  }
  if (!e.fields.empty()) return e;
  return c;
}

Status WriteMaterials(db::Conn& conn, int64_t service_id, const std::vector<MaterialInput>& ms) {
  // Materials are referenced by case files and corrections by id: keep the rows of names that
  // stay, update them in place, and add the new ones.
  auto existing = conn.Query(
      "SELECT id, name FROM services_materials WHERE service_id = $1 ORDER BY sort_order, id",
      {service_id});
  if (!existing) return std::move(existing).error();
  std::vector<std::pair<int64_t, std::string>> old;
  for (const auto& r : existing->rows) old.emplace_back(r.Int(0), r.Text(1));
  std::set<int64_t> kept;
  int order = 0;
  for (const auto& m : ms) {
    ++order;
    auto same = std::find_if(old.begin(), old.end(), [&](const auto& o) {
      return o.second == m.name && !kept.count(o.first);
    });
    if (same != old.end()) {
      kept.insert(same->first);
      auto r = conn.Exec(
          "UPDATE services_materials SET sort_order = $2, form = $3, copies = $4, required = $5, "
          "note = $6, sample_sha256 = $7, sample_name = $8, sample_type = $9 WHERE id = $1",
          {same->first, int64_t{order}, m.form, int64_t{m.copies}, int64_t{m.required ? 1 : 0},
           m.note, m.sample_sha256, m.sample_name, m.sample_type});
      if (!r) return std::move(r).error();
      continue;
    }
    auto r = conn.Exec(
        "INSERT INTO services_materials (service_id, sort_order, name, form, copies, required, "
        "note, sample_sha256, sample_name, sample_type) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
        "$9, $10)",
        {service_id, int64_t{order}, m.name, m.form, int64_t{m.copies}, int64_t{m.required ? 1 : 0},
         m.note, m.sample_sha256, m.sample_name, m.sample_type});
    if (!r) return std::move(r).error();
  }
  for (const auto& [id, name] : old) {
    if (kept.count(id)) continue;
    // A material that cases refer to is kept at the end as optional history (sort_order 1000+);
    // one nobody used is deleted.
    auto used = conn.QueryOne(
        "SELECT 1 FROM services_case_files WHERE material_id = $1 UNION ALL "
        "SELECT 1 FROM services_case_corrections WHERE material_id = $1 LIMIT 1",
        {id});
    if (!used) return std::move(used).error();
    if (*used) {
      auto r = conn.Exec(
          "UPDATE services_materials SET sort_order = 1000 + sort_order, required = 0 WHERE id = "
          "$1",
          {id});
      if (!r) return std::move(r).error();
    } else {
      auto r = conn.Exec("DELETE FROM services_materials WHERE id = $1", {id});
      if (!r) return std::move(r).error();
    }
  }
  return {};
}

std::string ServiceSummary(const Service& s) {
  return "{\"code\":\"" + s.code + "\",\"promised_days\":" + std::to_string(s.promised_days) +
         ",\"statutory_days\":" + std::to_string(s.statutory_days) +
         ",\"materials\":" + std::to_string(s.materials.size()) + "}";
}

// ---- case rows ------------------------------------------------------------------------------

constexpr std::string_view kCaseCols =
    "c.id, c.number, c.service_id, c.service_name, c.unit_id, c.unit_path, u.name, "
    "c.origin_unit_id, c.origin_path, c.channel, c.status, c.applicant_kind, c.resident_id, "
    "c.enterprise_id, c.applicant_user_id, c.applicant_name, c.phone_mask, c.agent_user_id, "
    "c.agent_name, c.description, c.result, c.promised_days, c.start_day, c.paused_days, "
    "c.paused_since, c.due_day, c.correction_round, c.created_at_ms, c.updated_at_ms, "
    "c.completed_at_ms, c.overdue_at_completion, c.demo, c.rating_score, c.rating_comment, "
    "c.rated_at_ms, c.phone4, c.completed_by_user_id";
constexpr std::string_view kCaseFrom =
    " FROM services_cases c JOIN org_units u ON u.id = c.unit_id ";

struct CaseRow {
  ServiceCase c;
  std::string phone4;
  std::optional<int64_t> completed_by;
};

CaseRow CaseFromRow(const db::Row& r, const Deps& deps, Date today) {
  CaseRow out;
  ServiceCase& c = out.c;
  c.id = r.Int(0);
  c.number = r.Text(1);
  c.service_id = r.Int(2);
  c.service_name = r.Text(3);
  c.unit_id = r.Int(4);
  c.unit_path = r.Text(5);
  c.unit_name = r.Text(6);
  c.origin_unit_id = r.Int(7);
  c.origin_path = r.Text(8);
  c.channel = ChannelFromName(r.Text(9)).value_or(Channel::kOnline);
  c.status = StatusFromName(r.Text(10)).value_or(CaseStatus::kSubmitted);
  c.applicant_kind = r.Text(11);
  c.resident_id = r.OptInt(12);
  c.enterprise_id = r.OptInt(13);
  c.applicant_user_id = r.OptInt(14);
  c.applicant_name = r.Text(15);
  c.applicant_phone_mask = r.Text(16);
  c.agent_user_id = r.OptInt(17);
  c.agent_name = r.Text(18);
  c.description = r.Text(19);
  c.result = r.Text(20);
  c.promised_days = static_cast<int>(r.Int(21));
  c.clock.limit_days = c.promised_days;
  c.clock.start = DateOf(r.OptText(22)).value_or(Date{});
  c.clock.paused_days = static_cast<int>(r.Int(23));
  c.clock.paused_since = DateOf(r.OptText(24));
  c.correction_round = static_cast<int>(r.Int(26));
  c.created_at_ms = r.Int(27);
  c.updated_at_ms = r.Int(28);
  c.completed_at_ms = r.OptInt(29);
  c.overdue_at_completion = r.Int(30) != 0;
  c.demo = r.Int(31) != 0;
  if (!r.IsNull(32)) {
    c.rating = Rating{static_cast<int>(r.Int(32)), r.Text(33), r.Int(34)};
  }
  out.phone4 = r.Text(35);
  out.completed_by = r.OptInt(36);
  if (c.status == CaseStatus::kCorrecting) {
    c.due = DueDate(deps.calendar, c.clock, today);  // as if resubmitted today
    c.due_state = DueState::kNone;
  } else if (IsOpen(c.status)) {
    c.due = DateOf(r.OptText(25));
    if (c.due) c.due_state = StateOn(deps.calendar, *c.due, today, deps.due_soon_days);
  }
  return out;
}

Result<std::optional<CaseRow>> LoadCase(db::Conn& conn, const Deps& deps, std::string_view number) {
  if (!LooksLikeCaseNumber(number)) return std::optional<CaseRow>{};
  auto row = conn.QueryOne(std::string("SELECT ") + std::string(kCaseCols) +
                               std::string(kCaseFrom) + "WHERE c.number = $1",
                           {std::string(number)});
  if (!row) return std::move(row).error();
  if (!*row) return std::optional<CaseRow>{};
  return std::optional<CaseRow>{CaseFromRow(**row, deps, Today(deps))};
}

Status LoadDetails(db::Conn& conn, ServiceCase& c, bool public_only) {
  auto files = conn.Query(
      "SELECT id, material_id, material_name, kind, sha256, name, content_type, size, round, "
      "superseded, uploaded_at_ms FROM services_case_files WHERE case_id = $1 ORDER BY id",
      {c.id});
  if (!files) return std::move(files).error();
  c.files.clear();
  for (const auto& r : files->rows) {
    c.files.push_back(CaseFile{r.Int(0), r.Int(1), r.Text(2), r.Text(3), r.Text(4), r.Text(5),
                               r.Text(6), r.Int(7), static_cast<int>(r.Int(8)), r.Int(9) != 0,
                               r.Int(10)});
  }
  auto corr = conn.Query(
      "SELECT material_id, material_name, reason, round, resolved_at_ms FROM "
      "services_case_corrections WHERE case_id = $1 ORDER BY round, id",
      {c.id});
  if (!corr) return std::move(corr).error();
  c.corrections.clear();
  for (const auto& r : corr->rows) {
    c.corrections.push_back(
        CorrectionItem{r.Int(0), r.Text(1), r.Text(2), static_cast<int>(r.Int(3)), !r.IsNull(4)});
  }
  auto events = conn.Query(
      "SELECT id, action, from_status, to_status, at_ms, actor_user_id, actor_name, unit_name, "
      "note, public_note FROM services_case_events WHERE case_id = $1 ORDER BY id",
      {c.id});
  if (!events) return std::move(events).error();
  c.events.clear();
  for (const auto& r : events->rows) {
    CaseEvent e;
    e.id = r.Int(0);
    e.action = ActionFromName(r.Text(1)).value_or(Action::kNote);
    if (auto f = r.OptText(2)) e.from_status = StatusFromName(*f);
    e.to_status = StatusFromName(r.Text(3)).value_or(CaseStatus::kSubmitted);
    e.at_ms = r.Int(4);
    e.actor_user_id = r.OptInt(5);
    e.actor_name = r.Text(6);
    e.unit_name = r.Text(7);
    e.note = r.Text(8);
    e.public_note = r.Int(9) != 0;
    if (public_only && !e.public_note) continue;
    c.events.push_back(std::move(e));
  }
  auto fu = conn.QueryOne(
      "SELECT id, case_id, score, owner_user_id, owner_name, unit_id, due_day, outcome, "
      "closed_at_ms, created_at_ms FROM services_followups WHERE case_id = $1",
      {c.id});
  if (!fu) return std::move(fu).error();
  if (*fu) {
    const auto& r = **fu;
    FollowUp f;
    f.id = r.Int(0);
    f.case_id = r.Int(1);
    f.case_number = c.number;
    f.score = static_cast<int>(r.Int(2));
    f.owner_user_id = r.OptInt(3);
    f.owner_name = r.Text(4);
    f.unit_id = r.Int(5);
    f.due = DateOf(r.OptText(6)).value_or(Date{});
    f.outcome = r.Text(7);
    f.closed_at_ms = r.OptInt(8);
    f.closed = f.closed_at_ms.has_value();
    f.created_at_ms = r.Int(9);
    c.followup = std::move(f);
  }
  return {};
}

bool MayView(const auth::Principal* who, const ServiceCase& c) {
  if (who == nullptr) return false;
  if (who->kind == auth::Principal::Kind::kCitizen) {
    return c.applicant_user_id && *c.applicant_user_id == who->user_id;
  }
  return auth::Authorize(who, Permission::kCaseView, c.unit_path).ok() ||
         auth::Authorize(who, Permission::kCaseView, c.origin_path).ok();
}

// The nearest town at or above the unit at `path`, else the root of its tree: whose code
// starts the case numbers.
Result<std::string> TownCodeFor(db::Conn& conn, std::string_view path) {
  std::vector<int64_t> ids;
  std::size_t i = 1;
  while (i < path.size()) {
    auto j = path.find('/', i);
    if (j == std::string_view::npos) break;
    int64_t v = 0;
    std::from_chars(path.data() + i, path.data() + j, v);
    ids.push_back(v);
    i = j + 1;
  }
  if (ids.empty()) return Error::Internal("办件所属单位不存在");
  // The units on the path in one read (a path is a handful of levels deep).
  std::string sql = "SELECT id, code, kind FROM org_units WHERE id IN (";
  db::Params params;
  for (std::size_t k = 0; k < ids.size(); ++k) {
    sql += (k == 0 ? "$" : ", $") + std::to_string(k + 1);
    params.emplace_back(ids[k]);
  }
  sql += ")";
  auto rows = conn.Query(sql, params);
  if (!rows) return std::move(rows).error();
  std::string root_code;
  for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
    const auto u = std::find_if(rows->rows.begin(), rows->rows.end(),
                                [&](const db::Row& r) { return r.Int(0) == *it; });
    if (u == rows->rows.end()) continue;
    const auto kind = org::KindFromName(u->Text(2)).value_or(org::UnitKind::kTown);  // as org's
    if (kind == org::UnitKind::kTown) return u->Text(1);
    root_code = u->Text(1);
  }
  if (root_code.empty()) return Error::Internal("办件所属单位不存在");
  return root_code;
}

Result<int64_t> NextSequence(db::Conn& conn, const std::string& prefix) {
  return conn.NextNumber("services.case/" + prefix);
}

// Returns the new event's id.
Result<int64_t> InsertEvent(db::Conn& conn, int64_t case_id, Action action,
                            std::optional<CaseStatus> from, CaseStatus to, int64_t at_ms,
                            std::optional<int64_t> actor_id, std::string_view actor_name,
                            std::string_view unit_name, std::string_view note,
                            bool public_note = true) {
  db::Value from_v;
  if (from) from_v = std::string(StatusName(*from));
  db::Value actor_v;
  if (actor_id) actor_v = *actor_id;
  auto r = conn.QueryOne(
      "INSERT INTO services_case_events (case_id, action, from_status, to_status, at_ms, "
      "actor_user_id, actor_name, unit_name, note, public_note) VALUES ($1, $2, $3, $4, $5, $6, "
      "$7, $8, $9, $10) RETURNING id",
      {case_id, std::string(ActionName(action)), from_v, std::string(StatusName(to)), at_ms,
       actor_v, std::string(actor_name), std::string(unit_name), std::string(note),
       int64_t{public_note ? 1 : 0}});
  if (!r) return std::move(r).error();
  if (!*r) return Error::Internal("event insert returned no row");
  return (**r).Int(0);
}

// With `inserted`, appends each file as GetCase would read it back.
Status InsertFiles(db::Conn& conn, int64_t case_id, const std::vector<UploadedFile>& files,
                   const Service* service, std::string_view kind, int round, int64_t now_ms,
                   std::vector<CaseFile>* inserted = nullptr) {
  for (const auto& f : files) {
    std::string material_name;
    if (service && f.material_id != 0) {
      for (const auto& m : service->materials) {
        if (m.id == f.material_id) material_name = m.name;
      }
    }
    auto r = conn.QueryOne(
        "INSERT INTO services_case_files (case_id, material_id, material_name, kind, sha256, "
        "name, content_type, size, round, uploaded_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, "
        "$8, $9, $10) RETURNING id",
        {case_id, f.material_id, material_name, std::string(kind), f.sha256, f.name, f.content_type,
         f.size, int64_t{round}, now_ms});
    if (!r) return std::move(r).error();
    if (!*r) return Error::Internal("file insert returned no row");
    if (inserted) {
      inserted->push_back(CaseFile{(**r).Int(0), f.material_id, material_name, std::string(kind),
                                   f.sha256, f.name, f.content_type, f.size, round, false, now_ms});
    }
  }
  return {};
}

// Checks the uploaded file references: hex sha256, a known type, a material of the service.
void CheckFiles(Error& e, const std::vector<UploadedFile>& files, const Service* service,
                std::string_view field) {
  if (files.size() > kMaxFilesPerStep) {
    AddField(e, std::string(field), "一次最多上传 30 个文件");
    return;
  }
  for (const auto& f : files) {
    const bool hex = f.sha256.size() == 64 &&
                     f.sha256.find_first_not_of("0123456789abcdef") == std::string::npos;
    if (!hex || f.size <= 0) {
      AddField(e, std::string(field), "文件引用无效，请重新上传");
      return;
    }
    if (f.content_type != "application/pdf" && f.content_type != "image/jpeg" &&
        f.content_type != "image/png") {
      AddField(e, std::string(field), "文件类型不支持，请上传 PDF、JPG 或 PNG");
      return;
    }
    if (service && f.material_id != 0 &&
        std::none_of(service->materials.begin(), service->materials.end(),
                     [&](const Material& m) { return m.id == f.material_id; })) {
      AddField(e, std::string(field), "材料不属于该事项");
      return;
    }
  }
}

std::string MaterialField(int64_t material_id) { return "file_" + std::to_string(material_id); }

Result<ServiceCase> Reload(db::Conn& conn, const Deps& deps, std::string_view number,
                           bool public_only) {
  auto row = LoadCase(conn, deps, number);
  if (!row) return std::move(row).error();
  if (!*row) return Error::NotFound("办件不存在");
  ServiceCase c = std::move((*row)->c);
  if (auto s = LoadDetails(conn, c, public_only); !s) return std::move(s).error();
  return c;
}

audit::Entry CaseAudit(const ServiceCase& c, Action action, std::string summary) {
  audit::Entry e;
  e.action = "services.case." + std::string(ActionName(action));
  e.entity = "service_case";
  e.entity_id = c.number;
  e.unit_id = c.unit_id;
  e.summary = std::move(summary);
  return e;
}

std::string ActorName(const auth::Principal* who, std::string_view fallback) {
  if (who && !who->display_name.empty()) return who->display_name;
  if (who) return who->login;
  return std::string(fallback);
}

bool ApplicantMatches(const CaseRow& row, const auth::Principal* who, std::string_view phone4) {
  if (who && who->kind == auth::Principal::Kind::kCitizen && row.c.applicant_user_id &&
      *row.c.applicant_user_id == who->user_id) {
    return true;
  }
  return phone4.size() == 4 && !row.phone4.empty() && phone4 == row.phone4;
}

// Queues the applicant's notice for a step (in-app and SMS), in the step's transaction.
Status Notify(db::Conn& conn, const Deps& deps, const ServiceCase& c, Action action) {
  return QueueApplicantNotice(conn, deps, c, action, NoticeText(c, action));
}

}  // namespace

// ---- catalogue ------------------------------------------------------------------------------

Result<Service> CreateService(db::Conn& conn, const Deps& deps, const audit::Actor& actor,
                              const auth::Principal* who, const ServiceInput& input) {
  if (auto s = auth::AuthorizeAny(who, Permission::kCatalogueEdit); !s) return std::move(s).error();
  org::OrgUnit unit;
  auto clean = CheckService(conn, input, std::nullopt, &unit);
  if (!clean) return std::move(clean).error();
  if (auto s = auth::Authorize(who, Permission::kCatalogueEdit, unit.path); !s) {
    return Error::Invalid("unit_id", "您不能为该单位设置事项");
  }
  const int64_t now = deps.clock.NowMs();
  auto id = conn.QueryOne(
      "INSERT INTO services_services (code, unit_id, name, category, life_events, legal_basis, "
      "conditions, statutory_days, promised_days, fee, place, hours, phone, online, proxy, demo, "
      "created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
      "$13, $14, $15, $16, $17, $17) RETURNING id",
      {clean->code, unit.id, clean->name, clean->category, JoinEvents(clean->events),
       clean->legal_basis, clean->conditions, int64_t{clean->statutory}, int64_t{clean->promised},
       clean->fee, clean->place, clean->hours, clean->phone, int64_t{input.online ? 1 : 0},
       int64_t{input.proxy ? 1 : 0}, int64_t{input.demo ? 1 : 0}, now});
  if (!id) return std::move(id).error();
  const int64_t service_id = (**id).Int(0);
  if (auto s = WriteMaterials(conn, service_id, clean->materials); !s) return std::move(s).error();
  auto made = ServiceWhere(conn, "s.id = $1", {service_id});
  if (!made) return std::move(made).error();
  if (!*made) return Error::Internal("service vanished after insert");
  audit::Entry e;
  e.action = "services.service.create";
  e.entity = "service";
  e.entity_id = std::to_string(service_id);
  e.unit_id = unit.id;
  e.summary = "新增事项 " + clean->name;
  e.after = ServiceSummary(**made);
  if (!input.demo) {
    if (auto s = audit::Record(conn, deps.clock, actor, e); !s) return std::move(s).error();
  }
  return std::move(**made);
}

Result<Service> UpdateService(db::Conn& conn, const Deps& deps, const audit::Actor& actor,
                              const auth::Principal* who, int64_t id, const ServiceInput& input) {
  auto before = ServiceWhere(conn, "s.id = $1", {id});
  if (!before) return std::move(before).error();
  if (!*before) return Error::NotFound("事项不存在");
  if (auto s = auth::Authorize(who, Permission::kCatalogueEdit, (*before)->unit_path); !s) {
    return std::move(s).error();
  }
  org::OrgUnit unit;
  auto clean = CheckService(conn, input, id, &unit);
  if (!clean) return std::move(clean).error();
  if (auto s = auth::Authorize(who, Permission::kCatalogueEdit, unit.path); !s) {
    return Error::Invalid("unit_id", "您不能为该单位设置事项");
  }
  auto r = conn.Exec(
      "UPDATE services_services SET code = $2, unit_id = $3, name = $4, category = $5, "
      "life_events = $6, legal_basis = $7, conditions = $8, statutory_days = $9, "
      "promised_days = $10, fee = $11, place = $12, hours = $13, phone = $14, online = $15, "
      "proxy = $16, updated_at_ms = $17 WHERE id = $1",
      {id, clean->code, unit.id, clean->name, clean->category, JoinEvents(clean->events),
       clean->legal_basis, clean->conditions, int64_t{clean->statutory}, int64_t{clean->promised},
       clean->fee, clean->place, clean->hours, clean->phone, int64_t{input.online ? 1 : 0},
       int64_t{input.proxy ? 1 : 0}, deps.clock.NowMs()});
  if (!r) return std::move(r).error();
  if (auto s = WriteMaterials(conn, id, clean->materials); !s) return std::move(s).error();
  auto after = ServiceWhere(conn, "s.id = $1", {id});
  if (!after) return std::move(after).error();
  if (!*after) return Error::Internal("service vanished after update");
  audit::Entry e;
  e.action = "services.service.update";
  e.entity = "service";
  e.entity_id = std::to_string(id);
  e.unit_id = unit.id;
  e.summary = "修改事项 " + clean->name;
  e.before = ServiceSummary(**before);
  e.after = ServiceSummary(**after);
  if (auto s = audit::Record(conn, deps.clock, actor, e); !s) return std::move(s).error();
  return std::move(**after);
}

Result<Service> SetServiceRetired(db::Conn& conn, const Deps& deps, const audit::Actor& actor,
                                  const auth::Principal* who, int64_t id, bool retired) {
  auto before = ServiceWhere(conn, "s.id = $1", {id});
  if (!before) return std::move(before).error();
  if (!*before) return Error::NotFound("事项不存在");
  if (auto s = auth::Authorize(who, Permission::kCatalogueEdit, (*before)->unit_path); !s) {
    return std::move(s).error();
  }
  db::Value at;
  if (retired) at = deps.clock.NowMs();
  auto r =
      conn.Exec("UPDATE services_services SET retired_at_ms = $2, updated_at_ms = $3 WHERE id = $1",
                {id, at, deps.clock.NowMs()});
  if (!r) return std::move(r).error();
  audit::Entry e;
  e.action = retired ? "services.service.retire" : "services.service.restore";
  e.entity = "service";
  e.entity_id = std::to_string(id);
  e.unit_id = (*before)->unit_id;
  e.summary = (retired ? "停办事项 " : "恢复事项 ") + (*before)->name;
  if (auto s = audit::Record(conn, deps.clock, actor, e); !s) return std::move(s).error();
  auto after = ServiceWhere(conn, "s.id = $1", {id});
  if (!after) return std::move(after).error();
  return std::move(**after);
}

Result<std::optional<Service>> GetService(db::Conn& conn, int64_t id) {
  return ServiceWhere(conn, "s.id = $1", {id});
}

Result<std::optional<Service>> GetServiceByCode(db::Conn& conn, std::string_view code) {
  return ServiceWhere(conn, "s.code = $1", {std::string(code)});
}

Result<std::vector<Service>> ListServices(db::Conn& conn, const ServiceQuery& query) {
  std::string sql = std::string("SELECT ") + std::string(kServiceCols) +
                    " FROM services_services s JOIN org_units u ON u.id = s.unit_id WHERE 1 = 1";
  db::Params params;
  auto arg = [&](db::Value v) {
    params.push_back(std::move(v));
    return "$" + std::to_string(params.size());
  };
  if (query.unit_id) {
    auto unit = org::FindUnit(conn, *query.unit_id);
    if (!unit) return std::move(unit).error();
    if (!*unit) return std::vector<Service>{};
    sql += " AND u.path >= " + arg((*unit)->path) + " AND u.path < " +
           arg(org::SubtreeUpperBound((*unit)->path));
  }
  if (!query.life_event.empty()) {
    sql += " AND s.life_events LIKE " + arg("%," + query.life_event + ",%");
  }
  const std::string text = people::Trim(query.text);
  if (!text.empty()) {
    std::string like = "%";
    for (char ch : text) {
      if (ch == '%' || ch == '_' || ch == '\\') like.push_back('\\');
      like.push_back(ch);
    }
    like += "%";
    const std::string p = arg(like);
    sql += " AND (s.name LIKE " + p + " ESCAPE '\\' OR s.conditions LIKE " + p +
           " ESCAPE '\\' OR s.legal_basis LIKE " + p + " ESCAPE '\\' OR s.code LIKE " + p +
           " ESCAPE '\\')";
  }
  if (!query.include_retired) sql += " AND s.retired_at_ms IS NULL";
  if (query.online_only) sql += " AND s.online = 1";
  if (query.proxy_only) sql += " AND s.proxy = 1";
  sql += " ORDER BY u.path, s.code LIMIT " + arg(int64_t{std::clamp(query.limit, 1, 1000)});
  auto rows = conn.Query(sql, params);
  if (!rows) return std::move(rows).error();
  std::vector<Service> out;
  out.reserve(rows->rows.size());
  for (const auto& r : rows->rows) out.push_back(ServiceFromRow(r));
  return out;
}

// ---- cases ----------------------------------------------------------------------------------

Result<ServiceCase> Apply(db::Conn& conn, const Deps& deps, const audit::Actor& actor,
                          const auth::Principal* who, const ApplyInput& input) {
  // The materials matter only to check and name files, or to ask for the required ones (not at
  // the window, where the clerk sees the paper originals).
  const bool need_materials = !input.files.empty() || input.channel != Channel::kWindow;
  const bool by_code = input.service_id <= 0 && !input.service_code.empty();
  const std::string service_field = by_code ? "service_code" : "service_id";
  auto svc = by_code ? ServiceWhere(conn, "s.code = $1", {input.service_code}, need_materials)
                     : ServiceWhere(conn, "s.id = $1", {input.service_id}, need_materials);
  if (!svc) return std::move(svc).error();
  if (!*svc) {
    return Error::Invalid(
        service_field, by_code || input.service_id > 0 ? "没有这个服务事项" : "请选择要办理的事项");
  }
  const Service& service = **svc;
  if (service.retired) return Error::Invalid(service_field, "该事项已停止办理");

  const bool staff = who && who->kind == auth::Principal::Kind::kStaff;
  Channel channel = Channel::kOnline;
  if (input.channel) {
    channel = *input.channel;
  } else if (staff) {
    channel = auth::Authorize(who, Permission::kCaseHandle, service.unit_path).ok()
                  ? Channel::kWindow
                  : Channel::kProxy;
  }
  switch (channel) {
    case Channel::kOnline:
      if (!service.online) {
        return Error::Invalid(service_field, "该事项不能网上申请，请到窗口或村服务站办理");
      }
      break;
    case Channel::kProxy:
      if (auto s = auth::AuthorizeAny(who, Permission::kCaseApplyForOthers); !s) {
        return std::move(s).error();
      }
      if (!service.proxy) return Error::Invalid(service_field, "该事项不能由村级代办");
      break;
    case Channel::kWindow:
      if (auto s = auth::Authorize(who, Permission::kCaseHandle, service.unit_path); !s) {
        return std::move(s).error();
      }
      break;
  }

  Error e = InvalidBase();
  const Date today = Today(deps);
  const bool person = input.applicant_kind != "enterprise";
  if (input.applicant_kind != "person" && input.applicant_kind != "enterprise") {
    AddField(e, "applicant_kind", "请选择个人或企业");
  }
  std::string name, id_card, uscc;
  std::optional<org::OrgUnit> village;
  if (person) {
    name = people::Trim(input.name);
    if (name.empty() || Chars(name) > 50) AddField(e, "name", "请填写申请人姓名（50 字以内）");
    auto id = people::NormalizeIdCard(input.id_card, today, "id_card");
    if (!id) {
      AddField(e, "id_card", id.error().message);
    } else {
      id_card = *id;
    }
    auto v = org::FindUnit(conn, input.village_id);
    if (!v) return std::move(v).error();
    if (!*v || (*v)->kind != org::UnitKind::kVillage || (*v)->retired()) {
      AddField(e, "village_id", "请选择所属村（社区）");
    } else {
      village = **v;
    }
  } else {
    name = people::Trim(input.enterprise_name);
    if (name.empty() || Chars(name) > 100) {
      AddField(e, "enterprise_name", "请填写企业名称（100 字以内）");
    }
    auto code = people::NormalizeUscc(input.uscc, "uscc");
    if (!code) {
      AddField(e, "uscc", code.error().message);
    } else {
      uscc = *code;
    }
    if (input.village_id != 0) {
      auto v = org::FindUnit(conn, input.village_id);
      if (!v) return std::move(v).error();
      if (*v && !(*v)->retired()) village = **v;
    }
  }
  auto phone = people::NormalizeMobile(input.phone, "phone");
  if (!phone) AddField(e, "phone", "请填写申请人的手机号码，用于查询进度和接收通知");
  const std::string address = people::Trim(input.address);
  if (Chars(address) > 200) AddField(e, "address", "地址不超过 200 字");
  const std::string description = people::Trim(input.description);
  if (Chars(description) > 2000) AddField(e, "description", "申请事由不超过 2000 字");
  CheckFiles(e, input.files, &service, "files");
  if (channel != Channel::kWindow) {
    for (const auto& m : service.materials) {
      if (!m.required) continue;
      const bool have = std::any_of(input.files.begin(), input.files.end(),
                                    [&](const UploadedFile& f) { return f.material_id == m.id; });
      if (!have) AddField(e, MaterialField(m.id), "请上传：" + m.name);
    }
  }
  if (channel == Channel::kProxy && village &&
      !auth::Authorize(who, Permission::kCaseApplyForOthers, village->path).ok()) {
    AddField(e, "village_id", "只能为本村（社区）的村民代办");
  }
  if (channel == Channel::kProxy && !person) {
    AddField(e, "applicant_kind", "村级代办仅限个人事项");
  }
  if (!e.fields.empty()) return e;

  // The applicant in the shared register (材料复用): found by number, else added.
  std::optional<int64_t> resident_id, enterprise_id;
  if (person) {
    // The registered person, if the number is registered; their name must match.
    auto registered = [&]() -> Result<std::optional<int64_t>> {
      auto found = people::FindResidentByIdCard(conn, deps.clock, deps.keys, id_card);
      if (!found) return std::move(found).error();
      if (!*found) return std::optional<int64_t>();
      if ((*found)->name != name) {
        return Error::Invalid("name", "姓名与该身份证号码登记的姓名不一致，请核对");
      }
      return std::optional<int64_t>((*found)->id);
    };
    auto found = registered();
    if (!found) return std::move(found).error();
    resident_id = *found;
    if (!resident_id) {
      people::ResidentInput r;
      r.name = name;
      r.id_card = id_card;
      r.phone = *phone;
      r.village_unit_id = village->id;
      r.address = address;
      auto made = people::CreateResident(conn, deps.clock, deps.keys, actor, r);
      if (made) {
        resident_id = made->id;
      } else if (made.error().code == ErrorCode::kInvalidInput) {
        // Registered meanwhile by a concurrent application for the same person (on PostgreSQL
        // the insert waited for that one's commit and then did nothing): use that record.
        auto again = registered();
        if (!again) return std::move(again).error();
        if (!*again) return std::move(made).error();
        resident_id = *again;
      } else {
        return std::move(made).error();
      }
    }
  } else {
    auto registered = [&]() -> Result<std::optional<int64_t>> {
      auto found = people::FindEnterpriseByUscc(conn, uscc);
      if (!found) return std::move(found).error();
      if (!*found) return std::optional<int64_t>();
      return std::optional<int64_t>((*found)->id);
    };
    auto found = registered();
    if (!found) return std::move(found).error();
    if (*found) {
      enterprise_id = *found;
    } else {
      people::EnterpriseInput en;
      en.name = name;
      en.uscc = uscc;
      en.legal_rep = people::Trim(input.legal_rep);
      en.phone = *phone;
      en.address = address;
      en.unit_id = village ? village->id : service.unit_id;
      auto made = people::CreateEnterprise(conn, deps.clock, deps.keys, actor, en);
      if (made) {
        enterprise_id = made->id;
      } else if (made.error().code == ErrorCode::kInvalidInput) {
        // Registered meanwhile by a concurrent application of the same enterprise (as for
        // residents above): use that record.
        auto again = registered();
        if (!again) return std::move(again).error();
        if (!*again) return std::move(made).error();
        enterprise_id = *again;
      } else {
        return std::move(made).error();
      }
    }
  }

  // Where it was applied: the cadre's village for a 代办, else the service's window.
  int64_t origin_id = service.unit_id;
  std::string origin_path = service.unit_path;
  if (channel == Channel::kProxy) {
    origin_id = village->id;
    origin_path = village->path;
  }
  std::optional<int64_t> agent_id;
  std::string agent_name;
  if (channel != Channel::kOnline && staff) {
    agent_id = who->user_id;
    agent_name = ActorName(who, "");
  }
  std::optional<int64_t> applicant_user;
  if (who && who->kind == auth::Principal::Kind::kCitizen) applicant_user = who->user_id;

  auto town = TownCodeFor(conn, service.unit_path);
  if (!town) return std::move(town).error();
  const std::string prefix = *town + "-" + FormatDate(today);
  auto seq = NextSequence(conn, prefix);
  if (!seq) return std::move(seq).error();
  const std::string number = FormatCaseNumber(*town, today, *seq);

  const int64_t now = deps.clock.NowMs();
  CaseClock clock{today, service.promised_days, 0, std::nullopt};
  const Date due = DueDate(deps.calendar, clock, today);
  db::Value resident_v, enterprise_v, user_v, agent_v;
  if (resident_id) resident_v = *resident_id;
  if (enterprise_id) enterprise_v = *enterprise_id;
  if (applicant_user) user_v = *applicant_user;
  if (agent_id) agent_v = *agent_id;
  auto inserted = conn.QueryOne(
      "INSERT INTO services_cases (number, service_id, service_name, unit_id, unit_path, "
      "origin_unit_id, origin_path, channel, status, applicant_kind, resident_id, enterprise_id, "
      "applicant_user_id, applicant_name, phone_enc, phone_idx, phone_mask, phone4, "
      "agent_user_id, agent_name, description, promised_days, start_day, due_day, demo, "
      "created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'submitted', $9, "
      "$10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, 0, $24, $24) "
      "RETURNING id",
      {number,
       service.id,
       service.name,
       service.unit_id,
       service.unit_path,
       origin_id,
       origin_path,
       std::string(ChannelName(channel)),
       std::string(person ? "person" : "enterprise"),
       resident_v,
       enterprise_v,
       user_v,
       name,
       deps.keys.Encrypt(*phone),
       deps.keys.BlindIndex("phone", *phone),
       people::MaskPhone(*phone),
       LastFour(*phone),
       agent_v,
       agent_name,
       description,
       int64_t{service.promised_days},
       FormatDate(today),
       FormatDate(due),
       now});
  if (!inserted) return std::move(inserted).error();
  // The case as GetCase would read it back, built from what was just written.
  ServiceCase made;
  made.id = (**inserted).Int(0);
  made.number = number;
  made.service_id = service.id;
  made.service_name = service.name;
  made.unit_id = service.unit_id;
  made.unit_path = service.unit_path;
  made.unit_name = service.unit_name;
  made.origin_unit_id = origin_id;
  made.origin_path = origin_path;
  made.channel = channel;
  made.status = CaseStatus::kSubmitted;
  made.applicant_kind = person ? "person" : "enterprise";
  made.resident_id = resident_id;
  made.enterprise_id = enterprise_id;
  made.applicant_user_id = applicant_user;
  made.applicant_name = name;
  made.applicant_phone_mask = people::MaskPhone(*phone);
  made.agent_user_id = agent_id;
  made.agent_name = agent_name;
  made.description = description;
  made.promised_days = service.promised_days;
  made.clock = clock;
  made.due = due;
  made.due_state = StateOn(deps.calendar, due, today, deps.due_soon_days);
  made.created_at_ms = now;
  made.updated_at_ms = now;
  if (auto s = InsertFiles(conn, made.id, input.files, &service, "material", 0, now, &made.files);
      !s) {
    return std::move(s).error();
  }
  CaseEvent submitted;
  submitted.action = Action::kSubmit;
  submitted.to_status = CaseStatus::kSubmitted;
  submitted.at_ms = now;
  submitted.actor_user_id = agent_id ? agent_id : applicant_user;
  submitted.actor_name = "申请人";
  if (channel == Channel::kProxy) submitted.actor_name = agent_name + "（代办）";
  if (channel == Channel::kWindow) submitted.actor_name = agent_name;
  if (channel == Channel::kProxy) submitted.unit_name = village->name;
  submitted.note = std::string(ChannelLabel(channel));
  auto event_id = InsertEvent(conn, made.id, submitted.action, std::nullopt, submitted.to_status,
                              now, submitted.actor_user_id, submitted.actor_name,
                              submitted.unit_name, submitted.note);
  if (!event_id) return std::move(event_id).error();
  submitted.id = *event_id;
  made.events.push_back(std::move(submitted));
  if (auto s = QueueApplicantNoticeTo(conn, deps, made, *phone, NoticeText(made, Action::kSubmit));
      !s) {
    return std::move(s).error();
  }
  return made;
}

Result<ServiceCase> Transition(db::Conn& conn, const Deps& deps, const audit::Actor& actor,
                               const auth::Principal* who, std::string_view number,
                               const TransitionInput& input) {
  if (who == nullptr) return Error{ErrorCode::kUnauthenticated, "请先登录", {}};
  auto loaded = LoadCase(conn, deps, number);
  if (!loaded) return std::move(loaded).error();
  if (!*loaded || !MayView(who, (*loaded)->c)) return Error::NotFound("办件不存在");
  CaseRow row = std::move(**loaded);
  ServiceCase& c = row.c;

  const bool handler = auth::Authorize(who, Permission::kCaseHandle, c.unit_path).ok();
  const bool agent = c.channel == Channel::kProxy &&
                     auth::Authorize(who, Permission::kCaseApplyForOthers, c.origin_path).ok();
  if (input.action == Action::kSubmit || input.action == Action::kRate ||
      input.action == Action::kWithdraw) {
    return Error::Invalid("action", "不支持的操作");
  }
  if (!handler && !(input.action == Action::kResubmit && agent)) {
    return Error{ErrorCode::kForbidden, "您无权办理该办件", {}};
  }
  if (input.expect_status && *input.expect_status != c.status) {
    return Error::Conflict("办件状态已变为“" + std::string(StatusLabel(c.status)) +
                           "”，请刷新后再操作");
  }
  auto next = Next(c.status, input.action);
  if (!next) {
    return Error::Conflict("办件当前为“" + std::string(StatusLabel(c.status)) + "”，不能" +
                           std::string(ActionLabel(input.action)));
  }

  auto svc = GetService(conn, c.service_id);
  if (!svc) return std::move(svc).error();
  if (!*svc) return Error::Internal("办件的事项不存在");
  const Service& service = **svc;
  const Date today = Today(deps);
  const int64_t now = deps.clock.NowMs();
  const std::string note = people::Trim(input.note);
  Error e = InvalidBase();
  if (Chars(note) > 2000) AddField(e, "note", "说明不超过 2000 字");

  // The columns this step changes, beyond status and updated_at.
  std::string sets;
  db::Params params{c.id, std::string(StatusName(c.status)), std::string(StatusName(*next)), now};
  auto set = [&](std::string_view column, db::Value v) {
    params.push_back(std::move(v));
    sets += ", " + std::string(column) + " = $" + std::to_string(params.size());
  };
  std::string event_note = note;
  std::string event_unit = c.unit_name;
  std::string summary;

  switch (input.action) {
    case Action::kAccept:
      summary = "受理办件 " + c.number;
      break;
    case Action::kReject:
      if (note.empty()) AddField(e, "reason", "请填写不予受理的理由");
      set("due_day", db::Value{});
      summary = "不予受理 " + c.number;
      break;
    case Action::kRequestCorrection: {
      if (input.corrections.empty() && note.empty()) {
        AddField(e, "materials", "请勾选需要补正的材料，或写明需要补正的内容");
      }
      for (const auto& item : input.corrections) {
        if (item.material_id != 0 &&
            std::none_of(service.materials.begin(), service.materials.end(),
                         [&](const Material& m) { return m.id == item.material_id; })) {
          AddField(e, "materials", "材料不属于该事项");
        }
        if (Chars(item.reason) > 500) AddField(e, "materials", "补正说明不超过 500 字");
      }
      if (!e.fields.empty()) break;
      const int round = c.correction_round + 1;
      auto add = [&](int64_t material_id, std::string material_name, std::string reason) -> Status {
        auto r = conn.Exec(
            "INSERT INTO services_case_corrections (case_id, round, material_id, material_name, "
            "reason) VALUES ($1, $2, $3, $4, $5)",
            {c.id, int64_t{round}, material_id, std::move(material_name), std::move(reason)});
        if (!r) return std::move(r).error();
        return {};
      };
      std::string list;
      for (const auto& item : input.corrections) {
        std::string mname = item.material_name;
        for (const auto& m : service.materials) {
          if (m.id == item.material_id) mname = m.name;
        }
        std::string reason = people::Trim(item.reason);
        if (reason.empty()) reason = "缺少或不符合要求";
        if (auto s = add(item.material_id, mname, reason); !s) return std::move(s).error();
        list += (list.empty() ? "" : "；") + mname + "：" + reason;
      }
      if (!note.empty()) {
        if (auto s = add(0, "", note); !s) return std::move(s).error();
      }
      set("correction_round", int64_t{round});
      set("paused_since", FormatDate(today));
      // The due day stays as it was; it moves on by the paused days at resubmission.
      event_note = list.empty() ? note : (note.empty() ? list : list + "；" + note);
      summary = "一次性告知补正 " + c.number;
      break;
    }
    case Action::kResubmit: {
      CheckFiles(e, input.files, &service, "files");
      std::set<int64_t> open_materials;
      auto open = conn.Query(
          "SELECT material_id, material_name FROM services_case_corrections WHERE case_id = $1 "
          "AND resolved_at_ms IS NULL AND material_id <> 0",
          {c.id});
      if (!open) return std::move(open).error();
      for (const auto& r : open->rows) {
        const int64_t mid = r.Int(0);
        open_materials.insert(mid);
        const bool have = std::any_of(input.files.begin(), input.files.end(),
                                      [&](const UploadedFile& f) { return f.material_id == mid; });
        if (!have && !handler) AddField(e, MaterialField(mid), "请上传补正材料：" + r.Text(1));
      }
      if (!e.fields.empty()) break;
      for (const auto& f : input.files) {
        if (f.material_id == 0) continue;
        auto r = conn.Exec(
            "UPDATE services_case_files SET superseded = 1 WHERE case_id = $1 AND material_id = "
            "$2 AND kind = 'material' AND round < $3",
            {c.id, f.material_id, int64_t{c.correction_round}});
        if (!r) return std::move(r).error();
      }
      if (auto s =
              InsertFiles(conn, c.id, input.files, &service, "material", c.correction_round, now);
          !s) {
        return std::move(s).error();
      }
      auto r = conn.Exec(
          "UPDATE services_case_corrections SET resolved_at_ms = $2 WHERE case_id = $1 AND "
          "resolved_at_ms IS NULL",
          {c.id, now});
      if (!r) return std::move(r).error();
      const Date since = c.clock.paused_since.value_or(today);
      const int paused = c.clock.paused_days + PausedWorkingDays(deps.calendar, since, today);
      CaseClock resumed{c.clock.start, c.clock.limit_days, paused, std::nullopt};
      set("paused_days", int64_t{paused});
      set("paused_since", db::Value{});
      set("due_day", FormatDate(DueDate(deps.calendar, resumed, today)));
      summary = "补正材料已提交 " + c.number;
      break;
    }
    case Action::kTransfer: {
      auto target = org::FindUnit(conn, input.target_unit_id);
      if (!target) return std::move(target).error();
      auto town = TownCodeFor(conn, c.unit_path);
      if (!town) return std::move(town).error();
      auto town_unit = org::FindUnitByCode(conn, *town);
      if (!town_unit) return std::move(town_unit).error();
      const bool kind_ok = *target && ((*target)->kind == org::UnitKind::kWindow ||
                                       (*target)->kind == org::UnitKind::kVillageWindow ||
                                       (*target)->kind == org::UnitKind::kDepartment ||
                                       (*target)->kind == org::UnitKind::kTown);
      if (!kind_ok || (*target)->retired() || !*town_unit ||
          !org::PathWithin((*target)->path, (*town_unit)->path)) {
        AddField(e, "target_unit_id", "请选择本镇内的窗口或部门");
      } else if ((*target)->id == c.unit_id) {
        AddField(e, "target_unit_id", "办件已在该单位，请选择其他窗口");
      }
      if (!e.fields.empty()) break;
      set("unit_id", (*target)->id);
      set("unit_path", (*target)->path);
      event_unit = (*target)->name;
      event_note =
          "由" + c.unit_name + "移交至" + (*target)->name + (note.empty() ? "" : "：" + note);
      summary = "移交办件 " + c.number + " 至 " + (*target)->name;
      break;
    }
    case Action::kComplete: {
      const std::string result = people::Trim(input.result);
      if (result.empty() || Chars(result) > 2000) {
        AddField(e, "result", "请填写办理结果（2000 字以内）");
      }
      CheckFiles(e, input.files, nullptr, "files");
      if (!e.fields.empty()) break;
      if (auto s = InsertFiles(conn, c.id, input.files, nullptr, "result", c.correction_round, now);
          !s) {
        return std::move(s).error();
      }
      const bool late = c.due && today > *c.due;
      set("result", result);
      set("completed_at_ms", now);
      set("completed_by_user_id", who->user_id);
      set("overdue_at_completion", int64_t{late ? 1 : 0});
      set("due_day", db::Value{});
      event_note = result + (note.empty() ? "" : "（" + note + "）");
      summary = "办结办件 " + c.number + (late ? "（超期）" : "");
      break;
    }
    case Action::kNote:
      if (note.empty()) AddField(e, "note", "请填写备注内容");
      summary = "备注办件 " + c.number;
      break;
    default:
      return Error::Invalid("action", "不支持的操作");
  }
  if (!e.fields.empty()) return e;

  auto updated = conn.Exec("UPDATE services_cases SET status = $3, updated_at_ms = $4" + sets +
                               " WHERE id = $1 AND status = $2",
                           params);
  if (!updated) return std::move(updated).error();
  if (*updated != 1) return Error::Conflict("办件状态已变化，请刷新后再操作");
  const bool public_note = input.action != Action::kNote;
  if (auto s = InsertEvent(conn, c.id, input.action, c.status, *next, now, who->user_id,
                           ActorName(who, "工作人员"), event_unit, event_note, public_note);
      !s) {
    return std::move(s).error();
  }
  if (auto s = audit::Record(conn, deps.clock, actor, CaseAudit(c, input.action, summary)); !s) {
    return std::move(s).error();
  }
  auto after = Reload(conn, deps, c.number, false);
  if (!after) return std::move(after).error();
  if (input.action != Action::kNote) {
    if (auto s = Notify(conn, deps, *after, input.action); !s) return std::move(s).error();
  }
  return after;
}

Result<ServiceCase> ApplicantStep(db::Conn& conn, const Deps& deps, const audit::Actor& actor,
                                  const auth::Principal* who, std::string_view number,
                                  std::string_view phone4, const TransitionInput& input) {
  auto loaded = LoadCase(conn, deps, number);
  if (!loaded) return std::move(loaded).error();
  if (!*loaded || !ApplicantMatches(**loaded, who, phone4)) {
    return Error::NotFound("办件编号或手机号后四位不正确");
  }
  CaseRow row = std::move(**loaded);
  ServiceCase& c = row.c;
  if (input.action != Action::kResubmit && input.action != Action::kWithdraw) {
    return Error::Invalid("action", "不支持的操作");
  }
  if (input.expect_status && *input.expect_status != c.status) {
    return Error::Conflict("办件状态已变为“" + std::string(StatusLabel(c.status)) + "”");
  }
  auto next = Next(c.status, input.action);
  if (!next) {
    return Error::Conflict("办件当前为“" + std::string(StatusLabel(c.status)) + "”，不能" +
                           std::string(ActionLabel(input.action)));
  }
  const Date today = Today(deps);
  const int64_t now = deps.clock.NowMs();
  const std::string note = people::Trim(input.note);
  Error e = InvalidBase();
  if (Chars(note) > 2000) AddField(e, "note", "说明不超过 2000 字");
  db::Params params{c.id, std::string(StatusName(c.status)), std::string(StatusName(*next)), now};
  std::string sets;
  if (input.action == Action::kResubmit) {
    auto svc = GetService(conn, c.service_id);
    if (!svc) return std::move(svc).error();
    if (!*svc) return Error::Internal("办件的事项不存在");
    CheckFiles(e, input.files, &**svc, "files");
    auto open = conn.Query(
        "SELECT material_id, material_name FROM services_case_corrections WHERE case_id = $1 "
        "AND resolved_at_ms IS NULL AND material_id <> 0",
        {c.id});
    if (!open) return std::move(open).error();
    for (const auto& r : open->rows) {
      const int64_t mid = r.Int(0);
      const bool have = std::any_of(input.files.begin(), input.files.end(),
                                    [&](const UploadedFile& f) { return f.material_id == mid; });
      if (!have) AddField(e, MaterialField(mid), "请上传补正材料：" + r.Text(1));
    }
    if (!e.fields.empty()) return e;
    for (const auto& f : input.files) {
      if (f.material_id == 0) continue;
      auto r = conn.Exec(
          "UPDATE services_case_files SET superseded = 1 WHERE case_id = $1 AND material_id = $2 "
          "AND kind = 'material' AND round < $3",
          {c.id, f.material_id, int64_t{c.correction_round}});
      if (!r) return std::move(r).error();
    }
    if (auto s = InsertFiles(conn, c.id, input.files, &**svc, "material", c.correction_round, now);
        !s) {
      return std::move(s).error();
    }
    auto r = conn.Exec(
        "UPDATE services_case_corrections SET resolved_at_ms = $2 WHERE case_id = $1 AND "
        "resolved_at_ms IS NULL",
        {c.id, now});
    if (!r) return std::move(r).error();
    const Date since = c.clock.paused_since.value_or(today);
    const int paused = c.clock.paused_days + PausedWorkingDays(deps.calendar, since, today);
    CaseClock resumed{c.clock.start, c.clock.limit_days, paused, std::nullopt};
    params.push_back(int64_t{paused});
    params.push_back(FormatDate(DueDate(deps.calendar, resumed, today)));
    sets = ", paused_days = $5, paused_since = NULL, due_day = $6";
  } else {
    if (!e.fields.empty()) return e;
    sets = ", due_day = NULL, paused_since = NULL";
  }
  auto updated = conn.Exec("UPDATE services_cases SET status = $3, updated_at_ms = $4" + sets +
                               " WHERE id = $1 AND status = $2",
                           params);
  if (!updated) return std::move(updated).error();
  if (*updated != 1) return Error::Conflict("办件状态已变化，请刷新后再操作");
  std::optional<int64_t> actor_id;
  if (who) actor_id = who->user_id;
  if (auto s = InsertEvent(conn, c.id, input.action, c.status, *next, now, actor_id,
                           "申请人" + (who ? "（" + ActorName(who, "") + "）" : std::string()), "",
                           note);
      !s) {
    return std::move(s).error();
  }
  auto after = Reload(conn, deps, c.number, false);
  if (!after) return std::move(after).error();
  if (auto s = Notify(conn, deps, *after, input.action); !s) return std::move(s).error();
  (void)actor;
  return after;
}

Result<ServiceCase> GetCase(db::Conn& conn, const Deps& deps, const auth::Principal* who,
                            std::string_view number) {
  if (who == nullptr) return Error{ErrorCode::kUnauthenticated, "请先登录", {}};
  if (who->kind == auth::Principal::Kind::kStaff) {
    if (auto s = auth::AuthorizeAny(who, Permission::kCaseView); !s) return std::move(s).error();
  }
  auto loaded = LoadCase(conn, deps, number);
  if (!loaded) return std::move(loaded).error();
  if (!*loaded || !MayView(who, (*loaded)->c)) return Error::NotFound("办件不存在");
  ServiceCase c = std::move((*loaded)->c);
  if (auto s = LoadDetails(conn, c, who->kind == auth::Principal::Kind::kCitizen); !s) {
    return std::move(s).error();
  }
  return c;
}

Result<ServiceCase> TrackCase(db::Conn& conn, const Deps& deps, const auth::Principal* who,
                              std::string_view number, std::string_view phone4) {
  auto loaded = LoadCase(conn, deps, number);
  if (!loaded) return std::move(loaded).error();
  if (!*loaded || !ApplicantMatches(**loaded, who, phone4)) {
    return Error::NotFound("办件编号或手机号后四位不正确");
  }
  ServiceCase c = std::move((*loaded)->c);
  if (auto s = LoadDetails(conn, c, true); !s) return std::move(s).error();
  return c;
}

Result<ServiceCase> RateCase(db::Conn& conn, const Deps& deps, const audit::Actor& actor,
                             const auth::Principal* who, std::string_view number,
                             std::string_view phone4, int score, std::string_view comment) {
  auto loaded = LoadCase(conn, deps, number);
  if (!loaded) return std::move(loaded).error();
  if (!*loaded || !ApplicantMatches(**loaded, who, phone4)) {
    return Error::NotFound("办件编号或手机号后四位不正确");
  }
  CaseRow row = std::move(**loaded);
  const ServiceCase& c = row.c;
  if (c.status != CaseStatus::kCompleted) return Error::Conflict("办件办结后才能评价");
  if (c.rating) return Error::Conflict("该办件已经评价过了，每件只能评价一次");
  Error e = InvalidBase();
  if (score < 1 || score > 5) AddField(e, "score", "请选择满意程度");
  const std::string text = people::Trim(comment);
  if (Chars(text) > 500) AddField(e, "comment", "评价内容不超过 500 字");
  if (!e.fields.empty()) return e;
  const int64_t now = deps.clock.NowMs();
  auto updated = conn.Exec(
      "UPDATE services_cases SET rating_score = $2, rating_comment = $3, rated_at_ms = $4, "
      "updated_at_ms = $4 WHERE id = $1 AND rating_score IS NULL",
      {c.id, int64_t{score}, text, now});
  if (!updated) return std::move(updated).error();
  if (*updated != 1) return Error::Conflict("该办件已经评价过了，每件只能评价一次");
  std::optional<int64_t> actor_id;
  if (who) actor_id = who->user_id;
  const std::string label(RatingLabel(score));
  if (auto s = InsertEvent(conn, c.id, Action::kRate, c.status, c.status, now, actor_id, "申请人",
                           "", text.empty() ? label : label + "：" + text);
      !s) {
    return std::move(s).error();
  }
  if (IsBadRating(score)) {
    // 差评必回访: owned by the clerk who completed the case, on the case's unit.
    std::string owner_name;
    db::Value owner_v;
    if (row.completed_by) {
      owner_v = *row.completed_by;
      auto ev = conn.QueryOne(
          "SELECT actor_name FROM services_case_events WHERE case_id = $1 AND action = "
          "'complete' ORDER BY id DESC LIMIT 1",
          {c.id});
      if (!ev) return std::move(ev).error();
      if (*ev) owner_name = (**ev).Text(0);
    }
    const std::string due = FollowUpDue(deps.calendar, now, deps.followup_days);
    auto r = conn.Exec(
        "INSERT INTO services_followups (case_id, score, owner_user_id, owner_name, unit_id, "
        "unit_path, due_day, limit_days, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
        "$9)",
        {c.id, int64_t{score}, owner_v, owner_name, c.unit_id, c.unit_path, due,
         int64_t{deps.followup_days}, now});
    if (!r) return std::move(r).error();
  }
  audit::Entry entry = CaseAudit(c, Action::kRate, "评价办件 " + c.number + "：" + label);
  if (auto s = audit::Record(conn, deps.clock, actor, entry); !s) return std::move(s).error();
  return Reload(conn, deps, c.number, true);
}

Result<FollowUp> CloseFollowUp(db::Conn& conn, const Deps& deps, const audit::Actor& actor,
                               const auth::Principal* who, int64_t followup_id,
                               std::string_view outcome) {
  if (who == nullptr) return Error{ErrorCode::kUnauthenticated, "请先登录", {}};
  auto row = conn.QueryOne(
      "SELECT f.case_id, f.unit_path, f.closed_at_ms, c.number FROM services_followups f JOIN "
      "services_cases c ON c.id = f.case_id WHERE f.id = $1",
      {followup_id});
  if (!row) return std::move(row).error();
  if (!*row) return Error::NotFound("回访记录不存在");
  const std::string unit_path = (**row).Text(1);
  const std::string number = (**row).Text(3);
  if (!auth::Authorize(who, Permission::kCaseView, unit_path).ok()) {
    return Error::NotFound("回访记录不存在");
  }
  if (auto s = auth::Authorize(who, Permission::kCaseHandle, unit_path); !s) {
    return Error{ErrorCode::kForbidden, "您无权处理该回访", {}};
  }
  if (!(**row).IsNull(2)) return Error::Conflict("该回访已经办结");
  const std::string text = people::Trim(outcome);
  if (text.empty() || Chars(text) > 2000) {
    return Error::Invalid("outcome", "请填写回访和整改情况（2000 字以内）");
  }
  const int64_t now = deps.clock.NowMs();
  auto r = conn.Exec(
      "UPDATE services_followups SET outcome = $2, closed_at_ms = $3, owner_user_id = "
      "COALESCE(owner_user_id, $4), owner_name = CASE WHEN owner_name = '' THEN $5 ELSE "
      "owner_name END WHERE id = $1 AND closed_at_ms IS NULL",
      {followup_id, text, now, who->user_id, ActorName(who, "")});
  if (!r) return std::move(r).error();
  if (*r != 1) return Error::Conflict("该回访已经办结");
  auto c = Reload(conn, deps, number, false);
  if (!c) return std::move(c).error();
  if (auto s = InsertEvent(conn, c->id, Action::kNote, c->status, c->status, now, who->user_id,
                           ActorName(who, "工作人员"), c->unit_name, "回访整改：" + text, true);
      !s) {
    return std::move(s).error();
  }
  if (auto s = audit::Record(conn, deps.clock, actor,
                             CaseAudit(*c, Action::kNote, "办结回访 " + number));
      !s) {
    return std::move(s).error();
  }
  if (auto s = QueueApplicantNotice(conn, deps, *c, Action::kNote,
                                    "您对办件" + number + "的评价已回访整改：" + text);
      !s) {
    return std::move(s).error();
  }
  auto after = Reload(conn, deps, number, false);
  if (!after) return std::move(after).error();
  if (!after->followup) return Error::Internal("follow-up vanished");
  return *after->followup;
}

namespace {

// "(c.unit_path … OR c.origin_path …)" for the scopes of `who` over `permission`; false when
// none. `column_sets` lists which path columns a scope may match.
std::string ScopeCondition(const auth::Principal& who, Permission permission,
                           const std::vector<std::string>& columns, db::Params& params) {
  std::string out;
  auto arg = [&](db::Value v) {
    params.push_back(std::move(v));
    return "$" + std::to_string(params.size());
  };
  for (const auto& scope : auth::ScopesFor(who, permission)) {
    for (const auto& col : columns) {
      if (!out.empty()) out += " OR ";
      if (scope.exact) {
        out += col + " = " + arg(scope.path);
      } else {
        out += "(" + col + " >= " + arg(scope.path) + " AND " + col + " < " +
               arg(org::SubtreeUpperBound(scope.path)) + ")";
      }
    }
  }
  if (out.empty()) return "1 = 0";
  return "(" + out + ")";
}

std::string Like(std::string_view text) {
  std::string like = "%";
  for (char ch : text) {
    if (ch == '%' || ch == '_' || ch == '\\') like.push_back('\\');
    like.push_back(ch);
  }
  return like + "%";
}

}  // namespace

Result<std::vector<FollowUp>> ListFollowUps(db::Conn& conn, const Deps& deps,
                                            const auth::Principal& who,
                                            const FollowUpQuery& query) {
  (void)deps;
  if (auto s = auth::AuthorizeAny(&who, Permission::kCaseView); !s) return std::move(s).error();
  db::Params params;
  std::string sql =
      "SELECT f.id, f.case_id, c.number, f.score, f.owner_user_id, f.owner_name, f.unit_id, "
      "f.due_day, f.outcome, f.closed_at_ms, f.created_at_ms FROM services_followups f JOIN "
      "services_cases c ON c.id = f.case_id WHERE " +
      ScopeCondition(who, Permission::kCaseView, {"f.unit_path"}, params);
  if (query.open_only) sql += " AND f.closed_at_ms IS NULL";
  params.push_back(int64_t{std::clamp(query.limit, 1, 500)});
  sql += " ORDER BY CASE WHEN f.closed_at_ms IS NULL THEN 0 ELSE 1 END, f.due_day, f.id LIMIT $" +
         std::to_string(params.size());
  auto rows = conn.Query(sql, params);
  if (!rows) return std::move(rows).error();
  std::vector<FollowUp> out;
  for (const auto& r : rows->rows) {
    FollowUp f;
    f.id = r.Int(0);
    f.case_id = r.Int(1);
    f.case_number = r.Text(2);
    f.score = static_cast<int>(r.Int(3));
    f.owner_user_id = r.OptInt(4);
    f.owner_name = r.Text(5);
    f.unit_id = r.Int(6);
    f.due = DateOf(r.OptText(7)).value_or(Date{});
    f.outcome = r.Text(8);
    f.closed_at_ms = r.OptInt(9);
    f.closed = f.closed_at_ms.has_value();
    f.created_at_ms = r.Int(10);
    out.push_back(std::move(f));
  }
  return out;
}

namespace {

// The statuses of the open-case indexes (migration 0003), written out literally in queries so
// that SQLite and PostgreSQL both see the indexes' condition in the query (a bound parameter
// would hide it). The order key puts cases without a deadline (paused for 补正) last.
constexpr std::string_view kOpenStatusList = "('submitted', 'correcting', 'accepted')";
constexpr std::string_view kDueKey = "COALESCE(c.due_day, '9999-12-31')";
constexpr std::string_view kNoDueKey = "9999-12-31";

}  // namespace

Result<CaseListStatement> CaseListSql(db::Conn& conn, const Deps& deps, const auth::Principal& who,
                                      const CaseQuery& query) {
  const Date today = Today(deps);
  const int limit = std::clamp(query.limit, 1, 500);

  // Keyset: "d:<due key>:<id>" (deadline order, no deadline as "9999-12-31") or "i:<id>"
  // (newest first).
  std::string cursor_day;
  int64_t cursor_id = 0;
  if (query.after) {
    const std::string& cur = *query.after;
    if (query.order_recent && cur.rfind("i:", 0) == 0) {
      std::from_chars(cur.data() + 2, cur.data() + cur.size(), cursor_id);
    } else if (!query.order_recent && cur.rfind("d:", 0) == 0 && cur.size() >= 14 &&
               cur[12] == ':') {
      cursor_day = cur.substr(2, 10);
      std::from_chars(cur.data() + 13, cur.data() + cur.size(), cursor_id);
    } else {
      return Error::Invalid("after", "翻页参数无效");
    }
  }
  std::optional<std::string> unit_filter, origin_filter;
  bool no_such_unit = false;
  auto subtree = [&](int64_t unit_id, std::optional<std::string>& path) -> Status {
    auto unit = org::FindUnit(conn, unit_id);
    if (!unit) return std::move(unit).error();
    if (*unit) {
      path = (*unit)->path;
    } else {
      no_such_unit = true;
    }
    return {};
  };
  if (query.unit_id) {
    if (auto s = subtree(*query.unit_id, unit_filter); !s) return std::move(s).error();
  }
  if (query.origin_unit_id) {
    if (auto s = subtree(*query.origin_unit_id, origin_filter); !s) return std::move(s).error();
  }
  const std::string text = people::Trim(query.text);
  const std::string t = FormatDate(today);
  const std::string soon = FormatDate(deps.calendar.AddWorkingDays(today, deps.due_soon_days));
  const bool due_filter = query.due_state && *query.due_state != DueState::kNone;

  db::Params params;
  auto arg = [&](db::Value v) {
    params.push_back(std::move(v));
    return "$" + std::to_string(params.size());
  };
  // Every filter but scope, status and cursor, as " AND …".
  auto filters = [&]() {
    std::string sql;
    if (no_such_unit) sql += " AND 1 = 0";
    for (const auto& [column, path] :
         {std::pair{"c.unit_path", &unit_filter}, std::pair{"c.origin_path", &origin_filter}}) {
      if (!*path) continue;
      sql += " AND " + std::string(column) + " >= " + arg(**path) + " AND " + std::string(column) +
             " < " + arg(org::SubtreeUpperBound(**path));
    }
    if (query.channel) sql += " AND c.channel = " + arg(std::string(ChannelName(*query.channel)));
    if (query.service_id) sql += " AND c.service_id = " + arg(*query.service_id);
    if (query.from) sql += " AND c.start_day >= " + arg(FormatDate(*query.from));
    if (query.to) sql += " AND c.start_day <= " + arg(FormatDate(*query.to));
    if (!text.empty()) {
      if (LooksLikeCaseNumber(text)) {
        sql += " AND c.number = " + arg(text);
      } else if (auto mobile = people::NormalizeMobile(text); mobile) {
        sql += " AND c.phone_idx = " + arg(deps.keys.BlindIndex("phone", *mobile));
      } else {
        sql += " AND (c.applicant_name LIKE " + arg(Like(text)) + " ESCAPE '\\' OR c.number LIKE " +
               arg(Like(text)) + " ESCAPE '\\')";
      }
    }
    if (due_filter) {
      sql += " AND c.status IN ('submitted', 'accepted')";
      switch (*query.due_state) {
        case DueState::kOverdue:
          sql += " AND c.due_day < " + arg(t);
          break;
        case DueState::kDueSoon:
          sql += " AND c.due_day >= " + arg(t) + " AND c.due_day <= " + arg(soon);
          break;
        case DueState::kOnTime:
          sql += " AND c.due_day > " + arg(soon);
          break;
        case DueState::kNone:
          break;
      }
    }
    return sql;
  };
  const std::string select =
      std::string("SELECT ") + std::string(kCaseCols) + std::string(kCaseFrom) + "WHERE ";

  // The queue (deadline order, open statuses, scopes of one unit each): one index range per
  // scope column, status and side of the cursor, each at most limit + 1 rows in order, merged
  // below. A case both handled and applied at the unit comes from two ranges.
  std::vector<std::string> statuses;
  for (CaseStatus s : query.statuses) {
    const std::string name(StatusName(s));
    if (due_filter && s == CaseStatus::kCorrecting) continue;
    if (std::find(statuses.begin(), statuses.end(), name) == statuses.end()) {
      statuses.push_back(name);
    }
  }
  const auto scopes = auth::ScopesFor(who, Permission::kCaseView);
  const bool by_ranges =
      !query.order_recent && !query.statuses.empty() &&
      std::all_of(query.statuses.begin(), query.statuses.end(), IsOpen) &&
      std::all_of(scopes.begin(), scopes.end(), [](const auto& s) { return s.exact; });
  std::string sql;
  if (by_ranges) {
    const bool row_compare = conn.dialect() == db::Dialect::kPostgres;
    const std::string key(kDueKey);
    int arms = 0;
    auto add_arm = [&](const std::string& where, const std::string& order) {
      if (!sql.empty()) sql += " UNION ALL ";
      sql += "SELECT * FROM (" + select + where + " ORDER BY " + order + " LIMIT " +
             arg(int64_t{limit + 1}) + ") a" + std::to_string(++arms);
    };
    for (const auto& scope : scopes) {
      for (std::string_view column : {"c.unit_path", "c.origin_path"}) {
        for (const auto& status : statuses) {
          std::string where = std::string(column) + " = " + arg(scope.path) + " AND c.status IN " +
                              std::string(kOpenStatusList) + " AND c.status = '" + status + "'" +
                              filters();
          if (due_filter) {
            // The deadline filter again on the index's key, so the range starts there.
            switch (*query.due_state) {
              case DueState::kOverdue:
                where += " AND " + key + " < " + arg(t);
                break;
              case DueState::kDueSoon:
                where += " AND " + key + " >= " + arg(t) + " AND " + key + " <= " + arg(soon);
                break;
              case DueState::kOnTime:
                where += " AND " + key + " > " + arg(soon);
                break;
              case DueState::kNone:
                break;
            }
          }
          if (!query.after) {
            add_arm(where, key + ", c.id");
          } else if (row_compare) {
            add_arm(where + " AND (" + key + ", c.id) > (" + arg(cursor_day) + ", " +
                        arg(cursor_id) + ")",
                    key + ", c.id");
          } else {
            // SQLite uses no index for a row-value comparison on an expression: the rest of the
            // cursor's day, then the later days.
            const std::string day = arg(cursor_day);
            add_arm(where + " AND " + key + " = " + day + " AND c.id > " + arg(cursor_id), "c.id");
            add_arm(where + " AND " + key + " > " + arg(cursor_day), key + ", c.id");
          }
        }
      }
    }
  } else {
    sql = select +
          ScopeCondition(who, Permission::kCaseView, {"c.unit_path", "c.origin_path"}, params);
    if (!query.statuses.empty()) {
      std::string in;
      for (auto s : query.statuses) {
        in += (in.empty() ? "" : ", ") + arg(std::string(StatusName(s)));
      }
      sql += " AND c.status IN (" + in + ")";
    }
    sql += filters();
    if (query.after && query.order_recent) {
      sql += " AND c.id < " + arg(cursor_id);
    } else if (query.after) {
      const std::string d = arg(cursor_day);
      sql += " AND (" + std::string(kDueKey) + " > " + d + " OR (" + std::string(kDueKey) + " = " +
             d + " AND c.id > " + arg(cursor_id) + "))";
    }
    sql +=
        query.order_recent ? " ORDER BY c.id DESC" : " ORDER BY " + std::string(kDueKey) + ", c.id";
    sql += " LIMIT " + arg(int64_t{limit + 1});
  }
  return CaseListStatement{std::move(sql), std::move(params), by_ranges};
}

Result<CasePage> ListCases(db::Conn& conn, const Deps& deps, const auth::Principal& who,
                           const CaseQuery& query) {
  if (auto s = auth::AuthorizeAny(&who, Permission::kCaseView); !s) return std::move(s).error();
  const Date today = Today(deps);
  const int limit = std::clamp(query.limit, 1, 500);
  auto statement = CaseListSql(conn, deps, who, query);
  if (!statement) return std::move(statement).error();
  CasePage page;
  if (statement->sql.empty()) return page;  // no status left to list
  auto rows = conn.Query(statement->sql, statement->params);
  if (!rows) return std::move(rows).error();
  std::vector<const db::Row*> ordered;
  ordered.reserve(rows->rows.size());
  for (const auto& r : rows->rows) ordered.push_back(&r);
  if (statement->merge) {
    struct Keyed {
      std::string due;
      int64_t id;
      const db::Row* row;
    };
    std::vector<Keyed> keyed;
    keyed.reserve(ordered.size());
    for (const db::Row* r : ordered) {
      keyed.push_back({r->OptText(25).value_or(std::string(kNoDueKey)), r->Int(0), r});
    }
    std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
      return a.due != b.due ? a.due < b.due : a.id < b.id;
    });
    ordered.clear();
    for (const auto& k : keyed) {
      if (ordered.empty() || ordered.back()->Int(0) != k.id) ordered.push_back(k.row);
    }
  }
  for (std::size_t i = 0; i < ordered.size() && i < static_cast<std::size_t>(limit); ++i) {
    page.cases.push_back(CaseFromRow(*ordered[i], deps, today).c);
  }
  if (ordered.size() > static_cast<std::size_t>(limit) && !page.cases.empty()) {
    const db::Row& last = *ordered[static_cast<std::size_t>(limit) - 1];
    if (query.order_recent) {
      page.next = "i:" + std::to_string(last.Int(0));
    } else {
      page.next = "d:" + last.OptText(25).value_or(std::string(kNoDueKey)) + ":" +
                  std::to_string(last.Int(0));
    }
  }
  return page;
}

Result<std::vector<ServiceCase>> ListAllCases(db::Conn& conn, const Deps& deps,
                                              const auth::Principal& who, CaseQuery query,
                                              int max) {
  std::vector<ServiceCase> out;
  query.limit = 500;
  query.after.reset();
  for (;;) {
    auto page = ListCases(conn, deps, who, query);
    if (!page) return std::move(page).error();
    for (auto& c : page->cases) out.push_back(std::move(c));
    if (static_cast<int>(out.size()) > max) {
      return Error::Invalid("export",
                            "导出的办件超过 " + std::to_string(max) + " 件，请缩小筛选范围");
    }
    if (!page->next) break;
    query.after = page->next;
  }
  return out;
}

Result<Overview> CaseOverview(db::Conn& conn, const Deps& deps, const auth::Principal& who,
                              Date from, Date to) {
  if (auto s = auth::AuthorizeAny(&who, Permission::kCaseView); !s) return std::move(s).error();
  const Date today = Today(deps);
  db::Params params;
  auto arg = [&](db::Value v) {
    params.push_back(std::move(v));
    return "$" + std::to_string(params.size());
  };
  const std::string t = arg(FormatDate(today));
  const std::string soon = arg(FormatDate(deps.calendar.AddWorkingDays(today, deps.due_soon_days)));
  const std::string from_ms = arg(ShanghaiMidnightMs(from));
  const std::string to_ms = arg(ShanghaiMidnightMs(AddDays(to, 1)));
  const std::string open = "c.status IN ('submitted', 'accepted')";
  const std::string done = "c.status = 'completed' AND c.completed_at_ms >= " + from_ms +
                           " AND c.completed_at_ms < " + to_ms;
  const std::string rated = "c.rating_score IS NOT NULL AND c.rated_at_ms >= " + from_ms +
                            " AND c.rated_at_ms < " + to_ms;
  std::string sql =
      "SELECT c.unit_id, u.name, u.path, "
      "SUM(CASE WHEN c.status IN ('submitted', 'accepted', 'correcting') THEN 1 ELSE 0 END), "
      "SUM(CASE WHEN " +
      open + " AND c.due_day >= " + t + " AND c.due_day <= " + soon +
      " THEN 1 ELSE 0 END), "
      "SUM(CASE WHEN " +
      open + " AND c.due_day < " + t +
      " THEN 1 ELSE 0 END), "
      "SUM(CASE WHEN c.status = 'correcting' THEN 1 ELSE 0 END), "
      "SUM(CASE WHEN " +
      done +
      " THEN 1 ELSE 0 END), "
      "SUM(CASE WHEN " +
      done +
      " AND c.overdue_at_completion = 1 THEN 1 ELSE 0 END), "
      "SUM(CASE WHEN " +
      rated +
      " THEN 1 ELSE 0 END), "
      "SUM(CASE WHEN " +
      rated +
      " AND c.rating_score <= 2 THEN 1 ELSE 0 END), "
      "SUM(CASE WHEN " +
      rated +
      " THEN c.rating_score ELSE 0 END) "
      "FROM services_cases c JOIN org_units u ON u.id = c.unit_id WHERE " +
      ScopeCondition(who, Permission::kCaseView, {"c.unit_path"}, params) +
      " GROUP BY c.unit_id, u.name, u.path ORDER BY u.path";
  auto rows = conn.Query(sql, params);
  if (!rows) return std::move(rows).error();
  Overview out;
  out.total.unit_name = "合计";
  int64_t total_score = 0;
  for (const auto& r : rows->rows) {
    UnitStats s;
    s.unit_id = r.Int(0);
    s.unit_name = r.Text(1);
    s.unit_path = r.Text(2);
    s.open = r.Int(3);
    s.due_soon = r.Int(4);
    s.overdue = r.Int(5);
    s.correcting = r.Int(6);
    s.completed = r.Int(7);
    s.completed_overdue = r.Int(8);
    s.ratings = r.Int(9);
    s.bad_ratings = r.Int(10);
    const int64_t score = r.Int(11);
    s.average_rating = s.ratings > 0 ? static_cast<double>(score) / s.ratings : 0;
    total_score += score;
    out.units.push_back(std::move(s));
  }
  db::Params fparams;
  const std::string fsql =
      "SELECT f.unit_id, COUNT(*) FROM services_followups f WHERE f.closed_at_ms IS NULL AND " +
      ScopeCondition(who, Permission::kCaseView, {"f.unit_path"}, fparams) + " GROUP BY f.unit_id";
  auto frows = conn.Query(fsql, fparams);
  if (!frows) return std::move(frows).error();
  for (const auto& r : frows->rows) {
    for (auto& s : out.units) {
      if (s.unit_id == r.Int(0)) s.open_followups = r.Int(1);
    }
  }
  for (const auto& s : out.units) {
    out.total.open += s.open;
    out.total.due_soon += s.due_soon;
    out.total.overdue += s.overdue;
    out.total.correcting += s.correcting;
    out.total.completed += s.completed;
    out.total.completed_overdue += s.completed_overdue;
    out.total.ratings += s.ratings;
    out.total.bad_ratings += s.bad_ratings;
    out.total.open_followups += s.open_followups;
  }
  out.total.average_rating =
      out.total.ratings > 0 ? static_cast<double>(total_score) / out.total.ratings : 0;
  return out;
}

// ---- calendar changes -----------------------------------------------------------------------

Result<DeadlinesMoved> RefreshDeadlines(db::Conn& conn, const Deps& deps) {
  DeadlinesMoved moved;
  // Only running clocks have a stored deadline: a case waiting for 补正 has none (it is set when
  // the applicant resubmits), a final one keeps the deadline it was judged by.
  auto rows = conn.Query(
      "SELECT id, start_day, promised_days, paused_days, due_day FROM services_cases "
      "WHERE status IN ('submitted', 'accepted')");
  if (!rows) return std::move(rows).error();
  const Date today = Today(deps);
  for (const auto& r : rows->rows) {
    auto start = DateOf(r.OptText(1));
    if (!start) continue;
    CaseClock clock{*start, static_cast<int>(r.Int(2)), static_cast<int>(r.Int(3)), std::nullopt};
    const std::string due = FormatDate(DueDate(deps.calendar, clock, today));
    if (r.OptText(4) == due) continue;
    auto updated =
        conn.Exec("UPDATE services_cases SET due_day = $1 WHERE id = $2", {due, r.Int(0)});
    if (!updated) return std::move(updated).error();
    ++moved.cases;
  }
  // A closed follow-up keeps the deadline it was judged by.
  auto open = conn.Query(
      "SELECT id, created_at_ms, limit_days, due_day FROM services_followups "
      "WHERE closed_at_ms IS NULL");
  if (!open) return std::move(open).error();
  for (const auto& r : open->rows) {
    const int days = static_cast<int>(r.OptInt(2).value_or(deps.followup_days));
    const std::string due = FollowUpDue(deps.calendar, r.Int(1), days);
    if (r.Text(3) == due) continue;
    auto updated =
        conn.Exec("UPDATE services_followups SET due_day = $1 WHERE id = $2", {due, r.Int(0)});
    if (!updated) return std::move(updated).error();
    ++moved.followups;
  }
  return moved;
}

std::string NoticeText(const ServiceCase& c, Action action) {
  const std::string head = "您的办件" + c.number + "（" + c.service_name + "）";
  switch (action) {
    case Action::kSubmit:
      return head + "已提交，请凭办件编号和手机号后四位查询进度。";
    case Action::kAccept:
      return head + "已受理" +
             (c.due ? "，承诺于" + FormatDateChinese(*c.due) + "前办结。" : std::string("。"));
    case Action::kReject:
      return head + "不予受理，请查看理由。";
    case Action::kRequestCorrection:
      return head + "需要补正材料，请查看一次性告知清单并补交。";
    case Action::kResubmit:
      return head + "补正材料已收到。";
    case Action::kTransfer:
      return head + "已移交" + c.unit_name + "办理。";
    case Action::kComplete:
      return head + "已办结，欢迎对本次服务作出评价。";
    case Action::kWithdraw:
      return head + "已撤回。";
    case Action::kRate:
    case Action::kNote:
      return head + "有新的进展。";
  }
  return head + "有新的进展。";
}

}  // namespace zhenwu::services
