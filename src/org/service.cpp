#include "org/service.hpp"

#include <boost/json.hpp>
#include <charconv>
#include <map>
#include <set>

#include "org/store.hpp"

namespace zhenwu::org {

namespace {

std::string UnitJson(const OrgUnit& u) {
  boost::json::object o{{"kind", KindName(u.kind)}, {"name", u.name},
                        {"code", u.code},           {"division_code", u.division_code},
                        {"path", u.path},           {"sort_order", u.sort_order}};
  if (u.parent_id) o["parent_id"] = *u.parent_id;
  if (u.retired_at_ms) o["retired_at_ms"] = *u.retired_at_ms;
  return boost::json::serialize(o);
}

Status Audit(db::Conn& conn, const Clock& clock, const audit::Actor& actor, std::string action,
             const OrgUnit& unit, std::string summary, std::string before, std::string after) {
  audit::Entry e;
  e.action = std::move(action);
  e.entity = "org_unit";
  e.entity_id = std::to_string(unit.id);
  e.unit_id = unit.id;
  e.summary = std::move(summary);
  e.before = std::move(before);
  e.after = std::move(after);
  return audit::Record(conn, clock, actor, e);
}

void Add(Error& error, Status s) {
  if (s) return;
  for (auto& f : s.error().fields) error.fields.push_back(f);
}

template <class T>
std::optional<T> Take(Error& error, Result<T> r) {
  if (r) return std::move(r).value();
  for (auto& f : r.error().fields) error.fields.push_back(f);
  return std::nullopt;
}

Result<int> CheckSortOrder(std::string_view text) {
  const std::string t = TrimText(text);
  if (t.empty()) return 0;
  int v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || end != t.data() + t.size() || v < -1000000 || v > 1000000) {
    return Error::Invalid("sort_order", "排序应为整数");
  }
  return v;
}

Error InvalidFrom(Error e) {
  e.code = ErrorCode::kInvalidInput;
  if (!e.fields.empty()) e.message = e.fields.front().message;
  return e;
}

std::string KindText(UnitKind k) { return std::string(KindLabel(k)); }

std::string KindsText(const std::vector<UnitKind>& kinds) {
  std::string s;
  for (UnitKind k : kinds) {
    if (!s.empty()) s += "、";
    s += KindLabel(k);
  }
  return s;
}

// Why a unit of `kind` may not go under `parent` (nullptr: as a root); "" when it may.
std::string PlacementProblem(UnitKind kind, const OrgUnit* parent) {
  if (parent == nullptr) {
    if (AllowedUnder(kind, std::nullopt)) return {};
    return KindText(kind) + "不能作为最上级机构，请选择上级";
  }
  if (parent->retired()) return "上级机构“" + parent->name + "”已撤销，不能再添加下级";
  if (!AllowedUnder(kind, parent->kind)) {
    auto allowed = KindsAllowedUnder(parent->kind);
    std::string msg = KindText(parent->kind) + "下不能设" + KindText(kind);
    if (!allowed.empty()) msg += "（可设：" + KindsText(allowed) + "）";
    return msg;
  }
  return {};
}

Status CodeFree(db::Conn& conn, const std::string& code, std::optional<int64_t> except_id) {
  auto existing = FindUnitByCode(conn, code);
  if (!existing) return std::move(existing).error();
  if (*existing && (!except_id || (*existing)->id != *except_id)) {
    return Error::Invalid("code", "编码 " + code + " 已被“" + (*existing)->name + "”使用");
  }
  return {};
}

// A unique-code race lost to another writer comes back as kConflict from the insert.
Error CodeConflict(Error e, const std::string& code) {
  if (e.code == ErrorCode::kConflict) return Error::Invalid("code", "编码 " + code + " 已存在");
  return e;
}

}  // namespace

Result<OrgUnit> CreateUnit(db::Conn& conn, const Clock& clock, const audit::Actor& actor,
                           const UnitInput& input) {
  Error invalid{ErrorCode::kInvalidInput, "", {}};
  auto name = Take(invalid, CheckName(input.name));
  auto code = Take(invalid, CheckCode(input.code));
  auto division = Take(invalid, CheckDivisionCode(input.division_code));
  auto sort_order = Take(invalid, CheckSortOrder(input.sort_order));
  auto kind = KindFromText(input.kind);
  if (!kind) invalid.fields.push_back({"kind", "请选择类型"});

  std::optional<OrgUnit> parent;
  if (input.parent_id) {
    auto found = FindUnit(conn, *input.parent_id);
    if (!found) return std::move(found).error();
    if (!*found) {
      invalid.fields.push_back({"parent_id", "上级机构不存在"});
    } else {
      parent = std::move(**found);
    }
  }
  if (kind && (parent || !input.parent_id)) {
    std::string problem = PlacementProblem(*kind, parent ? &*parent : nullptr);
    if (!problem.empty()) {
      invalid.fields.push_back({parent && parent->retired() ? "parent_id" : "kind", problem});
    }
  }
  if (code) {
    auto free = CodeFree(conn, *code, std::nullopt);
    if (!free && free.error().code != ErrorCode::kInvalidInput) return std::move(free).error();
    Add(invalid, std::move(free));
  }
  if (!invalid.fields.empty()) return InvalidFrom(std::move(invalid));

  NewUnitRow row;
  row.parent_id = input.parent_id;
  row.parent_path = parent ? parent->path : "";
  row.kind = *kind;
  row.name = *name;
  row.code = *code;
  row.division_code = *division;
  row.sort_order = *sort_order;
  row.demo = input.demo;
  auto unit = InsertUnit(conn, row, clock.NowMs());
  if (!unit) return CodeConflict(std::move(unit).error(), *code);
  if (auto s = Audit(conn, clock, actor, "org.unit.create", *unit,
                     "新建" + KindText(unit->kind) + "“" + unit->name + "”（" + unit->code + "）",
                     "", UnitJson(*unit));
      !s) {
    return std::move(s).error();
  }
  return unit;
}

Result<OrgUnit> UpdateUnit(db::Conn& conn, const Clock& clock, const audit::Actor& actor,
                           int64_t id, const UnitEdit& edit) {
  auto found = FindUnit(conn, id);
  if (!found) return std::move(found).error();
  if (!*found) return Error::NotFound("no org unit " + std::to_string(id));
  const OrgUnit before = **found;

  Error invalid{ErrorCode::kInvalidInput, "", {}};
  auto name = Take(invalid, CheckName(edit.name));
  auto code = Take(invalid, CheckCode(edit.code));
  auto division = Take(invalid, CheckDivisionCode(edit.division_code));
  auto sort_order = Take(invalid, CheckSortOrder(edit.sort_order));
  if (code) {
    auto free = CodeFree(conn, *code, id);
    if (!free && free.error().code != ErrorCode::kInvalidInput) return std::move(free).error();
    Add(invalid, std::move(free));
  }
  if (!invalid.fields.empty()) return InvalidFrom(std::move(invalid));

  OrgUnit after = before;
  after.name = *name;
  after.code = *code;
  after.division_code = *division;
  after.sort_order = *sort_order;
  if (after.name == before.name && after.code == before.code &&
      after.division_code == before.division_code && after.sort_order == before.sort_order) {
    return after;
  }
  if (auto s = UpdateUnitFields(conn, id, after.name, after.code, after.division_code,
                                after.sort_order, clock.NowMs());
      !s) {
    return CodeConflict(std::move(s).error(), after.code);
  }
  std::string summary = "修改" + KindText(after.kind) + "“" + before.name + "”";
  if (after.name != before.name) summary += "，更名为“" + after.name + "”";
  if (after.code != before.code) summary += "，编码 " + before.code + " → " + after.code;
  if (auto s = Audit(conn, clock, actor, "org.unit.update", after, summary, UnitJson(before),
                     UnitJson(after));
      !s) {
    return std::move(s).error();
  }
  return after;
}

Result<OrgUnit> MoveUnit(db::Conn& conn, const Clock& clock, const audit::Actor& actor, int64_t id,
                         std::optional<int64_t> new_parent_id) {
  auto found = FindUnit(conn, id);
  if (!found) return std::move(found).error();
  if (!*found) return Error::NotFound("no org unit " + std::to_string(id));
  const OrgUnit before = **found;
  if (before.retired()) return Error::Invalid("parent_id", "已撤销的机构不能迁移");

  std::optional<OrgUnit> parent;
  if (new_parent_id) {
    if (*new_parent_id == id) return Error::Invalid("parent_id", "不能把机构移到它自己下面");
    auto p = FindUnit(conn, *new_parent_id);
    if (!p) return std::move(p).error();
    if (!*p) return Error::Invalid("parent_id", "新的上级机构不存在");
    parent = std::move(**p);
    if (PathWithin(parent->path, before.path)) {
      return Error::Invalid("parent_id", "不能把机构移到它自己的下级“" + parent->name + "”下面");
    }
  }
  if (before.parent_id == new_parent_id) return before;
  std::string problem = PlacementProblem(before.kind, parent ? &*parent : nullptr);
  if (!problem.empty()) return Error::Invalid("parent_id", problem);

  OrgUnit after = before;
  after.parent_id = new_parent_id;
  after.path = ChildPath(parent ? parent->path : "", id);
  after.depth = PathDepth(after.path);
  auto moved = MoveSubtree(conn, id, new_parent_id, before.path, after.path, clock.NowMs());
  if (!moved) return std::move(moved).error();
  std::string summary = "迁移" + KindText(before.kind) + "“" + before.name + "”到“" +
                        (parent ? parent->name : std::string("最上级")) + "”下（共 " +
                        std::to_string(*moved) + " 个机构）";
  if (auto s = Audit(conn, clock, actor, "org.unit.move", after, summary, UnitJson(before),
                     UnitJson(after));
      !s) {
    return std::move(s).error();
  }
  return after;
}

Result<OrgUnit> RetireUnit(db::Conn& conn, const Clock& clock, const audit::Actor& actor,
                           int64_t id) {
  auto found = FindUnit(conn, id);
  if (!found) return std::move(found).error();
  if (!*found) return Error::NotFound("no org unit " + std::to_string(id));
  const OrgUnit before = **found;
  if (before.retired()) return Error::Conflict("“" + before.name + "”已撤销");
  const int64_t now = clock.NowMs();
  auto count = RetireSubtree(conn, before.path, now);
  if (!count) return std::move(count).error();
  OrgUnit after = before;
  after.retired_at_ms = now;
  std::string summary = "撤销" + KindText(before.kind) + "“" + before.name + "”";
  if (*count > 1) summary += "及其下属 " + std::to_string(*count - 1) + " 个机构";
  if (auto s = Audit(conn, clock, actor, "org.unit.retire", after, summary, UnitJson(before),
                     UnitJson(after));
      !s) {
    return std::move(s).error();
  }
  return after;
}

Result<std::vector<OrgUnit>> ImportUnits(
    db::Conn& conn, const Clock& clock, const audit::Actor& actor,
    const std::vector<ImportRow>& rows,
    const std::function<bool(const OrgUnit* parent)>& may_add_under) {
  Error invalid{ErrorCode::kInvalidInput, "导入的文件有错误，没有导入任何机构", {}};
  auto line_error = [&](int line, const std::string& message) {
    invalid.fields.push_back(
        {"line:" + std::to_string(line), "第 " + std::to_string(line) + " 行：" + message});
  };
  if (rows.empty()) {
    return Error::Invalid("file", "文件中没有可导入的机构");
  }
  // Codes and kinds of the rows seen so far, for parents that are earlier rows.
  std::map<std::string, std::pair<UnitKind, int>> earlier;
  std::map<std::string, OrgUnit> existing_parents;
  std::set<std::string> reported;
  for (const ImportRow& row : rows) {
    std::vector<std::string> problems;
    auto name = CheckName(row.name);
    if (!name) problems.push_back(name.error().message);
    auto code = CheckCode(row.code);
    if (!code) problems.push_back(code.error().message);
    auto division = CheckDivisionCode(row.division_code);
    if (!division) problems.push_back(division.error().message);
    auto kind = KindFromText(row.kind);
    if (!kind) {
      problems.push_back(TrimText(row.kind).empty() ? "请填写类型"
                                                    : "类型“" + TrimText(row.kind) + "”无法识别");
    }
    if (code) {
      auto taken = FindUnitByCode(conn, *code);
      if (!taken) return std::move(taken).error();
      if (*taken) {
        problems.push_back("编码 " + *code + " 已存在（“" + (*taken)->name + "”）");
      } else if (auto it = earlier.find(*code); it != earlier.end()) {
        problems.push_back("编码 " + *code + " 与第 " + std::to_string(it->second.second) +
                           " 行重复");
      }
    }
    // The parent: an earlier row of the file, or a unit already in the tree.
    std::string parent_code = TrimText(row.parent_code);
    for (char& ch : parent_code) {
      if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
    }
    if (parent_code.empty()) {
      if (!may_add_under(nullptr)) {
        problems.push_back("无权新建最上级机构");
      } else if (kind) {
        std::string p = PlacementProblem(*kind, nullptr);
        if (!p.empty()) problems.push_back(p);
      }
    } else if (auto it = earlier.find(parent_code); it != earlier.end()) {
      if (kind && !AllowedUnder(*kind, it->second.first)) {
        problems.push_back(KindText(it->second.first) + "下不能设" + KindText(*kind));
      }
    } else {
      auto p = FindUnitByCode(conn, parent_code);
      if (!p) return std::move(p).error();
      if (!*p) {
        problems.push_back("上级编码 " + parent_code + " 不存在");
      } else if (!may_add_under(&**p)) {
        problems.push_back("无权在“" + (*p)->name + "”下新建机构");
      } else if (kind) {
        std::string problem = PlacementProblem(*kind, &**p);
        if (!problem.empty()) problems.push_back(problem);
        existing_parents.emplace(parent_code, **p);
      }
    }
    for (const auto& p : problems) line_error(row.line, p);
    if (code && kind && !earlier.count(*code)) earlier.emplace(*code, std::pair{*kind, row.line});
  }
  if (!invalid.fields.empty()) return invalid;

  // Every row is valid: create them in order.
  std::map<std::string, OrgUnit> created_by_code;
  std::vector<OrgUnit> created;
  for (const ImportRow& row : rows) {
    UnitInput input;
    std::string parent_code = TrimText(row.parent_code);
    for (char& ch : parent_code) {
      if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
    }
    if (!parent_code.empty()) {
      if (auto it = created_by_code.find(parent_code); it != created_by_code.end()) {
        input.parent_id = it->second.id;
      } else {
        input.parent_id = existing_parents.at(parent_code).id;
      }
    }
    input.kind = row.kind;
    input.name = row.name;
    input.code = row.code;
    input.division_code = row.division_code;
    auto unit = CreateUnit(conn, clock, actor, input);
    if (!unit) {
      Error e = std::move(unit).error();
      if (e.code != ErrorCode::kInvalidInput) return e;
      for (const auto& f : e.fields) line_error(row.line, f.message);
      return invalid;
    }
    created_by_code.emplace(unit->code, *unit);
    created.push_back(std::move(unit).value());
  }
  audit::Entry e;
  e.action = "org.unit.import";
  e.entity = "org_unit";
  e.summary = "导入 " + std::to_string(created.size()) + " 个机构";
  if (auto s = audit::Record(conn, clock, actor, e); !s) return std::move(s).error();
  return created;
}

}  // namespace zhenwu::org
