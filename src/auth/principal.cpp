#include "auth/principal.hpp"

#include <array>
#include <utility>

namespace zhenwu::auth {

namespace {

constexpr std::array<std::pair<Role, std::string_view>, 6> kRoleNames{{
    {Role::kAdmin, "admin"},
    {Role::kLeader, "leader"},
    {Role::kClerk, "clerk"},
    {Role::kVillageCadre, "cadre"},
    {Role::kEditor, "editor"},
    {Role::kAuditor, "auditor"},
}};

constexpr std::array<std::pair<Permission, std::string_view>, 16> kPermissionNames{{
    {Permission::kOrgView, "org.view"},
    {Permission::kOrgManage, "org.manage"},
    {Permission::kUserView, "user.view"},
    {Permission::kUserManage, "user.manage"},
    {Permission::kPeopleView, "people.view"},
    {Permission::kPeopleEdit, "people.edit"},
    {Permission::kPeopleReveal, "people.reveal"},
    {Permission::kAuditView, "audit.view"},
    {Permission::kCaseView, "case.view"},
    {Permission::kCaseHandle, "case.handle"},
    {Permission::kCaseApplyForOthers, "case.apply_for_others"},
    {Permission::kCatalogueEdit, "catalogue.edit"},
    {Permission::kContentEdit, "content.edit"},
    {Permission::kMessageHandle, "message.handle"},
    {Permission::kOfficeUse, "office.use"},
    {Permission::kAssessmentView, "assessment.view"},
}};

constexpr std::string_view kPrincipalKey = "principal";

}  // namespace

std::string_view RoleName(Role role) {
  for (const auto& [r, name] : kRoleNames) {
    if (r == role) return name;
  }
  return "unknown";
}

std::optional<Role> RoleFromName(std::string_view name) {
  for (const auto& [r, n] : kRoleNames) {
    if (n == name) return r;
  }
  return std::nullopt;
}

std::string_view ScopeName(Scope scope) { return scope == Scope::kUnit ? "unit" : "subtree"; }

std::optional<Scope> ScopeFromName(std::string_view name) {
  if (name == "unit") return Scope::kUnit;
  if (name == "subtree") return Scope::kSubtree;
  return std::nullopt;
}

std::string_view PermissionName(Permission permission) {
  for (const auto& [p, name] : kPermissionNames) {
    if (p == permission) return name;
  }
  return "unknown";
}

bool RoleHas(Role role, Permission p) {
  using P = Permission;
  switch (role) {
    case Role::kAdmin:
      return true;
    case Role::kLeader:
      // Sees everything in scope and leads the work; does not manage accounts or the tree, and
      // the audit log belongs to the auditor (三员分立).
      return p == P::kOrgView || p == P::kUserView || p == P::kPeopleView ||
             p == P::kPeopleReveal || p == P::kCaseView || p == P::kAssessmentView ||
             p == P::kOfficeUse || p == P::kMessageHandle;
    case Role::kVillageCadre:
      if (p == P::kCaseApplyForOthers) return true;  // 代办 for villagers
      [[fallthrough]];
    case Role::kClerk:
      return p == P::kOrgView || p == P::kPeopleView || p == P::kPeopleEdit || p == P::kCaseView ||
             p == P::kCaseHandle || p == P::kMessageHandle || p == P::kOfficeUse;
    case Role::kEditor:
      return p == P::kOrgView || p == P::kContentEdit || p == P::kCatalogueEdit;
    case Role::kAuditor:
      return p == P::kOrgView || p == P::kUserView || p == P::kAuditView;
  }
  return false;
}

bool Covers(const Grant& grant, std::string_view target_path) {
  if (grant.unit_path.empty() || target_path.empty()) return false;
  if (grant.scope == Scope::kUnit) return target_path == grant.unit_path;
  // Paths end with '/', so "/1/4/" never matches "/1/45/".
  return target_path.size() >= grant.unit_path.size() &&
         target_path.compare(0, grant.unit_path.size(), grant.unit_path) == 0;
}

Status Authorize(const Principal* who, Permission permission, std::string_view target_unit_path) {
  if (who == nullptr) return Error{ErrorCode::kUnauthenticated, "请先登录", {}};
  bool carries = false;
  for (const auto& grant : who->grants) {
    if (!RoleHas(grant.role, permission)) continue;
    carries = true;
    if (Covers(grant, target_unit_path)) return {};
  }
  if (!carries) return Error{ErrorCode::kForbidden, "没有权限", {}};
  return Error::NotFound();
}

Status AuthorizeAny(const Principal* who, Permission permission) {
  if (who == nullptr) return Error{ErrorCode::kUnauthenticated, "请先登录", {}};
  for (const auto& grant : who->grants) {
    if (RoleHas(grant.role, permission)) return {};
  }
  return Error{ErrorCode::kForbidden, "没有权限", {}};
}

std::vector<ScopePath> ScopesFor(const Principal& who, Permission permission) {
  std::vector<ScopePath> out;
  for (const auto& grant : who.grants) {
    if (!RoleHas(grant.role, permission) || grant.unit_path.empty()) continue;
    out.push_back({grant.unit_path, grant.scope == Scope::kUnit});
  }
  // A subtree already covering another entry makes that entry redundant.
  std::vector<ScopePath> kept;
  for (std::size_t i = 0; i < out.size(); ++i) {
    bool redundant = false;
    for (std::size_t j = 0; j < out.size() && !redundant; ++j) {
      if (i == j || out[j].exact) continue;
      const bool under = out[i].path.compare(0, out[j].path.size(), out[j].path) == 0 &&
                         out[i].path.size() >= out[j].path.size();
      const bool same = out[i].path == out[j].path;
      // Keep the first of two equal subtree entries.
      redundant = under && (!same || out[i].exact || j < i);
    }
    if (!redundant) kept.push_back(out[i]);
  }
  return kept;
}

const Principal* CurrentPrincipal(const http::Request& req) {
  auto it = req.context.find(kPrincipalKey);
  if (it == req.context.end()) return nullptr;
  return std::any_cast<Principal>(&it->second);
}

void SetCurrentPrincipal(http::Request& req, Principal principal) {
  req.context.insert_or_assign(std::string(kPrincipalKey), std::any(std::move(principal)));
}

}  // namespace zhenwu::auth
