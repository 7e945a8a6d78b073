#pragma once
// SQL for org_units. Reads for any module; the writes are for org's service (which validates,
// audits and keeps the paths right) and should not be called from elsewhere.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "db/db.hpp"
#include "org/model.hpp"

namespace zhenwu::org {

// The unit with this id, or nullopt. Fails only when the database does.
Result<std::optional<OrgUnit>> FindUnit(db::Conn& conn, int64_t id);
// The unit with this code (exact, upper-case), or nullopt.
Result<std::optional<OrgUnit>> FindUnitByCode(db::Conn& conn, std::string_view code);
// The unit at `path` and everything under it (retired ones included), ordered by path. One
// indexed range query: path >= $1 AND path < SubtreeUpperBound($1).
Result<std::vector<OrgUnit>> Subtree(db::Conn& conn, std::string_view path);
// The exclusive upper bound of the subtree range: "/1/4/" -> "/1/40" (final '/' -> '0', the
// next byte). Use it for scoping other tables' queries by an org path column the same way.
std::string SubtreeUpperBound(std::string_view path);
// The direct children of unit `id`, ordered by sort_order, then name.
Result<std::vector<OrgUnit>> Children(db::Conn& conn, int64_t id);
// Every unit, ordered by path (for the tree page and imports).
Result<std::vector<OrgUnit>> AllUnits(db::Conn& conn);
// The roots (units without a parent), ordered by sort_order, then name.
Result<std::vector<OrgUnit>> Roots(db::Conn& conn);

// Writes (org's service only).
struct NewUnitRow {
  std::optional<int64_t> parent_id;
  std::string parent_path;  // "" for a root
  UnitKind kind = UnitKind::kTown;
  std::string name, code, division_code;
  int sort_order = 0;
  bool demo = false;
};
// Inserts the unit and sets its path; returns it. kConflict on a duplicate code.
Result<OrgUnit> InsertUnit(db::Conn& conn, const NewUnitRow& row, int64_t now_ms);
// Sets name, code, division code and sort order. kConflict on a duplicate code.
Status UpdateUnitFields(db::Conn& conn, int64_t id, std::string_view name, std::string_view code,
                        std::string_view division_code, int sort_order, int64_t now_ms);
// Moves the subtree at `old_path` to `new_path` (the unit's new own path): one UPDATE rewrites the
// path and depth of the unit and all its descendants; then sets the unit's parent. Returns the
// number of units moved.
Result<int64_t> MoveSubtree(db::Conn& conn, int64_t id, std::optional<int64_t> new_parent_id,
                            std::string_view old_path, std::string_view new_path, int64_t now_ms);
// Marks the unit at `path` and every not yet retired unit under it retired. Returns how many.
Result<int64_t> RetireSubtree(db::Conn& conn, std::string_view path, int64_t now_ms);

}  // namespace zhenwu::org
