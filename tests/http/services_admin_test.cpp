// The catalogue editor and the holiday calendar over real HTTP, on both databases: only editors
// edit the catalogue (within their scope), materials are repeated rows added and removed without
// JavaScript, a refused save keeps everything typed with the message beside the field; only
// administrators change the calendar, whose edits and CSV import reach the deadlines at once.

#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "app/app.hpp"
#include "calendar/store.hpp"
#include "files/file_store.hpp"
#include "services/service.hpp"
#include "support/services_fixture.hpp"

namespace zhenwu::testing {
namespace {

using auth::Role;
using auth::Scope;

std::string InputValue(const std::string& html, const std::string& name) {
  std::smatch m;
  std::regex re("name=\"" + name + "\" value=\"([^\"]*)\"");
  if (std::regex_search(html, m, re)) return m[1];
  return "";
}

bool Has(const std::string& body, const std::string& needle) {
  return body.find(needle) != std::string::npos;
}

constexpr const char* kBoundary = "----zwadminboundary9Qx";

std::string Multipart(
    const Headers& fields,
    const std::vector<std::tuple<std::string, std::string, std::string>>& files = {}) {
  std::string body;
  for (const auto& [name, value] : fields) {
    body += std::string("--") + kBoundary + "\r\nContent-Disposition: form-data; name=\"" + name +
            "\"\r\n\r\n" + value + "\r\n";
  }
  for (const auto& [name, filename, data] : files) {
    body += std::string("--") + kBoundary + "\r\nContent-Disposition: form-data; name=\"" + name +
            "\"; filename=\"" + filename + "\"\r\nContent-Type: text/csv\r\n\r\n" + data + "\r\n";
  }
  return body + "--" + kBoundary + "--\r\n";
}

class ServicesAdminTest : public ServicesHttpTest {
 protected:
  void SetUp() override {
    StartServer();
    if (IsSkipped() || HasFatalFailure()) return;
    const std::string name = "测试用户";
    AddStaff("editor1", name, Role::kEditor, Scope::kSubtree, tree_.town, tree_.town_path);
    AddStaff("editor_v1", name, Role::kEditor, Scope::kSubtree, tree_.village1,
             tree_.village1_path);
    AddStaff("clerk1", name, Role::kClerk, Scope::kUnit, tree_.window, tree_.window_path);
    AddStaff("admin1", name, Role::kAdmin, Scope::kSubtree, tree_.city, tree_.city_path);
  }

  // A complete, valid editor form with `rows` material rows.
  Headers ValidForm(const std::string& page, int rows = 1) const {
    Headers f = {{"_csrf", CsrfFromPage(page)},
                 {"_once", InputValue(page, "_once")},
                 {"code", "T-MZ-009"},
                 {"name", "高龄津贴申请"},
                 {"unit_id", std::to_string(tree_.window)},
                 {"category", "行政给付"},
                 {"life_events", "pension"},
                 {"statutory_days", "20"},
                 {"promised_days", "10"},
                 {"fee", ""},
                 {"place", "镇政务服务中心"},
                 {"online", "1"},
                 {"proxy", "1"}};
    const char* names[] = {"居民身份证", "户口簿", "银行卡"};
    for (int i = 0; i < rows; ++i) {
      const std::string p = "materials." + std::to_string(i) + ".";
      f.push_back({p + "name", names[i % 3]});
      f.push_back({p + "form", "copy"});
      f.push_back({p + "copies", "1"});
      f.push_back({p + "required", "1"});
      f.push_back({p + "note", ""});
    }
    return f;
  }

  HttpResponse PostMultipart(HttpClient& client, const std::string& path, const Headers& fields) {
    return client.Post(path, Multipart(fields),
                       std::string("multipart/form-data; boundary=") + kBoundary);
  }
};

TEST_P(ServicesAdminTest, OnlyEditorsReachTheCatalogueEditor) {
  EXPECT_EQ(server_->Client().Get("/admin/services").Header("Location").rfind("/login", 0), 0u);
  auto clerk = SignedIn("clerk1");
  EXPECT_EQ(clerk.Get("/admin/services").status, 403);
  EXPECT_EQ(clerk.Get("/admin/services/new").status, 403);
  EXPECT_EQ(PostFormWithCsrf(clerk, "/admin/services/new", {{"name", "x"}}).status, 403);
  auto editor = SignedIn("editor1");
  auto list = editor.Get("/admin/services");
  ASSERT_EQ(list.status, 200);
  auto form = editor.Get("/admin/services/new");
  ASSERT_EQ(form.status, 200);
  EXPECT_TRUE(Has(form.body, "name=\"materials.0.name\""));
  EXPECT_TRUE(Has(form.body, "<option value=\"" + std::to_string(tree_.window) + "\""));
  EXPECT_TRUE(Has(form.body, "<option value=\"" + std::to_string(tree_.village1_window) + "\""));
}

TEST_P(ServicesAdminTest, RowsAreAddedAndRemovedWithoutScriptAndInputIsKept) {
  auto editor = SignedIn("editor1");
  auto page = editor.Get("/admin/services/new");
  Headers form = ValidForm(page.body, 1);
  form.push_back({"add_row", "1"});
  auto added = PostMultipart(editor, "/admin/services/new", form);
  ASSERT_EQ(added.status, 200);
  EXPECT_TRUE(Has(added.body, "name=\"materials.1.name\" value=\"\""));
  EXPECT_TRUE(Has(added.body, "value=\"居民身份证\""));
  EXPECT_TRUE(Has(added.body, "value=\"高龄津贴申请\""));

  Headers three = ValidForm(page.body, 3);
  three.push_back({"remove_row", "1"});
  auto removed = PostMultipart(editor, "/admin/services/new", three);
  ASSERT_EQ(removed.status, 200);
  EXPECT_FALSE(Has(removed.body, "value=\"户口簿\""));
  EXPECT_TRUE(Has(removed.body, "name=\"materials.1.name\" value=\"银行卡\""));
  EXPECT_FALSE(Has(removed.body, "name=\"materials.2.name\""));
}

TEST_P(ServicesAdminTest, ARefusedSaveShowsMessagesBesideTheFieldsAndKeepsTheInput) {
  auto editor = SignedIn("editor1");
  auto page = editor.Get("/admin/services/new");
  Headers form = ValidForm(page.body, 2);
  for (auto& [k, v] : form) {
    if (k == "promised_days") v = "40";         // longer than the statutory 20
    if (k == "materials.1.copies") v = "两份";  // not a number
    if (k == "materials.0.name") v = "";        // a row with a note but no name
    if (k == "materials.0.note") v = "要原件";
  }
  // A blank spare row is ignored.
  form.push_back({"materials.2.name", ""});
  form.push_back({"materials.2.copies", "1"});
  auto res = PostMultipart(editor, "/admin/services/new", form);
  ASSERT_EQ(res.status, 422);
  EXPECT_TRUE(Has(res.body, "id=\"promised_days-error\">承诺时限不能长于法定时限"));
  EXPECT_TRUE(Has(res.body, "id=\"m1-copies-error\">份数应为 1 到 20"));
  EXPECT_TRUE(Has(res.body, "id=\"m0-name-error\""));
  for (const char* kept : {"value=\"高龄津贴申请\"", "value=\"T-MZ-009\"", "value=\"40\"",
                           "value=\"两份\"", "value=\"要原件\"", "value=\"户口簿\""}) {
    EXPECT_TRUE(Has(res.body, kept)) << kept;
  }
  auto none = server_->app().db().ReadSync<int64_t>([](db::Conn& c) -> Result<int64_t> {
    auto row = c.QueryOne("SELECT COUNT(*) FROM services_services");
    if (!row) return std::move(row).error();
    return (*row)->Int(0);
  });
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, 0);
}

TEST_P(ServicesAdminTest, EditorCreatesEditsAndRetiresAServiceOnceEvenWhenSubmittedTwice) {
  auto editor = SignedIn("editor1");
  auto page = editor.Get("/admin/services/new");
  Headers form = ValidForm(page.body, 2);
  auto created = PostMultipart(editor, "/admin/services/new", form);
  ASSERT_EQ(created.status, 303) << created.body.substr(0, 3000);
  const std::string location = created.Header("Location");
  std::smatch m;
  ASSERT_TRUE(
      std::regex_match(location, m, std::regex("/admin/services/([0-9]+)/edit\\?done=created")));
  const std::string id = m[1];
  auto twice = PostMultipart(editor, "/admin/services/new", form);
  EXPECT_EQ(twice.status, 303);
  EXPECT_EQ(twice.Header("Location"), location);

  auto edit = editor.Get(location);
  ASSERT_EQ(edit.status, 200);
  EXPECT_TRUE(Has(edit.body, "事项已创建"));
  EXPECT_TRUE(Has(edit.body, "name=\"materials.1.name\" value=\"户口簿\""));
  EXPECT_TRUE(Has(edit.body, "name=\"materials.2.name\" value=\"\""));  // a spare row

  Headers changed = ValidForm(edit.body, 1);
  for (auto& [k, v] : changed) {
    if (k == "name") v = "高龄津贴申领";
  }
  auto saved = PostMultipart(editor, "/admin/services/" + id + "/edit", changed);
  ASSERT_EQ(saved.status, 303) << saved.body.substr(0, 3000);
  auto service = server_->app().db().ReadSync<std::optional<services::Service>>(
      [&](db::Conn& c) { return services::GetService(c, std::stoll(id)); });
  ASSERT_TRUE(service && *service);
  EXPECT_EQ((*service)->name, "高龄津贴申领");
  EXPECT_EQ((*service)->materials.size(), 1u);

  auto retired = PostFormWithCsrf(editor, "/admin/services/" + id + "/retire", {{"retired", "1"}});
  ASSERT_EQ(retired.status, 303);
  auto list = editor.Get("/admin/services");
  EXPECT_TRUE(Has(list.body, "高龄津贴申领"));
  EXPECT_TRUE(Has(list.body, "已停办"));
  auto restored = PostFormWithCsrf(editor, "/admin/services/" + id + "/retire", {{"retired", "0"}});
  ASSERT_EQ(restored.status, 303);
  EXPECT_TRUE(Has(editor.Get(restored.Header("Location")).body, "事项已恢复办理"));

  // An editor of a village cannot open or change a town window's service.
  auto village = SignedIn("editor_v1");
  EXPECT_EQ(village.Get("/admin/services/" + id + "/edit").status, 404);
  EXPECT_EQ(PostMultipart(village, "/admin/services/" + id + "/edit",
                          {{"_csrf", CsrfToken(village)}, {"name", "改名"}})
                .status,
            404);
  EXPECT_FALSE(Has(village.Get("/admin/services").body, "高龄津贴申领"));
  EXPECT_EQ(editor.Get("/admin/services/999999/edit").status, 404);
}

TEST_P(ServicesAdminTest, ASampleIsKeptAcrossTriesAndOneTheSweepTookIsAskedForAgain) {
  const std::string pdf = "%PDF-1.4\n高龄津贴申请表（样表）\n%%EOF\n";
  auto editor = SignedIn("editor1");
  auto page = editor.Get("/admin/services/new");
  Headers form = ValidForm(page.body, 1);
  for (auto& [k, v] : form) {
    if (k == "promised_days") v = "40";  // longer than the statutory 20: refused
  }
  auto first =
      editor.Post("/admin/services/new", Multipart(form, {{"materials.0.sample", "样表.pdf", pdf}}),
                  std::string("multipart/form-data; boundary=") + kBoundary);
  ASSERT_EQ(first.status, 422) << first.body.substr(0, 2000);
  const std::string sha = InputValue(first.body, "materials.0.sample_sha256");
  ASSERT_EQ(sha, files::Sha256Hex(pdf));
  Headers carried = ValidForm(first.body, 1);
  for (const char* field : {"sample_sha256", "sample_name", "sample_type", "sample_sig"}) {
    const std::string name = std::string("materials.0.") + field;
    carried.push_back({name, InputValue(first.body, name)});
  }

  // The form lay open past files.keep_unreferenced_days and the sweep took the upload.
  ASSERT_TRUE(std::filesystem::remove(server_->app().files().PathOf(sha)));
  auto gone = PostMultipart(editor, "/admin/services/new", carried);
  ASSERT_EQ(gone.status, 422) << gone.body.substr(0, 2000);
  EXPECT_TRUE(Has(gone.body, "样表文件已不在文件存储中，请重新上传"));
  EXPECT_TRUE(Has(gone.body, "value=\"高龄津贴申请\""));

  // Uploaded again, it is saved with its material, and kept by the next edit.
  auto saved =
      editor.Post("/admin/services/new",
                  Multipart(ValidForm(gone.body, 1), {{"materials.0.sample", "样表.pdf", pdf}}),
                  std::string("multipart/form-data; boundary=") + kBoundary);
  ASSERT_EQ(saved.status, 303) << saved.body.substr(0, 2000);
  auto edit = editor.Get(saved.Header("Location"));
  EXPECT_EQ(InputValue(edit.body, "materials.0.sample_sha256"), sha);
  EXPECT_TRUE(server_->app().files().Exists(sha));
}

// The public catalogue is cached for anonymous visitors (site.page_cache_ttl_ms); an edit or a
// retirement shows there at once, not after the cache's time-to-live.
TEST_P(ServicesAdminTest, CatalogueEditsReachTheCachedPublicPagesAtOnce) {
  auto editor = SignedIn("editor1");
  auto page = editor.Get("/admin/services/new");
  auto created = PostMultipart(editor, "/admin/services/new", ValidForm(page.body));
  ASSERT_EQ(created.status, 303) << created.body.substr(0, 3000);
  std::smatch m;
  const std::string location = created.Header("Location");
  ASSERT_TRUE(
      std::regex_match(location, m, std::regex("/admin/services/([0-9]+)/edit\\?done=created")));
  const std::string id = m[1];

  HttpClient visitor = server_->Client();
  auto before = visitor.Get("/services/T-MZ-009");
  ASSERT_EQ(before.status, 200);
  EXPECT_TRUE(Has(before.body, "高龄津贴申请"));
  EXPECT_TRUE(Has(visitor.Get("/services").body, "高龄津贴申请"));  // now both pages are cached

  Headers changed = ValidForm(editor.Get(location).body);
  for (auto& [k, v] : changed) {
    if (k == "name") v = "高龄津贴申领";
  }
  ASSERT_EQ(PostMultipart(editor, "/admin/services/" + id + "/edit", changed).status, 303);
  auto after = visitor.Get("/services/T-MZ-009");
  ASSERT_EQ(after.status, 200);
  EXPECT_TRUE(Has(after.body, "高龄津贴申领"));
  EXPECT_FALSE(Has(after.body, "高龄津贴申请"));
  EXPECT_TRUE(Has(visitor.Get("/services").body, "高龄津贴申领"));

  ASSERT_EQ(
      PostFormWithCsrf(editor, "/admin/services/" + id + "/retire", {{"retired", "1"}}).status,
      303);
  EXPECT_FALSE(Has(visitor.Get("/services").body, "高龄津贴申领"));
}

TEST_P(ServicesAdminTest, OnlyAdminsChangeTheCalendar) {
  auto editor = SignedIn("editor1");
  EXPECT_EQ(editor.Get("/admin/calendar").status, 403);
  EXPECT_EQ(PostFormWithCsrf(editor, "/admin/calendar/day",
                             {{"date", "2026-12-24"}, {"kind", "holiday"}, {"name", "平安夜"}})
                .status,
            403);
  auto admin = SignedIn("admin1");
  auto page = admin.Get("/admin/calendar?year=2026");
  ASSERT_EQ(page.status, 200);
  EXPECT_TRUE(Has(page.body, "国庆节"));
  EXPECT_TRUE(Has(page.body, "id=\"day-2026-10-01\""));
}

TEST_P(ServicesAdminTest, AdminAddsRemovesAndImportsDaysAndDeadlinesFollow) {
  auto admin = SignedIn("admin1");
  auto bad = PostFormWithCsrf(admin, "/admin/calendar/day",
                              {{"date", "2026-02-30"}, {"kind", "holiday"}, {"name", "镇庆"}});
  ASSERT_EQ(bad.status, 422);
  EXPECT_TRUE(Has(bad.body, "id=\"date-error\""));
  EXPECT_TRUE(Has(bad.body, "value=\"镇庆\""));
  EXPECT_TRUE(Has(bad.body, "value=\"2026-02-30\""));

  auto added = PostFormWithCsrf(admin, "/admin/calendar/day",
                                {{"date", "2026-12-01"}, {"kind", "holiday"}, {"name", "镇庆"}});
  ASSERT_EQ(added.status, 303);
  EXPECT_EQ(added.Header("Location"), "/admin/calendar?year=2026&done=saved");
  auto page = admin.Get(added.Header("Location"));
  EXPECT_TRUE(Has(page.body, "id=\"day-2026-12-01\""));
  EXPECT_TRUE(Has(page.body, "镇庆"));
  // The edit form comes filled in.
  auto edit = admin.Get("/admin/calendar?year=2026&edit=2026-12-01");
  EXPECT_TRUE(Has(edit.body, "name=\"name\" value=\"镇庆\""));

  // The calendar every deadline is counted on has the new holiday: the next working day after
  // Monday 2026-11-30 is now Wednesday.
  auto cache = std::make_shared<calendar::CalendarCache>(server_->app().db());
  auto cal = cache->Get();
  ASSERT_TRUE(cal);
  EXPECT_EQ(FormatDate(cal->AddWorkingDays(Date{2026, 11, 30}, 1)), "2026-12-02");

  auto removed = PostFormWithCsrf(admin, "/admin/calendar/2026-12-01/delete", {});
  ASSERT_EQ(removed.status, 303);
  EXPECT_FALSE(Has(admin.Get("/admin/calendar?year=2026").body, "id=\"day-2026-12-01\""));
  EXPECT_EQ(PostFormWithCsrf(admin, "/admin/calendar/2026-12-01/delete", {}).status, 404);

  auto form = admin.Get("/admin/calendar?year=2027");
  auto broken = admin.Post(
      "/admin/calendar/import?year=2027",
      Multipart({{"_csrf", CsrfFromPage(form.body)}},
                {{"file", "2027.csv",
                  "date,kind,name\n2027-01-01,holiday,元旦\n2027-13-01,holiday,坏日子\n"}}),
      std::string("multipart/form-data; boundary=") + kBoundary);
  ASSERT_EQ(broken.status, 422);
  EXPECT_TRUE(Has(broken.body, "id=\"file-error\""));
  EXPECT_TRUE(Has(broken.body, "3"));
  EXPECT_TRUE(Has(broken.body, "id=\"calendar-empty\""));  // nothing imported

  auto imported = admin.Post(
      "/admin/calendar/import?year=2027",
      Multipart({{"_csrf", CsrfFromPage(form.body)}},
                {{"file", "2027.csv",
                  "\xEF\xBB\xBF"
                  "date,kind,name\n2027-01-01,holiday,元旦\n2027-02-07,workday,春节调休上班\n"}}),
      std::string("multipart/form-data; boundary=") + kBoundary);
  ASSERT_EQ(imported.status, 303) << imported.body.substr(0, 2000);
  auto year = admin.Get(imported.Header("Location"));
  EXPECT_TRUE(Has(year.body, "已导入 2 天"));
  EXPECT_TRUE(Has(year.body, "春节调休上班"));
  EXPECT_TRUE(Has(year.body, "id=\"day-2027-02-07\""));
}

// A calendar edit moves the stored deadline of cases already running, not only of new ones:
// a case applied for on Monday 2026-11-30 with 10 promised working days is due on 2026-12-14;
// a holiday on 2026-12-01 makes it 2026-12-15, and removing the holiday makes it 12-14 again.
// The same for the follow-up of a case rated 不满意 that Monday (5 working days: 12-07, 12-08
// with the holiday); the page says how many of each moved, naming only what moved.
TEST_P(ServicesAdminTest, CalendarEditsMoveTheDeadlinesOfRunningCasesAndFollowUps) {
  auto& db = server_->app().db();
  auto keys = server_->app().people_keys();
  const Clock& clock = server_->clock();
  const audit::Actor actor{std::nullopt, "test", "", ""};
  auth::Principal editor;
  editor.user_id = 1;
  editor.login = "editor";
  editor.grants.push_back({Role::kEditor, Scope::kSubtree, tree_.town, tree_.town_path});
  auth::Principal clerk;
  clerk.user_id = 2;
  clerk.login = "clerk";
  clerk.display_name = "王窗口";
  clerk.unit_id = tree_.window;
  clerk.grants.push_back({Role::kClerk, Scope::kUnit, tree_.window, tree_.window_path});
  // 受理 and 办结 by the window's clerk.
  auto complete = [&](db::Conn& c, const services::Deps& deps, const std::string& n) -> Status {
    for (auto step :
         {services::TransitionInput{.action = services::Action::kAccept},
          services::TransitionInput{.action = services::Action::kComplete, .result = "准予救助"}}) {
      auto s = services::Transition(c, deps, actor, &clerk, n, step);
      if (!s) return std::move(s).error();
    }
    return {};
  };
  std::string rated;
  auto number = db.WriteSync<std::string>([&](db::Conn& c) -> Result<std::string> {
    auto cal = calendar::Load(c);
    if (!cal) return std::move(cal).error();
    const services::Deps deps{clock, *keys, *cal, 2, 5};
    services::ServiceInput in;
    in.code = "T-MZ-010";
    in.name = "临时救助申请";
    in.category = "行政给付";
    in.unit_id = tree_.window;
    in.statutory_days = "20";
    in.promised_days = "10";
    in.place = "镇政务服务中心";
    in.online = true;
    auto service = services::CreateService(c, deps, actor, &editor, in);
    if (!service) return std::move(service).error();
    services::ApplyInput a;
    a.service_id = service->id;
    a.channel = services::Channel::kOnline;
    a.name = "黄二妹";
    a.id_card = "450981199003071237";
    a.phone = "13812345678";
    a.village_id = tree_.village1;
    auto made = services::Apply(c, deps, actor, nullptr, a);
    if (!made) return std::move(made).error();
    a.id_card = "450981199103071234";
    auto other = services::Apply(c, deps, actor, nullptr, a);
    if (!other) return std::move(other).error();
    if (auto s = complete(c, deps, other->number); !s) return std::move(s).error();
    auto r = services::RateCase(c, deps, actor, nullptr, other->number, "5678", 2, "");
    if (!r) return std::move(r).error();
    if (!r->followup) return Error::Internal("no follow-up");
    rated = other->number;
    return made->number;
  });
  ASSERT_TRUE(number) << number.error().message;
  auto due_day = [&]() {
    auto d = db.ReadSync<std::string>([&](db::Conn& c) -> Result<std::string> {
      auto row = c.QueryOne("SELECT due_day FROM services_cases WHERE number = $1", {*number});
      if (!row) return std::move(row).error();
      if (!*row) return Error::NotFound();
      return (*row)->OptText(0).value_or("");
    });
    return d ? *d : d.error().message;
  };
  auto followup_due = [&]() {
    auto d = db.ReadSync<std::string>([&](db::Conn& c) -> Result<std::string> {
      auto row = c.QueryOne(
          "SELECT f.due_day FROM services_followups f JOIN services_cases c ON c.id = f.case_id "
          "WHERE c.number = $1",
          {rated});
      if (!row) return std::move(row).error();
      if (!*row) return Error::NotFound();
      return (*row)->Text(0);
    });
    return d ? *d : d.error().message;
  };
  ASSERT_EQ(due_day(), "2026-12-14");
  ASSERT_EQ(followup_due(), "2026-12-07");

  auto admin = SignedIn("admin1");
  auto added = PostFormWithCsrf(admin, "/admin/calendar/day",
                                {{"date", "2026-12-01"}, {"kind", "holiday"}, {"name", "镇庆"}});
  ASSERT_EQ(added.status, 303);
  EXPECT_EQ(due_day(), "2026-12-15");
  EXPECT_EQ(followup_due(), "2026-12-08");
  EXPECT_TRUE(Has(admin.Get(added.Header("Location")).body,
                  "1 件在办办件、1 件回访整改的期限已按新日历重新计算。"));

  // A holiday after the deadline changes nothing, and says so by saying nothing.
  auto later = PostFormWithCsrf(admin, "/admin/calendar/day",
                                {{"date", "2026-12-28"}, {"kind", "holiday"}, {"name", "镇庆"}});
  ASSERT_EQ(later.status, 303);
  EXPECT_EQ(due_day(), "2026-12-15");
  EXPECT_EQ(followup_due(), "2026-12-08");
  EXPECT_FALSE(Has(admin.Get(later.Header("Location")).body, "已按新日历重新计算"));

  // A holiday only the case's window holds, with a page that names only the case.
  auto only_case =
      PostFormWithCsrf(admin, "/admin/calendar/day",
                       {{"date", "2026-12-10"}, {"kind", "holiday"}, {"name", "镇庆"}});
  ASSERT_EQ(only_case.status, 303);
  EXPECT_EQ(due_day(), "2026-12-16");
  EXPECT_EQ(followup_due(), "2026-12-08");
  EXPECT_TRUE(Has(admin.Get(only_case.Header("Location")).body,
                  "role=\"status\">已保存。1 件在办办件的办理期限已按新日历重新计算。</div>"));

  auto removed = PostFormWithCsrf(admin, "/admin/calendar/2026-12-01/delete", {});
  ASSERT_EQ(removed.status, 303);
  EXPECT_EQ(due_day(), "2026-12-15");
  EXPECT_EQ(followup_due(), "2026-12-07");
  EXPECT_TRUE(Has(admin.Get(removed.Header("Location")).body,
                  "1 件在办办件、1 件回访整改的期限已按新日历重新计算。"));

  // Once the case is completed, only the follow-up is left to move, and the page says only that.
  ASSERT_TRUE(db.WriteSync<std::string>([&](db::Conn& c) -> Result<std::string> {
    auto cal = calendar::Load(c);
    if (!cal) return std::move(cal).error();
    const services::Deps deps{clock, *keys, *cal, 2, 5};
    if (auto s = complete(c, deps, *number); !s) return std::move(s).error();
    return *number;
  }));
  auto only_followup =
      PostFormWithCsrf(admin, "/admin/calendar/day",
                       {{"date", "2026-12-02"}, {"kind", "holiday"}, {"name", "镇庆"}});
  ASSERT_EQ(only_followup.status, 303);
  EXPECT_EQ(followup_due(), "2026-12-08");
  EXPECT_TRUE(Has(admin.Get(only_followup.Header("Location")).body,
                  "role=\"status\">已保存。1 件回访整改的期限已按新日历重新计算。</div>"));
}

INSTANTIATE_TEST_SUITE_P(Http, ServicesAdminTest, AllBackends(), BackendParamName);

}  // namespace
}  // namespace zhenwu::testing
