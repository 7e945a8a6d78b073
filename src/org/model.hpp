#pragma once
// 组织单元 OrgUnit: the tree every record belongs to. 市 → 县（县级市） → 镇 → 部门/窗口, and
// 镇 → 村（社区） → 村窗口. A unit's place is its materialised path "/1/4/17/" (the ids from the
// root down to the unit), so "everything under this unit" is one range of paths.
//
// Glossary: 市 city, 县 county, 镇 town, 部门 department, 窗口 window, 村（社区） village,
// 村窗口 village_window, 编码 code (short, unique, used in numbers such as case numbers),
// 行政区划代码 division_code (GB/T 2260 + township/village extension: 6, 9 or 12 digits),
// 撤销 retire.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace zhenwu::org {

enum class UnitKind { kCity, kCounty, kTown, kDepartment, kWindow, kVillage, kVillageWindow };

struct OrgUnit {
  int64_t id = 0;
  std::optional<int64_t> parent_id;
  UnitKind kind = UnitKind::kTown;
  std::string name, code, division_code, path;
  int depth = 0;  // 0 for a root
  int sort_order = 0;
  std::optional<int64_t> retired_at_ms;
  bool demo = false;

  bool retired() const { return retired_at_ms.has_value(); }
};

// Every kind, from the top of the tree down.
const std::vector<UnitKind>& AllKinds();
// Stable names used in the database, forms and imports: "city", "county", "town", "department",
// "window", "village", "village_window".
std::string_view KindName(UnitKind kind);
std::optional<UnitKind> KindFromName(std::string_view name);
// The Chinese name shown to people: 市, 县, 镇, 部门, 窗口, 村（社区）, 村窗口.
std::string_view KindLabel(UnitKind kind);
// Accepts the stable name or the Chinese name (also 县级市, 村, 社区, 区), as imports write them.
std::optional<UnitKind> KindFromText(std::string_view text);

// Whether a unit of `child` kind may be placed under a unit of `parent` kind (nullopt: as a
// root). Roots may be a city, a county or a town (one town alone is a tree with one town);
// a county goes under a city, a town under a county, departments under a town, county or city,
// windows under a town or a department, villages under a town, village windows under a village.
bool AllowedUnder(UnitKind child, std::optional<UnitKind> parent);
// The kinds that may be placed under `parent` (nullopt: the root kinds), top-down.
std::vector<UnitKind> KindsAllowedUnder(std::optional<UnitKind> parent);

// Field checks with Chinese messages, named after the form fields ("name", "code",
// "division_code", "kind", "parent_id"). Each returns the cleaned value or kInvalidInput.
// Name: trimmed, 1–100 characters.
Result<std::string> CheckName(std::string_view name);
// Code: trimmed and upper-cased; 1–32 of A–Z, 0–9 and '-', not starting or ending with '-'.
Result<std::string> CheckCode(std::string_view code);
// 行政区划代码: trimmed; empty, or 6, 9 or 12 digits.
Result<std::string> CheckDivisionCode(std::string_view division_code);

// The materialised path of a child with id `id` under `parent_path` ("" for a root).
std::string ChildPath(std::string_view parent_path, int64_t id);
// Depth of a path: "/1/" -> 0, "/1/4/" -> 1.
int PathDepth(std::string_view path);
// Whether `path` lies inside the subtree at `ancestor_path` (a unit is inside its own subtree).
bool PathWithin(std::string_view path, std::string_view ancestor_path);

// Trims ASCII and full-width (U+3000) spaces at both ends.
std::string TrimText(std::string_view text);

}  // namespace zhenwu::org
