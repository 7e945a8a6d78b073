#pragma once
// Changes to the org tree: validate (field errors in Chinese, named after the form fields),
// write, and record each change in the audit log, all inside the caller's write transaction
// (call them from Database::Write / WriteSync). Permission checks are the caller's: the
// handlers ask auth::Authorize(…, kOrgManage, path) for the unit and, for a create or move,
// for the (new) parent.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "db/db.hpp"
#include "org/model.hpp"

namespace zhenwu::org {

// What a person typed into the new-unit form (or an import row); raw text, checked here.
struct UnitInput {
  std::optional<int64_t> parent_id;  // none: a root
  std::string kind;                  // "town" or 镇 …
  std::string name;
  std::string code;
  std::string division_code;
  std::string sort_order;  // "" = 0
  bool demo = false;
};

// Creates a unit. kInvalidInput with fields: name, code (format or 编码已存在), division_code,
// kind (unknown, or not allowed under the parent's kind), parent_id (no such parent, or the
// parent is retired), sort_order. Records "org.unit.create".
Result<OrgUnit> CreateUnit(db::Conn& conn, const Clock& clock, const audit::Actor& actor,
                           const UnitInput& input);

// What the edit form changes: the unit's name, code, 区划代码 and sort order.
struct UnitEdit {
  std::string name;
  std::string code;
  std::string division_code;
  std::string sort_order;
};
// Renames / re-codes a unit. kNotFound when there is no such unit; kInvalidInput as for
// CreateUnit. Records "org.unit.update" with before and after (nothing when nothing changed).
Result<OrgUnit> UpdateUnit(db::Conn& conn, const Clock& clock, const audit::Actor& actor,
                           int64_t id, const UnitEdit& edit);

// Moves a unit (with everything under it) under `new_parent_id` (none: make it a root). One
// statement rewrites the paths of the subtree. kNotFound for an unknown unit; kInvalidInput on
// field parent_id when the new parent does not exist, is the unit itself or one of its
// descendants, is retired, or is of a kind the unit may not go under; also when the unit itself
// is retired. Records "org.unit.move".
Result<OrgUnit> MoveUnit(db::Conn& conn, const Clock& clock, const audit::Actor& actor, int64_t id,
                         std::optional<int64_t> new_parent_id);

// Retires a unit and every unit under it that is not retired yet: they keep their history and
// take no new work (no children, nothing moved under them). kNotFound for an unknown unit;
// kConflict when it is retired already. Records "org.unit.retire".
Result<OrgUnit> RetireUnit(db::Conn& conn, const Clock& clock, const audit::Actor& actor,
                           int64_t id);

// One line of an import: the columns 上级编码,类型,名称,编码,行政区划代码.
struct ImportRow {
  int line = 0;  // line (CSV) or row (XLSX) number in the file, for messages
  std::string parent_code, kind, name, code, division_code;
};
// Creates the units of `rows` in order; a parent may be an existing unit or an earlier row.
// Either every row is valid and all are created, or nothing is: kInvalidInput whose fields are
// one entry per problem, field "line:N", message "第 N 行：…" (all problems, not just the first).
// `may_add_under` is asked for each existing parent (and with nullptr for a root); false makes
// the row an error (no permission). Records "org.unit.create" per unit and one "org.unit.import".
Result<std::vector<OrgUnit>> ImportUnits(
    db::Conn& conn, const Clock& clock, const audit::Actor& actor,
    const std::vector<ImportRow>& rows,
    const std::function<bool(const OrgUnit* parent)>& may_add_under);

}  // namespace zhenwu::org
