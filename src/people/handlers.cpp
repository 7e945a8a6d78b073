#include "people/handlers.hpp"

#include <algorithm>
#include <map>

#include "auth/principal.hpp"
#include "org/model.hpp"
#include "org/store.hpp"
#include "people/service.hpp"
#include "people/validate.hpp"
#include "web/page.hpp"

namespace zhenwu::people {

namespace {

using auth::Permission;
using auth::Principal;
using http::bhttp::status;
using view::Data;

constexpr int kPageSize = 50;

struct Deps {
  const Clock& clock;
  db::Database& db;
  const view::View& view;
  std::shared_ptr<const Keys> keys;
};

audit::Actor ActorOf(const http::Request& req, const Principal& who) {
  return audit::Actor{who.user_id, who.login, req.remote_ip, req.request_id};
}

http::Response Denied(const Deps& d, const http::Request& req, const Error& e) {
  return web::RefusePage(req, d.view, e);
}

std::optional<int64_t> ParseId(std::string_view text) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != text.npos) {
    return std::nullopt;
  }
  return std::stoll(std::string(text));
}

// The ids of the units under which `who` holds `permission` (a kUnit grant: that unit only).
Result<std::vector<org::OrgUnit>> UnitsInScope(db::Conn& conn, const Principal& who,
                                               Permission permission) {
  std::vector<org::OrgUnit> out;
  for (const auto& scope : auth::ScopesFor(who, permission)) {
    auto units = org::Subtree(conn, scope.path);
    if (!units) return std::move(units).error();
    for (auto& u : *units) {
      if (scope.exact && u.path != scope.path) continue;
      if (std::none_of(out.begin(), out.end(), [&](const auto& x) { return x.id == u.id; })) {
        out.push_back(std::move(u));
      }
    }
  }
  return out;
}

// A resident with the path of its village, or kNotFound.
struct Located {
  Resident resident;
  std::string path;
  std::string village_name;
};

Result<Located> Locate(db::Conn& conn, int64_t id) {
  auto r = GetResident(conn, id);
  if (!r) return std::move(r).error();
  if (!*r) return Error::NotFound("没有这位居民的档案");
  auto unit = org::FindUnit(conn, (*r)->village_unit_id);
  if (!unit) return std::move(unit).error();
  if (!*unit) return Error::NotFound("居民所属单位不存在");
  return Located{**r, (*unit)->path, (*unit)->name};
}

struct FormInput {
  std::string name, id_card, phone, village_id, address;
  bool clear_phone = false;
};

FormInput ReadForm(const http::Request& req) {
  const auto& f = req.BodyForm();
  return FormInput{f.GetOr("name"),       f.GetOr("id_card"), f.GetOr("phone"),
                   f.GetOr("village_id"), f.GetOr("address"), f.GetOr("clear_phone") == "1"};
}

// The page data of the resident form.
struct FormPage {
  bool editing = false;
  int64_t id = 0;
  FormInput input;
  std::vector<FieldError> errors;
  std::vector<org::OrgUnit> villages;
  std::string id_card_mask, phone_mask, village_name;
  std::string revealed_id_card, revealed_phone;
  std::string notice;
  bool can_edit = false;
  bool can_reveal = false;
};

http::Response RenderForm(const Deps& d, const http::Request& req, const FormPage& p, status code) {
  const auto& s = d.view.strings();
  Data data{Data::type::object};
  data.set("editing", p.editing);
  data.set("id", std::to_string(p.id));
  data.set("action", p.editing ? "/admin/people/" + std::to_string(p.id) : "/admin/people");
  Data f{Data::type::object};
  f.set("name", p.input.name);
  f.set("id_card", p.input.id_card);
  f.set("phone", p.input.phone);
  f.set("address", p.input.address);
  f.set("clear_phone", p.input.clear_phone);
  data.set("f", f);
  Data errors{Data::type::object};
  for (const auto& e : p.errors) errors.set(e.field, e.message);
  data.set("errors", errors);
  data.set("has_errors", !p.errors.empty());
  Data villages{Data::type::list};
  for (const auto& v : p.villages) {
    Data o{Data::type::object};
    o.set("id", std::to_string(v.id));
    o.set("label", v.name);
    o.set("selected", std::to_string(v.id) == p.input.village_id);
    villages.push_back(o);
  }
  data.set("villages", villages);
  data.set("id_card_mask", p.id_card_mask);
  data.set("phone_mask", p.phone_mask);
  data.set("village_name", p.village_name);
  if (!p.revealed_id_card.empty()) data.set("revealed_id_card", p.revealed_id_card);
  if (!p.revealed_phone.empty()) data.set("revealed_phone", p.revealed_phone);
  if (!p.notice.empty()) data.set("notice", p.notice);
  data.set("can_edit", p.can_edit);
  data.set("can_reveal", p.can_reveal);
  auto res = web::RenderPage(req, d.view,
                             s.Get(p.editing ? "people.resident_title" : "people.new_resident"),
                             "people", "people/resident_form", std::move(data), code);
  res.set(http::bhttp::field::cache_control, "private, no-store");
  return res;
}

std::vector<org::OrgUnit> OnlyVillages(std::vector<org::OrgUnit> units) {
  std::erase_if(units, [](const org::OrgUnit& u) {
    return u.kind != org::UnitKind::kVillage || u.retired();
  });
  return units;
}

FormInput InputOf(const Resident& r) {
  return FormInput{r.name, "", "", std::to_string(r.village_unit_id), r.address, false};
}

// --- list ------------------------------------------------------------------------------------

asio::awaitable<http::Response> GetList(const Deps& d, http::Request& req) {
  const Principal* who = auth::CurrentPrincipal(req);
  if (auto s = auth::AuthorizeAny(who, Permission::kPeopleView); !s) {
    co_return Denied(d, req, s.error());
  }
  const Principal me = *who;
  const std::string q = Trim(req.QueryForm().GetOr("q"));
  const auto before = ParseId(req.QueryForm().GetOr("before"));
  struct Listing {
    std::vector<Resident> rows;
    std::map<int64_t, std::string> village_names;
    std::string error;
  };
  auto zw_work1 = [&](db::Conn& c) -> Result<Listing> {
    auto units = UnitsInScope(c, me, Permission::kPeopleView);
    if (!units) return std::move(units).error();
    Listing out;
    std::vector<int64_t> ids;
    for (const auto& u : *units) {
      ids.push_back(u.id);
      out.village_names[u.id] = u.name;
    }
    const bool digits = !q.empty() && q.find_first_not_of("0123456789xX +-") == std::string::npos;
    std::vector<Resident> found;
    if (digits && q.size() >= 15) {
      auto r = FindResidentByIdCard(c, d.clock, *d.keys, q);
      if (!r) {
        out.error = r.error().fields.empty() ? r.error().message : r.error().fields[0].message;
        return out;
      }
      if (*r) found.push_back(**r);
    } else if (digits) {
      auto r = FindResidentsByPhone(c, *d.keys, q);
      if (!r) {
        out.error = r.error().fields.empty() ? r.error().message : r.error().fields[0].message;
        return out;
      }
      found = std::move(*r);
    } else {
      auto r = ListResidents(c, ResidentQuery{ids, q, before, kPageSize + 1});
      if (!r) return std::move(r).error();
      out.rows = std::move(*r);
      return out;
    }
    for (auto& r : found) {
      if (out.village_names.contains(r.village_unit_id)) out.rows.push_back(std::move(r));
    }
    return out;
  };
  auto listing = co_await d.db.Read<Listing>(zw_work1);
  if (!listing) co_return Denied(d, req, listing.error());
  Data data{Data::type::object};
  data.set("q", q);
  data.set("can_edit", auth::AuthorizeAny(&me, Permission::kPeopleEdit).ok());
  Data rows{Data::type::list};
  const bool more = listing->rows.size() > static_cast<std::size_t>(kPageSize);
  if (more) listing->rows.pop_back();
  for (const auto& r : listing->rows) {
    Data o{Data::type::object};
    o.set("id", std::to_string(r.id));
    o.set("name", r.name);
    o.set("id_card", r.id_card_mask);
    o.set("phone", r.phone_mask);
    o.set("village", listing->village_names[r.village_unit_id]);
    o.set("updated", FormatShanghaiMinute(r.updated_at_ms));
    o.set("demo", r.demo);
    rows.push_back(o);
  }
  data.set("rows", rows);
  data.set("empty", listing->rows.empty());
  if (more) {
    data.set("next", (q.empty() ? "" : "q=" + http::PercentEncode(q) + "&") +
                         "before=" + std::to_string(listing->rows.back().id));
  }
  auto code = status::ok;
  if (!listing->error.empty()) {
    Data errors{Data::type::object};
    errors.set("q", listing->error);
    data.set("errors", errors);
    code = status::unprocessable_entity;
  }
  co_return web::RenderPage(req, d.view, d.view.strings().Get("people.residents_title"), "people",
                            "people/residents", std::move(data), code);
}

// --- create ----------------------------------------------------------------------------------

asio::awaitable<http::Response> GetNew(const Deps& d, http::Request& req) {
  const Principal* who = auth::CurrentPrincipal(req);
  if (auto s = auth::AuthorizeAny(who, Permission::kPeopleEdit); !s) {
    co_return Denied(d, req, s.error());
  }
  const Principal me = *who;
  auto zw_work2 = [&](db::Conn& c) { return UnitsInScope(c, me, Permission::kPeopleEdit); };
  auto villages = co_await d.db.Read<std::vector<org::OrgUnit>>(zw_work2);
  if (!villages) co_return Denied(d, req, villages.error());
  FormPage page;
  page.villages = OnlyVillages(std::move(*villages));
  page.can_edit = true;
  co_return RenderForm(d, req, page, status::ok);
}

// Checks that `village_id` names a village the principal may edit in; the error is a field
// message on village_id.
Result<org::OrgUnit> EditableVillage(db::Conn& c, const Principal& who,
                                     const std::string& village_id) {
  const auto id = ParseId(village_id);
  const Error bad = Error::Invalid("village_id", "请选择所属村（社区）");
  if (!id) return bad;
  auto unit = org::FindUnit(c, *id);
  if (!unit) return std::move(unit).error();
  if (!*unit || (*unit)->kind != org::UnitKind::kVillage || (*unit)->retired()) return bad;
  if (!auth::Authorize(&who, Permission::kPeopleEdit, (*unit)->path)) return bad;
  return **unit;
}

asio::awaitable<http::Response> PostCreate(const Deps& d, http::Request& req) {
  const Principal* who = auth::CurrentPrincipal(req);
  if (auto s = auth::AuthorizeAny(who, Permission::kPeopleEdit); !s) {
    co_return Denied(d, req, s.error());
  }
  const Principal me = *who;
  const FormInput in = ReadForm(req);
  const audit::Actor actor = ActorOf(req, me);
  auto zw_work3 = [&](db::Conn& c) -> Result<Resident> {
    auto village = EditableVillage(c, me, in.village_id);
    ResidentInput input{in.name, in.id_card, in.phone, village ? village->id : 0, in.address};
    auto r = CreateResident(c, d.clock, *d.keys, actor, input);
    if (village || village.error().code != ErrorCode::kInvalidInput) {
      if (!village) return std::move(village).error();
      return r;
    }
    // Report the village together with every other wrong field.
    Error e = r ? Error{ErrorCode::kInvalidInput, "", {}} : std::move(r).error();
    if (e.code != ErrorCode::kInvalidInput) return e;
    std::erase_if(e.fields, [](const FieldError& f) { return f.field == "village_id"; });
    e.fields.push_back(village.error().fields.at(0));
    e.message = e.fields.front().message;
    return e;
  };
  auto created = co_await d.db.Write<Resident>(zw_work3);
  if (created) {
    co_return http::Redirect("/admin/people/" + std::to_string(created->id) + "?created=1");
  }
  if (created.error().code != ErrorCode::kInvalidInput) co_return Denied(d, req, created.error());
  auto zw_work4 = [&](db::Conn& c) { return UnitsInScope(c, me, Permission::kPeopleEdit); };
  auto villages = co_await d.db.Read<std::vector<org::OrgUnit>>(zw_work4);
  FormPage page;
  page.input = in;
  page.errors = created.error().fields;
  if (villages) page.villages = OnlyVillages(std::move(*villages));
  page.can_edit = true;
  co_return RenderForm(d, req, page, status::unprocessable_entity);
}

// --- view, edit, reveal ----------------------------------------------------------------------

// Loads the resident for a page about it, checking `permission` on its village.
Result<FormPage> LoadPage(db::Conn& c, const Principal& who, int64_t id, Permission permission) {
  auto found = Locate(c, id);
  if (!found) return std::move(found).error();
  if (auto s = auth::Authorize(&who, permission, found->path); !s) return std::move(s).error();
  FormPage page;
  page.editing = true;
  page.id = id;
  page.input = InputOf(found->resident);
  page.id_card_mask = found->resident.id_card_mask;
  page.phone_mask = found->resident.phone_mask;
  page.village_name = found->village_name;
  page.can_edit = auth::Authorize(&who, Permission::kPeopleEdit, found->path).ok();
  page.can_reveal = auth::Authorize(&who, Permission::kPeopleReveal, found->path).ok();
  if (page.can_edit) {
    auto villages = UnitsInScope(c, who, Permission::kPeopleEdit);
    if (!villages) return std::move(villages).error();
    page.villages = OnlyVillages(std::move(*villages));
  }
  return page;
}

asio::awaitable<http::Response> GetResidentPage(const Deps& d, http::Request& req) {
  const Principal* who = auth::CurrentPrincipal(req);
  if (auto s = auth::AuthorizeAny(who, Permission::kPeopleView); !s) {
    co_return Denied(d, req, s.error());
  }
  const auto id = ParseId(req.Param("id").value_or(""));
  if (!id) co_return web::ErrorPage(req, d.view, status::not_found);
  const Principal me = *who;
  auto zw_work5 = [&](db::Conn& c) { return LoadPage(c, me, *id, Permission::kPeopleView); };
  auto page = co_await d.db.Read<FormPage>(zw_work5);
  if (!page) co_return Denied(d, req, page.error());
  const auto& q = req.QueryForm();
  if (q.Has("created")) page->notice = d.view.strings().Get("people.created");
  if (q.Has("saved")) page->notice = d.view.strings().Get("people.saved");
  co_return RenderForm(d, req, *page, status::ok);
}

asio::awaitable<http::Response> PostUpdate(const Deps& d, http::Request& req) {
  const Principal* who = auth::CurrentPrincipal(req);
  if (auto s = auth::AuthorizeAny(who, Permission::kPeopleView); !s) {
    co_return Denied(d, req, s.error());
  }
  const auto id = ParseId(req.Param("id").value_or(""));
  if (!id) co_return web::ErrorPage(req, d.view, status::not_found);
  const Principal me = *who;
  const FormInput in = ReadForm(req);
  const audit::Actor actor = ActorOf(req, me);
  auto zw_work6 = [&](db::Conn& c) -> Result<Resident> {
    auto found = Locate(c, *id);
    if (!found) return std::move(found).error();
    // Not visible: 404; visible but not editable: 403.
    if (auto s = auth::Authorize(&me, Permission::kPeopleView, found->path); !s) {
      return std::move(s).error();
    }
    if (auto s = auth::Authorize(&me, Permission::kPeopleEdit, found->path); !s) {
      Error e = std::move(s).error();
      if (e.code == ErrorCode::kNotFound) e.code = ErrorCode::kForbidden;
      return e;
    }
    auto village = EditableVillage(c, me, in.village_id);
    if (!village) return std::move(village).error();
    ResidentInput input{in.name,    in.id_card, in.phone,      village->id,
                        in.address, false,      in.clear_phone};
    return UpdateResident(c, d.clock, *d.keys, actor, *id, input);
  };
  auto saved = co_await d.db.Write<Resident>(zw_work6);
  if (saved) co_return http::Redirect("/admin/people/" + std::to_string(*id) + "?saved=1");
  if (saved.error().code != ErrorCode::kInvalidInput) co_return Denied(d, req, saved.error());
  auto zw_work7 = [&](db::Conn& c) { return LoadPage(c, me, *id, Permission::kPeopleView); };
  auto page = co_await d.db.Read<FormPage>(zw_work7);
  if (!page) co_return Denied(d, req, page.error());
  page->input = in;
  page->errors = saved.error().fields;
  co_return RenderForm(d, req, *page, status::unprocessable_entity);
}

asio::awaitable<http::Response> PostReveal(const Deps& d, http::Request& req) {
  const Principal* who = auth::CurrentPrincipal(req);
  if (auto s = auth::AuthorizeAny(who, Permission::kPeopleView); !s) {
    co_return Denied(d, req, s.error());
  }
  const auto id = ParseId(req.Param("id").value_or(""));
  if (!id) co_return web::ErrorPage(req, d.view, status::not_found);
  const Principal me = *who;
  const audit::Actor actor = ActorOf(req, me);
  auto zw_work8 = [&](db::Conn& c) -> Result<FormPage> {
    auto p = LoadPage(c, me, *id, Permission::kPeopleView);
    if (!p) return std::move(p).error();
    if (!p->can_reveal) return Error{ErrorCode::kForbidden, "没有查看完整号码的权限", {}};
    auto full = RevealResidentIdCard(c, d.clock, *d.keys, actor, *id);
    if (!full) return std::move(full).error();
    p->revealed_id_card = std::move(*full);
    if (!p->phone_mask.empty()) {
      auto phone = RevealResidentPhone(c, d.clock, *d.keys, actor, *id);
      if (!phone) return std::move(phone).error();
      p->revealed_phone = std::move(*phone);
    }
    return p;
  };
  auto page = co_await d.db.Write<FormPage>(zw_work8);
  if (!page) co_return Denied(d, req, page.error());
  co_return RenderForm(d, req, *page, status::ok);
}

// --- enterprises -----------------------------------------------------------------------------

struct EnterpriseForm {
  std::string name, uscc, legal_rep, phone, unit_id, address;
};

EnterpriseForm ReadEnterpriseForm(const http::Request& req) {
  const auto& f = req.BodyForm();
  return EnterpriseForm{f.GetOr("name"),  f.GetOr("uscc"),    f.GetOr("legal_rep"),
                        f.GetOr("phone"), f.GetOr("unit_id"), f.GetOr("address")};
}

struct EnterprisePage {
  bool editing = false;
  int64_t id = 0;
  EnterpriseForm input;
  std::vector<FieldError> errors;
  std::vector<org::OrgUnit> units;
  std::string phone_mask, revealed_phone, notice;
  bool can_edit = false;
  bool can_reveal = false;
};

http::Response RenderEnterprise(const Deps& d, const http::Request& req, const EnterprisePage& p,
                                status code) {
  Data data{Data::type::object};
  data.set("editing", p.editing);
  data.set("id", std::to_string(p.id));
  data.set("action",
           p.editing ? "/admin/enterprises/" + std::to_string(p.id) : "/admin/enterprises");
  Data f{Data::type::object};
  f.set("name", p.input.name);
  f.set("uscc", p.input.uscc);
  f.set("legal_rep", p.input.legal_rep);
  f.set("phone", p.input.phone);
  f.set("address", p.input.address);
  data.set("f", f);
  Data errors{Data::type::object};
  for (const auto& e : p.errors) errors.set(e.field, e.message);
  data.set("errors", errors);
  data.set("has_errors", !p.errors.empty());
  Data units{Data::type::list};
  for (const auto& u : p.units) {
    Data o{Data::type::object};
    o.set("id", std::to_string(u.id));
    o.set("label", u.name);
    o.set("selected", std::to_string(u.id) == p.input.unit_id);
    units.push_back(o);
  }
  data.set("units", units);
  data.set("phone_mask", p.phone_mask);
  if (!p.revealed_phone.empty()) data.set("revealed_phone", p.revealed_phone);
  if (!p.notice.empty()) data.set("notice", p.notice);
  data.set("can_edit", p.can_edit);
  data.set("can_reveal", p.can_reveal);
  auto res = web::RenderPage(
      req, d.view,
      d.view.strings().Get(p.editing ? "people.enterprise_title" : "people.new_enterprise"),
      "people", "people/enterprise_form", std::move(data), code);
  res.set(http::bhttp::field::cache_control, "private, no-store");
  return res;
}

std::vector<org::OrgUnit> ActiveUnits(std::vector<org::OrgUnit> units) {
  std::erase_if(units, [](const org::OrgUnit& u) { return u.retired(); });
  return units;
}

Result<EnterprisePage> LoadEnterprise(db::Conn& c, const Principal& who, int64_t id) {
  auto e = GetEnterprise(c, id);
  if (!e) return std::move(e).error();
  if (!*e) return Error::NotFound("没有这家企业的档案");
  auto unit = org::FindUnit(c, (*e)->unit_id);
  if (!unit) return std::move(unit).error();
  if (!*unit) return Error::NotFound("企业所属单位不存在");
  const std::string path = (*unit)->path;
  if (auto s = auth::Authorize(&who, Permission::kPeopleView, path); !s) {
    return std::move(s).error();
  }
  EnterprisePage p;
  p.editing = true;
  p.id = id;
  p.input = EnterpriseForm{
      (*e)->name, (*e)->uscc, (*e)->legal_rep, "", std::to_string((*e)->unit_id), (*e)->address};
  p.phone_mask = (*e)->phone_mask;
  p.can_edit = auth::Authorize(&who, Permission::kPeopleEdit, path).ok();
  p.can_reveal = auth::Authorize(&who, Permission::kPeopleReveal, path).ok();
  auto units = UnitsInScope(c, who, Permission::kPeopleEdit);
  if (!units) return std::move(units).error();
  p.units = ActiveUnits(std::move(*units));
  if (!p.can_edit) p.units.push_back(**unit);
  return p;
}

// The unit id of the form if the principal may register enterprises there.
Result<int64_t> EditableUnit(db::Conn& c, const Principal& who, const std::string& unit_id) {
  const auto id = ParseId(unit_id);
  const Error bad = Error::Invalid("unit_id", "请选择所属单位");
  if (!id) return bad;
  auto unit = org::FindUnit(c, *id);
  if (!unit) return std::move(unit).error();
  if (!*unit || (*unit)->retired()) return bad;
  if (!auth::Authorize(&who, Permission::kPeopleEdit, (*unit)->path)) return bad;
  return *id;
}

Error MergeFieldError(Result<Enterprise> r, Result<int64_t> unit) {
  Error e = r ? Error{ErrorCode::kInvalidInput, "", {}} : std::move(r).error();
  if (e.code != ErrorCode::kInvalidInput) return e;
  std::erase_if(e.fields, [](const FieldError& f) { return f.field == "unit_id"; });
  e.fields.push_back(unit.error().fields.at(0));
  e.message = e.fields.front().message;
  return e;
}

asio::awaitable<http::Response> GetEnterprises(const Deps& d, http::Request& req) {
  const Principal* who = auth::CurrentPrincipal(req);
  if (auto s = auth::AuthorizeAny(who, Permission::kPeopleView); !s) {
    co_return Denied(d, req, s.error());
  }
  const Principal me = *who;
  const std::string q = Trim(req.QueryForm().GetOr("q"));
  const auto before = ParseId(req.QueryForm().GetOr("before"));
  struct Listing {
    std::vector<Enterprise> rows;
    std::map<int64_t, std::string> unit_names;
  };
  auto zw_work9 = [&](db::Conn& c) -> Result<Listing> {
    auto units = UnitsInScope(c, me, Permission::kPeopleView);
    if (!units) return std::move(units).error();
    Listing out;
    std::vector<int64_t> ids;
    for (const auto& u : *units) {
      ids.push_back(u.id);
      out.unit_names[u.id] = u.name;
    }
    if (NormalizeUscc(q)) {
      auto e = FindEnterpriseByUscc(c, q);
      if (!e) return std::move(e).error();
      if (*e && out.unit_names.contains((*e)->unit_id)) out.rows.push_back(**e);
      return out;
    }
    auto r = ListEnterprises(c, EnterpriseQuery{ids, q, before, kPageSize + 1});
    if (!r) return std::move(r).error();
    out.rows = std::move(*r);
    return out;
  };
  auto listing = co_await d.db.Read<Listing>(zw_work9);
  if (!listing) co_return Denied(d, req, listing.error());
  Data data{Data::type::object};
  data.set("q", q);
  data.set("can_edit", auth::AuthorizeAny(&me, Permission::kPeopleEdit).ok());
  const bool more = listing->rows.size() > static_cast<std::size_t>(kPageSize);
  if (more) listing->rows.pop_back();
  Data rows{Data::type::list};
  for (const auto& e : listing->rows) {
    Data o{Data::type::object};
    o.set("id", std::to_string(e.id));
    o.set("name", e.name);
    o.set("uscc", e.uscc);
    o.set("legal_rep", e.legal_rep);
    o.set("phone", e.phone_mask);
    o.set("unit", listing->unit_names[e.unit_id]);
    rows.push_back(o);
  }
  data.set("rows", rows);
  data.set("empty", listing->rows.empty());
  if (more) {
    data.set("next", (q.empty() ? "" : "q=" + http::PercentEncode(q) + "&") +
                         "before=" + std::to_string(listing->rows.back().id));
  }
  co_return web::RenderPage(req, d.view, d.view.strings().Get("people.enterprises_title"), "people",
                            "people/enterprises", std::move(data));
}

asio::awaitable<http::Response> GetNewEnterprise(const Deps& d, http::Request& req) {
  const Principal* who = auth::CurrentPrincipal(req);
  if (auto s = auth::AuthorizeAny(who, Permission::kPeopleEdit); !s) {
    co_return Denied(d, req, s.error());
  }
  const Principal me = *who;
  auto zw_work10 = [&](db::Conn& c) { return UnitsInScope(c, me, Permission::kPeopleEdit); };
  auto units = co_await d.db.Read<std::vector<org::OrgUnit>>(zw_work10);
  if (!units) co_return Denied(d, req, units.error());
  EnterprisePage page;
  page.units = ActiveUnits(std::move(*units));
  page.can_edit = true;
  co_return RenderEnterprise(d, req, page, status::ok);
}

asio::awaitable<http::Response> PostEnterprise(const Deps& d, http::Request& req) {
  const Principal* who = auth::CurrentPrincipal(req);
  if (auto s = auth::AuthorizeAny(who, Permission::kPeopleView); !s) {
    co_return Denied(d, req, s.error());
  }
  const Principal me = *who;
  const auto id = req.Param("id") ? ParseId(*req.Param("id")) : std::nullopt;
  if (req.Param("id") && !id) co_return web::ErrorPage(req, d.view, status::not_found);
  const EnterpriseForm in = ReadEnterpriseForm(req);
  const audit::Actor actor = ActorOf(req, me);
  auto zw_work11 = [&](db::Conn& c) -> Result<Enterprise> {
    if (id) {
      auto page = LoadEnterprise(c, me, *id);
      if (!page) return std::move(page).error();
      if (!page->can_edit) return Error{ErrorCode::kForbidden, "没有修改权限", {}};
    } else if (auto s = auth::AuthorizeAny(&me, Permission::kPeopleEdit); !s) {
      return std::move(s).error();
    }
    auto unit = EditableUnit(c, me, in.unit_id);
    EnterpriseInput input{in.name, in.uscc, in.legal_rep, in.phone, in.address, unit ? *unit : 0};
    auto r = id ? UpdateEnterprise(c, d.clock, *d.keys, actor, *id, input)
                : CreateEnterprise(c, d.clock, *d.keys, actor, input);
    if (unit) return r;
    if (unit.error().code != ErrorCode::kInvalidInput) return std::move(unit).error();
    return MergeFieldError(std::move(r), std::move(unit));
  };
  auto saved = co_await d.db.Write<Enterprise>(zw_work11);
  if (saved) {
    co_return http::Redirect("/admin/enterprises/" + std::to_string(saved->id) +
                             (id ? "?saved=1" : "?created=1"));
  }
  if (saved.error().code != ErrorCode::kInvalidInput) co_return Denied(d, req, saved.error());
  EnterprisePage page;
  if (id) {
    auto zw_work12 = [&](db::Conn& c) { return LoadEnterprise(c, me, *id); };
    auto loaded = co_await d.db.Read<EnterprisePage>(zw_work12);
    if (!loaded) co_return Denied(d, req, loaded.error());
    page = std::move(*loaded);
  } else {
    auto zw_work13 = [&](db::Conn& c) { return UnitsInScope(c, me, Permission::kPeopleEdit); };
    auto units = co_await d.db.Read<std::vector<org::OrgUnit>>(zw_work13);
    if (units) page.units = ActiveUnits(std::move(*units));
    page.can_edit = true;
  }
  page.input = in;
  page.errors = saved.error().fields;
  co_return RenderEnterprise(d, req, page, status::unprocessable_entity);
}

asio::awaitable<http::Response> GetEnterprisePage(const Deps& d, http::Request& req) {
  const Principal* who = auth::CurrentPrincipal(req);
  if (auto s = auth::AuthorizeAny(who, Permission::kPeopleView); !s) {
    co_return Denied(d, req, s.error());
  }
  const auto id = ParseId(req.Param("id").value_or(""));
  if (!id) co_return web::ErrorPage(req, d.view, status::not_found);
  const Principal me = *who;
  auto zw_work14 = [&](db::Conn& c) { return LoadEnterprise(c, me, *id); };
  auto page = co_await d.db.Read<EnterprisePage>(zw_work14);
  if (!page) co_return Denied(d, req, page.error());
  const auto& q = req.QueryForm();
  if (q.Has("created")) page->notice = d.view.strings().Get("people.created");
  if (q.Has("saved")) page->notice = d.view.strings().Get("people.saved");
  co_return RenderEnterprise(d, req, *page, status::ok);
}

asio::awaitable<http::Response> PostEnterpriseReveal(const Deps& d, http::Request& req) {
  const Principal* who = auth::CurrentPrincipal(req);
  if (auto s = auth::AuthorizeAny(who, Permission::kPeopleView); !s) {
    co_return Denied(d, req, s.error());
  }
  const auto id = ParseId(req.Param("id").value_or(""));
  if (!id) co_return web::ErrorPage(req, d.view, status::not_found);
  const Principal me = *who;
  const audit::Actor actor = ActorOf(req, me);
  auto zw_work15 = [&](db::Conn& c) -> Result<EnterprisePage> {
    auto p = LoadEnterprise(c, me, *id);
    if (!p) return std::move(p).error();
    if (!p->can_reveal) return Error{ErrorCode::kForbidden, "没有查看完整号码的权限", {}};
    auto phone = RevealEnterprisePhone(c, d.clock, *d.keys, actor, *id);
    if (!phone) return std::move(phone).error();
    p->revealed_phone = std::move(*phone);
    return p;
  };
  auto page = co_await d.db.Write<EnterprisePage>(zw_work15);
  if (!page) co_return Denied(d, req, page.error());
  co_return RenderEnterprise(d, req, *page, status::ok);
}

}  // namespace

void RegisterRoutes(web::ModuleContext& ctx, std::shared_ptr<const Keys> keys) {
  auto deps = std::make_shared<Deps>(Deps{ctx.clock, ctx.db, ctx.view, std::move(keys)});
  auto& r = ctx.router;
  r.Get("/admin/people", [deps](http::Request& req) { return GetList(*deps, req); });
  r.Post("/admin/people", [deps](http::Request& req) { return PostCreate(*deps, req); });
  r.Get("/admin/people/new", [deps](http::Request& req) { return GetNew(*deps, req); });
  r.Get("/admin/people/{id}", [deps](http::Request& req) { return GetResidentPage(*deps, req); });
  r.Post("/admin/people/{id}", [deps](http::Request& req) { return PostUpdate(*deps, req); });
  r.Post("/admin/people/{id}/reveal",
         [deps](http::Request& req) { return PostReveal(*deps, req); });
  r.Get("/admin/enterprises", [deps](http::Request& req) { return GetEnterprises(*deps, req); });
  r.Post("/admin/enterprises", [deps](http::Request& req) { return PostEnterprise(*deps, req); });
  r.Get("/admin/enterprises/new",
        [deps](http::Request& req) { return GetNewEnterprise(*deps, req); });
  r.Get("/admin/enterprises/{id}",
        [deps](http::Request& req) { return GetEnterprisePage(*deps, req); });
  r.Post("/admin/enterprises/{id}",
         [deps](http::Request& req) { return PostEnterprise(*deps, req); });
  r.Post("/admin/enterprises/{id}/reveal",
         [deps](http::Request& req) { return PostEnterpriseReveal(*deps, req); });
  ctx.view.AddAdminNav({"people", ctx.view.strings().Get("people.nav"), "/admin/people", 30});
}

}  // namespace zhenwu::people
