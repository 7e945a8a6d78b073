// The citizen side of 政务服务: the catalogue (by window, by life event, search), a service's
// guide, the online application with its materials, the receipt (回执), tracking by case number
// and the phone's last four digits, the applicant's own steps (补正, 撤回, 好差评), the case files
// and sample files, and "我的办件" for account holders.
//
// Who may see a case here: whoever tracked it successfully in this browser (a short-lived,
// encrypted grant cookie holding the number and the four digits, set by POST /track and by a
// successful application), the citizen account that applied, or staff who may view it (for the
// receipt and the files). Wrong tracking tries are counted per case number and per IP in the
// database (services_track_failures) and answered 429 beyond the limit.

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "auth/principal.hpp"
#include "files/file_store.hpp"
#include "http/multipart.hpp"
#include "org/store.hpp"
#include "people/keys.hpp"
#include "services/handlers.hpp"
#include "web/once.hpp"
#include "web/page.hpp"

namespace zhenwu::services {

namespace {

using http::Request;
using http::Response;
using view::Data;
using St = http::bhttp::status;

// Tracking: wrong tries per bucket (case number, IP) before 429, and the window they count in.
constexpr int kTrackMaxFailures = 10;
constexpr int64_t kTrackWindowMs = int64_t{15} * 60 * 1000;
// The grant cookie: which case this browser may show, for how long.
constexpr std::string_view kTrackCookie = "zw_track";
constexpr int64_t kTrackGrantMs = int64_t{30} * 60 * 1000;
// Longest original file name kept (bytes).
constexpr std::size_t kMaxFileName = 120;
constexpr std::size_t kMaxComment = 500;
constexpr std::size_t kMaxNote = 500;
// A failed form whose messages are all on fields; no material ids.
const Error kInvalid{ErrorCode::kInvalidInput, "", {}};
const std::vector<int64_t> kNoIds;

Data Object() { return Data{Data::type::object}; }
Data List() { return Data{Data::type::list}; }

std::optional<int64_t> ParseId(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v <= 0) return std::nullopt;
  return v;
}

// ---- text helpers ---------------------------------------------------------------------------

// One UTF-8 code point at `i`: the code point and its length (U+FFFD and 1 on a bad byte).
std::pair<char32_t, std::size_t> DecodeAt(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return {b0, 1};
  std::size_t len = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC0 ? 2 : 0;
  if (len == 0 || i + len > s.size()) return {0xFFFD, 1};
  char32_t cp = b0 & (0x3F >> (len - 1));
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return {0xFFFD, 1};
    cp = (cp << 6) | (b & 0x3F);
  }
  return {cp, len};
}

void AppendUtf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Full-width ASCII (ＰＺ－２０２６, １２３４) as typed on many phone keyboards, as ASCII; spaces
// dropped; dashes unified; letters upper case. Stops after `max` bytes.
std::string NormalizeAscii(std::string_view text, std::size_t max) {
  std::string out;
  for (std::size_t i = 0; i < text.size() && out.size() < max;) {
    auto [cp, len] = DecodeAt(text, i);
    i += len;
    if (cp == U'\u3000' || cp == ' ' || cp == '\t' || cp == '\r' || cp == '\n') continue;
    if (cp >= 0xFF01 && cp <= 0xFF5E) cp -= 0xFEE0;
    if (cp == 0x2010 || cp == 0x2011 || cp == 0x2012 || cp == 0x2013 || cp == 0x2014 ||
        cp == 0x2212) {
      cp = '-';
    }
    if (cp >= 'a' && cp <= 'z') cp -= 'a' - 'A';
    AppendUtf8(out, cp);
  }
  return out;
}

bool IsFourDigits(std::string_view s) {
  return s.size() == 4 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// 张三 → 张*, 欧阳娜娜 → 欧***: a person's name on public pages and the printed receipt.
std::string MaskName(std::string_view name) {
  std::string out;
  std::size_t count = 0;
  for (std::size_t i = 0; i < name.size();) {
    auto [cp, len] = DecodeAt(name, i);
    if (count == 0) out.append(name.substr(i, len));
    i += len;
    ++count;
  }
  if (count <= 1) return out;
  for (std::size_t k = 1; k < count; ++k) out.push_back('*');
  return out;
}

// The display name of an uploaded file: the last path component (old browsers send the whole
// path), without control characters, at most kMaxFileName bytes on a character boundary.
std::string CleanFileName(std::string_view raw) {
  const auto slash = raw.find_last_of("/\\");
  if (slash != std::string_view::npos) raw.remove_prefix(slash + 1);
  std::string out;
  for (std::size_t i = 0; i < raw.size();) {
    auto [cp, len] = DecodeAt(raw, i);
    if (out.size() + len > kMaxFileName) break;
    if (cp >= 0x20 && cp != 0x7F && cp != 0xFFFD && cp != '"') out.append(raw.substr(i, len));
    i += len;
  }
  return out.empty() ? std::string("file") : out;
}

std::string SizeLabel(int64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " 字节";
  if (bytes < 1024 * 1024) return std::to_string((bytes + 1023) / 1024) + " KB";
  const int64_t tenths = (bytes * 10 + 512 * 1024) / (1024 * 1024);
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " MB";
}

std::string DateLabel(int64_t epoch_ms) { return FormatDateChinese(ShanghaiDate(epoch_ms)); }

// Content-Disposition for a download with a UTF-8 name (RFC 6266 / 5987).
std::string Disposition(std::string_view kind, std::string_view name) {
  std::string ascii;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    ascii.push_back(u >= 0x20 && u < 0x7F && c != '"' && c != '\\' && c != ';' ? c : '_');
  }
  return std::string(kind) + "; filename=\"" + ascii + "\"; filename*=UTF-8''" +
         http::PercentEncode(name);
}

// ---- the tracking grant cookie --------------------------------------------------------------

struct Grant {
  std::string number;
  std::string phone4;
};

std::string GrantValue(const people::Keys& keys, std::string_view number, std::string_view phone4,
                       int64_t now_ms) {
  return keys.Encrypt("track1|" + std::string(number) + "|" + std::string(phone4) + "|" +
                      std::to_string(now_ms + kTrackGrantMs));
}

std::optional<Grant> ReadGrant(const Request& req, const people::Keys& keys, int64_t now_ms) {
  auto cookie = req.Cookie(kTrackCookie);
  if (!cookie || cookie->empty() || cookie->size() > 400) return std::nullopt;
  auto plain = keys.Decrypt(*cookie);
  if (!plain) return std::nullopt;
  std::vector<std::string> parts;
  std::string_view rest = *plain;
  while (true) {
    const auto bar = rest.find('|');
    parts.emplace_back(rest.substr(0, bar));
    if (bar == std::string_view::npos) break;
    rest.remove_prefix(bar + 1);
  }
  if (parts.size() != 4 || parts[0] != "track1") return std::nullopt;
  int64_t until = 0;
  auto [end, ec] = std::from_chars(parts[3].data(), parts[3].data() + parts[3].size(), until);
  if (ec != std::errc() || until < now_ms) return std::nullopt;
  return Grant{parts[1], parts[2]};
}

// ---- small reads and writes of the module's tables that service.hpp does not offer ----------

struct TrackLimit {
  bool blocked = false;
  int64_t until_ms = 0;
};

// Whether either bucket has used up its wrong tries in the current window.
Result<TrackLimit> CheckTrackLimit(db::Conn& c, int64_t now_ms, const std::string& a,
                                   const std::string& b) {
  auto rows = c.Query(
      "SELECT failures, window_start_ms FROM services_track_failures "
      "WHERE bucket = $1 OR bucket = $2",
      {a, b});
  if (!rows) return std::move(rows).error();
  TrackLimit out;
  for (const auto& row : rows->rows) {
    const int64_t ends = row.Int(1) + kTrackWindowMs;
    if (row.Int(0) >= kTrackMaxFailures && ends > now_ms) {
      out.blocked = true;
      out.until_ms = std::max(out.until_ms, ends);
    }
  }
  return out;
}

// Counts one wrong try in `bucket` (a new window when the last one has ended); drops buckets
// whose window has ended on the way, so the table stays small.
Status RecordTrackFailure(db::Conn& c, int64_t now_ms, const std::string& bucket) {
  const int64_t cut = now_ms - kTrackWindowMs;
  if (auto d = c.Exec("DELETE FROM services_track_failures WHERE window_start_ms <= $1", {cut});
      !d) {
    return std::move(d).error();
  }
  auto r = c.Exec(
      "INSERT INTO services_track_failures (bucket, failures, window_start_ms) "
      "VALUES ($1, 1, $2) ON CONFLICT (bucket) DO UPDATE SET "
      "failures = CASE WHEN services_track_failures.window_start_ms <= $3 THEN 1 "
      "ELSE services_track_failures.failures + 1 END, "
      "window_start_ms = CASE WHEN services_track_failures.window_start_ms <= $3 THEN $2 "
      "ELSE services_track_failures.window_start_ms END",
      {bucket, now_ms, cut});
  if (!r) return std::move(r).error();
  return {};
}

// The case number a case file belongs to.
Result<std::optional<std::string>> CaseNumberOfFile(db::Conn& c, int64_t file_id) {
  auto row = c.QueryOne(
      "SELECT c.number FROM services_case_files f JOIN services_cases c ON c.id = f.case_id "
      "WHERE f.id = $1",
      {file_id});
  if (!row) return std::move(row).error();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>((*row)->Text(0));
}

struct Sample {
  std::string sha256, name, type;
};
Result<std::optional<Sample>> SampleOf(db::Conn& c, int64_t material_id) {
  auto row = c.QueryOne(
      "SELECT sample_sha256, sample_name, sample_type FROM services_materials WHERE id = $1",
      {material_id});
  if (!row) return std::move(row).error();
  if (!*row || (*row)->Text(0).empty()) return std::optional<Sample>();
  return std::optional<Sample>(Sample{(*row)->Text(0), (*row)->Text(1), (*row)->Text(2)});
}

struct OwnCase {
  std::string number, service_name, status, channel, due_day;
  int64_t created_at_ms = 0;
  std::optional<int64_t> score;
};
// The newest cases a citizen account applied for (我的办件).
Result<std::vector<OwnCase>> OwnCases(db::Conn& c, int64_t user_id) {
  auto rows = c.Query(
      "SELECT number, service_name, status, channel, due_day, created_at_ms, rating_score "
      "FROM services_cases WHERE applicant_user_id = $1 ORDER BY id DESC LIMIT 200",
      {user_id});
  if (!rows) return std::move(rows).error();
  std::vector<OwnCase> out;
  for (const auto& r : rows->rows) {
    out.push_back({r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.Text(4), r.Int(5), r.OptInt(6)});
  }
  return out;
}

// ---- forms ----------------------------------------------------------------------------------

const std::vector<std::string>& PersonFields() {
  static const std::vector<std::string> fields = {"name",       "id_card", "phone",
                                                  "village_id", "address", "description"};
  return fields;
}
const std::vector<std::string>& EnterpriseFields() {
  static const std::vector<std::string> fields = {"enterprise_name", "uscc",    "legal_rep",
                                                  "phone",           "address", "description"};
  return fields;
}

std::string FileField(int64_t material_id) { return "file_" + std::to_string(material_id); }

// What the applicant typed and the files already accepted, by material id.
struct FormState {
  std::string kind = "person";
  std::map<std::string, std::string, std::less<>> values;
  std::map<int64_t, UploadedFile> files;
  std::string note;  // 补正 / 撤回 note
  std::string once;  // the one-time token to send again (the first try rolled back)
  std::string Get(std::string_view k) const {
    auto it = values.find(k);
    return it == values.end() ? std::string() : it->second;
  }
};

// The field errors of a failed step, with the messages of file fields first where a file was
// refused (the service's "missing material" message would only repeat it).
struct Problems {
  std::vector<FieldError> fields;
  bool too_large = false;
  bool conflict = false;  // the case changed: the message goes to the top of the page
  std::string general;    // a message not tied to a field
  bool Empty() const { return fields.empty() && general.empty(); }
  const std::string* For(std::string_view field) const {
    for (const auto& f : fields) {
      if (f.field == field) return &f.message;
    }
    return nullptr;
  }
  void Add(std::string field, std::string message) {
    if (For(field) == nullptr) fields.push_back({std::move(field), std::move(message)});
  }
};

// Maps the service's field names onto this page's inputs: material errors name the file input.
std::string PageField(std::string_view field, const std::vector<int64_t>& material_ids) {
  constexpr std::string_view kPrefix = "materials.";
  if (field.rfind(kPrefix, 0) == 0) {
    std::string_view rest = field.substr(kPrefix.size());
    rest = rest.substr(0, rest.find('.'));
    if (auto n = ParseId(rest)) {
      if (std::find(material_ids.begin(), material_ids.end(), *n) != material_ids.end()) {
        return FileField(*n);
      }
    }
    int64_t index = -1;
    std::from_chars(rest.data(), rest.data() + rest.size(), index);
    if (index >= 0 && index < static_cast<int64_t>(material_ids.size())) {
      return FileField(material_ids[static_cast<std::size_t>(index)]);
    }
    return "materials";
  }
  if (field.rfind("file_", 0) == 0) return std::string(field);
  if (field == "files" || field == "material_id") return "materials";
  return std::string(field);
}

void AddServiceError(Problems& p, const Error& e, const std::vector<int64_t>& material_ids) {
  if (e.fields.empty()) {
    p.general = e.message;
    return;
  }
  for (const auto& f : e.fields) {
    const std::string page = PageField(f.field, material_ids);
    if (page == "_once") {
      p.general = f.message;
      continue;
    }
    p.Add(page, f.message);
  }
}

class Pages {
 public:
  Pages(web::ModuleContext& ctx, std::shared_ptr<Env> env)
      : env_(std::move(env)), pool_(ctx.pool), view_(env_->view) {}

  // --- shared pieces ------------------------------------------------------------------------

  std::string T(std::string_view key) const {
    return view_.strings().Get("services.public." + std::string(key));
  }

  Response Page(const Request& req, const std::string& title, std::string_view nav,
                std::string_view name, Data data, St status = St::ok) const {
    return web::RenderPage(req, view_, title, std::string(nav), "services/" + std::string(name),
                           std::move(data), status);
  }

  Response Refuse(const Request& req, const Error& e) const {
    return web::RefusePage(req, view_, e);
  }

  // A short page with a heading, a message and a way on.
  Response Notice(const Request& req, const std::string& title, const std::string& text,
                  const std::string& link, const std::string& link_text, St status) const {
    Data data = Object();
    data.set("heading", title);
    data.set("text", text);
    if (!link.empty()) {
      data.set("link", link);
      data.set("link_text", link_text);
    }
    return Page(req, title, "services", "services_public_notice", std::move(data), status);
  }

  audit::Actor ActorOf(const Request& req) const {
    const auth::Principal* who = auth::CurrentPrincipal(req);
    if (who != nullptr) return {who->user_id, who->login, req.remote_ip, req.request_id};
    return {std::nullopt, "public", req.remote_ip, req.request_id};
  }

  static const auth::Principal* Citizen(const Request& req) {
    const auth::Principal* who = auth::CurrentPrincipal(req);
    return who != nullptr && who->kind == auth::Principal::Kind::kCitizen ? who : nullptr;
  }

  std::string GrantCookie(const Request& req, std::string_view number,
                          std::string_view phone4) const {
    return http::SetCookieValue(kTrackCookie,
                                GrantValue(*env_->keys, number, phone4, env_->clock.NowMs()), -1,
                                true, req.secure);
  }

  // The label of a unit in the catalogue: a village window with its village's name.
  static std::string UnitLabel(const std::map<int64_t, org::OrgUnit>& units, int64_t id,
                               const std::string& fallback) {
    auto it = units.find(id);
    if (it == units.end()) return fallback;
    const org::OrgUnit& u = it->second;
    if (u.parent_id) {
      auto p = units.find(*u.parent_id);
      if (p != units.end() && p->second.kind == org::UnitKind::kVillage) {
        return p->second.name + " · " + u.name;
      }
    }
    return u.name;
  }

  // 网上办 / 村代办 / 窗口办 badges and the sentence saying how to apply.
  Data HowToApply(const Service& s) const {
    Data d = Object();
    Data ways = List();
    auto way = [&](std::string key) {
      Data w = Object();
      w.set("key", key);
      w.set("label", T("way_" + key));
      ways.push_back(w);
    };
    if (s.online) way("online");
    if (s.proxy) way("proxy");
    way("window");
    d.set("ways", ways);
    if (s.online) d.set("online", true);
    if (s.proxy) d.set("proxy", true);
    if (!s.online && !s.proxy) d.set("window_only", true);
    return d;
  }

  Data ServiceSummary(const Service& s, const std::string& unit_label) const {
    Data d = Object();
    d.set("code", s.code);
    d.set("name", s.name);
    d.set("url", "/services/" + http::PercentEncode(s.code));
    d.set("unit", unit_label);
    d.set("category", s.category);
    d.set("promised_days", std::to_string(s.promised_days));
    d.set("statutory_days", std::to_string(s.statutory_days));
    d.set("fee", s.fee.empty() ? T("free") : s.fee);
    if (s.fee.empty()) d.set("free", true);
    d.set("how", HowToApply(s));
    if (s.retired) d.set("retired", true);
    return d;
  }

  // --- the catalogue ------------------------------------------------------------------------

  asio::awaitable<Response> Catalogue(Request& req) {
    const http::Form& q = req.QueryForm();
    ServiceQuery query;
    query.limit = 1000;
    const std::string window = q.GetOr("window");
    if (auto id = ParseId(window)) query.unit_id = *id;
    const std::string event = q.GetOr("event");
    if (LifeEventLabel(event)) query.life_event = event;
    std::string text = org::TrimText(q.GetOr("q"));
    if (text.size() > 60) text.resize(60);
    query.text = text;

    struct Loaded {
      std::vector<Service> all, shown;
      std::map<int64_t, org::OrgUnit> units;
    };
    auto work = [query](db::Conn& c) -> Result<Loaded> {
      Loaded out;
      ServiceQuery every;
      every.limit = 5000;
      auto all = ListServices(c, every);
      if (!all) return std::move(all).error();
      out.all = std::move(*all);
      auto shown = ListServices(c, query);
      if (!shown) return std::move(shown).error();
      out.shown = std::move(*shown);
      auto units = org::AllUnits(c);
      if (!units) return std::move(units).error();
      for (auto& u : *units) out.units.emplace(u.id, std::move(u));
      return out;
    };
    auto loaded = co_await env_->db.Read<Loaded>(work);
    if (!loaded) co_return Refuse(req, loaded.error());

    Data data = Object();
    // Windows that offer services: town windows first, then each village with its windows.
    std::map<std::string, int64_t> unit_by_path;
    for (const auto& s : loaded->all) {
      if (!s.retired) unit_by_path.emplace(s.unit_path, s.unit_id);
    }
    Data town_windows = List();
    std::map<int64_t, Data> village_groups;
    std::vector<int64_t> village_order;
    for (const auto& [path, id] : unit_by_path) {
      auto it = loaded->units.find(id);
      if (it == loaded->units.end()) continue;
      const org::OrgUnit& u = it->second;
      Data o = Object();
      o.set("value", std::to_string(id));
      o.set("label", u.name);
      if (window == std::to_string(id)) o.set("selected", true);
      std::optional<int64_t> village;
      if (u.parent_id) {
        auto p = loaded->units.find(*u.parent_id);
        if (p != loaded->units.end() && p->second.kind == org::UnitKind::kVillage)
          village = p->first;
      }
      if (!village) {
        town_windows.push_back(o);
        continue;
      }
      if (!village_groups.contains(*village)) {
        Data g = Object();
        const org::OrgUnit& v = loaded->units.at(*village);
        g.set("label", v.name);
        Data options = List();
        Data all = Object();
        all.set("value", std::to_string(v.id));
        all.set("label", v.name + T("all_windows_suffix"));
        if (window == std::to_string(v.id)) all.set("selected", true);
        options.push_back(all);
        g.set("options", options);
        village_groups.emplace(*village, g);
        village_order.push_back(*village);
      }
      village_groups.at(*village)["options"].push_back(o);
    }
    if (town_windows.is_non_empty_list()) data.set("has_town_windows", true);
    data.set("town_windows", town_windows);
    Data villages = List();
    for (int64_t id : village_order) villages.push_back(village_groups.at(id));
    data.set("village_groups", villages);

    Data events = List();
    for (const auto& e : LifeEvents()) {
      Data o = Object();
      o.set("key", std::string(e.key));
      o.set("label", std::string(e.label));
      o.set("url", "/services?event=" + std::string(e.key));
      if (event == e.key) o.set("current", true);
      events.push_back(o);
    }
    data.set("events", events);
    data.set("q", text);
    if (auto label = LifeEventLabel(query.life_event); label && !query.life_event.empty()) {
      data.set("event_label", std::string(*label));
      data.set("event_key", query.life_event);
    }
    const bool filtered = query.unit_id || !query.life_event.empty() || !text.empty();
    if (filtered) data.set("filtered", true);

    // The services shown, grouped by their window (the list is ordered by unit path). Village
    // windows go under their village, folded away unless the visitor filtered: on a phone the
    // town's windows come first and each village is one line.
    struct Group {
      std::string unit;
      Data services = List();
    };
    std::vector<Group> town_groups;
    std::map<int64_t, std::vector<Group>> village_units;
    std::map<int64_t, int> village_counts;
    std::vector<int64_t> villages_shown;
    int64_t current_unit = 0;
    int count = 0;
    for (const auto& s : loaded->shown) {
      if (s.retired) continue;
      const std::string label = UnitLabel(loaded->units, s.unit_id, s.unit_name);
      std::optional<int64_t> village;
      auto u = loaded->units.find(s.unit_id);
      if (u != loaded->units.end() && u->second.parent_id) {
        auto p = loaded->units.find(*u->second.parent_id);
        if (p != loaded->units.end() && p->second.kind == org::UnitKind::kVillage) {
          village = p->first;
        }
      }
      std::vector<Group>& groups = village ? village_units[*village] : town_groups;
      if (s.unit_id != current_unit || groups.empty()) {
        current_unit = s.unit_id;
        groups.push_back(Group{u != loaded->units.end() ? u->second.name : s.unit_name});
      }
      groups.back().services.push_back(ServiceSummary(s, label));
      if (village) {
        if (village_counts[*village]++ == 0) villages_shown.push_back(*village);
      }
      ++count;
    }
    auto to_data = [](const std::vector<Group>& groups) {
      Data list = List();
      for (const auto& g : groups) {
        Data d = Object();
        d.set("unit", g.unit);
        d.set("services", g.services);
        list.push_back(d);
      }
      return list;
    };
    data.set("groups", to_data(town_groups));
    Data village_data = List();
    for (int64_t id : villages_shown) {
      Data v = Object();
      v.set("name", loaded->units.at(id).name);
      v.set("count", std::to_string(village_counts[id]));
      v.set("groups", to_data(village_units[id]));
      if (filtered) v.set("open", true);
      village_data.push_back(v);
    }
    if (!villages_shown.empty()) data.set("has_villages", true);
    data.set("villages", village_data);
    data.set("count", std::to_string(count));
    if (count == 0) data.set("empty", true);
    co_return Page(req, T("catalogue_title"), "services", "services_public_catalogue",
                   std::move(data));
  }

  // --- one service --------------------------------------------------------------------------

  struct Loaded {
    Service service;
    std::map<int64_t, org::OrgUnit> units;
  };

  asio::awaitable<Result<Loaded>> LoadService(const std::string& code) {
    auto work = [&code](db::Conn& c) -> Result<Loaded> {
      auto s = GetServiceByCode(c, code);
      if (!s) return std::move(s).error();
      if (!*s) return Error::NotFound();
      Loaded out{std::move(**s), {}};
      auto units = org::AllUnits(c);
      if (!units) return std::move(units).error();
      for (auto& u : *units) out.units.emplace(u.id, std::move(u));
      return out;
    };
    co_return co_await env_->db.Read<Loaded>(work);
  }

  Data MaterialData(const Material& m) const {
    Data d = Object();
    d.set("id", std::to_string(m.id));
    d.set("name", m.name);
    d.set("form", std::string(MaterialFormLabel(m.form)));
    d.set("copies", std::to_string(m.copies));
    if (m.required) d.set("required", true);
    if (!m.note.empty()) d.set("note", m.note);
    if (!m.sample_sha256.empty()) {
      d.set("sample_url", "/services/materials/" + std::to_string(m.id) + "/sample");
      d.set("sample_name", m.sample_name);
    }
    return d;
  }

  asio::awaitable<Response> Detail(Request& req) {
    const std::string code = req.Param("code").value_or("");
    auto loaded = co_await LoadService(code);
    if (!loaded) co_return Refuse(req, loaded.error());
    const Service& s = loaded->service;
    Data data = Object();
    Data summary = ServiceSummary(s, UnitLabel(loaded->units, s.unit_id, s.unit_name));
    data.set("service", summary);
    auto text = [&](const char* key, const std::string& value) {
      if (!value.empty()) data.set(key, value);
    };
    text("legal_basis", s.legal_basis);
    text("conditions", s.conditions);
    text("place", s.place);
    text("hours", s.hours);
    text("phone", s.phone);
    Data events = List();
    for (const auto& key : s.life_events) {
      if (auto label = LifeEventLabel(key)) {
        Data e = Object();
        e.set("label", std::string(*label));
        e.set("url", "/services?event=" + key);
        events.push_back(e);
      }
    }
    if (events.is_non_empty_list()) {
      data.set("events", events);
      data.set("has_events", true);
    }
    Data materials = List();
    for (const auto& m : s.materials) materials.push_back(MaterialData(m));
    data.set("materials", materials);
    if (s.materials.empty()) data.set("no_materials", true);
    co_return Page(req, s.name, "services", "services_public_detail", std::move(data),
                   s.retired ? St::gone : St::ok);
  }

  // The answer when a service takes no online application; nullopt when it does.
  std::optional<Response> NotOnline(const Request& req, const Service& s) const {
    const std::string back = "/services/" + http::PercentEncode(s.code);
    if (s.retired) {
      return Notice(req, T("retired_title"), T("retired_text"), "/services", T("back_to_catalogue"),
                    St::gone);
    }
    if (!s.online) {
      return Notice(req, T("not_online_title"),
                    s.proxy ? T("not_online_proxy") : T("not_online_window"), back,
                    T("back_to_service"), St::forbidden);
    }
    return std::nullopt;
  }

  // --- the application form -----------------------------------------------------------------

  // The villages an applicant of this service may live in: those of the service's town.
  static std::vector<const org::OrgUnit*> VillagesFor(const Loaded& l) {
    std::string town_path;
    auto it = l.units.find(l.service.unit_id);
    if (it != l.units.end()) {
      const org::OrgUnit* u = &it->second;
      while (u != nullptr && u->kind != org::UnitKind::kTown) {
        auto p = u->parent_id ? l.units.find(*u->parent_id) : l.units.end();
        u = p == l.units.end() ? nullptr : &p->second;
      }
      if (u != nullptr) town_path = u->path;
    }
    std::vector<const org::OrgUnit*> out;
    for (const auto& [_, u] : l.units) {
      if (u.kind == org::UnitKind::kVillage && !u.retired() &&
          (town_path.empty() || org::PathWithin(u.path, town_path))) {
        out.push_back(&u);
      }
    }
    std::stable_sort(out.begin(), out.end(), [](const org::OrgUnit* a, const org::OrgUnit* b) {
      return a->sort_order != b->sort_order ? a->sort_order < b->sort_order : a->id < b->id;
    });
    return out;
  }

  // One file input per material (or per open 补正 item): the label, whether it is required,
  // the file already accepted (kept as signed hidden fields) and the message beside it.
  Data FileSlot(int64_t material_id, const std::string& label, bool required, const Material* m,
                const FormState& st, const Problems& p) const {
    Data d = m != nullptr ? MaterialData(*m) : Object();
    d.set("id", std::to_string(material_id));
    d.set("field", FileField(material_id));
    d.set("label", label);
    if (required) d.set("required", true);
    auto kept = st.files.find(material_id);
    if (kept != st.files.end()) {
      const UploadedFile& f = kept->second;
      Data k = Object();
      k.set("sha256", f.sha256);
      k.set("name", f.name);
      k.set("type", f.content_type);
      k.set("size", std::to_string(f.size));
      k.set("size_label", SizeLabel(f.size));
      k.set("sig", KeptSignature(f));
      d.set("kept", k);
    }
    if (const std::string* e = p.For(FileField(material_id))) d.set("error", *e);
    return d;
  }

  // The error summary at the top of a form: every message, linked to its field.
  Data Summary(const Problems& p) const {
    Data d = Object();
    Data items = List();
    for (const auto& f : p.fields) {
      Data i = Object();
      i.set("field", f.field == "materials" ? std::string("materials") : f.field);
      i.set("message", f.message);
      items.push_back(i);
    }
    d.set("items", items);
    if (!p.general.empty()) d.set("general", p.general);
    return d;
  }

  Data ApplyData(const Request& req, const Loaded& l, const FormState& st,
                 const Problems& p) const {
    const Service& s = l.service;
    Data data = Object();
    data.set("service", ServiceSummary(s, UnitLabel(l.units, s.unit_id, s.unit_name)));
    const bool enterprise = st.kind == "enterprise";
    data.set(enterprise ? "enterprise" : "person", true);
    data.set("kind", st.kind);
    const std::string base = "/services/" + http::PercentEncode(s.code) + "/apply";
    data.set("action", base);
    data.set("person_url", base);
    data.set("enterprise_url", base + "?as=enterprise");
    Data f = Object();
    Data errors = Object();
    for (const auto& field : enterprise ? EnterpriseFields() : PersonFields()) {
      f.set(field, st.Get(field));
      if (const std::string* e = p.For(field)) errors.set(field, *e);
    }
    data.set("f", f);
    data.set("errors", errors);
    if (const std::string* e = p.For("materials")) data.set("materials_error", *e);
    Data villages = List();
    for (const org::OrgUnit* v : VillagesFor(l)) {
      Data o = Object();
      o.set("id", std::to_string(v->id));
      o.set("label", v->name);
      if (st.Get("village_id") == std::to_string(v->id)) o.set("selected", true);
      villages.push_back(o);
    }
    data.set("villages", villages);
    Data slots = List();
    for (const auto& m : s.materials) {
      slots.push_back(FileSlot(m.id, m.name, m.required, &m, st, p));
    }
    data.set("materials", slots);
    if (!s.materials.empty()) data.set("has_materials", true);
    data.set("max_mb", std::to_string(env_->max_upload_bytes / (1024 * 1024)));
    data.set("max_bytes", std::to_string(env_->max_upload_bytes));
    if (!p.Empty()) {
      data.set("has_errors", true);
      data.set("summary", Summary(p));
    }
    if (!st.once.empty()) data.set("once", st.once);
    if (Citizen(req) != nullptr) data.set("signed_in_citizen", true);
    return data;
  }

  asio::awaitable<Response> ApplyPage(Request& req) {
    const std::string code = req.Param("code").value_or("");
    auto loaded = co_await LoadService(code);
    if (!loaded) co_return Refuse(req, loaded.error());
    if (auto r = NotOnline(req, loaded->service)) co_return std::move(*r);
    FormState st;
    st.kind = req.QueryForm().GetOr("as") == "enterprise" ? "enterprise" : "person";
    if (const auth::Principal* who = Citizen(req)) {
      // An account holder: their name and phone are known.
      if (st.kind == "person") st.values["name"] = who->display_name;
      st.values["phone"] = who->login;
    }
    co_return Page(req, T("apply_title") + loaded->service.name, "services",
                   "services_public_apply", ApplyData(req, *loaded, st, Problems{}));
  }

  // The signature of a kept file's hidden fields: a keyed hash, so a form cannot point at a
  // stored file its sender never uploaded.
  std::string KeptSignature(const UploadedFile& f) const {
    return env_->keys->BlindIndex(
        "services.kept_file",
        f.sha256 + "\n" + f.name + "\n" + f.content_type + "\n" + std::to_string(f.size));
  }

  // Takes the files of a multipart form for `slots` (material ids): a new upload replaces the
  // file kept from an earlier try; a refused upload leaves the kept one in place and adds a
  // message beside its input. Uploads are stored (content-addressed) at once, so they survive a
  // failed validation. Runs the file work on the blocking pool.
  asio::awaitable<std::pair<std::map<int64_t, UploadedFile>, Problems>> TakeFiles(
      const http::MultipartForm& form, const std::vector<int64_t>& slots) {
    files::FileStore* store = env_->files;
    const int64_t max = env_->max_upload_bytes;
    auto work = [this, &form, &slots, store,
                 max]() -> std::pair<std::map<int64_t, UploadedFile>, Problems> {
      std::map<int64_t, UploadedFile> accepted;
      Problems p;
      const std::vector<std::string_view> allowed = {files::kPdf, files::kJpeg, files::kPng};
      for (int64_t id : slots) {
        const std::string field = FileField(id);
        // A file accepted on an earlier try.
        const std::string kept = field + "_kept_";
        UploadedFile old;
        old.material_id = id;
        old.sha256 = form.Get(kept + "sha256").value_or("");
        old.name = form.Get(kept + "name").value_or("");
        old.content_type = form.Get(kept + "type").value_or("");
        int64_t size = 0;
        const std::string size_text = form.Get(kept + "size").value_or("");
        std::from_chars(size_text.data(), size_text.data() + size_text.size(), size);
        old.size = size;
        if (!old.sha256.empty() && store != nullptr &&
            form.Get(kept + "sig").value_or("") == KeptSignature(old) && store->Keep(old.sha256)) {
          accepted[id] = old;
        }
        const http::MultipartPart* part = nullptr;
        for (const auto& candidate : form.parts()) {
          if (candidate.name == field && candidate.filename && !candidate.filename->empty()) {
            part = &candidate;
            break;
          }
        }
        if (part == nullptr) continue;
        const std::string name = CleanFileName(*part->filename);
        if (part->data.empty()) {
          p.Add(field, "“" + name + "”" + T("file_empty"));
          continue;
        }
        if (static_cast<int64_t>(part->data.size()) > max) {
          p.too_large = true;
          p.Add(field, "“" + name + "”" + T("file_too_large_a") +
                           SizeLabel(static_cast<int64_t>(part->data.size())) +
                           T("file_too_large_b") + SizeLabel(max) + T("file_too_large_c"));
          continue;
        }
        if (store == nullptr) {
          p.Add(field, T("file_store_down"));
          continue;
        }
        auto stored = store->PutChecked(part->data, allowed, max);
        if (!stored) {
          const Error& e = stored.error();
          if (e.code != ErrorCode::kInvalidInput) {
            p.Add(field, T("file_store_down"));
          } else {
            p.Add(field, "“" + name + "”：" + (e.fields.empty() ? e.message : e.fields[0].message));
          }
          continue;
        }
        accepted[id] = UploadedFile{id, stored->sha256, name, stored->content_type,
                                    static_cast<int64_t>(stored->size)};
      }
      return {std::move(accepted), std::move(p)};
    };
    co_return co_await pool_.Run(work);
  }

  asio::awaitable<Response> ApplySubmit(Request& req) {
    const std::string code = req.Param("code").value_or("");
    auto loaded = co_await LoadService(code);
    if (!loaded) co_return Refuse(req, loaded.error());
    if (auto r = NotOnline(req, loaded->service)) co_return std::move(*r);
    auto form = http::ParseMultipart(req);
    if (!form) co_return web::ErrorPage(req, view_, St::bad_request);
    const Service& s = loaded->service;

    FormState st;
    st.kind = form->Get("applicant_kind").value_or("") == "enterprise" ? "enterprise" : "person";
    for (const auto& field : st.kind == "enterprise" ? EnterpriseFields() : PersonFields()) {
      st.values[field] = form->Get(field).value_or("");
    }
    const std::string token = form->Get(web::kOnceField).value_or("");
    if (web::WellFormedOnceToken(token)) st.once = token;
    std::vector<int64_t> ids;
    for (const auto& m : s.materials) ids.push_back(m.id);
    auto [accepted, problems] = co_await TakeFiles(*form, ids);
    st.files = accepted;

    ApplyInput input;
    input.service_id = s.id;
    input.channel = Channel::kOnline;
    input.applicant_kind = st.kind;
    input.phone = st.Get("phone");
    input.address = st.Get("address");
    input.description = st.Get("description");
    if (st.kind == "enterprise") {
      input.enterprise_name = st.Get("enterprise_name");
      input.uscc = st.Get("uscc");
      input.legal_rep = st.Get("legal_rep");
    } else {
      input.name = st.Get("name");
      input.id_card = st.Get("id_card");
      input.village_id = ParseId(st.Get("village_id")).value_or(0);
    }
    for (const auto& [_, f] : accepted) input.files.push_back(f);

    struct Outcome {
      std::string receipt;
      bool repeat = false;
    };
    const Env& env = *env_;
    const audit::Actor actor = ActorOf(req);
    const auth::Principal* who = Citizen(req);
    const Problems& file_problems = problems;
    auto work = [&env, &actor, who, &input, &token,
                 &file_problems](db::Conn& c) -> Result<Outcome> {
      auto claim = web::ClaimOnce(c, env.clock, "services.case.apply", token);
      if (!claim) return std::move(claim).error();
      if (*claim) return Outcome{**claim, true};
      auto bound = env.Bind(c);
      auto created = Apply(c, bound.deps, actor, who, input);
      if (!created) return std::move(created).error();
      // A refused file: the rest was valid, but the case waits for the file (rolled back).
      if (!file_problems.fields.empty()) return Error{ErrorCode::kInvalidInput, "", {}};
      const std::string receipt = "/cases/" + created->number + "/receipt";
      if (auto f = web::FinishOnce(c, token, receipt); !f) return std::move(f).error();
      return Outcome{receipt, false};
    };
    auto done = co_await env_->db.Write<Outcome>(work);
    env_->caches->CasesChanged();
    if (!done) {
      if (done.error().code != ErrorCode::kInvalidInput) co_return Refuse(req, done.error());
      // Files refused first, then what the service found, without repeating a refused file.
      AddServiceError(problems, done.error(), ids);
      Response res = Page(req, T("apply_title") + s.name, "services", "services_public_apply",
                          ApplyData(req, *loaded, st, problems),
                          problems.too_large ? St::payload_too_large : St::unprocessable_entity);
      // It holds what the applicant typed (an ID-card number): no copy in any cache.
      res.set(http::bhttp::field::cache_control, "private, no-store");
      co_return res;
    }
    if (done->receipt.rfind("/cases/", 0) != 0) co_return http::Redirect("/track");
    Response res = http::Redirect(done->receipt);
    const std::string number = done->receipt.substr(7, done->receipt.find('/', 7) - 7);
    const std::string phone4 = LastFour(input.phone);
    if (!phone4.empty())
      res.insert(http::bhttp::field::set_cookie, GrantCookie(req, number, phone4));
    co_return res;
  }

  // --- reading a case as its applicant ------------------------------------------------------

  enum class Access { kNone, kGrant, kAccount, kStaff };

  struct CaseView {
    ServiceCase c;
    Access access = Access::kNone;
    std::string phone4;  // kGrant
    std::string service_code;
    std::optional<int> days_left;
  };

  // The case as the visitor may see it: through the grant cookie, the applicant's account, or
  // (with allow_staff) a staff member's view permission. kNotFound otherwise.
  asio::awaitable<Result<CaseView>> LoadCase(const Request& req, const std::string& number,
                                             bool allow_staff, const Grant* given = nullptr) {
    const auth::Principal* who = auth::CurrentPrincipal(req);
    auto grant = given != nullptr ? std::optional<Grant>(*given)
                                  : ReadGrant(req, *env_->keys, env_->clock.NowMs());
    CaseView out;
    if (grant && grant->number == number) {
      out.access = Access::kGrant;
      out.phone4 = grant->phone4;
    } else if (who != nullptr && who->kind == auth::Principal::Kind::kCitizen) {
      out.access = Access::kAccount;
    } else if (who != nullptr && allow_staff) {
      out.access = Access::kStaff;
    } else {
      co_return Error::NotFound();
    }
    const Env& env = *env_;
    auto work = [&env, &out, who, &number](db::Conn& c) -> Result<CaseView> {
      auto bound = env.Bind(c);
      Result<ServiceCase> found = Error::NotFound();
      switch (out.access) {
        case Access::kGrant:
          found = TrackCase(c, bound.deps, nullptr, number, out.phone4);
          break;
        case Access::kAccount:
          found = TrackCase(c, bound.deps, who, number, "");
          break;
        case Access::kStaff:
          found = GetCase(c, bound.deps, who, number);
          break;
        case Access::kNone:
          break;
      }
      if (!found) return std::move(found).error();
      CaseView v = out;
      v.c = std::move(*found);
      if (v.c.due) {
        v.days_left = DaysLeft(*bound.calendar, *v.c.due, ShanghaiDate(env.clock.NowMs()));
      }
      auto s = GetService(c, v.c.service_id);
      if (s && *s) v.service_code = (*s)->code;
      return v;
    };
    co_return co_await env_->db.Read<CaseView>(work);
  }

  // Facts about a case shared by the receipt and the tracking page.
  Data CaseFacts(const CaseView& v) const {
    const ServiceCase& c = v.c;
    Data d = Object();
    d.set("number", c.number);
    d.set("service_name", c.service_name);
    if (!v.service_code.empty())
      d.set("service_url", "/services/" + http::PercentEncode(v.service_code));
    d.set("status", std::string(StatusName(c.status)));
    d.set("status_label", std::string(StatusLabel(c.status)));
    d.set("channel_label", std::string(ChannelLabel(c.channel)));
    d.set("unit_name", c.unit_name);
    d.set("applicant",
          c.applicant_kind == "enterprise" ? c.applicant_name : MaskName(c.applicant_name));
    d.set("phone_mask", c.applicant_phone_mask);
    if (!c.agent_name.empty() && c.channel == Channel::kProxy) d.set("agent", c.agent_name);
    d.set("applied_date", DateLabel(c.created_at_ms));
    d.set("applied_at", FormatShanghaiMinute(c.created_at_ms));
    d.set("promised_days", std::to_string(c.promised_days));
    if (c.due) {
      d.set("due_date", FormatDateChinese(*c.due));
      if (c.due_state != DueState::kNone) {
        d.set("due_state", std::string(DueStateName(c.due_state)));
        d.set("due_label", std::string(DueStateLabel(c.due_state)));
      }
      if (v.days_left) {
        if (*v.days_left > 0) {
          d.set("days_left", T("days_left_a") + std::to_string(*v.days_left) + T("days_left_b"));
        } else if (*v.days_left == 0) {
          d.set("days_left", T("due_today"));
        } else {
          d.set("days_left", T("overdue_by_a") + std::to_string(-*v.days_left) + T("days_left_b"));
        }
      }
    } else if (c.status == CaseStatus::kCorrecting) {
      d.set("paused", true);
    }
    if (c.completed_at_ms) d.set("completed_date", DateLabel(*c.completed_at_ms));
    if (!c.result.empty()) d.set("result", c.result);
    if (!c.description.empty()) d.set("description", c.description);
    // Files: materials received (current versions), and result documents.
    Data materials = List();
    Data results = List();
    for (const auto& f : c.files) {
      Data o = Object();
      o.set("name", f.name);
      o.set("url", "/files/case/" + std::to_string(f.id));
      o.set("size", SizeLabel(f.size));
      o.set("material", f.material_name.empty() ? T("other_material") : f.material_name);
      if (f.round > 0) o.set("round", std::to_string(f.round));
      if (f.kind == "result") {
        results.push_back(o);
      } else if (!f.superseded) {
        materials.push_back(o);
      }
    }
    d.set("materials", materials);
    if (materials.is_empty_list()) d.set("no_materials", true);
    d.set("results", results);
    if (results.is_non_empty_list()) d.set("has_results", true);
    return d;
  }

  // --- the receipt --------------------------------------------------------------------------

  asio::awaitable<Response> Receipt(Request& req) {
    const std::string number = NormalizeAscii(req.Param("number").value_or(""), 64);
    if (!LooksLikeCaseNumber(number)) co_return web::ErrorPage(req, view_, St::not_found);
    // number + phone4 in the query: the same counted check as the tracking form.
    const std::string phone4 = NormalizeAscii(req.QueryForm().GetOr("phone4"), 8);
    std::optional<std::string> cookie;
    std::optional<Grant> given;
    if (!phone4.empty()) {
      auto checked = co_await CheckDigits(req, number, phone4);
      if (!checked) co_return Refuse(req, checked.error());
      if (checked->blocked) co_return TooMany(req, number, checked->until_ms);
      if (!checked->found) co_return web::ErrorPage(req, view_, St::not_found);
      cookie = GrantCookie(req, number, phone4);
      given = Grant{number, phone4};
    }
    auto v = co_await LoadCase(req, number, true, given ? &*given : nullptr);
    if (!v) {
      if (v.error().code == ErrorCode::kNotFound && !auth::CurrentPrincipal(req)) {
        co_return http::Redirect("/track?number=" + http::PercentEncode(number));
      }
      co_return Refuse(req, v.error());
    }
    Data data = Object();
    data.set("case", CaseFacts(*v));
    data.set("track_url", "/track/" + http::PercentEncode(number));
    data.set("printed_at", FormatShanghaiMinute(env_->clock.NowMs()));
    Response res =
        Page(req, T("receipt_title") + " " + number, "track", "services_receipt", std::move(data));
    res.set(http::bhttp::field::cache_control, "private, no-store");
    if (cookie) res.insert(http::bhttp::field::set_cookie, *cookie);
    co_return res;
  }

  // --- tracking -----------------------------------------------------------------------------

  struct DigitsCheck {
    bool blocked = false;
    int64_t until_ms = 0;
    bool found = false;
  };

  // Number + phone digits, counted: blocked when the number or the IP has used up its wrong
  // tries; a wrong pair counts against both. The same answer for an unknown number and wrong
  // digits.
  asio::awaitable<Result<DigitsCheck>> CheckDigits(const Request& req, const std::string& number,
                                                   const std::string& phone4) {
    const Env& env = *env_;
    const std::string by_number = "number:" + number;
    const std::string by_ip = "ip:" + req.remote_ip;
    auto work = [&env, &number, &phone4, &by_number, &by_ip](db::Conn& c) -> Result<DigitsCheck> {
      const int64_t now = env.clock.NowMs();
      auto limit = CheckTrackLimit(c, now, by_number, by_ip);
      if (!limit) return std::move(limit).error();
      if (limit->blocked) return DigitsCheck{true, limit->until_ms, false};
      auto bound = env.Bind(c);
      auto found = TrackCase(c, bound.deps, nullptr, number, phone4);
      if (found) return DigitsCheck{false, 0, true};
      if (found.error().code != ErrorCode::kNotFound) return std::move(found).error();
      if (auto s = RecordTrackFailure(c, now, by_number); !s) return std::move(s).error();
      if (auto s = RecordTrackFailure(c, now, by_ip); !s) return std::move(s).error();
      return DigitsCheck{false, 0, false};
    };
    co_return co_await env_->db.Write<DigitsCheck>(work);
  }

  Data TrackFormData(const std::string& number, const std::string& phone4,
                     const Problems& p) const {
    Data data = Object();
    data.set("number", number);
    data.set("phone4", phone4);
    Data errors = Object();
    if (const std::string* e = p.For("number")) errors.set("number", *e);
    if (const std::string* e = p.For("phone4")) errors.set("phone4", *e);
    data.set("errors", errors);
    if (!p.Empty()) {
      data.set("has_errors", true);
      data.set("summary", Summary(p));
    }
    return data;
  }

  Response TooMany(const Request& req, const std::string& number, int64_t until_ms) const {
    Problems p;
    p.general = T("too_many_a") + FormatShanghaiMinute(until_ms) + T("too_many_b");
    Data data = TrackFormData(number, "", p);
    data.set("blocked", true);
    Response res = Page(req, T("track_title"), "track", "services_track", std::move(data),
                        St::too_many_requests);
    const int64_t wait_s = std::max<int64_t>(1, (until_ms - env_->clock.NowMs() + 999) / 1000);
    res.set(http::bhttp::field::retry_after, std::to_string(wait_s));
    return res;
  }

  asio::awaitable<Response> TrackPage(Request& req) {
    const std::string number = NormalizeAscii(req.QueryForm().GetOr("number"), 64);
    co_return Page(req, T("track_title"), "track", "services_track",
                   TrackFormData(number, "", Problems{}));
  }

  asio::awaitable<Response> TrackSubmit(Request& req) {
    const http::Form& form = req.BodyForm();
    const std::string number = NormalizeAscii(form.GetOr("number"), 64);
    const std::string phone4 = NormalizeAscii(form.GetOr("phone4"), 8);
    Problems p;
    if (number.empty()) {
      p.Add("number", T("number_missing"));
    } else if (!LooksLikeCaseNumber(number)) {
      p.Add("number", T("number_malformed"));
    }
    if (phone4.empty()) {
      p.Add("phone4", T("phone4_missing"));
    } else if (!IsFourDigits(phone4)) {
      p.Add("phone4", T("phone4_malformed"));
    }
    if (!p.Empty()) {
      co_return Page(req, T("track_title"), "track", "services_track",
                     TrackFormData(number, phone4, p), St::unprocessable_entity);
    }
    auto checked = co_await CheckDigits(req, number, phone4);
    if (!checked) co_return Refuse(req, checked.error());
    if (checked->blocked) co_return TooMany(req, number, checked->until_ms);
    if (!checked->found) {
      p.general = T("not_found");
      co_return Page(req, T("track_title"), "track", "services_track",
                     TrackFormData(number, phone4, p), St::unprocessable_entity);
    }
    Response res = http::Redirect("/track/" + http::PercentEncode(number));
    res.insert(http::bhttp::field::set_cookie, GrantCookie(req, number, phone4));
    co_return res;
  }

  // The tracking page of one case, with the applicant's forms. `st`/`p` carry a failed form.
  Data CaseData(const CaseView& v, const FormState& st, const Problems& p,
                std::string_view failed_form) const {
    const ServiceCase& c = v.c;
    Data data = Object();
    data.set("case", CaseFacts(v));
    const std::string base = "/track/" + http::PercentEncode(c.number);
    data.set("base", base);
    data.set("receipt_url", "/cases/" + http::PercentEncode(c.number) + "/receipt");
    // History, oldest first, with the public notes.
    Data events = List();
    for (const auto& e : c.events) {
      if (!e.public_note) continue;
      Data o = Object();
      o.set("at", FormatShanghaiMinute(e.at_ms));
      o.set("action", std::string(ActionLabel(e.action)));
      if (!e.unit_name.empty()) o.set("unit", e.unit_name);
      if (!e.note.empty()) o.set("note", e.note);
      o.set("status", std::string(StatusLabel(e.to_status)));
      events.push_back(o);
    }
    data.set("events", events);
    // 一次性告知: every open item of the current round, with an upload for each material.
    if (c.status == CaseStatus::kCorrecting) {
      Data items = List();
      Data uploads = List();
      for (const auto& item : c.corrections) {
        if (item.resolved) continue;
        Data o = Object();
        o.set("material",
              item.material_name.empty() ? T("correction_general") : item.material_name);
        o.set("reason", item.reason);
        items.push_back(o);
        if (item.material_id != 0) {
          const Problems& shown = failed_form == "resubmit" ? p : Problems{};
          uploads.push_back(FileSlot(item.material_id, item.material_name, true, nullptr,
                                     failed_form == "resubmit" ? st : FormState{}, shown));
        }
      }
      data.set("corrections", items);
      data.set("uploads", uploads);
      if (uploads.is_non_empty_list()) data.set("has_uploads", true);
      data.set("can_resubmit", true);
      data.set("max_mb", std::to_string(env_->max_upload_bytes / (1024 * 1024)));
      data.set("max_bytes", std::to_string(env_->max_upload_bytes));
    }
    if (Next(c.status, Action::kWithdraw)) data.set("can_withdraw", true);
    if (c.rating) {
      Data r = Object();
      r.set("score", std::to_string(c.rating->score));
      r.set("label", std::string(RatingLabel(c.rating->score)));
      if (!c.rating->comment.empty()) r.set("comment", c.rating->comment);
      r.set("at", FormatShanghaiMinute(c.rating->at_ms));
      data.set("rating", r);
    } else if (Next(c.status, Action::kRate)) {
      data.set("can_rate", true);
      Data scores = List();
      for (int score = 1; score <= 5; ++score) {
        Data o = Object();
        o.set("value", std::to_string(score));
        o.set("label", std::string(RatingLabel(score)));
        if (failed_form == "rate" && st.Get("score") == std::to_string(score)) {
          o.set("checked", true);
        }
        scores.push_back(o);
      }
      data.set("scores", scores);
      data.set("followup_days", std::to_string(env_->followup_days));
    }
    if (c.followup) {
      Data fu = Object();
      if (c.followup->closed) {
        fu.set("closed", true);
        fu.set("outcome", c.followup->outcome);
        if (c.followup->closed_at_ms) fu.set("closed_at", DateLabel(*c.followup->closed_at_ms));
      } else {
        fu.set("due", FormatDateChinese(c.followup->due));
      }
      data.set("followup", fu);
    }
    // A failed form: its values and messages (a conflict is shown above everything).
    Data f = Object();
    Data errors = Object();
    if (p.conflict) {
      data.set("top_error", p.general.empty() ? T("conflict") : p.general);
    } else if (!failed_form.empty()) {
      f.set("note", st.note);
      f.set("comment", st.Get("comment"));
      if (st.Get("confirm") == "1") f.set("confirm", true);
      for (const auto& field : {"note", "comment", "score", "confirm"}) {
        if (const std::string* e = p.For(field)) errors.set(field, *e);
      }
      if (!p.Empty()) {
        data.set(std::string(failed_form) + "_failed", true);
        data.set("summary", Summary(p));
      }
      if (!st.once.empty()) data.set("once", st.once);
    }
    data.set("f", f);
    data.set("errors", errors);
    if (v.access == Access::kAccount) data.set("by_account", true);
    return data;
  }

  Response CasePage(const Request& req, const CaseView& v, const FormState& st, const Problems& p,
                    std::string_view failed_form, St status = St::ok) const {
    Data data = CaseData(v, st, p, failed_form);
    const std::string done = req.QueryForm().GetOr("done");
    if (done == "resubmitted" || done == "withdrawn" || done == "rated") {
      data.set("notice", T("done_" + done));
    }
    Response res = Page(req, T("case_title") + " " + v.c.number, "track", "services_track_case",
                        std::move(data), status);
    res.set(http::bhttp::field::cache_control, "private, no-store");
    return res;
  }

  // The case of a /track/{number}… request, or the answer when the visitor may not see it.
  asio::awaitable<std::variant<CaseView, Response>> CaseFor(Request& req) {
    const std::string number = NormalizeAscii(req.Param("number").value_or(""), 64);
    if (!LooksLikeCaseNumber(number)) co_return web::ErrorPage(req, view_, St::not_found);
    auto v = co_await LoadCase(req, number, false);
    if (v) co_return std::move(*v);
    if (v.error().code != ErrorCode::kNotFound) co_return Refuse(req, v.error());
    const auth::Principal* who = auth::CurrentPrincipal(req);
    if (who != nullptr && who->kind == auth::Principal::Kind::kStaff) {
      co_return http::Redirect("/desk/cases/" + http::PercentEncode(number));
    }
    co_return http::Redirect("/track?number=" + http::PercentEncode(number));
  }

  asio::awaitable<Response> TrackCasePage(Request& req) {
    auto v = co_await CaseFor(req);
    if (auto* r = std::get_if<Response>(&v)) co_return std::move(*r);
    co_return CasePage(req, std::get<CaseView>(v), FormState{}, Problems{}, "");
  }

  // Runs one applicant step (补正 / 撤回) under the one-time token of its form.
  asio::awaitable<Result<std::string>> Step(const Request& req, const CaseView& v,
                                            const TransitionInput& input, const std::string& token,
                                            std::string_view form_name, const std::string& result) {
    const Env& env = *env_;
    const audit::Actor actor = ActorOf(req);
    const auth::Principal* who =
        v.access == Access::kAccount ? auth::CurrentPrincipal(req) : nullptr;
    const std::string number = v.c.number;
    const std::string phone4 = v.phone4;
    auto work = [&](db::Conn& c) -> Result<std::string> {
      auto claim = web::ClaimOnce(c, env.clock, form_name, token);
      if (!claim) return std::move(claim).error();
      if (*claim) return **claim;
      auto bound = env.Bind(c);
      auto stepped = ApplicantStep(c, bound.deps, actor, who, number, phone4, input);
      if (!stepped) return std::move(stepped).error();
      if (auto f = web::FinishOnce(c, token, result); !f) return std::move(f).error();
      return result;
    };
    auto stepped = co_await env_->db.Write<std::string>(work);
    env_->caches->CasesChanged();
    co_return stepped;
  }

  // The answer to a failed applicant step: the page again with the message (input kept).
  // (Arguments by reference: g++ 12 may destroy a by-value coroutine argument twice.)
  asio::awaitable<Response> StepFailed(Request& req, const Error& e, const FormState& st,
                                       const Problems& given, std::string_view form_name,
                                       const std::vector<int64_t>& ids) {
    Problems p = given;
    if (e.code != ErrorCode::kInvalidInput && e.code != ErrorCode::kConflict) {
      co_return Refuse(req, e);
    }
    AddServiceError(p, e, ids);
    p.conflict = e.code == ErrorCode::kConflict;
    // Show the case as it is now (a conflict means it changed).
    auto fresh = co_await CaseFor(req);
    if (auto* r = std::get_if<Response>(&fresh)) co_return std::move(*r);
    const St status = e.code == ErrorCode::kConflict ? St::conflict
                      : p.too_large                  ? St::payload_too_large
                                                     : St::unprocessable_entity;
    co_return CasePage(req, std::get<CaseView>(fresh), st, p, form_name, status);
  }

  asio::awaitable<Response> Resubmit(Request& req) {
    auto loaded = co_await CaseFor(req);
    if (auto* r = std::get_if<Response>(&loaded)) co_return std::move(*r);
    const CaseView& v = std::get<CaseView>(loaded);
    auto form = http::ParseMultipart(req);
    if (!form) co_return web::ErrorPage(req, view_, St::bad_request);
    FormState st;
    st.note = form->Get("note").value_or("");
    const std::string token = form->Get(web::kOnceField).value_or("");
    if (web::WellFormedOnceToken(token)) st.once = token;
    std::vector<int64_t> ids;
    for (const auto& item : v.c.corrections) {
      if (!item.resolved && item.material_id != 0 &&
          std::find(ids.begin(), ids.end(), item.material_id) == ids.end()) {
        ids.push_back(item.material_id);
      }
    }
    auto [accepted, problems] = co_await TakeFiles(*form, ids);
    st.files = accepted;
    if (v.c.status != CaseStatus::kCorrecting) {
      const Error not_correcting = Error::Conflict(T("not_correcting"));
      co_return co_await StepFailed(req, not_correcting, st, problems, "resubmit", ids);
    }
    if (st.note.size() > kMaxNote * 3) problems.Add("note", T("note_too_long"));
    for (int64_t id : ids) {
      if (!accepted.contains(id)) problems.Add(FileField(id), T("correction_file_missing"));
    }
    if (!problems.Empty()) {
      co_return co_await StepFailed(req, kInvalid, st, problems, "resubmit", ids);
    }
    TransitionInput input;
    input.action = Action::kResubmit;
    input.note = st.note;
    input.expect_status = CaseStatus::kCorrecting;
    for (const auto& [_, f] : accepted) input.files.push_back(f);
    const std::string result = "/track/" + http::PercentEncode(v.c.number) + "?done=resubmitted";
    auto done = co_await Step(req, v, input, token, "services.case.resubmit", result);
    if (!done) co_return co_await StepFailed(req, done.error(), st, problems, "resubmit", ids);
    co_return http::Redirect(done->empty() ? result : *done);
  }

  asio::awaitable<Response> Withdraw(Request& req) {
    auto loaded = co_await CaseFor(req);
    if (auto* r = std::get_if<Response>(&loaded)) co_return std::move(*r);
    const CaseView& v = std::get<CaseView>(loaded);
    const http::Form& form = req.BodyForm();
    FormState st;
    st.note = org::TrimText(form.GetOr("note"));
    st.values["confirm"] = form.GetOr("confirm");
    const std::string token = form.GetOr(std::string(web::kOnceField));
    if (web::WellFormedOnceToken(token)) st.once = token;
    Problems p;
    if (!Next(v.c.status, Action::kWithdraw)) {
      const Error late = Error::Conflict(
          T("withdraw_late_a") + std::string(StatusLabel(v.c.status)) + T("withdraw_late_b"));
      co_return co_await StepFailed(req, late, st, p, "withdraw", kNoIds);
    }
    if (st.Get("confirm") != "1") p.Add("confirm", T("withdraw_confirm_missing"));
    if (st.note.size() > kMaxNote * 3) p.Add("note", T("note_too_long"));
    if (!p.Empty()) {
      co_return co_await StepFailed(req, kInvalid, st, p, "withdraw", kNoIds);
    }
    TransitionInput input;
    input.action = Action::kWithdraw;
    input.note = st.note;
    input.expect_status = v.c.status;
    const std::string result = "/track/" + http::PercentEncode(v.c.number) + "?done=withdrawn";
    auto done = co_await Step(req, v, input, token, "services.case.withdraw", result);
    if (!done) co_return co_await StepFailed(req, done.error(), st, p, "withdraw", kNoIds);
    co_return http::Redirect(done->empty() ? result : *done);
  }

  asio::awaitable<Response> Rate(Request& req) {
    auto loaded = co_await CaseFor(req);
    if (auto* r = std::get_if<Response>(&loaded)) co_return std::move(*r);
    const CaseView& v = std::get<CaseView>(loaded);
    const http::Form& form = req.BodyForm();
    FormState st;
    st.values["score"] = form.GetOr("score");
    st.values["comment"] = form.GetOr("comment");
    const std::string token = form.GetOr(std::string(web::kOnceField));
    if (web::WellFormedOnceToken(token)) st.once = token;
    Problems p;
    if (v.c.rating || !Next(v.c.status, Action::kRate)) {
      const Error refused = Error::Conflict(T(v.c.rating ? "rated_already" : "rate_too_early"));
      co_return co_await StepFailed(req, refused, st, p, "rate", kNoIds);
    }
    int score = 0;
    const std::string score_text = st.Get("score");
    std::from_chars(score_text.data(), score_text.data() + score_text.size(), score);
    if (score < 1 || score > 5 || score_text.size() != 1) p.Add("score", T("score_missing"));
    if (st.Get("comment").size() > kMaxComment * 3) p.Add("comment", T("comment_too_long"));
    if (!p.Empty()) {
      co_return co_await StepFailed(req, kInvalid, st, p, "rate", kNoIds);
    }
    const Env& env = *env_;
    const audit::Actor actor = ActorOf(req);
    const auth::Principal* who =
        v.access == Access::kAccount ? auth::CurrentPrincipal(req) : nullptr;
    const std::string number = v.c.number;
    const std::string phone4 = v.phone4;
    const std::string comment = org::TrimText(st.Get("comment"));
    const std::string result = "/track/" + http::PercentEncode(number) + "?done=rated";
    auto work = [&env, &actor, who, &number, &phone4, score, &comment, &token,
                 &result](db::Conn& c) -> Result<std::string> {
      auto claim = web::ClaimOnce(c, env.clock, "services.case.rate", token);
      if (!claim) return std::move(claim).error();
      if (*claim) return **claim;
      auto bound = env.Bind(c);
      auto rated = RateCase(c, bound.deps, actor, who, number, phone4, score, comment);
      if (!rated) return std::move(rated).error();
      if (auto f = web::FinishOnce(c, token, result); !f) return std::move(f).error();
      return result;
    };
    auto rated = co_await env_->db.Write<std::string>(work);
    env_->caches->CasesChanged();
    if (!rated) co_return co_await StepFailed(req, rated.error(), st, p, "rate", kNoIds);
    co_return http::Redirect(rated->empty() ? result : *rated);
  }

  // --- files --------------------------------------------------------------------------------

  asio::awaitable<Response> SendStored(const Request& req, const std::string& sha256,
                                       const std::string& name, const std::string& type,
                                       bool is_private) {
    files::FileStore* store = env_->files;
    if (store == nullptr) co_return web::ErrorPage(req, view_, St::service_unavailable);
    auto read = [store, &sha256]() { return store->Read(sha256); };
    auto bytes = co_await pool_.Run(read);
    if (!bytes) co_return web::ErrorPage(req, view_, St::not_found);
    const std::string content_type = type.empty() ? "application/octet-stream" : type;
    Response res = http::MakeResponse(St::ok, std::move(*bytes), content_type);
    res.set(http::bhttp::field::content_disposition, Disposition("inline", name));
    res.set("X-Content-Type-Options", "nosniff");
    res.set(http::bhttp::field::cache_control,
            is_private ? "private, no-store" : "public, max-age=300");
    co_return res;
  }

  asio::awaitable<Response> CaseFile(Request& req) {
    auto id = ParseId(req.Param("id").value_or(""));
    if (!id) co_return web::ErrorPage(req, view_, St::not_found);
    auto lookup = [id = *id](db::Conn& c) { return CaseNumberOfFile(c, id); };
    auto number = co_await env_->db.Read<std::optional<std::string>>(lookup);
    if (!number) co_return Refuse(req, number.error());
    if (!*number) co_return web::ErrorPage(req, view_, St::not_found);
    auto v = co_await LoadCase(req, **number, true);
    if (!v) {
      if (v.error().code == ErrorCode::kNotFound && !auth::CurrentPrincipal(req)) {
        co_return web::ErrorPage(req, view_, St::not_found);
      }
      co_return Refuse(req, v.error());
    }
    for (const auto& f : v->c.files) {
      if (f.id == *id) co_return co_await SendStored(req, f.sha256, f.name, f.content_type, true);
    }
    co_return web::ErrorPage(req, view_, St::not_found);
  }

  asio::awaitable<Response> SampleFile(Request& req) {
    auto id = ParseId(req.Param("id").value_or(""));
    if (!id) co_return web::ErrorPage(req, view_, St::not_found);
    auto lookup = [id = *id](db::Conn& c) { return SampleOf(c, id); };
    auto sample = co_await env_->db.Read<std::optional<Sample>>(lookup);
    if (!sample) co_return Refuse(req, sample.error());
    if (!*sample) co_return web::ErrorPage(req, view_, St::not_found);
    co_return co_await SendStored(req, (*sample)->sha256, (*sample)->name, (*sample)->type, false);
  }

  // --- 我的办件 -----------------------------------------------------------------------------

  asio::awaitable<Response> AccountCases(Request& req) {
    const auth::Principal* who = auth::CurrentPrincipal(req);
    if (who == nullptr) co_return Refuse(req, Error{ErrorCode::kUnauthenticated, "", {}});
    auto work = [user = who->user_id](db::Conn& c) { return OwnCases(c, user); };
    auto cases = co_await env_->db.Read<std::vector<OwnCase>>(work);
    if (!cases) co_return Refuse(req, cases.error());
    Data list = List();
    for (const auto& c : *cases) {
      Data o = Object();
      o.set("number", c.number);
      o.set("url", "/track/" + http::PercentEncode(c.number));
      o.set("service_name", c.service_name);
      auto status = StatusFromName(c.status);
      o.set("status", c.status);
      o.set("status_label", status ? std::string(StatusLabel(*status)) : c.status);
      o.set("applied_date", DateLabel(c.created_at_ms));
      Date due;
      if (!c.due_day.empty() && ParseDate(c.due_day, &due))
        o.set("due_date", FormatDateChinese(due));
      if (status == CaseStatus::kCompleted && !c.score) o.set("to_rate", true);
      list.push_back(o);
    }
    Data data = Object();
    data.set("cases", list);
    if (cases->empty()) data.set("empty", true);
    if (who->kind == auth::Principal::Kind::kStaff) data.set("staff", true);
    co_return Page(req, T("account_title"), "track", "services_public_account_cases",
                   std::move(data));
  }

 private:
  std::shared_ptr<Env> env_;
  BlockingPool& pool_;
  const view::View& view_;
};

}  // namespace

void RegisterPublicRoutes(web::ModuleContext& ctx, std::shared_ptr<Env> env) {
  auto pages = std::make_shared<Pages>(ctx, std::move(env));
  auto bind = [pages](asio::awaitable<Response> (Pages::*fn)(Request&)) {
    return [pages, fn](Request& req) { return ((*pages).*fn)(req); };
  };
  const http::RouteOptions cacheable{.cacheable = true};
  ctx.router.Get("/services", bind(&Pages::Catalogue), cacheable);
  ctx.router.Get("/services/{code}", bind(&Pages::Detail), cacheable);
  ctx.router.Get("/services/{code}/apply", bind(&Pages::ApplyPage));
  ctx.router.Post("/services/{code}/apply", bind(&Pages::ApplySubmit));
  ctx.router.Get("/services/materials/{id}/sample", bind(&Pages::SampleFile));
  ctx.router.Get("/cases/{number}/receipt", bind(&Pages::Receipt));
  ctx.router.Get("/track", bind(&Pages::TrackPage));
  ctx.router.Post("/track", bind(&Pages::TrackSubmit));
  ctx.router.Get("/track/{number}", bind(&Pages::TrackCasePage));
  ctx.router.Post("/track/{number}/resubmit", bind(&Pages::Resubmit));
  ctx.router.Post("/track/{number}/withdraw", bind(&Pages::Withdraw));
  ctx.router.Post("/track/{number}/rate", bind(&Pages::Rate));
  ctx.router.Get("/files/case/{id}", bind(&Pages::CaseFile));
  ctx.router.Get("/account/cases", bind(&Pages::AccountCases));
}

}  // namespace zhenwu::services
