#pragma once
// Accounts for tests: a small org tree, staff users with grants written straight into the
// database, and signing in over HTTP the way a browser does.
//
//   auto tree = CreateSmallTree(db, clock);                 // 玉林市 › 北流市 › 平政镇 › …
//   CreateStaffUser(db, clock, {.login = "clerk1", .unit_id = tree->window,
//                               .grants = {{auth::Role::kClerk, auth::Scope::kUnit,
//                               tree->window}}});
//   HttpClient client = server.Client();
//   ASSERT_TRUE(LoginAs(client, "clerk1", kTestPassword));
//   auto res = PostFormWithCsrf(client, "/cases/new", {{"title", "…"}});

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/model.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "db/db.hpp"
#include "support/http_client.hpp"

namespace zhenwu::testing {

// Satisfies the password rules and contains no test login used here.
inline constexpr std::string_view kTestPassword = "Test@2026pw";

// 玉林市 (city) › 北流市 (county) › 平政镇 (town) › 民政办 (window) and 示例一村, 示例二村
// (villages) › 示例一村 民政事务 (village window). Needs the org module's tables.
struct SmallTree {
  int64_t city = 0, county = 0, town = 0, window = 0, village1 = 0, village2 = 0,
          village1_window = 0;
  std::string city_path, county_path, town_path, window_path, village1_path, village2_path,
      village1_window_path;
};
Result<SmallTree> CreateSmallTree(db::Database& db, const Clock& clock);

struct StaffSpec {
  std::string login;
  std::string display_name = "测试用户";
  int64_t unit_id = 0;
  std::vector<auth::GrantSpec> grants;
  std::string password = std::string(kTestPassword);
  bool must_change_password = false;
};
// Creates a staff account with its grants (through auth::CreateStaff, audited). Hashes of the
// same password are computed once per test binary, so creating many users stays fast.
Result<int64_t> CreateStaffUser(db::Database& db, const Clock& clock, const StaffSpec& spec);

// The _csrf value of the first form in `html`, "" when none.
std::string CsrfFromPage(std::string_view html);
// The CSRF token for the client's current session (or anonymous cookie): read from a page that
// carries it ("/" for a signed-in client, "/login" otherwise).
std::string CsrfToken(HttpClient& client);
// POSTs a form with the right _csrf added.
HttpResponse PostFormWithCsrf(HttpClient& client, std::string_view path, Headers fields);
// Signs in through GET /login and POST /login (staff form; `citizen` for the phone tab).
// Returns the POST /login response (303 on success, with the zw_sid cookie in the jar).
HttpResponse Login(HttpClient& client, std::string_view login, std::string_view password,
                   bool citizen = false);
// True when the sign-in worked.
bool LoginAs(HttpClient& client, std::string_view login, std::string_view password);

}  // namespace zhenwu::testing
