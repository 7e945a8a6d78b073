#pragma once
// Who is asking, and the one function that decides what they may do where.
//
// Staff hold roles, each granted on an org unit with a scope: that unit only, or that unit and
// everything under it. A permission applies to a record when one of the principal's grants both
// carries the permission and covers the record's org unit. Org units are identified by their
// materialised path ("/1/4/17/"), so "covers" is a prefix test and needs no database.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "http/types.hpp"

namespace zhenwu::auth {

enum class Role {
  kAdmin,         // 系统管理员
  kLeader,        // 镇领导
  kClerk,         // 窗口工作人员
  kVillageCadre,  // 村干部
  kEditor,        // 信息员
  kAuditor,       // 审计员
};
enum class Scope {
  kUnit,     // the unit itself
  kSubtree,  // the unit and everything under it
};

enum class Permission {
  kOrgView,
  kOrgManage,
  kUserView,
  kUserManage,
  kPeopleView,
  kPeopleEdit,
  kPeopleReveal,  // see a full ID-card number or phone (audited)
  kAuditView,
  kCaseView,
  kCaseHandle,
  kCaseApplyForOthers,  // 代办
  kCatalogueEdit,
  kContentEdit,
  kMessageHandle,
  kOfficeUse,
  kAssessmentView,
};

// Stable names used in the database, forms and logs: "admin", "leader", …, "unit"/"subtree".
std::string_view RoleName(Role role);
std::optional<Role> RoleFromName(std::string_view name);
std::string_view ScopeName(Scope scope);
std::optional<Scope> ScopeFromName(std::string_view name);
// "org.view", "people.reveal", …
std::string_view PermissionName(Permission permission);
// Whether a role carries a permission at all (the role × permission matrix in one place).
bool RoleHas(Role role, Permission permission);

struct Grant {
  Role role = Role::kClerk;
  Scope scope = Scope::kUnit;
  int64_t unit_id = 0;
  std::string unit_path;  // "/1/4/17/"
};

struct Principal {
  enum class Kind { kStaff, kCitizen };
  int64_t user_id = 0;
  Kind kind = Kind::kStaff;
  std::string login;         // staff name, or the citizen's phone
  std::string display_name;  // 姓名
  int64_t unit_id = 0;       // staff: the unit they belong to
  std::vector<Grant> grants;
  bool must_change_password = false;
  std::string session_id;  // empty for API tokens
};

// Whether `grant` covers a record of the unit at `target_path`.
bool Covers(const Grant& grant, std::string_view target_path);

// The decision. OK when a grant of `who` carries `permission` and covers `target_unit_path`.
// kUnauthenticated when `who` is null; kForbidden when no grant of `who` carries the permission
// anywhere (the page itself is not for them); kNotFound when grants carry it but none covers
// the target, so that a neighbour village learns nothing, not even that the record exists.
Status Authorize(const Principal* who, Permission permission, std::string_view target_unit_path);
// For pages that are not about one record (e.g. a list): OK when any grant carries the
// permission; kUnauthenticated / kForbidden as above.
Status AuthorizeAny(const Principal* who, Permission permission);
// The unit paths under which `who` may use `permission` (for scoping list queries); empty when
// none. A kUnit grant yields its exact path with `exact` set.
struct ScopePath {
  std::string path;
  bool exact = false;
};
std::vector<ScopePath> ScopesFor(const Principal& who, Permission permission);

// The principal the auth middleware attached to the request, or null for an anonymous visitor.
const Principal* CurrentPrincipal(const http::Request& req);
void SetCurrentPrincipal(http::Request& req, Principal principal);

}  // namespace zhenwu::auth
