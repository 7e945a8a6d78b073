// The staff desks of 政务服务 over real HTTP, on both databases: the clerk's queue (counts,
// deadline badges, search, keyset paging), the case page and its actions (受理 in one click,
// a stale or repeated click answered once or with a clear 409, 不予受理 needing a reason,
// 一次性告知 补正, 移交, 办结), the village cadre's 代办 desk and re-submission, walk-in
// applications, the leader's overview, follow-ups after a bad rating, and the Excel/CSV ledgers.
// Scoping: the neighbour village's cadre and another window's clerk get 404; the leader sees every
// window.

#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <set>

#include "app/app.hpp"
#include "calendar/store.hpp"
#include "people/keys.hpp"
#include "services/service.hpp"
#include "support/services_fixture.hpp"

namespace zhenwu::testing {
namespace {

using auth::Role;
using auth::Scope;

constexpr const char* kPhone = "13812345678";
const std::string kPdf = "%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";
constexpr int64_t kDayMs = int64_t{24} * 3600 * 1000;

// Valid ID-card numbers (check digit right), one per applicant.
std::string IdCard(int n) {
  std::string base = "45098119900307" + std::to_string(1000 + n % 9000).substr(1);
  base = base.substr(0, 17);
  static const int kWeights[] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  static const char kCheck[] = "10X98765432";
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += (base[static_cast<std::size_t>(i)] - '0') * kWeights[i];
  return base + kCheck[sum % 11];
}

struct Part {
  std::string name;
  std::string value;
  std::optional<std::string> filename;
  std::string type = "application/octet-stream";
};

constexpr const char* kBoundary = "----zwdeskboundary5kQ2LxTr";

HttpResponse PostMultipart(HttpClient& client, const std::string& path,
                           const std::vector<Part>& parts) {
  std::string body;
  for (const auto& p : parts) {
    body += std::string("--") + kBoundary + "\r\n";
    body += "Content-Disposition: form-data; name=\"" + p.name + "\"";
    if (p.filename) body += "; filename=\"" + *p.filename + "\"";
    body += "\r\n";
    if (p.filename) body += "Content-Type: " + p.type + "\r\n";
    body += "\r\n" + p.value + "\r\n";
  }
  body += std::string("--") + kBoundary + "--\r\n";
  return client.Post(path, body, std::string("multipart/form-data; boundary=") + kBoundary);
}

// The value attribute of the first input named `name`, "" when absent.
std::string InputValue(const std::string& html, const std::string& name) {
  std::smatch m;
  std::regex re("name=\"" + name + "\" value=\"([^\"]*)\"");
  if (std::regex_search(html, m, re)) return m[1];
  return "";
}

bool Has(const std::string& body, const std::string& needle) {
  return body.find(needle) != std::string::npos;
}

class ServicesDeskTest : public ServicesHttpTest {
 protected:
  void SetUp() override {
    StartServer();
    if (IsSkipped() || HasFatalFailure()) return;
    editor_ = AddStaff("editor1", "刘信息员", Role::kEditor, Scope::kSubtree, tree_.town,
                       tree_.town_path);
    clerk_ =
        AddStaff("clerk1", "王窗口", Role::kClerk, Scope::kUnit, tree_.window, tree_.window_path);
    clerk_v1_ = AddStaff("clerk_v1", "村窗口员", Role::kClerk, Scope::kUnit, tree_.village1_window,
                         tree_.village1_window_path);
    cadre1_ = AddStaff("cadre1", "张村干", Role::kVillageCadre, Scope::kSubtree, tree_.village1,
                       tree_.village1_path);
    cadre2_ = AddStaff("cadre2", "陈村干", Role::kVillageCadre, Scope::kSubtree, tree_.village2,
                       tree_.village2_path);
    leader_ =
        AddStaff("leader1", "李镇长", Role::kLeader, Scope::kSubtree, tree_.town, tree_.town_path);

    services::ServiceInput in;
    in.code = "T-MZ-001";
    in.name = "最低生活保障申请";
    in.category = "行政给付";
    in.unit_id = tree_.window;
    in.statutory_days = "30";
    in.promised_days = "10";
    in.online = true;
    in.proxy = true;
    in.materials = {{.name = "居民身份证", .form = "copy", .copies = 1, .required = true},
                    {.name = "户口簿", .form = "copy", .copies = 1, .required = false}};
    auto made = WithDeps<services::Service>([&](db::Conn& c, const services::Deps& d) {
      return services::CreateService(c, d, Actor(), &editor_, in);
    });
    ASSERT_TRUE(made) << made.error().message;
    service_ = *made;
  }

  // An application through the service layer (the citizen side is tested elsewhere):
  // online (who = null) or 代办 by `agent`.
  std::string NewCase(const std::string& name, int n, const auth::Principal* agent = nullptr,
                      int64_t village = 0) {
    services::ApplyInput in;
    in.service_id = service_.id;
    in.channel = agent ? services::Channel::kProxy : services::Channel::kOnline;
    in.name = name;
    in.id_card = IdCard(n);
    in.phone = kPhone;
    in.village_id = village ? village : tree_.village1;
    in.description = "申请低保";
    in.files = {{service_.materials[0].id,
                 "0000000000000000000000000000000000000000000000000000000000000001", "身份证.pdf",
                 "application/pdf", 1234}};
    auto made = WithDeps<services::ServiceCase>([&](db::Conn& c, const services::Deps& d) {
      return services::Apply(c, d, Actor(), agent, in);
    });
    EXPECT_TRUE(made) << made.error().message;
    return made ? made->number : "";
  }

  Result<services::ServiceCase> Step(const std::string& number, services::Action action,
                                     const auth::Principal& who, std::string note = "",
                                     std::string result = "") {
    services::TransitionInput in;
    in.action = action;
    in.note = std::move(note);
    in.result = std::move(result);
    if (action == services::Action::kRequestCorrection) {
      in.corrections = {{service_.materials[0].id, "", "复印件不清晰"}};
    }
    return WithDeps<services::ServiceCase>([&](db::Conn& c, const services::Deps& d) {
      return services::Transition(c, d, Actor(), &who, number, in);
    });
  }

  // POSTs a case page's form: the page's _csrf and _once plus `fields`.
  HttpResponse PostFromPage(HttpClient& client, const std::string& page_path,
                            const std::string& action_path, Headers fields) {
    auto page = client.Get(page_path);
    EXPECT_EQ(page.status, 200) << page_path;
    fields.insert(fields.begin(), {"_once", InputValue(page.body, "_once")});
    fields.insert(fields.begin(), {"_csrf", CsrfFromPage(page.body)});
    return client.PostForm(action_path, fields);
  }

  std::string CasePath(const std::string& number) const { return "/desk/cases/" + number; }

  int64_t CaseCount() {
    auto n = server_->app().db().ReadSync<int64_t>([](db::Conn& c) -> Result<int64_t> {
      auto row = c.QueryOne("SELECT COUNT(*) FROM services_cases");
      if (!row) return std::move(row).error();
      return (*row)->Int(0);
    });
    return n ? *n : -1;
  }

  auth::Principal editor_, clerk_, clerk_v1_, cadre1_, cadre2_, leader_;
  services::Service service_;
};

TEST_P(ServicesDeskTest, DeskSendsEachRoleToItsPage) {
  EXPECT_EQ(server_->Client().Get("/desk").Header("Location").rfind("/login", 0), 0u);
  auto clerk = SignedIn("clerk1");
  EXPECT_EQ(clerk.Get("/desk").Header("Location"), "/desk/cases");
  auto cadre = SignedIn("cadre1");
  EXPECT_EQ(cadre.Get("/desk").Header("Location"), "/desk/proxy");
  auto leader = SignedIn("leader1");
  EXPECT_EQ(leader.Get("/desk").Header("Location"), "/desk/overview");
  auto editor = SignedIn("editor1");
  EXPECT_EQ(editor.Get("/desk").Header("Location"), "/admin/services");
  EXPECT_EQ(editor.Get("/desk/cases").status, 403);
}

TEST_P(ServicesDeskTest, QueueShowsTheWindowsCasesWithCountsAndDeadlineBadges) {
  const std::string a = NewCase("黄二妹", 1);
  const std::string b = NewCase("韦小宝", 2);
  ASSERT_TRUE(Step(b, services::Action::kAccept, clerk_));

  auto clerk = SignedIn("clerk1");
  auto res = clerk.Get("/desk/cases");
  ASSERT_EQ(res.status, 200);
  EXPECT_TRUE(Has(res.body, a));
  EXPECT_TRUE(Has(res.body, b));
  EXPECT_TRUE(Has(res.body, "民政办"));
  EXPECT_TRUE(Has(res.body, "138****5678"));
  EXPECT_FALSE(Has(res.body, kPhone));
  // One waiting, one being handled; nothing late yet.
  EXPECT_TRUE(std::regex_search(
      res.body, std::regex("id=\"count-submitted\"[^>]*><span class=\"desk-count-n\">1<")));
  EXPECT_TRUE(std::regex_search(
      res.body, std::regex("id=\"count-accepted\"[^>]*><span class=\"desk-count-n\">1<")));
  EXPECT_TRUE(std::regex_search(
      res.body, std::regex("id=\"count-overdue\"><span class=\"desk-count-n\">0<")));

  // Eight working days on (Thursday 2026-12-10): both due 2026-12-14, two working days left.
  server_->clock().Advance(10 * kDayMs);
  clerk = SignedIn("clerk1");  // the session expired meanwhile
  res = clerk.Get("/desk/cases");
  ASSERT_EQ(res.status, 200);
  EXPECT_TRUE(Has(res.body, "badge badge-due-soon"));
  EXPECT_TRUE(Has(res.body, "剩余 2 个工作日"));
  EXPECT_TRUE(std::regex_search(
      res.body, std::regex("id=\"count-due-soon\"><span class=\"desk-count-n\">2<")));

  // Past the deadline: 超期, and the overdue filter lists them.
  server_->clock().Advance(7 * kDayMs);
  clerk = SignedIn("clerk1");
  res = clerk.Get("/desk/cases?due=overdue");
  ASSERT_EQ(res.status, 200);
  EXPECT_TRUE(Has(res.body, "badge badge-overdue"));
  EXPECT_TRUE(Has(res.body, "已超期"));
  EXPECT_TRUE(Has(res.body, a));
  EXPECT_TRUE(std::regex_search(
      res.body, std::regex("id=\"count-overdue\"><span class=\"desk-count-n\">2<")));
  auto detail = clerk.Get(CasePath(a));
  ASSERT_EQ(detail.status, 200);
  EXPECT_TRUE(Has(detail.body, "2026-12-14"));
  EXPECT_TRUE(Has(detail.body, "badge badge-overdue"));
}

TEST_P(ServicesDeskTest, QueueSearchesByNumberNameAndPhone) {
  const std::string a = NewCase("黄二妹", 1);
  const std::string b = NewCase("韦小宝", 2);
  auto clerk = SignedIn("clerk1");
  auto by_number = clerk.Get("/desk/cases?q=" + a);
  ASSERT_EQ(by_number.status, 200);
  EXPECT_TRUE(Has(by_number.body, a));
  EXPECT_FALSE(Has(by_number.body, b));
  auto by_name = clerk.Get("/desk/cases?q=" + http::PercentEncode("小宝"));
  EXPECT_FALSE(Has(by_name.body, a));
  EXPECT_TRUE(Has(by_name.body, b));
  auto by_phone = clerk.Get(std::string("/desk/cases?q=") + kPhone);
  EXPECT_TRUE(Has(by_phone.body, a));
  EXPECT_TRUE(Has(by_phone.body, b));
  auto nobody = clerk.Get("/desk/cases?q=" + http::PercentEncode("<script>无此人"));
  ASSERT_EQ(nobody.status, 200);
  EXPECT_TRUE(Has(nobody.body, "id=\"queue-empty\""));
  EXPECT_FALSE(Has(nobody.body, "<script>无此人"));
  auto bad_date = clerk.Get("/desk/cases?from=yesterday");
  EXPECT_EQ(bad_date.status, 422);
  EXPECT_TRUE(Has(bad_date.body, "日期格式应为"));
  EXPECT_TRUE(Has(bad_date.body, "value=\"yesterday\""));
}

TEST_P(ServicesDeskTest, QueuePagesByKeysetWithoutRepeats) {
  std::vector<std::string> numbers;
  for (int i = 0; i < 53; ++i) numbers.push_back(NewCase("申请人" + std::to_string(i), 100 + i));
  auto clerk = SignedIn("clerk1");
  std::set<std::string> seen;
  std::string path = "/desk/cases";
  int pages = 0;
  std::regex number_re("href=\"/desk/cases/(T-PZ-[0-9]{8}-[0-9]+)\"");
  std::regex next_re("href=\"(/desk/cases\\?[^\"]*after=[^\"]+)\" rel=\"next\"");
  while (!path.empty() && pages < 5) {
    auto res = clerk.Get(path);
    ASSERT_EQ(res.status, 200) << path;
    ++pages;
    for (auto it = std::sregex_iterator(res.body.begin(), res.body.end(), number_re);
         it != std::sregex_iterator(); ++it) {
      EXPECT_TRUE(seen.insert((*it)[1]).second) << "repeated " << (*it)[1];
    }
    std::smatch m;
    path = std::regex_search(res.body, m, next_re)
               ? std::regex_replace(std::string(m[1]), std::regex("&amp;"), "&")
               : "";
  }
  EXPECT_EQ(pages, 2);
  EXPECT_EQ(seen.size(), numbers.size());
  auto junk = clerk.Get("/desk/cases?after=garbage");
  EXPECT_EQ(junk.status, 422);
  EXPECT_TRUE(Has(junk.body, "翻页参数无效"));
}

TEST_P(ServicesDeskTest, OtherWindowsClerkAndNeighbourCadreGet404LeaderSeesAll) {
  const std::string online = NewCase("黄二妹", 1);
  const std::string proxy = NewCase("韦小宝", 2, &cadre1_, tree_.village1);

  auto other = SignedIn("clerk_v1");
  for (const auto& n : {online, proxy}) {
    EXPECT_EQ(other.Get(CasePath(n)).status, 404);
  }
  auto list = other.Get("/desk/cases");
  ASSERT_EQ(list.status, 200);
  EXPECT_FALSE(Has(list.body, online));
  auto csv = other.Get("/desk/cases.csv?status=all");
  ASSERT_EQ(csv.status, 200);
  EXPECT_FALSE(Has(csv.body, online));
  auto refused =
      PostFormWithCsrf(other, CasePath(online) + "/accept",
                       {{"expect_status", "submitted"}, {"_once", "abcdefghijklmnopqrstuv"}});
  EXPECT_EQ(refused.status, 404);

  auto neighbour = SignedIn("cadre2");
  auto page = neighbour.Get(CasePath(proxy));
  EXPECT_EQ(page.status, 404);
  EXPECT_FALSE(Has(page.body, "韦小宝"));
  auto desk = neighbour.Get("/desk/proxy");
  ASSERT_EQ(desk.status, 200);
  EXPECT_FALSE(Has(desk.body, proxy));

  auto own = SignedIn("cadre1");
  auto mine = own.Get("/desk/proxy");
  ASSERT_EQ(mine.status, 200);
  EXPECT_TRUE(Has(mine.body, proxy));
  EXPECT_FALSE(Has(mine.body, online));
  EXPECT_EQ(own.Get(CasePath(proxy)).status, 200);

  auto leader = SignedIn("leader1");
  auto all = leader.Get("/desk/cases");
  ASSERT_EQ(all.status, 200);
  EXPECT_TRUE(Has(all.body, online));
  EXPECT_TRUE(Has(all.body, proxy));
  auto lp = leader.Get(CasePath(proxy));
  ASSERT_EQ(lp.status, 200);
  EXPECT_TRUE(Has(lp.body, "您可以查看此办件，但不能办理"));
  EXPECT_FALSE(Has(lp.body, "id=\"form-accept\""));
  EXPECT_EQ(PostFormWithCsrf(leader, CasePath(proxy) + "/accept",
                             {{"expect_status", "submitted"}, {"_once", "abcdefghijklmnopqrstuw"}})
                .status,
            403);
}

TEST_P(ServicesDeskTest, CasePageShowsMaskedApplicantMaterialsHistoryAndDeadline) {
  const std::string n = NewCase("黄二妹", 1);
  auto clerk = SignedIn("clerk1");
  auto res = clerk.Get(CasePath(n));
  ASSERT_EQ(res.status, 200);
  for (const char* text : {"黄二妹", "138****5678", "最低生活保障申请", "居民身份证", "身份证.pdf",
                           "/files/case/", "申请", "2026-11-30", "10 个工作日", "2026-12-14",
                           "id=\"form-accept\"", "id=\"form-reject\"", "id=\"form-correct\""}) {
    EXPECT_TRUE(Has(res.body, text)) << text;
  }
  EXPECT_FALSE(Has(res.body, kPhone));
  EXPECT_FALSE(Has(res.body, IdCard(1)));
  // 办结 is not offered before 受理.
  EXPECT_FALSE(Has(res.body, "id=\"form-complete\""));
  EXPECT_EQ(clerk.Get(CasePath("T-PZ-20261130-9999")).status, 404);
}

TEST_P(ServicesDeskTest, AcceptIsOneClickAndAStaleOrRepeatedClickActsOnce) {
  const std::string n = NewCase("黄二妹", 1);
  auto clerk = SignedIn("clerk1");
  auto page = clerk.Get(CasePath(n));
  ASSERT_EQ(page.status, 200);
  const std::string csrf = CsrfFromPage(page.body);
  const std::string once = InputValue(page.body, "_once");
  ASSERT_FALSE(once.empty());
  const Headers form = {{"_csrf", csrf}, {"_once", once}, {"expect_status", "submitted"}};
  auto first = clerk.PostForm(CasePath(n) + "/accept", form);
  ASSERT_EQ(first.status, 303) << first.body.substr(0, 2000);
  EXPECT_EQ(first.Header("Location"), CasePath(n) + "?done=accept");
  // The same form sent again (a double click): the same answer, nothing done twice.
  auto again = clerk.PostForm(CasePath(n) + "/accept", form);
  EXPECT_EQ(again.status, 303);
  EXPECT_EQ(again.Header("Location"), CasePath(n) + "?done=accept");
  auto after = clerk.Get(CasePath(n) + "?done=accept");
  EXPECT_TRUE(Has(after.body, "已受理，开始计时"));
  EXPECT_TRUE(Has(after.body, "办理中"));
  const std::regex accepted("<strong>受理</strong>");
  EXPECT_EQ(std::distance(std::sregex_iterator(after.body.begin(), after.body.end(), accepted),
                          std::sregex_iterator()),
            1);

  // A page opened before the case was accepted (fresh token, old status): a clear 409.
  auto stale = clerk.PostForm(CasePath(n) + "/accept", {{"_csrf", csrf},
                                                        {"_once", InputValue(after.body, "_once")},
                                                        {"expect_status", "submitted"}});
  EXPECT_EQ(stale.status, 409);
  EXPECT_TRUE(Has(stale.body, "办件状态已变为“办理中”，请刷新后再操作"));
  // An illegal step without the check: 409 naming the current status.
  auto page2 = clerk.Get(CasePath(n));
  auto illegal = clerk.PostForm(
      CasePath(n) + "/reject",
      {{"_csrf", csrf}, {"_once", InputValue(page2.body, "_once")}, {"reason", "材料不全"}});
  EXPECT_EQ(illegal.status, 409);
  EXPECT_TRUE(Has(illegal.body, "办件当前为“办理中”，不能不予受理"));
  EXPECT_EQ(clerk.PostForm(CasePath(n) + "/fly", {{"_csrf", csrf}}).status, 404);
}

TEST_P(ServicesDeskTest, RejectWithoutAReasonKeepsTheFormWithTheMessageBesideTheField) {
  const std::string n = NewCase("黄二妹", 1);
  auto clerk = SignedIn("clerk1");
  auto res = PostFromPage(clerk, CasePath(n), CasePath(n) + "/reject",
                          {{"expect_status", "submitted"}, {"reason", "  "}});
  ASSERT_EQ(res.status, 422);
  EXPECT_TRUE(Has(res.body, "id=\"reason-error\">请填写不予受理的理由"));
  EXPECT_TRUE(Has(res.body, "id=\"details-reject\""));
  EXPECT_TRUE(std::regex_search(
      res.body, std::regex("<details class=\"desk-action\" open id=\"details-reject\"")));

  // A transfer without a target keeps the note typed.
  auto t = PostFromPage(clerk, CasePath(n), CasePath(n) + "/transfer",
                        {{"expect_status", "submitted"}, {"note", "请村里核实"}});
  ASSERT_EQ(t.status, 422);
  EXPECT_TRUE(Has(t.body, "id=\"target_unit_id-error\""));
  EXPECT_TRUE(Has(t.body, ">请村里核实</textarea>"));

  auto ok = PostFromPage(clerk, CasePath(n), CasePath(n) + "/reject",
                         {{"expect_status", "submitted"}, {"reason", "不属于本镇管辖"}});
  ASSERT_EQ(ok.status, 303);
  auto page = clerk.Get(CasePath(n));
  EXPECT_TRUE(Has(page.body, "不予受理"));
  EXPECT_TRUE(Has(page.body, "不属于本镇管辖"));
  EXPECT_FALSE(Has(page.body, "id=\"form-accept\""));
}

TEST_P(ServicesDeskTest, CorrectionChecklistThenTheCadreResubmitsForTheVillager) {
  const std::string n = NewCase("韦小宝", 2, &cadre1_, tree_.village1);
  auto clerk = SignedIn("clerk1");
  const std::string id0 = std::to_string(service_.materials[0].id);
  const std::string id1 = std::to_string(service_.materials[1].id);
  // Nothing ticked, no note: the message beside the checklist.
  auto empty = PostFromPage(clerk, CasePath(n), CasePath(n) + "/correct",
                            {{"expect_status", "submitted"}, {"reason_" + id0, "看不清"}});
  ASSERT_EQ(empty.status, 422);
  EXPECT_TRUE(Has(empty.body, "id=\"correct-materials-error\""));
  EXPECT_TRUE(Has(empty.body, "value=\"看不清\""));

  auto asked = PostFromPage(clerk, CasePath(n), CasePath(n) + "/correct",
                            {{"expect_status", "submitted"},
                             {"item_" + id0, "1"},
                             {"reason_" + id0, "复印件不清晰"},
                             {"item_" + id1, "1"},
                             {"reason_" + id1, ""},
                             {"note", "请同时提供近三个月收入证明"}});
  ASSERT_EQ(asked.status, 303) << asked.body.substr(0, 2000);
  auto page = clerk.Get(CasePath(n));
  for (const char* text : {"待补正", "第 1 次补正", "复印件不清晰", "户口簿", "缺少或不符合要求",
                           "请同时提供近三个月收入证明", "补正中，计时暂停"}) {
    EXPECT_TRUE(Has(page.body, text)) << text;
  }

  // The cadre sees it waiting on the 代办 desk, and must upload the listed materials.
  auto cadre = SignedIn("cadre1");
  auto desk = cadre.Get("/desk/proxy");
  ASSERT_EQ(desk.status, 200);
  EXPECT_TRUE(Has(desk.body, "id=\"proxy-correcting\""));
  auto form = cadre.Get(CasePath(n));
  ASSERT_EQ(form.status, 200);
  EXPECT_TRUE(Has(form.body, "id=\"form-resubmit\""));
  EXPECT_FALSE(Has(form.body, "id=\"form-accept\""));
  auto missing = PostMultipart(cadre, CasePath(n) + "/resubmit",
                               {{"_csrf", CsrfFromPage(form.body)},
                                {"_once", InputValue(form.body, "_once")},
                                {"expect_status", "correcting"},
                                {"note", "已补交"}});
  ASSERT_EQ(missing.status, 422);
  EXPECT_TRUE(Has(missing.body, "id=\"file_" + id0 + "-error\""));
  EXPECT_TRUE(Has(missing.body, ">已补交</textarea>"));

  // The neighbour village's cadre cannot act on it.
  auto neighbour = SignedIn("cadre2");
  EXPECT_EQ(PostMultipart(neighbour, CasePath(n) + "/resubmit",
                          {{"_csrf", CsrfToken(neighbour)}, {"_once", "abcdefghijklmnopqrstuv"}})
                .status,
            404);

  // The clerk checked the papers at the window: re-submits without uploads; the clock runs on.
  auto resubmitted = PostFromPage(clerk, CasePath(n), CasePath(n) + "/resubmit",
                                  {{"expect_status", "correcting"}, {"note", "窗口已核验"}});
  ASSERT_EQ(resubmitted.status, 303) << resubmitted.body.substr(0, 2000);
  auto back = clerk.Get(CasePath(n));
  EXPECT_TRUE(Has(back.body, "待受理"));
  EXPECT_TRUE(Has(back.body, "已补正"));
}

TEST_P(ServicesDeskTest, TheCadresUploadsAreCheckedAndAnAcceptedFileIsKeptAcrossTries) {
  const std::string n = NewCase("韦小宝", 2, &cadre1_, tree_.village1);
  services::TransitionInput ask;
  ask.action = services::Action::kRequestCorrection;
  ask.corrections = {{service_.materials[0].id, "", "复印件不清晰"},
                     {service_.materials[1].id, "", "缺户口簿首页"}};
  ASSERT_TRUE(WithDeps<services::ServiceCase>([&](db::Conn& c, const services::Deps& d) {
    return services::Transition(c, d, Actor(), &clerk_, n, ask);
  }));
  const std::string f0 = "file_" + std::to_string(service_.materials[0].id);
  const std::string f1 = "file_" + std::to_string(service_.materials[1].id);
  auto cadre = SignedIn("cadre1");
  auto form = cadre.Get(CasePath(n));
  ASSERT_EQ(form.status, 200);
  // A text file named .pdf is refused by its content; the good PDF is stored and kept.
  auto first = PostMultipart(cadre, CasePath(n) + "/resubmit",
                             {{"_csrf", CsrfFromPage(form.body)},
                              {"_once", InputValue(form.body, "_once")},
                              {"expect_status", "correcting"},
                              {f0, "just some text", "身份证.pdf", "application/pdf"},
                              {f1, kPdf, "户口簿.pdf", "application/pdf"}});
  ASSERT_EQ(first.status, 422) << first.body.substr(0, 2000);
  EXPECT_TRUE(Has(first.body, "id=\"" + f0 + "-error\""));
  EXPECT_TRUE(Has(first.body, "已上传：<strong>户口簿.pdf</strong>"));
  const std::string sha = InputValue(first.body, f1 + "_kept_sha256");
  ASSERT_EQ(sha.size(), 64u);
  // Resubmits with a clear copy for f0 and f1's file carried from the first try, signed `sig`.
  auto kept_again = [&](const std::string& once, const std::string& sig) {
    return PostMultipart(cadre, CasePath(n) + "/resubmit",
                         {{"_csrf", CsrfFromPage(form.body)},
                          {"_once", once},
                          {"expect_status", "correcting"},
                          {f0, kPdf, "身份证-清晰.pdf", "application/pdf"},
                          {f1 + "_kept_sha256", sha},
                          {f1 + "_kept_name", "户口簿.pdf"},
                          {f1 + "_kept_type", "application/pdf"},
                          {f1 + "_kept_size", InputValue(first.body, f1 + "_kept_size")},
                          {f1 + "_kept_sig", sig}});
  };
  const std::string sig = InputValue(first.body, f1 + "_kept_sig");
  // A forged kept file (a signature that does not match) is ignored.
  auto forged = kept_again(InputValue(first.body, "_once"), "forged");
  ASSERT_EQ(forged.status, 422);
  EXPECT_TRUE(Has(forged.body, "id=\"" + f1 + "-error\""));
  // A kept file that is no longer stored (the sweep of unreferenced files took it after the
  // form lay open for days) is not taken: its material is asked for again, beside its input.
  files::FileStore& store = server_->app().files();
  ASSERT_TRUE(std::filesystem::remove(store.PathOf(sha)));
  auto swept = kept_again(InputValue(forged.body, "_once"), sig);
  ASSERT_EQ(swept.status, 422) << swept.body.substr(0, 2000);
  EXPECT_TRUE(Has(swept.body, "id=\"" + f1 + "-error\""));
  ASSERT_TRUE(store.Put(kPdf));  // uploaded again: the same bytes, the same hash
  auto done = kept_again(InputValue(swept.body, "_once"), sig);
  ASSERT_EQ(done.status, 303) << done.body.substr(0, 2000);
  auto page = cadre.Get(CasePath(n));
  EXPECT_TRUE(Has(page.body, "待受理"));
  EXPECT_TRUE(Has(page.body, "身份证-清晰.pdf"));
  EXPECT_TRUE(Has(page.body, "户口簿.pdf"));
  EXPECT_TRUE(Has(page.body, "第 1 次补正"));
  EXPECT_TRUE(Has(page.body, "已被补正替换"));  // the first, unclear copy
}

TEST_P(ServicesDeskTest, TransferMovesTheCaseToTheOtherWindow) {
  const std::string n = NewCase("黄二妹", 1);
  auto clerk = SignedIn("clerk1");
  auto page = clerk.Get(CasePath(n));
  ASSERT_TRUE(Has(page.body, "<option value=\"" + std::to_string(tree_.village1_window) + "\""));
  EXPECT_TRUE(Has(page.body, "<optgroup label=\"示例一村\">"));
  auto moved = PostFromPage(clerk, CasePath(n), CasePath(n) + "/transfer",
                            {{"expect_status", "submitted"},
                             {"target_unit_id", std::to_string(tree_.village1_window)},
                             {"note", "由村里办理"}});
  ASSERT_EQ(moved.status, 303);
  // Applied at the clerk's window, so still in sight there, but handled elsewhere now.
  EXPECT_EQ(moved.Header("Location"), CasePath(n) + "?done=transfer");
  auto after = clerk.Get(CasePath(n));
  ASSERT_EQ(after.status, 200);
  EXPECT_TRUE(Has(after.body, "您可以查看此办件，但不能办理"));
  EXPECT_FALSE(Has(after.body, "id=\"form-accept\""));
  auto other = SignedIn("clerk_v1");
  auto there = other.Get(CasePath(n));
  ASSERT_EQ(there.status, 200);
  EXPECT_TRUE(Has(there.body, "由民政办移交至示例一村 民政事务"));
  EXPECT_TRUE(Has(there.body, "id=\"form-accept\""));
}

TEST_P(ServicesDeskTest, CompleteThenABadRatingOpensAFollowUpTheClerkCloses) {
  const std::string n = NewCase("黄二妹", 1);
  ASSERT_TRUE(Step(n, services::Action::kAccept, clerk_));
  auto clerk = SignedIn("clerk1");
  auto page = clerk.Get(CasePath(n));
  ASSERT_TRUE(Has(page.body, "id=\"form-complete\""));
  auto no_result = PostMultipart(clerk, CasePath(n) + "/complete",
                                 {{"_csrf", CsrfFromPage(page.body)},
                                  {"_once", InputValue(page.body, "_once")},
                                  {"expect_status", "accepted"},
                                  {"result", ""}});
  ASSERT_EQ(no_result.status, 422);
  EXPECT_TRUE(Has(no_result.body, "id=\"result-error\""));
  auto done = PostMultipart(clerk, CasePath(n) + "/complete",
                            {{"_csrf", CsrfFromPage(page.body)},
                             {"_once", InputValue(no_result.body, "_once")},
                             {"expect_status", "accepted"},
                             {"result", "已批准，低保金次月发放"},
                             {"result_file_1", kPdf, "批准通知书.pdf", "application/pdf"}});
  ASSERT_EQ(done.status, 303) << done.body.substr(0, 2000);
  auto finished = clerk.Get(CasePath(n));
  EXPECT_TRUE(Has(finished.body, "已办结"));
  EXPECT_TRUE(Has(finished.body, "已批准，低保金次月发放"));
  EXPECT_TRUE(Has(finished.body, "批准通知书.pdf"));

  auto rated = WithDeps<services::ServiceCase>([&](db::Conn& c, const services::Deps& d) {
    return services::RateCase(c, d, Actor(), nullptr, n, "5678", 1, "等太久了");
  });
  ASSERT_TRUE(rated) << rated.error().message;

  auto list = clerk.Get("/desk/followups");
  ASSERT_EQ(list.status, 200);
  EXPECT_TRUE(Has(list.body, n));
  EXPECT_TRUE(Has(list.body, "非常不满意"));
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(list.body, m, std::regex("action=\"(/desk/followups/[0-9]+/close)\"")));
  const std::string close = m[1];
  auto blank = clerk.PostForm(close, {{"_csrf", CsrfFromPage(list.body)},
                                      {"_once", InputValue(list.body, "_once")},
                                      {"outcome", ""}});
  ASSERT_EQ(blank.status, 422);
  EXPECT_TRUE(Has(blank.body, "请填写回访和整改情况"));
  auto leader = SignedIn("leader1");
  EXPECT_TRUE(Has(leader.Get("/desk/followups").body, n));
  EXPECT_EQ(
      PostFormWithCsrf(leader, close, {{"outcome", "已回访"}, {"_once", "abcdefghijklmnopqrstuv"}})
          .status,
      403);
  auto closed = clerk.PostForm(close, {{"_csrf", CsrfFromPage(list.body)},
                                       {"_once", InputValue(blank.body, "_once")},
                                       {"outcome", "已电话回访，解释了审核时限并致歉"}});
  ASSERT_EQ(closed.status, 303);
  EXPECT_FALSE(Has(clerk.Get("/desk/followups").body, n));
  auto all = clerk.Get("/desk/followups?all=1");
  EXPECT_TRUE(Has(all.body, "已电话回访，解释了审核时限并致歉"));
  auto tracked = WithDeps<services::ServiceCase>([&](db::Conn& c, const services::Deps& d) {
    return services::TrackCase(c, d, nullptr, n, "5678");
  });
  ASSERT_TRUE(tracked);
  ASSERT_TRUE(tracked->followup);
  EXPECT_EQ(tracked->followup->outcome, "已电话回访，解释了审核时限并致歉");
}

TEST_P(ServicesDeskTest, OverviewCountsEveryWindowForTheLeader) {
  const std::string a = NewCase("黄二妹", 1);
  NewCase("韦小宝", 2);
  ASSERT_TRUE(Step(a, services::Action::kAccept, clerk_));
  ASSERT_TRUE(Step(a, services::Action::kComplete, clerk_, "", "已办结"));
  auto leader = SignedIn("leader1");
  auto res = leader.Get("/desk/overview");
  ASSERT_EQ(res.status, 200);
  EXPECT_TRUE(Has(res.body, "民政办"));
  EXPECT_TRUE(Has(res.body, "合计"));
  EXPECT_TRUE(Has(res.body, "href=\"/desk/cases?unit=" + std::to_string(tree_.window) + "\">1<"));
  EXPECT_TRUE(Has(res.body, "2026年11月01日") || Has(res.body, "2026年11月1日"));
  auto bad = leader.Get("/desk/overview?from=2026-13-01");
  EXPECT_EQ(bad.status, 422);
  EXPECT_TRUE(Has(bad.body, "id=\"from-error\""));
  auto editor = SignedIn("editor1");
  EXPECT_EQ(editor.Get("/desk/overview").status, 403);
}

TEST_P(ServicesDeskTest, LedgerExportsTheCurrentFilterWithChineseHeaders) {
  const std::string a = NewCase("黄二妹", 1);
  const std::string b = NewCase("韦小宝", 2);
  ASSERT_TRUE(Step(b, services::Action::kAccept, clerk_));
  auto clerk = SignedIn("clerk1");
  auto csv = clerk.Get("/desk/cases.csv?status=submitted");
  ASSERT_EQ(csv.status, 200);
  EXPECT_EQ(csv.Header("Content-Type"), "text/csv; charset=utf-8");
  EXPECT_TRUE(Has(csv.Header("Content-Disposition"), "attachment"));
  EXPECT_EQ(csv.body.rfind("\xEF\xBB\xBF", 0), 0u);
  EXPECT_TRUE(Has(csv.body, "办件编号,事项名称,申请人,联系电话,申请渠道"));
  EXPECT_TRUE(Has(csv.body, a + ",最低生活保障申请,黄二妹,138****5678,网上申请"));
  EXPECT_FALSE(Has(csv.body, b));
  EXPECT_FALSE(Has(csv.body, kPhone));

  auto xlsx = clerk.Get("/desk/cases.xlsx?status=all");
  ASSERT_EQ(xlsx.status, 200);
  EXPECT_EQ(xlsx.Header("Content-Type"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
  EXPECT_EQ(xlsx.body.rfind("PK", 0), 0u);
  EXPECT_TRUE(Has(xlsx.Header("Content-Disposition"), ".xlsx"));
  EXPECT_GT(xlsx.body.size(), 3000u);
  EXPECT_EQ(server_->Client().Get("/desk/cases.csv").status, 303);
}

TEST_P(ServicesDeskTest, WalkInApplicationKeepsTheFormAndADoubleSubmitMakesOneCase) {
  auto clerk = SignedIn("clerk1");
  auto pick = clerk.Get("/desk/apply");
  ASSERT_EQ(pick.status, 200);
  EXPECT_TRUE(Has(pick.body, "最低生活保障申请"));
  auto form = clerk.Get("/desk/apply?service=T-MZ-001&channel=window");
  ASSERT_EQ(form.status, 200);
  EXPECT_TRUE(Has(form.body, "<option value=\"" + std::to_string(tree_.village2) + "\""));
  const std::string csrf = CsrfFromPage(form.body);
  const std::string once = InputValue(form.body, "_once");
  std::vector<Part> parts = {{"_csrf", csrf},
                             {"_once", once},
                             {"service", "T-MZ-001"},
                             {"channel", "window"},
                             {"applicant_kind", "person"},
                             {"name", "黄二妹"},
                             {"id_card", "450981199003071230"},
                             {"phone", kPhone},
                             {"village_id", std::to_string(tree_.village2)},
                             {"address", "示例二村 5 组"},
                             {"description", "到窗口申请"}};
  auto bad = PostMultipart(clerk, "/desk/apply", parts);
  ASSERT_EQ(bad.status, 422);
  EXPECT_TRUE(Has(bad.body, "id=\"id_card-error\""));
  for (const char* kept : {"value=\"黄二妹\"", "value=\"13812345678\"", "value=\"示例二村 5 组\"",
                           ">到窗口申请</textarea>"}) {
    EXPECT_TRUE(Has(bad.body, kept)) << kept;
  }
  EXPECT_EQ(CaseCount(), 0);
  parts[6].value = IdCard(7);
  auto made = PostMultipart(clerk, "/desk/apply", parts);
  ASSERT_EQ(made.status, 303) << made.body.substr(0, 2000);
  const std::string location = made.Header("Location");
  EXPECT_TRUE(
      std::regex_match(location, std::regex("/desk/cases/T-PZ-20261130-[0-9]+\\?done=created")))
      << location;
  auto again = PostMultipart(clerk, "/desk/apply", parts);
  EXPECT_EQ(again.status, 303);
  EXPECT_EQ(again.Header("Location"), location);
  EXPECT_EQ(CaseCount(), 1);
  auto page = clerk.Get(location);
  ASSERT_EQ(page.status, 200);
  EXPECT_TRUE(Has(page.body, "窗口受理"));
  EXPECT_TRUE(Has(page.body, "王窗口"));
  EXPECT_TRUE(Has(page.body, "/receipt"));
}

TEST_P(ServicesDeskTest, ProxyApplicationOnlyForTheCadresOwnVillage) {
  auto cadre = SignedIn("cadre1");
  auto pick = cadre.Get("/desk/apply");
  ASSERT_EQ(pick.status, 200);
  EXPECT_TRUE(Has(pick.body, "最低生活保障申请"));
  auto form = cadre.Get("/desk/apply?service=T-MZ-001");
  ASSERT_EQ(form.status, 200);
  EXPECT_TRUE(Has(form.body, "name=\"channel\" value=\"proxy\""));
  EXPECT_FALSE(Has(form.body, "<option value=\"" + std::to_string(tree_.village2) + "\""));
  std::vector<Part> parts = {{"_csrf", CsrfFromPage(form.body)},
                             {"_once", InputValue(form.body, "_once")},
                             {"service", "T-MZ-001"},
                             {"channel", "proxy"},
                             {"name", "黄二妹"},
                             {"id_card", IdCard(3)},
                             {"phone", kPhone},
                             {"village_id", std::to_string(tree_.village2)}};
  auto refused = PostMultipart(cadre, "/desk/apply", parts);
  ASSERT_EQ(refused.status, 422);
  EXPECT_TRUE(Has(refused.body, "只能为本村（社区）的村民代办"));
  EXPECT_EQ(CaseCount(), 0);
  auto clerk = SignedIn("leader1");
  EXPECT_EQ(clerk.Get("/desk/apply").status, 403);
}

// The queue's counts and the leader's overview are kept for a few seconds, but never across a
// step taken through this server: the next page counts again.
TEST_P(ServicesDeskTest, CountsAndOverviewFollowAStepAtOnce) {
  const std::string a = NewCase("黄二妹", 1);
  NewCase("韦小宝", 2);
  auto clerk = SignedIn("clerk1");
  auto leader = SignedIn("leader1");
  const std::regex two_waiting("id=\"count-submitted\"[^>]*><span class=\"desk-count-n\">2<");
  const std::regex one_waiting("id=\"count-submitted\"[^>]*><span class=\"desk-count-n\">1<");
  const std::regex one_handled("id=\"count-accepted\"[^>]*><span class=\"desk-count-n\">1<");
  auto res = clerk.Get("/desk/cases");
  ASSERT_EQ(res.status, 200);
  EXPECT_TRUE(std::regex_search(res.body, two_waiting));
  auto overview = leader.Get("/desk/overview");
  ASSERT_EQ(overview.status, 200);
  const std::string open_two = "href=\"/desk/cases?unit=" + std::to_string(tree_.window) + "\">2<";
  EXPECT_TRUE(Has(overview.body, open_two));

  auto accepted =
      PostFromPage(clerk, CasePath(a), CasePath(a) + "/accept", {{"expect_status", "submitted"}});
  ASSERT_EQ(accepted.status, 303) << accepted.body.substr(0, 2000);
  res = clerk.Get("/desk/cases");
  ASSERT_EQ(res.status, 200);
  EXPECT_TRUE(std::regex_search(res.body, one_waiting));
  EXPECT_TRUE(std::regex_search(res.body, one_handled));

  // 办结 through the desk: one case left open, one completed in the overview's period.
  auto page = clerk.Get(CasePath(a));
  auto completed = PostMultipart(clerk, CasePath(a) + "/complete",
                                 {{"_csrf", CsrfFromPage(page.body)},
                                  {"_once", InputValue(page.body, "_once")},
                                  {"expect_status", "accepted"},
                                  {"result", "已批准，低保金次月发放"}});
  ASSERT_EQ(completed.status, 303) << completed.body.substr(0, 2000);
  res = clerk.Get("/desk/cases");
  EXPECT_TRUE(std::regex_search(res.body, one_waiting));
  EXPECT_FALSE(std::regex_search(res.body, one_handled));
  overview = leader.Get("/desk/overview");
  ASSERT_EQ(overview.status, 200);
  EXPECT_FALSE(Has(overview.body, open_two));
  EXPECT_TRUE(
      Has(overview.body, "href=\"/desk/cases?unit=" + std::to_string(tree_.window) + "\">1<"));
}

INSTANTIATE_TEST_SUITE_P(Http, ServicesDeskTest, AllBackends(), BackendParamName);

}  // namespace
}  // namespace zhenwu::testing
