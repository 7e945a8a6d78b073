#include "support/auth_fixture.hpp"

#include <map>
#include <mutex>

#include "audit/audit.hpp"
#include "auth/password.hpp"
#include "auth/service.hpp"
#include "org/store.hpp"

namespace zhenwu::testing {

Result<SmallTree> CreateSmallTree(db::Database& db, const Clock& clock) {
  return db.WriteSync<SmallTree>([&](db::Conn& c) -> Result<SmallTree> {
    SmallTree t;
    auto add = [&](std::optional<int64_t> parent, const std::string& parent_path,
                   org::UnitKind kind, const char* name, const char* code, int64_t& id,
                   std::string& path) -> Status {
      org::NewUnitRow row;
      row.parent_id = parent;
      row.parent_path = parent_path;
      row.kind = kind;
      row.name = name;
      row.code = code;
      auto unit = org::InsertUnit(c, row, clock.NowMs());
      if (!unit) return std::move(unit).error();
      id = unit->id;
      path = unit->path;
      return {};
    };
    using K = org::UnitKind;
    if (auto s = add(std::nullopt, "", K::kCity, "玉林市", "T-YL", t.city, t.city_path); !s) {
      return std::move(s).error();
    }
    if (auto s = add(t.city, t.city_path, K::kCounty, "北流市", "T-BL", t.county, t.county_path);
        !s) {
      return std::move(s).error();
    }
    if (auto s = add(t.county, t.county_path, K::kTown, "平政镇", "T-PZ", t.town, t.town_path);
        !s) {
      return std::move(s).error();
    }
    if (auto s = add(t.town, t.town_path, K::kWindow, "民政办", "T-PZ-MZ", t.window, t.window_path);
        !s) {
      return std::move(s).error();
    }
    if (auto s = add(t.town, t.town_path, K::kVillage, "示例一村", "T-PZ-V1", t.village1,
                     t.village1_path);
        !s) {
      return std::move(s).error();
    }
    if (auto s = add(t.town, t.town_path, K::kVillage, "示例二村", "T-PZ-V2", t.village2,
                     t.village2_path);
        !s) {
      return std::move(s).error();
    }
    if (auto s = add(t.village1, t.village1_path, K::kVillageWindow, "示例一村 民政事务",
                     "T-PZ-V1-MZ", t.village1_window, t.village1_window_path);
        !s) {
      return std::move(s).error();
    }
    return t;
  });
}

namespace {

std::string CachedHash(const std::string& password) {
  static std::mutex mutex;
  static std::map<std::string, std::string> hashes;
  std::lock_guard lock(mutex);
  auto it = hashes.find(password);
  if (it == hashes.end()) it = hashes.emplace(password, auth::HashPassword(password)).first;
  return it->second;
}

}  // namespace

Result<int64_t> CreateStaffUser(db::Database& db, const Clock& clock, const StaffSpec& spec) {
  if (auto s = auth::CheckPasswordRules(spec.password, spec.login); !s) {
    return std::move(s).error();
  }
  auth::NewStaff staff;
  staff.login = spec.login;
  staff.display_name = spec.display_name;
  staff.unit_id = spec.unit_id;
  staff.grants = spec.grants;
  staff.password_hash = CachedHash(spec.password);
  staff.must_change_password = spec.must_change_password;
  return db.WriteSync<int64_t>(
      [&](db::Conn& c) { return auth::CreateStaff(c, clock, auth::SystemActor(), staff); });
}

std::string CsrfFromPage(std::string_view html) {
  constexpr std::string_view kMarker = "name=\"_csrf\" value=\"";
  const auto at = html.find(kMarker);
  if (at == std::string_view::npos) return {};
  const auto start = at + kMarker.size();
  const auto end = html.find('"', start);
  if (end == std::string_view::npos) return {};
  return std::string(html.substr(start, end - start));
}

std::string CsrfToken(HttpClient& client) {
  if (client.cookie("zw_sid")) {
    std::string token = CsrfFromPage(client.Get("/account/password").body);
    if (!token.empty()) return token;
  }
  return CsrfFromPage(client.Get("/login").body);
}

HttpResponse PostFormWithCsrf(HttpClient& client, std::string_view path, Headers fields) {
  fields.emplace_back("_csrf", CsrfToken(client));
  return client.PostForm(path, fields);
}

HttpResponse Login(HttpClient& client, std::string_view login, std::string_view password,
                   bool citizen) {
  const std::string csrf =
      CsrfFromPage(client.Get(citizen ? "/login?kind=citizen" : "/login").body);
  return client.PostForm("/login", {{"_csrf", csrf},
                                    {"kind", citizen ? "citizen" : "staff"},
                                    {"login", std::string(login)},
                                    {"password", std::string(password)}});
}

bool LoginAs(HttpClient& client, std::string_view login, std::string_view password) {
  auto res = Login(client, login, password);
  return res.status == 303 && client.cookie("zw_sid").has_value();
}

}  // namespace zhenwu::testing
