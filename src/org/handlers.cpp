#include "org/handlers.hpp"

#include <charconv>
#include <map>

#include "auth/principal.hpp"
#include "core/clock.hpp"
#include "http/multipart.hpp"
#include "org/import.hpp"
#include "org/service.hpp"
#include "org/store.hpp"
#include "web/page.hpp"

namespace zhenwu::org {

namespace {

using http::Request;
using http::Response;
using view::Data;
using Perm = auth::Permission;

Data Object() { return Data{Data::type::object}; }
Data List() { return Data{Data::type::list}; }

std::optional<int64_t> ParseId(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v <= 0) return std::nullopt;
  return v;
}

audit::Actor ActorOf(const Request& req, const auth::Principal& who) {
  return {who.user_id, who.login, req.remote_ip, req.request_id};
}

// Whether `who` may create units without a parent: an org manager over a whole root's subtree.
bool MayCreateRoot(const auth::Principal* who) {
  if (who == nullptr) return false;
  for (const auto& g : who->grants) {
    if (auth::RoleHas(g.role, Perm::kOrgManage) && g.scope == auth::Scope::kSubtree &&
        !g.unit_path.empty() && PathDepth(g.unit_path) == 0) {
      return true;
    }
  }
  return false;
}

bool May(const auth::Principal* who, Perm p, const std::string& path) {
  return auth::Authorize(who, p, path).ok();
}

class Pages {
 public:
  explicit Pages(web::ModuleContext& ctx) : db_(ctx.db), clock_(ctx.clock), view_(ctx.view) {}

  // The answer for a refused or failed request (web::RefusePage).
  Response Refuse(const Request& req, const Error& e) const {
    return web::RefusePage(req, view_, e);
  }

  Response Render(const Request& req, const std::string& title, std::string_view name, Data data,
                  http::bhttp::status status = http::bhttp::status::ok) const {
    return web::RenderPage(req, view_, title, "admin", name, std::move(data), status);
  }

  std::string T(std::string_view key) const { return view_.strings().Get(key); }

  // {kind_label, name, code, …} for templates.
  Data UnitData(const OrgUnit& u) const {
    Data d = Object();
    d.set("id", std::to_string(u.id));
    d.set("name", u.name);
    d.set("code", u.code);
    d.set("kind", std::string(KindName(u.kind)));
    d.set("kind_label", std::string(KindLabel(u.kind)));
    if (!u.division_code.empty()) d.set("division_code", u.division_code);
    d.set("sort_order", std::to_string(u.sort_order));
    d.set("url", "/admin/org/" + std::to_string(u.id));
    if (u.retired()) {
      d.set("retired", true);
      d.set("retired_at", FormatShanghaiMinute(*u.retired_at_ms));
    }
    if (u.demo) d.set("demo", true);
    return d;
  }

  // The text fields of the unit forms, with the values typed and the messages beside them.
  Data TextFields(const std::vector<std::pair<std::string, std::string>>& values,
                  const Error* error) const {
    Data list = List();
    for (const auto& [field, value] : values) {
      Data f = Object();
      f.set("id", field);
      f.set("label", T("org." + field));
      f.set("value", value);
      const std::string hint = T("org." + field + "_hint");
      if (hint != "org." + field + "_hint") f.set("hint", hint);
      if (field == "name" || field == "code") f.set("required", true);
      if (field == "division_code" || field == "sort_order") f.set("numeric", true);
      if (auto m = FieldMessage(error, field)) f.set("error", *m);
      list.push_back(f);
    }
    return list;
  }

  static std::optional<std::string> FieldMessage(const Error* error, std::string_view field) {
    if (error == nullptr) return std::nullopt;
    for (const auto& f : error->fields) {
      if (f.field == field) return f.message;
    }
    return std::nullopt;
  }

  // --- the tree ---------------------------------------------------------------------------

  asio::awaitable<Response> Tree(Request& req) {
    const auth::Principal* who = auth::CurrentPrincipal(req);
    if (auto s = auth::AuthorizeAny(who, Perm::kOrgView); !s) co_return Refuse(req, s.error());
    auto zw_work1 = [](db::Conn& c) { return AllUnits(c); };
    auto units = co_await db_.Read<std::vector<OrgUnit>>(zw_work1);
    if (!units) co_return Refuse(req, units.error());

    // The visible units, as a forest ordered by sort order within each parent.
    std::map<std::optional<int64_t>, std::vector<const OrgUnit*>> children;
    std::map<int64_t, bool> visible;
    for (const auto& u : *units) visible[u.id] = May(who, Perm::kOrgView, u.path);
    for (const auto& u : *units) {
      if (!visible[u.id]) continue;
      const bool parent_visible = u.parent_id && visible[*u.parent_id];
      children[parent_visible ? u.parent_id : std::nullopt].push_back(&u);
    }
    for (auto& [_, list] : children) {
      std::stable_sort(list.begin(), list.end(), [](const OrgUnit* a, const OrgUnit* b) {
        return a->sort_order != b->sort_order ? a->sort_order < b->sort_order : a->id < b->id;
      });
    }
    Data rows = List();
    int count = 0;
    // Depth-first, emitting how many open lists close after each unit.
    struct Frame {
      const std::vector<const OrgUnit*>* list;
      std::size_t next;
    };
    std::vector<Frame> stack;
    if (children.count(std::nullopt)) stack.push_back({&children[std::nullopt], 0});
    std::vector<Data> pending;
    while (!stack.empty()) {
      Frame& top = stack.back();
      if (top.next >= top.list->size()) {
        stack.pop_back();
        continue;
      }
      const OrgUnit* u = (*top.list)[top.next++];
      ++count;
      Data d = UnitData(*u);
      auto it = children.find(u->id);
      const bool has_children = it != children.end() && !it->second.empty();
      if (has_children) {
        d.set("has_children", true);
        d.set("count", std::to_string(it->second.size()));
        const bool open = u->kind == UnitKind::kCity || u->kind == UnitKind::kCounty ||
                          (u->kind == UnitKind::kTown && !u->retired());
        if (open) d.set("open", true);
      }
      if (May(who, Perm::kOrgManage, u->path) && !u->retired() &&
          !KindsAllowedUnder(u->kind).empty()) {
        d.set("can_add", true);
      }
      pending.push_back(std::move(d));
      if (has_children) {
        stack.push_back({&it->second, 0});
      } else {
        // Close the lists this leaf ends.
        int closes = 0;
        for (std::size_t i = stack.size(); i-- > 1;) {
          if (stack[i].next < stack[i].list->size()) break;
          ++closes;
        }
        Data c = List();
        for (int i = 0; i < closes; ++i) c.push_back(Object());
        pending.back().set("closes", c);
      }
    }
    for (auto& d : pending) rows.push_back(d);
    Data data = Object();
    data.set("units", rows);
    if (count == 0) data.set("empty", true);
    data.set("count", std::to_string(count));
    if (MayCreateRoot(who)) data.set("can_create_root", true);
    if (auth::AuthorizeAny(who, Perm::kOrgManage).ok()) data.set("can_import", true);
    co_return Render(req, T("org.tree_title"), "org/tree", std::move(data));
  }

  // --- new unit ---------------------------------------------------------------------------

  Data NewForm(const std::optional<OrgUnit>& parent, const std::string& kind,
               const std::vector<std::pair<std::string, std::string>>& values,
               const Error* error) const {
    Data data = Object();
    if (parent) {
      data.set("parent", UnitData(*parent));
      data.set("parent_id", std::to_string(parent->id));
    }
    Data kinds = List();
    for (UnitKind k : KindsAllowedUnder(parent ? std::optional(parent->kind) : std::nullopt)) {
      Data o = Object();
      o.set("value", std::string(KindName(k)));
      o.set("label", std::string(KindLabel(k)));
      if (kind == KindName(k)) o.set("selected", true);
      kinds.push_back(o);
    }
    data.set("kinds", kinds);
    if (auto m = FieldMessage(error, "kind")) data.set("kind_error", *m);
    if (auto m = FieldMessage(error, "parent_id")) data.set("parent_error", *m);
    data.set("fields", TextFields(values, error));
    if (error != nullptr) data.set("form_error", T("org.form_error"));
    return data;
  }

  // The parent named by ?parent= / parent_id, after checking that `who` may add under it.
  asio::awaitable<Result<std::optional<OrgUnit>>> ParentFor(const Request& req,
                                                            std::string_view parent_text) {
    const auth::Principal* who = auth::CurrentPrincipal(req);
    if (parent_text.empty()) {
      if (auto s = auth::AuthorizeAny(who, Perm::kOrgManage); !s) co_return s.error();
      if (!MayCreateRoot(who)) co_return Error::NotFound();
      co_return std::optional<OrgUnit>();
    }
    auto id = ParseId(parent_text);
    if (!id) co_return Error::NotFound();
    auto zw_work2 = [id = *id](db::Conn& c) { return FindUnit(c, id); };
    auto parent = co_await db_.Read<std::optional<OrgUnit>>(zw_work2);
    if (!parent) co_return parent.error();
    if (!*parent) {
      if (auto s = auth::AuthorizeAny(who, Perm::kOrgManage); !s) co_return s.error();
      co_return Error::NotFound();
    }
    if (auto s = auth::Authorize(who, Perm::kOrgManage, (*parent)->path); !s) co_return s.error();
    co_return parent;
  }

  asio::awaitable<Response> NewPage(Request& req) {
    auto parent = co_await ParentFor(req, req.QueryForm().GetOr("parent"));
    if (!parent) co_return Refuse(req, parent.error());
    co_return Render(
        req, T("org.new_title"), "org/new",
        NewForm(*parent, req.QueryForm().GetOr("kind"),
                {{"name", ""}, {"code", ""}, {"division_code", ""}, {"sort_order", ""}}, nullptr));
  }

  asio::awaitable<Response> Create(Request& req) {
    const http::Form& form = req.BodyForm();
    auto parent = co_await ParentFor(req, form.GetOr("parent_id"));
    if (!parent) co_return Refuse(req, parent.error());
    const auth::Principal* who = auth::CurrentPrincipal(req);
    UnitInput input;
    if (*parent) input.parent_id = (*parent)->id;
    input.kind = form.GetOr("kind");
    input.name = form.GetOr("name");
    input.code = form.GetOr("code");
    input.division_code = form.GetOr("division_code");
    input.sort_order = form.GetOr("sort_order");
    const audit::Actor actor = ActorOf(req, *who);
    const Clock& clock = clock_;
    auto zw_work3 = [&](db::Conn& c) { return CreateUnit(c, clock, actor, input); };
    auto created = co_await db_.Write<OrgUnit>(zw_work3);
    if (!created) {
      if (created.error().code != ErrorCode::kInvalidInput) co_return Refuse(req, created.error());
      co_return Render(req, T("org.new_title"), "org/new",
                       NewForm(*parent, input.kind,
                               {{"name", input.name},
                                {"code", input.code},
                                {"division_code", input.division_code},
                                {"sort_order", input.sort_order}},
                               &created.error()),
                       http::bhttp::status::unprocessable_entity);
    }
    co_return http::Redirect("/admin/org/" + std::to_string(created->id) + "?done=created");
  }

  // --- one unit ---------------------------------------------------------------------------

  struct Detail {
    OrgUnit unit;
    std::vector<OrgUnit> ancestors;
    std::vector<OrgUnit> children;
    std::vector<OrgUnit> all;
  };

  asio::awaitable<Result<Detail>> LoadDetail(const Request& req, Perm need) {
    const auth::Principal* who = auth::CurrentPrincipal(req);
    auto id = ParseId(req.Param("id").value_or(""));
    if (!id) {
      if (auto s = auth::AuthorizeAny(who, need); !s) co_return s.error();
      co_return Error::NotFound();
    }
    auto zw_work4 = [id = *id](db::Conn& c) -> Result<Detail> {
      auto unit = FindUnit(c, id);
      if (!unit) return std::move(unit).error();
      if (!*unit) return Error::NotFound();
      Detail d;
      d.unit = **unit;
      auto all = AllUnits(c);
      if (!all) return std::move(all).error();
      d.all = std::move(*all);
      for (const auto& u : d.all) {
        if (u.id != d.unit.id && PathWithin(d.unit.path, u.path)) d.ancestors.push_back(u);
        if (u.parent_id == d.unit.id) d.children.push_back(u);
      }
      std::stable_sort(
          d.children.begin(), d.children.end(), [](const OrgUnit& a, const OrgUnit& b) {
            return a.sort_order != b.sort_order ? a.sort_order < b.sort_order : a.id < b.id;
          });
      return d;
    };
    auto detail = co_await db_.Read<Detail>(zw_work4);
    if (!detail) {
      if (detail.error().code == ErrorCode::kNotFound) {
        if (auto s = auth::AuthorizeAny(who, need); !s) co_return s.error();
      }
      co_return detail.error();
    }
    if (auto s = auth::Authorize(who, need, detail->unit.path); !s) co_return s.error();
    co_return detail;
  }

  struct FormState {
    std::vector<std::pair<std::string, std::string>> edit_values;
    const Error* edit_error = nullptr;
    const Error* move_error = nullptr;
    std::string move_choice;
  };

  Data DetailData(const Request& req, const Detail& d, const FormState& state) const {
    const auth::Principal* who = auth::CurrentPrincipal(req);
    const OrgUnit& u = d.unit;
    Data data = Object();
    data.set("unit", UnitData(u));
    Data ancestors = List();
    for (const auto& a : d.ancestors) ancestors.push_back(UnitData(a));
    data.set("ancestors", ancestors);
    Data children = List();
    for (const auto& c : d.children) children.push_back(UnitData(c));
    data.set("children", children);
    if (d.children.empty()) data.set("no_children", true);
    const bool manage = May(who, Perm::kOrgManage, u.path);
    const std::string done = req.QueryForm().GetOr("done");
    if (done == "created" || done == "saved" || done == "moved" || done == "retired") {
      data.set("notice", T(done == "retired" ? "org.retired_done" : "org." + done));
    }
    if (!manage) return data;
    data.set("can_manage", true);
    if (!u.retired() && !KindsAllowedUnder(u.kind).empty()) data.set("can_add", true);
    data.set("edit_fields", TextFields(state.edit_values, state.edit_error));
    if (state.edit_error != nullptr) data.set("edit_form_error", T("org.form_error"));
    if (!u.retired()) {
      data.set("can_move", true);
      data.set("can_retire", true);
      Data targets = List();
      if (AllowedUnder(u.kind, std::nullopt) && MayCreateRoot(who) && u.parent_id) {
        Data o = Object();
        o.set("value", "root");
        o.set("label", T("org.no_parent"));
        if (state.move_choice == "root") o.set("selected", true);
        targets.push_back(o);
      }
      int n = 0;
      for (const auto& t : d.all) {
        if (t.retired() || PathWithin(t.path, u.path) || (u.parent_id && t.id == *u.parent_id) ||
            !AllowedUnder(u.kind, t.kind) || !May(who, Perm::kOrgManage, t.path)) {
          continue;
        }
        Data o = Object();
        o.set("value", std::to_string(t.id));
        std::string label;
        for (int i = 0; i < t.depth; ++i) label += "　";
        label += t.name + "（" + std::string(KindLabel(t.kind)) + " " + t.code + "）";
        o.set("label", label);
        if (state.move_choice == std::to_string(t.id)) o.set("selected", true);
        targets.push_back(o);
        ++n;
      }
      data.set("move_targets", targets);
      if (n == 0 && !(AllowedUnder(u.kind, std::nullopt) && MayCreateRoot(who))) {
        data.set("no_move_targets", true);
      }
      if (auto m = FieldMessage(state.move_error, "parent_id")) data.set("move_error", *m);
    }
    return data;
  }

  static std::vector<std::pair<std::string, std::string>> ValuesOf(const OrgUnit& u) {
    return {{"name", u.name},
            {"code", u.code},
            {"division_code", u.division_code},
            {"sort_order", std::to_string(u.sort_order)}};
  }

  asio::awaitable<Response> Show(Request& req) {
    auto d = co_await LoadDetail(req, Perm::kOrgView);
    if (!d) co_return Refuse(req, d.error());
    FormState state;
    state.edit_values = ValuesOf(d->unit);
    co_return Render(req, d->unit.name, "org/unit", DetailData(req, *d, state));
  }

  asio::awaitable<Response> Update(Request& req) {
    auto d = co_await LoadDetail(req, Perm::kOrgManage);
    if (!d) co_return Refuse(req, d.error());
    const http::Form& form = req.BodyForm();
    UnitEdit edit{form.GetOr("name"), form.GetOr("code"), form.GetOr("division_code"),
                  form.GetOr("sort_order")};
    const audit::Actor actor = ActorOf(req, *auth::CurrentPrincipal(req));
    const Clock& clock = clock_;
    const int64_t id = d->unit.id;
    auto zw_work5 = [&](db::Conn& c) { return UpdateUnit(c, clock, actor, id, edit); };
    auto updated = co_await db_.Write<OrgUnit>(zw_work5);
    if (!updated) {
      if (updated.error().code != ErrorCode::kInvalidInput) co_return Refuse(req, updated.error());
      FormState state;
      state.edit_values = {{"name", edit.name},
                           {"code", edit.code},
                           {"division_code", edit.division_code},
                           {"sort_order", edit.sort_order}};
      state.edit_error = &updated.error();
      co_return Render(req, d->unit.name, "org/unit", DetailData(req, *d, state),
                       http::bhttp::status::unprocessable_entity);
    }
    co_return http::Redirect("/admin/org/" + std::to_string(id) + "?done=saved");
  }

  asio::awaitable<Response> Move(Request& req) {
    auto d = co_await LoadDetail(req, Perm::kOrgManage);
    if (!d) co_return Refuse(req, d.error());
    const auth::Principal* who = auth::CurrentPrincipal(req);
    const std::string choice = req.BodyForm().GetOr("parent_id");
    std::optional<int64_t> new_parent;
    Error refused{ErrorCode::kInvalidInput, "", {}};
    if (choice == "root") {
      if (!MayCreateRoot(who)) co_return Refuse(req, Error{ErrorCode::kForbidden, "", {}});
    } else if (auto id = ParseId(choice)) {
      new_parent = *id;
      // The new parent must be within the mover's reach too (an unknown one is the service's
      // field error).
      for (const auto& t : d->all) {
        if (t.id == *id && !May(who, Perm::kOrgManage, t.path)) {
          refused = Error::Invalid("parent_id", "无权把机构迁到“" + t.name + "”下");
        }
      }
    } else {
      refused = Error::Invalid("parent_id", "请选择新的上级机构");
    }
    Result<OrgUnit> moved = refused;
    if (refused.fields.empty()) {
      const audit::Actor actor = ActorOf(req, *who);
      const Clock& clock = clock_;
      const int64_t id = d->unit.id;
      auto zw_work6 = [&](db::Conn& c) { return MoveUnit(c, clock, actor, id, new_parent); };
      moved = co_await db_.Write<OrgUnit>(zw_work6);
    }
    if (!moved) {
      if (moved.error().code != ErrorCode::kInvalidInput) co_return Refuse(req, moved.error());
      FormState state;
      state.edit_values = ValuesOf(d->unit);
      state.move_error = &moved.error();
      state.move_choice = choice;
      co_return Render(req, d->unit.name, "org/unit", DetailData(req, *d, state),
                       http::bhttp::status::unprocessable_entity);
    }
    co_return http::Redirect("/admin/org/" + std::to_string(d->unit.id) + "?done=moved");
  }

  asio::awaitable<Response> Retire(Request& req) {
    auto d = co_await LoadDetail(req, Perm::kOrgManage);
    if (!d) co_return Refuse(req, d.error());
    const audit::Actor actor = ActorOf(req, *auth::CurrentPrincipal(req));
    const Clock& clock = clock_;
    const int64_t id = d->unit.id;
    auto zw_work7 = [&](db::Conn& c) { return RetireUnit(c, clock, actor, id); };
    auto retired = co_await db_.Write<OrgUnit>(zw_work7);
    if (!retired && retired.error().code != ErrorCode::kConflict) {
      co_return Refuse(req, retired.error());
    }
    co_return http::Redirect("/admin/org/" + std::to_string(id) + "?done=retired");
  }

  // --- import -----------------------------------------------------------------------------

  asio::awaitable<Response> ImportPage(Request& req) {
    if (auto s = auth::AuthorizeAny(auth::CurrentPrincipal(req), Perm::kOrgManage); !s) {
      co_return Refuse(req, s.error());
    }
    co_return Render(req, T("org.import_title"), "org/import", Object());
  }

  asio::awaitable<Response> Import(Request& req) {
    const auth::Principal* who = auth::CurrentPrincipal(req);
    if (auto s = auth::AuthorizeAny(who, Perm::kOrgManage); !s) co_return Refuse(req, s.error());
    Data data = Object();
    auto fail = [&](const Error& e) {
      Data errors = List();
      if (e.fields.empty()) {
        Data line = Object();
        line.set("message", e.message);
        errors.push_back(line);
      }
      for (const auto& f : e.fields) {
        Data line = Object();
        line.set("message", f.message);
        errors.push_back(line);
      }
      data.set("errors", errors);
      data.set("has_errors", true);
      return Render(req, T("org.import_title"), "org/import", data,
                    http::bhttp::status::unprocessable_entity);
    };
    auto form = http::ParseMultipart(req);
    if (!form) co_return fail(form.error());
    const http::MultipartPart* file = form->Find("file");
    if (file == nullptr || !file->filename || file->data.empty()) {
      co_return fail(Error::Invalid("file", "请选择要上传的文件"));
    }
    auto rows = ReadImportFile(*file->filename, file->data);
    if (!rows) co_return fail(rows.error());
    const audit::Actor actor = ActorOf(req, *who);
    const Clock& clock = clock_;
    const std::vector<ImportRow>& input = *rows;
    const bool may_root = MayCreateRoot(who);
    auto zw_work8 = [&](db::Conn& c) {
      return ImportUnits(c, clock, actor, input, [&](const OrgUnit* parent) {
        return parent == nullptr ? may_root : May(who, Perm::kOrgManage, parent->path);
      });
    };
    auto created = co_await db_.Write<std::vector<OrgUnit>>(zw_work8);
    if (!created) {
      if (created.error().code != ErrorCode::kInvalidInput) co_return Refuse(req, created.error());
      co_return fail(created.error());
    }
    Data list = List();
    for (const auto& u : *created) list.push_back(UnitData(u));
    data.set("created", list);
    data.set("has_created", true);
    data.set("created_count", std::to_string(created->size()));
    co_return Render(req, T("org.import_title"), "org/import", data);
  }

 private:
  // Not the ModuleContext itself: it lives only while the modules register.
  db::Database& db_;
  const Clock& clock_;
  const view::View& view_;
};

}  // namespace

void RegisterRoutes(web::ModuleContext& ctx) {
  auto pages = std::make_shared<Pages>(ctx);
  auto bind = [pages](asio::awaitable<Response> (Pages::*fn)(Request&)) {
    return [pages, fn](Request& req) { return ((*pages).*fn)(req); };
  };
  ctx.router.Get("/admin/org", bind(&Pages::Tree));
  ctx.router.Get("/admin/org/new", bind(&Pages::NewPage));
  ctx.router.Post("/admin/org/new", bind(&Pages::Create));
  ctx.router.Get("/admin/org/import", bind(&Pages::ImportPage));
  ctx.router.Post("/admin/org/import", bind(&Pages::Import));
  ctx.router.Get("/admin/org/{id}", bind(&Pages::Show));
  ctx.router.Post("/admin/org/{id}", bind(&Pages::Update));
  ctx.router.Post("/admin/org/{id}/move", bind(&Pages::Move));
  ctx.router.Post("/admin/org/{id}/retire", bind(&Pages::Retire));
  ctx.view.AddAdminNav({"org", ctx.view.strings().Get("org.nav"), "/admin/org", 10});
}

}  // namespace zhenwu::org
