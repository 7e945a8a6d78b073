#include "people/service.hpp"

#include <boost/json.hpp>

#include "people/validate.hpp"

namespace zhenwu::people {

namespace {

constexpr std::string_view kResidentColumns =
    "id, name, id_card_mask, phone_mask, village_unit_id, address, demo, created_at_ms, "
    "updated_at_ms";
constexpr std::string_view kEnterpriseColumns =
    "id, name, uscc, legal_rep, phone_mask, address, unit_id, demo, created_at_ms, "
    "updated_at_ms";

std::size_t CharCount(std::string_view text) {
  std::size_t n = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

Resident ResidentFromRow(const db::Row& r) {
  return Resident{r.Int(0),  r.Text(1),     r.Text(2), r.Text(3), r.Int(4),
                  r.Text(5), r.Int(6) != 0, r.Int(7),  r.Int(8)};
}

Enterprise EnterpriseFromRow(const db::Row& r) {
  return Enterprise{r.Int(0),  r.Text(1), r.Text(2),     r.Text(3), r.Text(4),
                    r.Text(5), r.Int(6),  r.Int(7) != 0, r.Int(8),  r.Int(9)};
}

std::string ResidentJson(const Resident& r) {
  return boost::json::serialize(boost::json::object{{"name", r.name},
                                                    {"id_card", r.id_card_mask},
                                                    {"phone", r.phone_mask},
                                                    {"village_unit_id", r.village_unit_id},
                                                    {"address", r.address}});
}

std::string EnterpriseJson(const Enterprise& e) {
  return boost::json::serialize(boost::json::object{{"name", e.name},
                                                    {"uscc", e.uscc},
                                                    {"legal_rep", e.legal_rep},
                                                    {"phone", e.phone_mask},
                                                    {"unit_id", e.unit_id},
                                                    {"address", e.address}});
}

void AddField(Error& error, const std::string& field, const std::string& message) {
  error.fields.push_back({field, message});
}

void CheckText(Error& error, const std::string& field, const std::string& value,
               std::size_t max_chars, bool required, const char* missing) {
  if (required && value.empty()) {
    AddField(error, field, missing);
  } else if (CharCount(value) > max_chars) {
    AddField(error, field, "不能超过 " + std::to_string(max_chars) + " 个字");
  }
}

Status Finish(Error error) {
  if (error.fields.empty()) return {};
  error.code = ErrorCode::kInvalidInput;
  error.message = error.fields.front().message;
  return error;
}

// A resident's validated, normalised values.
struct CleanResident {
  std::string name;
  std::string id_card;
  std::string phone;
  std::string address;
};

// With `updating`, an empty id_card stays empty here (the stored number is kept).
Result<CleanResident> ValidateResident(const Clock& clock, const ResidentInput& in,
                                       bool updating = false) {
  Error error;
  CleanResident out{Trim(in.name), "", "", Trim(in.address)};
  CheckText(error, "name", out.name, 50, true, "请填写姓名");
  if (!(updating && Trim(in.id_card).empty())) {
    auto id = NormalizeIdCard(in.id_card, ShanghaiDate(clock.NowMs()), "id_card");
    if (id) {
      out.id_card = *id;
    } else {
      AddField(error, "id_card", id.error().fields.at(0).message);
    }
  }
  if (!Trim(in.phone).empty()) {
    auto phone = NormalizeMobile(in.phone, "phone");
    if (phone) {
      out.phone = *phone;
    } else {
      AddField(error, "phone", phone.error().fields.at(0).message);
    }
  }
  if (in.village_unit_id <= 0) AddField(error, "village_id", "请选择所属村（社区）");
  CheckText(error, "address", out.address, 200, false, "");
  if (auto s = Finish(std::move(error)); !s) return std::move(s).error();
  return out;
}

Result<std::optional<Resident>> ResidentWhere(db::Conn& conn, std::string_view where,
                                              const db::Params& params) {
  auto row = conn.QueryOne("SELECT " + std::string(kResidentColumns) +
                               " FROM people_residents WHERE " + std::string(where),
                           params);
  if (!row) return std::move(row).error();
  if (!*row) return std::optional<Resident>();
  return std::optional<Resident>(ResidentFromRow(**row));
}

Result<std::optional<Enterprise>> EnterpriseWhere(db::Conn& conn, std::string_view where,
                                                  const db::Params& params) {
  auto row = conn.QueryOne("SELECT " + std::string(kEnterpriseColumns) +
                               " FROM people_enterprises WHERE " + std::string(where),
                           params);
  if (!row) return std::move(row).error();
  if (!*row) return std::optional<Enterprise>();
  return std::optional<Enterprise>(EnterpriseFromRow(**row));
}

db::Value OptText(const std::string& value) {
  if (value.empty()) return std::monostate{};
  return value;
}

Error Duplicate(const std::string& field, const std::string& message) {
  return Error::Invalid(field, message);
}

}  // namespace

Result<Resident> CreateResident(db::Conn& conn, const Clock& clock, const Keys& keys,
                                const audit::Actor& actor, const ResidentInput& input) {
  auto clean = ValidateResident(clock, input);
  if (!clean) return std::move(clean).error();
  const std::string id_idx = keys.BlindIndex("id_card", clean->id_card);
  const std::string phone_idx =
      clean->phone.empty() ? std::string() : keys.BlindIndex("phone", clean->phone);
  const int64_t now = clock.NowMs();
  auto inserted = conn.QueryOne(
      "INSERT INTO people_residents (name, id_card_enc, id_card_idx, id_card_mask, phone_enc, "
      "phone_idx, phone_mask, village_unit_id, address, demo, created_at_ms, updated_at_ms) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) "
      // A registered number inserts nothing (and, unlike a failed statement, leaves a
      // PostgreSQL transaction usable), so no read is needed beforehand.
      "ON CONFLICT (id_card_idx) DO NOTHING RETURNING " +
          std::string(kResidentColumns),
      {clean->name, keys.Encrypt(clean->id_card), id_idx, MaskIdCard(clean->id_card),
       clean->phone.empty() ? db::Value() : db::Value(keys.Encrypt(clean->phone)),
       OptText(phone_idx), clean->phone.empty() ? std::string() : MaskPhone(clean->phone),
       input.village_unit_id, clean->address, int64_t{input.demo ? 1 : 0}, now});
  if (!inserted && inserted.error().code == ErrorCode::kConflict) {
    return Duplicate("id_card", "该身份证号码已登记");
  }
  if (!inserted) return std::move(inserted).error();
  if (!*inserted) return Duplicate("id_card", "该身份证号码已登记");
  Resident r = ResidentFromRow(**inserted);
  audit::Entry entry{.action = "people.resident.create",
                     .entity = "resident",
                     .entity_id = std::to_string(r.id),
                     .unit_id = r.village_unit_id,
                     .summary = "登记居民档案：" + r.name,
                     .before = "",
                     .after = ResidentJson(r)};
  if (auto s = audit::Record(conn, clock, actor, entry); !s) return std::move(s).error();
  return r;
}

Result<Resident> UpdateResident(db::Conn& conn, const Clock& clock, const Keys& keys,
                                const audit::Actor& actor, int64_t id, const ResidentInput& input) {
  auto before = ResidentWhere(conn, "id = $1", {id});
  if (!before) return std::move(before).error();
  if (!*before) return Error::NotFound("没有这位居民的档案");
  auto clean = ValidateResident(clock, input, true);
  if (!clean) return std::move(clean).error();
  std::string sql =
      "UPDATE people_residents SET name = $2, village_unit_id = $3, address = $4, "
      "updated_at_ms = $5";
  db::Params params{id, clean->name, input.village_unit_id, clean->address, clock.NowMs()};
  if (!clean->id_card.empty()) {
    const std::string id_idx = keys.BlindIndex("id_card", clean->id_card);
    auto other = ResidentWhere(conn, "id_card_idx = $1 AND id <> $2", {id_idx, id});
    if (!other) return std::move(other).error();
    if (*other) {
      return Duplicate("id_card", "该身份证号码已登记");
    }
    sql += ", id_card_enc = $6, id_card_idx = $7, id_card_mask = $8";
    params.push_back(keys.Encrypt(clean->id_card));
    params.push_back(id_idx);
    params.push_back(MaskIdCard(clean->id_card));
  }
  if (!clean->phone.empty() || input.clear_phone) {
    const auto n = params.size();
    sql += ", phone_enc = $" + std::to_string(n + 1) + ", phone_idx = $" + std::to_string(n + 2) +
           ", phone_mask = $" + std::to_string(n + 3);
    if (clean->phone.empty()) {
      params.insert(params.end(), {db::Value(), db::Value(), std::string()});
    } else {
      params.push_back(keys.Encrypt(clean->phone));
      params.push_back(keys.BlindIndex("phone", clean->phone));
      params.push_back(MaskPhone(clean->phone));
    }
  }
  auto updated =
      conn.QueryOne(sql + " WHERE id = $1 RETURNING " + std::string(kResidentColumns), params);
  if (!updated && updated.error().code == ErrorCode::kConflict) {
    return Duplicate("id_card", "该身份证号码已登记");
  }
  if (!updated) return std::move(updated).error();
  if (!*updated) return Error::NotFound("没有这位居民的档案");
  Resident r = ResidentFromRow(**updated);
  audit::Entry entry{.action = "people.resident.update",
                     .entity = "resident",
                     .entity_id = std::to_string(r.id),
                     .unit_id = r.village_unit_id,
                     .summary = "修改居民档案：" + r.name,
                     .before = ResidentJson(**before),
                     .after = ResidentJson(r)};
  if (auto s = audit::Record(conn, clock, actor, entry); !s) return std::move(s).error();
  return r;
}

Result<std::optional<Resident>> GetResident(db::Conn& conn, int64_t id) {
  return ResidentWhere(conn, "id = $1", {id});
}

Result<std::optional<Resident>> FindResidentByIdCard(db::Conn& conn, const Clock& clock,
                                                     const Keys& keys, std::string_view id_card) {
  auto id = NormalizeIdCard(id_card, ShanghaiDate(clock.NowMs()), "id_card");
  if (!id) return std::move(id).error();
  return ResidentWhere(conn, "id_card_idx = $1", {keys.BlindIndex("id_card", *id)});
}

Result<std::vector<Resident>> FindResidentsByPhone(db::Conn& conn, const Keys& keys,
                                                   std::string_view phone) {
  auto p = NormalizeMobile(phone, "phone");
  if (!p) return std::move(p).error();
  auto rows = conn.Query("SELECT " + std::string(kResidentColumns) +
                             " FROM people_residents WHERE phone_idx = $1 ORDER BY id",
                         {keys.BlindIndex("phone", *p)});
  if (!rows) return std::move(rows).error();
  std::vector<Resident> out;
  for (const auto& row : rows->rows) out.push_back(ResidentFromRow(row));
  return out;
}

namespace {

Result<std::string> RevealResident(db::Conn& conn, const Clock& clock, const Keys& keys,
                                   const audit::Actor& actor, int64_t id, bool id_card) {
  auto row = conn.QueryOne(
      "SELECT name, village_unit_id, id_card_enc, phone_enc FROM people_residents WHERE id = $1",
      {id});
  if (!row) return std::move(row).error();
  if (!*row) return Error::NotFound("没有这位居民的档案");
  const std::size_t column = id_card ? 2 : 3;
  if ((*row)->IsNull(column)) return Error::NotFound("该居民没有登记手机号码");
  auto plain = keys.Decrypt((*row)->Text(column));
  if (!plain) return std::move(plain).error();
  const std::string what = id_card ? "身份证号码" : "手机号码";
  audit::Entry entry{.action = id_card ? "people.id_card.reveal" : "people.phone.reveal",
                     .entity = "resident",
                     .entity_id = std::to_string(id),
                     .unit_id = (*row)->Int(1),
                     .summary = "查看居民 " + (*row)->Text(0) + " 的完整" + what,
                     .before = "",
                     .after = ""};
  if (auto s = audit::Record(conn, clock, actor, entry); !s) return std::move(s).error();
  return std::move(plain).value();
}

}  // namespace

Result<std::string> RevealResidentIdCard(db::Conn& conn, const Clock& clock, const Keys& keys,
                                         const audit::Actor& actor, int64_t id) {
  return RevealResident(conn, clock, keys, actor, id, true);
}

Result<std::string> RevealResidentPhone(db::Conn& conn, const Clock& clock, const Keys& keys,
                                        const audit::Actor& actor, int64_t id) {
  return RevealResident(conn, clock, keys, actor, id, false);
}

namespace {

// " AND <column> IN ($k, …)" for an optional list of unit ids (an empty list matches nothing).
std::string UnitFilter(const std::optional<std::vector<int64_t>>& unit_ids, std::string_view column,
                       db::Params& params) {
  if (!unit_ids) return {};
  if (unit_ids->empty()) return " AND 1 = 0";
  std::string sql = " AND " + std::string(column) + " IN (";
  for (std::size_t i = 0; i < unit_ids->size(); ++i) {
    params.push_back((*unit_ids)[i]);
    sql += (i ? ", $" : "$") + std::to_string(params.size());
  }
  return sql + ")";
}

std::string LikePattern(std::string_view part) {
  std::string out = "%";
  for (char c : part) {
    if (c == '%' || c == '_' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "%";
}

}  // namespace

Result<std::vector<Resident>> ListResidents(db::Conn& conn, const ResidentQuery& query) {
  db::Params params;
  std::string sql =
      "SELECT " + std::string(kResidentColumns) + " FROM people_residents WHERE 1 = 1";
  sql += UnitFilter(query.unit_ids, "village_unit_id", params);
  if (!query.name_part.empty()) {
    params.push_back(LikePattern(query.name_part));
    sql += " AND name LIKE $" + std::to_string(params.size()) + " ESCAPE '\\'";
  }
  if (query.before_id) {
    params.push_back(*query.before_id);
    sql += " AND id < $" + std::to_string(params.size());
  }
  params.push_back(int64_t{query.limit});
  sql += " ORDER BY id DESC LIMIT $" + std::to_string(params.size());
  auto rows = conn.Query(sql, params);
  if (!rows) return std::move(rows).error();
  std::vector<Resident> out;
  for (const auto& row : rows->rows) out.push_back(ResidentFromRow(row));
  return out;
}

namespace {

struct CleanEnterprise {
  std::string name;
  std::string uscc;
  std::string legal_rep;
  std::string phone;
  std::string address;
};

Result<CleanEnterprise> ValidateEnterprise(const EnterpriseInput& in) {
  Error error;
  CleanEnterprise out{Trim(in.name), "", Trim(in.legal_rep), "", Trim(in.address)};
  CheckText(error, "name", out.name, 100, true, "请填写企业名称");
  auto code = NormalizeUscc(in.uscc, "uscc");
  if (code) {
    out.uscc = *code;
  } else {
    AddField(error, "uscc", code.error().fields.at(0).message);
  }
  CheckText(error, "legal_rep", out.legal_rep, 50, false, "");
  if (!Trim(in.phone).empty()) {
    auto phone = NormalizeMobile(in.phone, "phone");
    if (phone) {
      out.phone = *phone;
    } else {
      AddField(error, "phone", phone.error().fields.at(0).message);
    }
  }
  if (in.unit_id <= 0) AddField(error, "unit_id", "请选择所属单位");
  CheckText(error, "address", out.address, 200, false, "");
  if (auto s = Finish(std::move(error)); !s) return std::move(s).error();
  return out;
}

}  // namespace

Result<Enterprise> CreateEnterprise(db::Conn& conn, const Clock& clock, const Keys& keys,
                                    const audit::Actor& actor, const EnterpriseInput& input) {
  auto clean = ValidateEnterprise(input);
  if (!clean) return std::move(clean).error();
  const int64_t now = clock.NowMs();
  // A registered code inserts nothing, as for residents: on PostgreSQL a concurrent registration
  // of the same code waits for the other's commit and then inserts nothing, instead of failing
  // the whole transaction with a unique violation.
  auto inserted = conn.QueryOne(
      "INSERT INTO people_enterprises (name, uscc, legal_rep, phone_enc, phone_idx, phone_mask, "
      "address, unit_id, demo, created_at_ms, updated_at_ms) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) "
      "ON CONFLICT (uscc) DO NOTHING RETURNING " +
          std::string(kEnterpriseColumns),
      {clean->name, clean->uscc, clean->legal_rep,
       clean->phone.empty() ? db::Value() : db::Value(keys.Encrypt(clean->phone)),
       clean->phone.empty() ? db::Value() : db::Value(keys.BlindIndex("phone", clean->phone)),
       clean->phone.empty() ? std::string() : MaskPhone(clean->phone), clean->address,
       input.unit_id, int64_t{input.demo ? 1 : 0}, now});
  if (!inserted) return std::move(inserted).error();
  if (!*inserted) {
    auto existing = EnterpriseWhere(conn, "uscc = $1", {clean->uscc});
    if (!existing) return std::move(existing).error();
    std::string message = "该统一社会信用代码已登记";
    if (*existing) message += "（档案编号 " + std::to_string((*existing)->id) + "）";
    return Duplicate("uscc", message);
  }
  Enterprise e = EnterpriseFromRow(**inserted);
  audit::Entry entry{.action = "people.enterprise.create",
                     .entity = "enterprise",
                     .entity_id = std::to_string(e.id),
                     .unit_id = e.unit_id,
                     .summary = "登记企业档案：" + e.name,
                     .before = "",
                     .after = EnterpriseJson(e)};
  if (auto s = audit::Record(conn, clock, actor, entry); !s) return std::move(s).error();
  return e;
}

Result<Enterprise> UpdateEnterprise(db::Conn& conn, const Clock& clock, const Keys& keys,
                                    const audit::Actor& actor, int64_t id,
                                    const EnterpriseInput& input) {
  auto before = EnterpriseWhere(conn, "id = $1", {id});
  if (!before) return std::move(before).error();
  if (!*before) return Error::NotFound("没有这家企业的档案");
  auto clean = ValidateEnterprise(input);
  if (!clean) return std::move(clean).error();
  auto other = EnterpriseWhere(conn, "uscc = $1 AND id <> $2", {clean->uscc, id});
  if (!other) return std::move(other).error();
  if (*other)
    return Duplicate("uscc",
                     "该统一社会信用代码已登记（档案编号 " + std::to_string((*other)->id) + "）");
  std::string sql =
      "UPDATE people_enterprises SET name = $2, uscc = $3, legal_rep = $4, address = $5, "
      "unit_id = $6, updated_at_ms = $7";
  db::Params params{
      id, clean->name, clean->uscc, clean->legal_rep, clean->address, input.unit_id, clock.NowMs()};
  if (!clean->phone.empty() || input.clear_phone) {
    sql += ", phone_enc = $8, phone_idx = $9, phone_mask = $10";
    if (clean->phone.empty()) {
      params.insert(params.end(), {db::Value(), db::Value(), std::string()});
    } else {
      params.push_back(keys.Encrypt(clean->phone));
      params.push_back(keys.BlindIndex("phone", clean->phone));
      params.push_back(MaskPhone(clean->phone));
    }
  }
  auto updated =
      conn.QueryOne(sql + " WHERE id = $1 RETURNING " + std::string(kEnterpriseColumns), params);
  if (!updated) return std::move(updated).error();
  if (!*updated) return Error::NotFound("没有这家企业的档案");
  Enterprise e = EnterpriseFromRow(**updated);
  audit::Entry entry{.action = "people.enterprise.update",
                     .entity = "enterprise",
                     .entity_id = std::to_string(e.id),
                     .unit_id = e.unit_id,
                     .summary = "修改企业档案：" + e.name,
                     .before = EnterpriseJson(**before),
                     .after = EnterpriseJson(e)};
  if (auto s = audit::Record(conn, clock, actor, entry); !s) return std::move(s).error();
  return e;
}

Result<std::optional<Enterprise>> GetEnterprise(db::Conn& conn, int64_t id) {
  return EnterpriseWhere(conn, "id = $1", {id});
}

Result<std::optional<Enterprise>> FindEnterpriseByUscc(db::Conn& conn, std::string_view uscc) {
  auto code = NormalizeUscc(uscc, "uscc");
  if (!code) return std::move(code).error();
  return EnterpriseWhere(conn, "uscc = $1", {*code});
}

Result<std::vector<Enterprise>> FindEnterprisesByPhone(db::Conn& conn, const Keys& keys,
                                                       std::string_view phone) {
  auto p = NormalizeMobile(phone, "phone");
  if (!p) return std::move(p).error();
  auto rows = conn.Query("SELECT " + std::string(kEnterpriseColumns) +
                             " FROM people_enterprises WHERE phone_idx = $1 ORDER BY id",
                         {keys.BlindIndex("phone", *p)});
  if (!rows) return std::move(rows).error();
  std::vector<Enterprise> out;
  for (const auto& row : rows->rows) out.push_back(EnterpriseFromRow(row));
  return out;
}

Result<std::string> RevealEnterprisePhone(db::Conn& conn, const Clock& clock, const Keys& keys,
                                          const audit::Actor& actor, int64_t id) {
  auto row =
      conn.QueryOne("SELECT name, unit_id, phone_enc FROM people_enterprises WHERE id = $1", {id});
  if (!row) return std::move(row).error();
  if (!*row) return Error::NotFound("没有这家企业的档案");
  if ((*row)->IsNull(2)) return Error::NotFound("该企业没有登记手机号码");
  auto plain = keys.Decrypt((*row)->Text(2));
  if (!plain) return std::move(plain).error();
  audit::Entry entry{.action = "people.phone.reveal",
                     .entity = "enterprise",
                     .entity_id = std::to_string(id),
                     .unit_id = (*row)->Int(1),
                     .summary = "查看企业 " + (*row)->Text(0) + " 的完整手机号码"};
  if (auto s = audit::Record(conn, clock, actor, entry); !s) return std::move(s).error();
  return std::move(plain).value();
}

Result<std::vector<Enterprise>> ListEnterprises(db::Conn& conn, const EnterpriseQuery& query) {
  db::Params params;
  std::string sql =
      "SELECT " + std::string(kEnterpriseColumns) + " FROM people_enterprises WHERE 1 = 1";
  sql += UnitFilter(query.unit_ids, "unit_id", params);
  if (!query.name_part.empty()) {
    params.push_back(LikePattern(query.name_part));
    sql += " AND name LIKE $" + std::to_string(params.size()) + " ESCAPE '\\'";
  }
  if (query.before_id) {
    params.push_back(*query.before_id);
    sql += " AND id < $" + std::to_string(params.size());
  }
  params.push_back(int64_t{query.limit});
  sql += " ORDER BY id DESC LIMIT $" + std::to_string(params.size());
  auto rows = conn.Query(sql, params);
  if (!rows) return std::move(rows).error();
  std::vector<Enterprise> out;
  for (const auto& row : rows->rows) out.push_back(EnterpriseFromRow(row));
  return out;
}

}  // namespace zhenwu::people
