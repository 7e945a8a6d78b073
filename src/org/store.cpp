#include "org/store.hpp"

namespace zhenwu::org {

namespace {

constexpr std::string_view kColumns =
    "id, parent_id, kind, name, code, division_code, path, depth, sort_order, retired_at_ms, "
    "demo";

std::string Select(std::string_view where_and_order) {
  std::string sql = "SELECT ";
  sql += kColumns;
  sql += " FROM org_units ";
  sql += where_and_order;
  return sql;
}

OrgUnit FromRow(const db::Row& r) {
  OrgUnit u;
  u.id = r.Int(0);
  u.parent_id = r.OptInt(1);
  u.kind = KindFromName(r.Text(2)).value_or(UnitKind::kTown);
  u.name = r.Text(3);
  u.code = r.Text(4);
  u.division_code = r.Text(5);
  u.path = r.Text(6);
  u.depth = static_cast<int>(r.Int(7));
  u.sort_order = static_cast<int>(r.Int(8));
  u.retired_at_ms = r.OptInt(9);
  u.demo = r.Int(10) != 0;
  return u;
}

Result<std::vector<OrgUnit>> Many(db::Conn& conn, const std::string& sql, const db::Params& p) {
  auto q = conn.Query(sql, p);
  if (!q) return std::move(q).error();
  std::vector<OrgUnit> out;
  out.reserve(q->rows.size());
  for (const auto& r : q->rows) out.push_back(FromRow(r));
  return out;
}

Result<std::optional<OrgUnit>> One(db::Conn& conn, const std::string& sql, const db::Params& p) {
  auto q = conn.QueryOne(sql, p);
  if (!q) return std::move(q).error();
  if (!*q) return std::optional<OrgUnit>();
  return std::optional<OrgUnit>(FromRow(**q));
}

}  // namespace

Result<std::optional<OrgUnit>> FindUnit(db::Conn& conn, int64_t id) {
  static const std::string kSql = Select("WHERE id = $1");
  return One(conn, kSql, {id});
}

Result<std::optional<OrgUnit>> FindUnitByCode(db::Conn& conn, std::string_view code) {
  static const std::string kSql = Select("WHERE code = $1");
  return One(conn, kSql, {std::string(code)});
}

std::string SubtreeUpperBound(std::string_view path) {
  std::string upper(path);
  if (!upper.empty() && upper.back() == '/') {
    upper.back() = '0';
  } else {
    upper += '\x01';  // not a path: an empty range beyond it
  }
  return upper;
}

Result<std::vector<OrgUnit>> Subtree(db::Conn& conn, std::string_view path) {
  static const std::string kSql = Select("WHERE path >= $1 AND path < $2 ORDER BY path");
  return Many(conn, kSql, {std::string(path), SubtreeUpperBound(path)});
}

Result<std::vector<OrgUnit>> Children(db::Conn& conn, int64_t id) {
  static const std::string kSql = Select("WHERE parent_id = $1 ORDER BY sort_order, name, id");
  return Many(conn, kSql, {id});
}

Result<std::vector<OrgUnit>> AllUnits(db::Conn& conn) {
  static const std::string kSql = Select("ORDER BY path");
  return Many(conn, kSql, {});
}

Result<std::vector<OrgUnit>> Roots(db::Conn& conn) {
  static const std::string kSql = Select("WHERE parent_id IS NULL ORDER BY sort_order, name, id");
  return Many(conn, kSql, {});
}

Result<OrgUnit> InsertUnit(db::Conn& conn, const NewUnitRow& row, int64_t now_ms) {
  // The path needs the new id: insert with a placeholder, then set it.
  auto inserted = conn.QueryOne(
      "INSERT INTO org_units (parent_id, kind, name, code, division_code, path, depth, "
      "sort_order, demo, created_at_ms, updated_at_ms) "
      "VALUES ($1, $2, $3, $4, $5, '', $6, $7, $8, $9, $9) RETURNING id",
      {row.parent_id ? db::Value(*row.parent_id) : db::Value(), std::string(KindName(row.kind)),
       row.name, row.code, row.division_code,
       int64_t{row.parent_path.empty() ? 0 : PathDepth(row.parent_path) + 1},
       int64_t{row.sort_order}, int64_t{row.demo ? 1 : 0}, now_ms});
  if (!inserted) return std::move(inserted).error();
  if (!*inserted) return Error::Internal("INSERT … RETURNING gave no row");
  OrgUnit u;
  u.id = (*inserted)->Int(0);
  u.parent_id = row.parent_id;
  u.kind = row.kind;
  u.name = row.name;
  u.code = row.code;
  u.division_code = row.division_code;
  u.path = ChildPath(row.parent_path, u.id);
  u.depth = PathDepth(u.path);
  u.sort_order = row.sort_order;
  u.demo = row.demo;
  auto set = conn.Exec("UPDATE org_units SET path = $1 WHERE id = $2", {u.path, u.id});
  if (!set) return std::move(set).error();
  return u;
}

Status UpdateUnitFields(db::Conn& conn, int64_t id, std::string_view name, std::string_view code,
                        std::string_view division_code, int sort_order, int64_t now_ms) {
  auto r = conn.Exec(
      "UPDATE org_units SET name = $1, code = $2, division_code = $3, sort_order = $4, "
      "updated_at_ms = $5 WHERE id = $6",
      {std::string(name), std::string(code), std::string(division_code), int64_t{sort_order},
       now_ms, id});
  if (!r) return std::move(r).error();
  if (*r != 1) return Error::NotFound("no org unit " + std::to_string(id));
  return {};
}

Result<int64_t> MoveSubtree(db::Conn& conn, int64_t id, std::optional<int64_t> new_parent_id,
                            std::string_view old_path, std::string_view new_path, int64_t now_ms) {
  const int64_t depth_delta = PathDepth(new_path) - PathDepth(old_path);
  auto moved = conn.Exec(
      "UPDATE org_units SET path = $1 || substr(path, $2), depth = depth + $3, "
      "updated_at_ms = $4 WHERE path >= $5 AND path < $6",
      {std::string(new_path), static_cast<int64_t>(old_path.size()) + 1, depth_delta, now_ms,
       std::string(old_path), SubtreeUpperBound(old_path)});
  if (!moved) return std::move(moved).error();
  auto parent = conn.Exec("UPDATE org_units SET parent_id = $1 WHERE id = $2",
                          {new_parent_id ? db::Value(*new_parent_id) : db::Value(), id});
  if (!parent) return std::move(parent).error();
  return *moved;
}

Result<int64_t> RetireSubtree(db::Conn& conn, std::string_view path, int64_t now_ms) {
  return conn.Exec(
      "UPDATE org_units SET retired_at_ms = $1, updated_at_ms = $1 "
      "WHERE path >= $2 AND path < $3 AND retired_at_ms IS NULL",
      {now_ms, std::string(path), SubtreeUpperBound(path)});
}

}  // namespace zhenwu::org
