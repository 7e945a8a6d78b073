#include "audit/query.hpp"

namespace zhenwu::audit {

namespace {

std::string Placeholder(db::Params& params, db::Value value) {
  params.push_back(std::move(value));
  return "$" + std::to_string(params.size());
}

}  // namespace

Result<std::vector<Event>> ListEvents(db::Conn& conn, const Filter& filter,
                                      std::optional<int64_t> before_id, int limit) {
  db::Params params;
  std::string sql = "SELECT " + std::string(kEventColumns) + " FROM audit_events WHERE 1 = 1";
  if (filter.from_ms) sql += " AND at_ms >= " + Placeholder(params, *filter.from_ms);
  if (filter.to_ms) sql += " AND at_ms < " + Placeholder(params, *filter.to_ms);
  if (!filter.actor.empty()) sql += " AND actor_name = " + Placeholder(params, filter.actor);
  if (!filter.action_prefix.empty()) {
    std::string pattern;
    for (char c : filter.action_prefix) {
      if (c == '%' || c == '_' || c == '\\') pattern.push_back('\\');
      pattern.push_back(c);
    }
    sql += " AND action LIKE " + Placeholder(params, pattern + "%") + " ESCAPE '\\'";
  }
  if (!filter.entity.empty()) sql += " AND entity = " + Placeholder(params, filter.entity);
  if (!filter.entity_id.empty()) {
    sql += " AND entity_id = " + Placeholder(params, filter.entity_id);
  }
  if (filter.unit_ids) {
    std::string in;
    for (int64_t id : *filter.unit_ids) {
      in += (in.empty() ? "" : ", ") + Placeholder(params, id);
    }
    std::string cond = in.empty() ? "1 = 0" : "unit_id IN (" + in + ")";
    if (filter.include_unitless) cond = "(" + cond + " OR unit_id IS NULL)";
    sql += " AND " + cond;
  } else if (!filter.include_unitless) {
    sql += " AND unit_id IS NOT NULL";
  }
  // By id, not seq: events not chained yet (seq NULL) are listed too, in the order they were
  // recorded.
  if (before_id) sql += " AND id < " + Placeholder(params, *before_id);
  sql += " ORDER BY id DESC LIMIT " + Placeholder(params, int64_t{limit});
  auto rows = conn.Query(sql, params);
  if (!rows) return std::move(rows).error();
  std::vector<Event> out;
  out.reserve(rows->rows.size());
  for (const auto& r : rows->rows) out.push_back(EventFromRow(r));
  return out;
}

}  // namespace zhenwu::audit
