// The citizen pages of 政务服务 over real HTTP, on both databases: the catalogue and a service's
// guide, the online application with files (validation and refused uploads keep everything typed
// and every file accepted; one case per double submit), the receipt, tracking by number and the
// phone's last four digits (same answer for a wrong number and wrong digits; 429 after ten
// wrong tries), 补正, withdrawal, rating once after 办结, the case files, and 我的办件.

#include <gtest/gtest.h>

#include <regex>

#include "auth/service.hpp"
#include "calendar/store.hpp"
#include "people/keys.hpp"
#include "services/service.hpp"
#include "support/services_fixture.hpp"

namespace zhenwu::testing {
namespace {

using auth::Role;
using auth::Scope;

constexpr const char* kIdCard = "450981199003071237";
constexpr const char* kPhone = "13812345678";
const std::string kPdf = "%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";
const std::string kPng = std::string("\x89PNG\r\n\x1a\n", 8) + std::string(64, '\x01');

struct Part {
  std::string name;
  std::string value;
  std::optional<std::string> filename;
  std::string type = "application/octet-stream";
};

constexpr const char* kBoundary = "----zwtestboundary7MA4YWxkTrZu0gW";

std::string MultipartBody(const std::vector<Part>& parts) {
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
  return body;
}

HttpResponse PostMultipart(HttpClient& client, const std::string& path,
                           const std::vector<Part>& parts) {
  return client.Post(path, MultipartBody(parts),
                     std::string("multipart/form-data; boundary=") + kBoundary);
}

// The value attribute of the input named `name`, "" when absent.
std::string InputValue(const std::string& html, const std::string& name) {
  std::smatch m;
  std::regex re("name=\"" + name + "\" value=\"([^\"]*)\"");
  if (std::regex_search(html, m, re)) return m[1];
  return "";
}

bool Has(const std::string& body, const std::string& needle) {
  return body.find(needle) != std::string::npos;
}

class ServicesPublicTest : public ServicesHttpTest {
 protected:
  void SetUp() override { Start({}); }

  void Start(std::function<void(Config&)> customize) {
    StartServer(std::move(customize));
    if (IsSkipped() || HasFatalFailure()) return;
    editor_ =
        AddStaff("editor1", "editor1", Role::kEditor, Scope::kSubtree, tree_.town, tree_.town_path);
    clerk_ =
        AddStaff("clerk1", "clerk1", Role::kClerk, Scope::kUnit, tree_.window, tree_.window_path);
    cadre2_ = AddStaff("cadre2", "cadre2", Role::kVillageCadre, Scope::kSubtree, tree_.village2,
                       tree_.village2_path);

    // An online service with a required and an optional material, one only at the window.
    services::ServiceInput in;
    in.code = "T-MZ-001";
    in.name = "最低生活保障申请";
    in.category = "行政给付";
    in.unit_id = tree_.window;
    in.life_events = {"subsistence"};
    in.legal_basis = "《社会救助暂行办法》";
    in.conditions = "家庭人均收入低于当地低保标准";
    in.statutory_days = "30";
    in.promised_days = "10";
    in.place = "镇政务服务中心 3 号窗口";
    in.hours = "工作日 8:00-12:00";
    in.phone = "0775-1234567";
    in.online = true;
    in.proxy = true;
    in.materials = {{.name = "居民身份证", .form = "copy", .copies = 1, .required = true},
                    {.name = "户口簿", .form = "copy", .copies = 1, .required = false}};
    auto online = WithDeps<services::Service>([&](db::Conn& c, const services::Deps& d) {
      return services::CreateService(c, d, Actor(), &editor_, in);
    });
    ASSERT_TRUE(online) << online.error().message;
    service_ = *online;
    ASSERT_EQ(service_.materials.size(), 2u);

    services::ServiceInput window_only = in;
    window_only.code = "T-MZ-002";
    window_only.name = "临时救助申请";
    window_only.life_events = {};
    window_only.conditions = "遭遇突发困难";
    window_only.legal_basis = "";
    window_only.online = false;
    window_only.proxy = false;
    window_only.materials = {};
    auto w = WithDeps<services::Service>([&](db::Conn& c, const services::Deps& d) {
      return services::CreateService(c, d, Actor(), &editor_, window_only);
    });
    ASSERT_TRUE(w) << w.error().message;
    window_only_ = *w;
  }

  Result<services::ServiceCase> Staff(const std::string& number, services::TransitionInput in) {
    return WithDeps<services::ServiceCase>([&](db::Conn& c, const services::Deps& d) {
      return services::Transition(c, d, Actor(), &clerk_, number, in);
    });
  }

  int64_t CaseCount() {
    auto n = server_->app().db().ReadSync<int64_t>([](db::Conn& c) -> Result<int64_t> {
      auto row = c.QueryOne("SELECT COUNT(*) FROM services_cases");
      if (!row) return std::move(row).error();
      return (*row)->Int(0);
    });
    return n ? *n : -1;
  }

  std::string ApplyPath() const { return "/services/" + service_.code + "/apply"; }
  std::string FileField(int i) const {
    return "file_" + std::to_string(service_.materials[static_cast<std::size_t>(i)].id);
  }

  // The application form's fields for a valid person, plus the page's tokens.
  std::vector<Part> ValidParts(const std::string& page) const {
    return {{"_csrf", CsrfFromPage(page)},
            {"_once", InputValue(page, "_once")},
            {"applicant_kind", "person"},
            {"name", "黄二妹"},
            {"id_card", kIdCard},
            {"phone", kPhone},
            {"village_id", std::to_string(tree_.village1)},
            {"address", "示例一村 3 组 12 号"},
            {"description", "家里收入低，申请低保"}};
  }

  // Applies online with a PDF for the required material; returns the case number.
  std::string ApplyOnline(HttpClient& client) {
    auto page = client.Get(ApplyPath());
    EXPECT_EQ(page.status, 200);
    auto parts = ValidParts(page.body);
    parts.push_back({FileField(0), kPdf, "身份证.pdf", "application/pdf"});
    auto res = PostMultipart(client, ApplyPath(), parts);
    EXPECT_EQ(res.status, 303) << res.body.substr(0, 3000);
    const std::string location = res.Header("Location");
    std::smatch m;
    std::regex re("^/cases/([A-Z0-9-]+)/receipt$");
    EXPECT_TRUE(std::regex_match(location, m, re)) << location;
    return m.size() > 1 ? std::string(m[1]) : std::string();
  }

  HttpResponse Track(HttpClient& client, const std::string& number, const std::string& phone4) {
    return PostFormWithCsrf(client, "/track", {{"number", number}, {"phone4", phone4}});
  }

  auth::Principal editor_, clerk_, cadre2_;
  services::Service service_, window_only_;
};

TEST_P(ServicesPublicTest, CatalogueListsFiltersAndSearches) {
  auto client = server_->Client();
  auto all = client.Get("/services");
  ASSERT_EQ(all.status, 200);
  EXPECT_TRUE(Has(all.body, "最低生活保障申请"));
  EXPECT_TRUE(Has(all.body, "临时救助申请"));
  EXPECT_TRUE(Has(all.body, "/services/T-MZ-001"));
  EXPECT_TRUE(Has(all.body, "可网上办"));
  EXPECT_TRUE(Has(all.body, "<option value=\"" + std::to_string(tree_.window) + "\""));

  auto found = client.Get("/services?q=%E4%BD%8E%E4%BF%9D");  // 低保
  ASSERT_EQ(found.status, 200);
  EXPECT_TRUE(Has(found.body, "最低生活保障申请"));
  EXPECT_FALSE(Has(found.body, "临时救助申请"));

  auto by_event = client.Get("/services?event=subsistence");
  ASSERT_EQ(by_event.status, 200);
  EXPECT_TRUE(Has(by_event.body, "最低生活保障申请"));
  EXPECT_FALSE(Has(by_event.body, "临时救助申请"));
  EXPECT_TRUE(Has(by_event.body, "aria-current=\"page\""));

  auto by_window = client.Get("/services?window=" + std::to_string(tree_.village1));
  ASSERT_EQ(by_window.status, 200);
  EXPECT_FALSE(Has(by_window.body, "最低生活保障申请"));
  EXPECT_TRUE(Has(by_window.body, "没有找到符合条件的事项"));

  auto junk = client.Get("/services?window=abc&event=%3Cscript%3E&q=%3Cscript%3E");
  ASSERT_EQ(junk.status, 200);
  EXPECT_FALSE(Has(junk.body, "<script>"));

  // A village window's services: one folded line per village, unfolded when filtered.
  services::ServiceInput v;
  v.code = "T-V1-001";
  v.name = "高龄津贴认证";
  v.unit_id = tree_.village1_window;
  v.statutory_days = "5";
  v.promised_days = "3";
  v.proxy = true;
  auto made = WithDeps<services::Service>([&](db::Conn& c, const services::Deps& d) {
    return services::CreateService(c, d, Actor(), &editor_, v);
  });
  ASSERT_TRUE(made) << made.error().message;
  server_->app().page_cache().Invalidate();  // as the catalogue editor does
  auto folded = client.Get("/services");
  EXPECT_TRUE(Has(folded.body, "<details class=\"svc-village\">"));
  EXPECT_TRUE(Has(folded.body, "高龄津贴认证"));
  EXPECT_TRUE(Has(folded.body, "<optgroup label=\"示例一村\">"));
  auto village = client.Get("/services?window=" + std::to_string(tree_.village1));
  EXPECT_TRUE(Has(village.body, "<details class=\"svc-village\" open>"));
  EXPECT_TRUE(Has(village.body, "高龄津贴认证"));
  EXPECT_FALSE(Has(village.body, "最低生活保障申请"));
}

TEST_P(ServicesPublicTest, DetailShowsMaterialsLimitsAndHowToApply) {
  auto client = server_->Client();
  auto page = client.Get("/services/T-MZ-001");
  ASSERT_EQ(page.status, 200);
  for (const char* text : {"居民身份证", "户口簿", "必须", "选填", "复印件", "30 个工作日",
                           "10 个工作日", "不收费", "镇政务服务中心 3 号窗口", "tel:0775-1234567",
                           "《社会救助暂行办法》", "在线申请", "由村干部帮您代办"}) {
    EXPECT_TRUE(Has(page.body, text)) << text;
  }
  EXPECT_TRUE(Has(page.body, "href=\"/services/T-MZ-001/apply\""));

  auto window = client.Get("/services/T-MZ-002");
  ASSERT_EQ(window.status, 200);
  EXPECT_TRUE(Has(window.body, "本事项需要本人带齐材料到窗口办理"));
  EXPECT_FALSE(Has(window.body, "/services/T-MZ-002/apply"));
  EXPECT_EQ(client.Get("/services/T-MZ-002/apply").status, 403);

  EXPECT_EQ(client.Get("/services/NO-SUCH").status, 404);
  EXPECT_EQ(client.Get("/services/NO-SUCH/apply").status, 404);

  auto retired = WithDeps<services::Service>([&](db::Conn& c, const services::Deps& d) {
    return services::SetServiceRetired(c, d, Actor(), &editor_, window_only_.id, true);
  });
  ASSERT_TRUE(retired) << retired.error().message;
  server_->app().page_cache().Invalidate();  // as the catalogue editor does
  auto gone = server_->Client().Get("/services/T-MZ-002");
  EXPECT_EQ(gone.status, 410);
  EXPECT_TRUE(Has(gone.body, "已停止办理"));
}

TEST_P(ServicesPublicTest, ApplyFormHasLabelledFieldsAndOneFileInputPerMaterial) {
  auto client = server_->Client();
  auto page = client.Get(ApplyPath());
  ASSERT_EQ(page.status, 200);
  for (const char* id : {"name", "id_card", "phone", "village_id", "address", "description"}) {
    EXPECT_TRUE(Has(page.body, std::string("<label for=\"") + id + "\"")) << id;
  }
  EXPECT_TRUE(Has(page.body, "<label for=\"" + FileField(0) + "\""));
  EXPECT_TRUE(Has(page.body, "<label for=\"" + FileField(1) + "\""));
  EXPECT_TRUE(Has(page.body, "enctype=\"multipart/form-data\""));
  EXPECT_TRUE(Has(page.body, "name=\"_once\""));
  EXPECT_TRUE(Has(page.body, "示例一村"));
  EXPECT_TRUE(Has(page.body, "示例二村"));
  EXPECT_FALSE(Has(page.body, "name=\"uscc\""));

  auto enterprise = client.Get(ApplyPath() + "?as=enterprise");
  ASSERT_EQ(enterprise.status, 200);
  EXPECT_TRUE(Has(enterprise.body, "<label for=\"uscc\""));
  EXPECT_FALSE(Has(enterprise.body, "name=\"id_card\""));

  // Large-text mode is a class on the page.
  auto large = client.Get(ApplyPath(), {{"Cookie", "zw_text=large"}});
  EXPECT_TRUE(Has(large.body, "class=\"text-large\""));
}

TEST_P(ServicesPublicTest, OnlineApplicationGivesAReceiptAndTracking) {
  auto client = server_->Client();
  const std::string number = ApplyOnline(client);
  ASSERT_FALSE(number.empty());
  EXPECT_EQ(number.rfind("T-PZ-20261130-", 0), 0u) << number;
  EXPECT_EQ(CaseCount(), 1);

  auto receipt = client.Get("/cases/" + number + "/receipt");
  ASSERT_EQ(receipt.status, 200);
  EXPECT_TRUE(Has(receipt.body, "receipt-number"));
  EXPECT_TRUE(Has(receipt.body, number));
  EXPECT_TRUE(Has(receipt.body, "最低生活保障申请"));
  EXPECT_TRUE(Has(receipt.body, "黄**"));
  EXPECT_FALSE(Has(receipt.body, "黄二妹"));
  EXPECT_TRUE(Has(receipt.body, "138****5678"));
  EXPECT_FALSE(Has(receipt.body, kPhone));
  EXPECT_TRUE(Has(receipt.body, "2026年11月30日"));
  EXPECT_TRUE(Has(receipt.body, "2026年12月14日"));  // 10 working days after Monday 30 Nov
  EXPECT_TRUE(Has(receipt.body, "居民身份证：身份证.pdf"));
  EXPECT_TRUE(Has(receipt.body, "window.print()"));
  EXPECT_EQ(receipt.Header("Cache-Control"), "private, no-store");

  // Another browser cannot open the receipt or the case without the digits.
  auto stranger = server_->Client();
  auto denied = stranger.Get("/cases/" + number + "/receipt");
  EXPECT_EQ(denied.status, 303);
  EXPECT_EQ(denied.Header("Location"), "/track?number=" + number);
  auto wrong = stranger.Get("/cases/" + number + "/receipt?phone4=0000");
  EXPECT_EQ(wrong.status, 404);
  auto right = stranger.Get("/cases/" + number + "/receipt?phone4=5678");
  EXPECT_EQ(right.status, 200);
  EXPECT_TRUE(Has(right.body, number));
  EXPECT_EQ(stranger.Get("/track/" + number).status, 200);  // the grant came with it

  // Tracking with the number and the digits.
  auto other = server_->Client();
  EXPECT_EQ(other.Get("/track/" + number).status, 303);
  auto tracked = Track(other, number, "5678");
  ASSERT_EQ(tracked.status, 303) << tracked.body.substr(0, 2000);
  EXPECT_EQ(tracked.Header("Location"), "/track/" + number);
  auto status = other.Get("/track/" + number);
  ASSERT_EQ(status.status, 200);
  EXPECT_TRUE(Has(status.body, "待受理"));
  EXPECT_TRUE(Has(status.body, "申请"));
  EXPECT_TRUE(Has(status.body, "2026年12月14日"));
  EXPECT_TRUE(Has(status.body, "身份证.pdf"));
  // Typed the way phones type it: lower case, full-width digits and dash.
  auto sloppy = Track(other, "t-pz－２０２６１１３０-0001", "５６７８");
  EXPECT_EQ(sloppy.status, 303);
}

TEST_P(ServicesPublicTest, MissingFieldsAreNamedBesideEachField) {
  auto client = server_->Client();
  auto page = client.Get(ApplyPath());
  auto res = PostMultipart(client, ApplyPath(),
                           {{"_csrf", CsrfFromPage(page.body)},
                            {"_once", InputValue(page.body, "_once")},
                            {"applicant_kind", "person"}});
  ASSERT_EQ(res.status, 422);
  for (const char* id : {"name-error", "id_card-error", "phone-error", "village_id-error"}) {
    EXPECT_TRUE(Has(res.body, std::string("id=\"") + id + "\"")) << id;
  }
  EXPECT_TRUE(Has(res.body, "id=\"" + FileField(0) + "-error\""));
  EXPECT_FALSE(Has(res.body, "id=\"" + FileField(1) + "-error\""));  // optional
  EXPECT_TRUE(Has(res.body, "role=\"alert\""));
  EXPECT_EQ(CaseCount(), 0);
}

TEST_P(ServicesPublicTest, InvalidIdCardKeepsEverythingTypedAndTheAcceptedFile) {
  auto client = server_->Client();
  auto page = client.Get(ApplyPath());
  auto parts = ValidParts(page.body);
  parts[4].value = "450981199003071230";  // wrong check digit
  parts.push_back({FileField(0), kPdf, "身份证.pdf", "application/pdf"});
  parts.push_back({FileField(1), kPng, "户口簿.png", "image/png"});
  auto res = PostMultipart(client, ApplyPath(), parts);
  ASSERT_EQ(res.status, 422);
  EXPECT_TRUE(Has(res.body, "id=\"id_card-error\""));
  EXPECT_TRUE(Has(res.body, "value=\"黄二妹\""));
  EXPECT_EQ(res.Header("Cache-Control"), "private, no-store");
  EXPECT_TRUE(Has(res.body, "value=\"450981199003071230\""));
  EXPECT_TRUE(Has(res.body, "value=\"13812345678\""));
  EXPECT_TRUE(Has(res.body, "value=\"示例一村 3 组 12 号\""));
  EXPECT_TRUE(Has(res.body, ">家里收入低，申请低保</textarea>"));
  EXPECT_TRUE(Has(res.body, "<option value=\"" + std::to_string(tree_.village1) + "\" selected>"));
  EXPECT_TRUE(Has(res.body, "已上传：<strong>身份证.pdf</strong>"));
  EXPECT_TRUE(Has(res.body, "已上传：<strong>户口簿.png</strong>"));
  const std::string sha = InputValue(res.body, FileField(0) + "_kept_sha256");
  EXPECT_EQ(sha.size(), 64u);
  EXPECT_EQ(CaseCount(), 0);

  // Corrected, sent without choosing the files again: the kept ones go with the case.
  std::vector<Part> again = ValidParts(res.body);
  for (int i = 0; i < 2; ++i) {
    for (const char* k : {"sha256", "name", "type", "size", "sig"}) {
      const std::string name = FileField(i) + "_kept_" + k;
      again.push_back({name, InputValue(res.body, name)});
    }
  }
  auto ok = PostMultipart(client, ApplyPath(), again);
  ASSERT_EQ(ok.status, 303) << ok.body.substr(0, 3000);
  auto receipt = client.Get(ok.Header("Location"));
  EXPECT_TRUE(Has(receipt.body, "居民身份证：身份证.pdf"));
  EXPECT_TRUE(Has(receipt.body, "户口簿：户口簿.png"));
  EXPECT_EQ(CaseCount(), 1);
}

TEST_P(ServicesPublicTest, ForgedKeptFileIsNotAccepted) {
  auto client = server_->Client();
  auto page = client.Get(ApplyPath());
  auto parts = ValidParts(page.body);
  const std::string sha(64, 'a');
  parts.push_back({FileField(0) + "_kept_sha256", sha});
  parts.push_back({FileField(0) + "_kept_name", "x.pdf"});
  parts.push_back({FileField(0) + "_kept_type", "application/pdf"});
  parts.push_back({FileField(0) + "_kept_size", "10"});
  parts.push_back({FileField(0) + "_kept_sig", std::string(64, 'b')});
  auto res = PostMultipart(client, ApplyPath(), parts);
  EXPECT_EQ(res.status, 422);
  EXPECT_TRUE(Has(res.body, "id=\"" + FileField(0) + "-error\""));
  EXPECT_EQ(CaseCount(), 0);
}

TEST_P(ServicesPublicTest, FileTypeIsJudgedByContentNotName) {
  auto client = server_->Client();
  // PNG bytes named .pdf: a picture, accepted.
  auto page = client.Get(ApplyPath());
  auto parts = ValidParts(page.body);
  parts.push_back({FileField(0), kPng, "scan.pdf", "application/pdf"});
  auto ok = PostMultipart(client, ApplyPath(), parts);
  EXPECT_EQ(ok.status, 303) << ok.body.substr(0, 2000);

  // A text file named .pdf: refused beside its input, the rest kept.
  auto page2 = client.Get(ApplyPath());
  auto parts2 = ValidParts(page2.body);
  parts2[4].value = "45098119850612456X";
  parts2.push_back({FileField(0), "just some text, not a document", "fake.pdf", "application/pdf"});
  auto refused = PostMultipart(client, ApplyPath(), parts2);
  ASSERT_EQ(refused.status, 422);
  EXPECT_TRUE(Has(refused.body, "id=\"" + FileField(0) + "-error\""));
  EXPECT_TRUE(Has(refused.body, "fake.pdf"));
  EXPECT_TRUE(Has(refused.body, "value=\"45098119850612456X\""));
  EXPECT_FALSE(Has(refused.body, FileField(0) + "_kept_sha256"));
  EXPECT_EQ(CaseCount(), 1);
}

TEST_P(ServicesPublicTest, OversizedFileIs413WithTheMessageBesideIt) {
  Start([](Config& c) { c.max_upload_mb = 1; });
  if (IsSkipped()) return;
  auto client = server_->Client();
  auto page = client.Get(ApplyPath());
  auto parts = ValidParts(page.body);
  parts.push_back({FileField(0), kPdf, "身份证.pdf", "application/pdf"});
  parts.push_back(
      {FileField(1), "%PDF-" + std::string(1200 * 1024, 'x'), "big.pdf", "application/pdf"});
  auto res = PostMultipart(client, ApplyPath(), parts);
  ASSERT_EQ(res.status, 413);
  EXPECT_TRUE(Has(res.body, "id=\"" + FileField(1) + "-error\""));
  EXPECT_TRUE(Has(res.body, "big.pdf"));
  EXPECT_TRUE(Has(res.body, "1.0 MB"));
  EXPECT_TRUE(Has(res.body, "已上传：<strong>身份证.pdf</strong>"));
  EXPECT_TRUE(Has(res.body, "value=\"黄二妹\""));
  EXPECT_EQ(CaseCount(), 0);
}

TEST_P(ServicesPublicTest, DoubleSubmitCreatesOneCase) {
  auto client = server_->Client();
  auto page = client.Get(ApplyPath());
  auto parts = ValidParts(page.body);
  parts.push_back({FileField(0), kPdf, "身份证.pdf", "application/pdf"});
  auto first = PostMultipart(client, ApplyPath(), parts);
  auto second = PostMultipart(client, ApplyPath(), parts);
  ASSERT_EQ(first.status, 303);
  ASSERT_EQ(second.status, 303);
  EXPECT_EQ(first.Header("Location"), second.Header("Location"));
  EXPECT_EQ(CaseCount(), 1);
  // A browser that lost the first answer still gets its receipt.
  auto fresh = server_->Client();
  parts[0].value = CsrfToken(fresh);
  auto third = PostMultipart(fresh, ApplyPath(), parts);
  EXPECT_EQ(third.status, 303);
  EXPECT_EQ(third.Header("Location"), first.Header("Location"));
  EXPECT_EQ(fresh.Get(third.Header("Location")).status, 200);
  EXPECT_EQ(CaseCount(), 1);
}

TEST_P(ServicesPublicTest, WrongNumberAndWrongDigitsGetTheSameAnswer) {
  auto client = server_->Client();
  const std::string number = ApplyOnline(client);
  auto other = server_->Client();
  auto wrong_digits = Track(other, number, "1234");
  auto wrong_number = Track(other, "T-PZ-20261130-0099", "5678");
  EXPECT_EQ(wrong_digits.status, 422);
  EXPECT_EQ(wrong_number.status, 422);
  EXPECT_TRUE(Has(wrong_digits.body, "办件编号或手机号后四位不正确"));
  EXPECT_TRUE(Has(wrong_number.body, "办件编号或手机号后四位不正确"));
  EXPECT_FALSE(Has(wrong_digits.body, "最低生活保障申请"));
  EXPECT_EQ(other.Get("/track/" + number).status, 303);

  auto malformed = Track(other, "hello", "12");
  EXPECT_EQ(malformed.status, 422);
  EXPECT_TRUE(Has(malformed.body, "id=\"number-error\""));
  EXPECT_TRUE(Has(malformed.body, "id=\"phone4-error\""));
  EXPECT_TRUE(Has(malformed.body, "value=\"HELLO\""));
}

TEST_P(ServicesPublicTest, TenWrongTriesAre429UntilTheWindowEnds) {
  auto client = server_->Client();
  const std::string number = ApplyOnline(client);
  auto other = server_->Client();
  for (int i = 0; i < 10; ++i) {
    auto res = Track(other, number, std::to_string(1000 + i));
    ASSERT_EQ(res.status, 422) << i;
  }
  auto blocked = Track(other, number, "5678");  // right digits, but too late
  EXPECT_EQ(blocked.status, 429);
  EXPECT_TRUE(Has(blocked.body, "查询错误次数太多"));
  EXPECT_FALSE(blocked.Header("Retry-After").empty());
  // The IP is blocked for other numbers too, and the receipt's digits path as well.
  EXPECT_EQ(Track(other, "T-PZ-20261130-0002", "5678").status, 429);
  EXPECT_EQ(other.Get("/cases/" + number + "/receipt?phone4=5678").status, 429);
  // Malformed input is not a try and is answered as before.
  EXPECT_EQ(Track(other, "x", "5678").status, 422);

  server_->clock().Advance(int64_t{15} * 60 * 1000 + 1000);
  EXPECT_EQ(Track(other, number, "5678").status, 303);
}

// The per-number limit on its own: wrong digits for one case number from ten different
// addresses (behind a trusted proxy) block that number, also for an eleventh address with the
// right digits, while that address can still track other numbers.
TEST_P(ServicesPublicTest, TenWrongTriesForOneNumberFromManyAddressesBlockThatNumber) {
  Start([](Config& c) { c.trust_proxy = true; });
  if (IsSkipped()) return;
  auto applicant = server_->Client();
  const std::string number = ApplyOnline(applicant);
  const std::string second = ApplyOnline(applicant);
  ASSERT_NE(number, second);
  auto track_from = [&](const std::string& ip, const std::string& n, const std::string& digits) {
    HttpClient client = server_->Client();
    return client.PostForm("/track",
                           {{"_csrf", CsrfToken(client)}, {"number", n}, {"phone4", digits}},
                           {{"X-Forwarded-For", ip}});
  };
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(track_from("10.0.0." + std::to_string(i + 1), number, "0000").status, 422) << i;
  }
  auto blocked = track_from("10.0.1.1", number, "5678");
  EXPECT_EQ(blocked.status, 429);
  EXPECT_TRUE(Has(blocked.body, "查询错误次数太多"));
  // The same fresh address is not blocked for another number.
  EXPECT_EQ(track_from("10.0.1.1", second, "5678").status, 303);

  server_->clock().Advance(int64_t{15} * 60 * 1000 + 1000);
  EXPECT_EQ(track_from("10.0.1.2", number, "5678").status, 303);
}

TEST_P(ServicesPublicTest, CorrectionShowsTheWholeListAndTakesOnlyThoseFiles) {
  auto client = server_->Client();
  const std::string number = ApplyOnline(client);
  services::TransitionInput correct;
  correct.action = services::Action::kRequestCorrection;
  correct.corrections = {{.material_id = service_.materials[0].id, .reason = "照片看不清"},
                         {.material_id = 0, .reason = "请写明家庭人口数"}};
  auto asked = Staff(number, correct);
  ASSERT_TRUE(asked) << asked.error().message;

  auto page = client.Get("/track/" + number);
  ASSERT_EQ(page.status, 200);
  EXPECT_TRUE(Has(page.body, "待补正"));
  EXPECT_TRUE(Has(page.body, "照片看不清"));
  EXPECT_TRUE(Has(page.body, "请写明家庭人口数"));
  EXPECT_TRUE(Has(page.body, "name=\"" + FileField(0) + "\""));
  EXPECT_FALSE(Has(page.body, "name=\"" + FileField(1) + "\""));  // not asked for

  const std::string path = "/track/" + number + "/resubmit";
  auto missing = PostMultipart(client, path,
                               {{"_csrf", CsrfFromPage(page.body)},
                                {"_once", InputValue(page.body, "_once")},
                                {"note", "家里 3 口人"}});
  ASSERT_EQ(missing.status, 422);
  EXPECT_TRUE(Has(missing.body, "id=\"" + FileField(0) + "-error\""));
  EXPECT_TRUE(Has(missing.body, ">家里 3 口人</textarea>"));

  auto bad_type = PostMultipart(client, path,
                                {{"_csrf", CsrfFromPage(page.body)},
                                 {"_once", InputValue(page.body, "_once")},
                                 {FileField(0), "text", "new.pdf", "application/pdf"}});
  EXPECT_EQ(bad_type.status, 422);

  auto done = PostMultipart(client, path,
                            {{"_csrf", CsrfFromPage(page.body)},
                             {"_once", InputValue(page.body, "_once")},
                             {"note", "家里 3 口人"},
                             {FileField(0), kPng, "身份证清晰.png", "image/png"}});
  ASSERT_EQ(done.status, 303) << done.body.substr(0, 2000);
  EXPECT_EQ(done.Header("Location"), "/track/" + number + "?done=resubmitted");
  auto after = client.Get(done.Header("Location"));
  EXPECT_TRUE(Has(after.body, "补正材料已提交"));
  EXPECT_TRUE(Has(after.body, "待受理"));
  EXPECT_TRUE(Has(after.body, "身份证清晰.png"));
  EXPECT_FALSE(Has(after.body, "name=\"" + FileField(0) + "\""));
}

TEST_P(ServicesPublicTest, WithdrawNeedsConfirmationAndOnlyBeforeAcceptance) {
  auto client = server_->Client();
  const std::string number = ApplyOnline(client);
  auto page = client.Get("/track/" + number);
  ASSERT_TRUE(Has(page.body, "/withdraw"));
  const std::string path = "/track/" + number + "/withdraw";
  auto unconfirmed = PostFormWithCsrf(
      client, path, {{"_once", InputValue(page.body, "_once")}, {"note", "不需要了"}});
  EXPECT_EQ(unconfirmed.status, 422);
  EXPECT_TRUE(Has(unconfirmed.body, "请勾选"));
  EXPECT_TRUE(Has(unconfirmed.body, ">不需要了</textarea>"));
  auto ok = PostFormWithCsrf(
      client, path,
      {{"_once", InputValue(page.body, "_once")}, {"note", "不需要了"}, {"confirm", "1"}});
  ASSERT_EQ(ok.status, 303);
  auto after = client.Get(ok.Header("Location"));
  EXPECT_TRUE(Has(after.body, "已撤回"));
  EXPECT_FALSE(Has(after.body, "/withdraw\""));
  auto again = PostFormWithCsrf(client, path,
                                {{"_once", InputValue(after.body, "_once")}, {"confirm", "1"}});
  EXPECT_EQ(again.status, 409);

  // Once accepted, no withdrawal.
  const std::string second = ApplyOnline(client);
  ASSERT_TRUE(Staff(second, {.action = services::Action::kAccept}));
  auto accepted = client.Get("/track/" + second);
  EXPECT_FALSE(Has(accepted.body, "/withdraw\""));
  auto refused =
      PostFormWithCsrf(client, "/track/" + second + "/withdraw",
                       {{"_once", InputValue(accepted.body, "_once")}, {"confirm", "1"}});
  EXPECT_EQ(refused.status, 409);
}

TEST_P(ServicesPublicTest, RatingOnceAfterCompletionAndTheFollowUpIsShown) {
  auto client = server_->Client();
  const std::string number = ApplyOnline(client);
  const std::string path = "/track/" + number + "/rate";
  auto page = client.Get("/track/" + number);
  EXPECT_FALSE(Has(page.body, "name=\"score\""));
  auto early =
      PostFormWithCsrf(client, path, {{"_once", InputValue(page.body, "_once")}, {"score", "5"}});
  EXPECT_EQ(early.status, 409);
  EXPECT_TRUE(Has(early.body, "办结后才能评价"));

  ASSERT_TRUE(Staff(number, {.action = services::Action::kAccept}));
  ASSERT_TRUE(Staff(number, {.action = services::Action::kComplete, .result = "准予低保"}));
  auto done = client.Get("/track/" + number);
  ASSERT_EQ(done.status, 200);
  EXPECT_TRUE(Has(done.body, "已办结"));
  EXPECT_TRUE(Has(done.body, "准予低保"));
  for (const char* label : {"非常不满意", "不满意", "基本满意", "满意", "非常满意"}) {
    EXPECT_TRUE(Has(done.body, std::string(">") + label + "</label>")) << label;
  }
  auto no_score = PostFormWithCsrf(
      client, path, {{"_once", InputValue(done.body, "_once")}, {"comment", "太慢了"}});
  EXPECT_EQ(no_score.status, 422);
  EXPECT_TRUE(Has(no_score.body, "请选择满意程度"));
  EXPECT_TRUE(Has(no_score.body, ">太慢了</textarea>"));

  auto rated = PostFormWithCsrf(
      client, path,
      {{"_once", InputValue(done.body, "_once")}, {"score", "2"}, {"comment", "太慢了"}});
  ASSERT_EQ(rated.status, 303);
  auto shown = client.Get(rated.Header("Location"));
  EXPECT_TRUE(Has(shown.body, "感谢您的评价"));
  EXPECT_TRUE(Has(shown.body, "<strong>不满意</strong>"));
  EXPECT_TRUE(Has(shown.body, "回访并整改"));
  EXPECT_FALSE(Has(shown.body, "name=\"score\""));

  auto twice =
      PostFormWithCsrf(client, path, {{"_once", InputValue(shown.body, "_once")}, {"score", "5"}});
  EXPECT_EQ(twice.status, 409);
  EXPECT_TRUE(Has(twice.body, "只能评价一次"));

  // The window closes the follow-up; the applicant sees the outcome.
  auto c = WithDeps<services::ServiceCase>([&](db::Conn& conn, const services::Deps& d) {
    return services::GetCase(conn, d, &clerk_, number);
  });
  ASSERT_TRUE(c && c->followup) << (c ? "no follow-up" : c.error().message);
  auto closed = WithDeps<services::FollowUp>([&](db::Conn& conn, const services::Deps& d) {
    return services::CloseFollowUp(conn, d, Actor(), &clerk_, c->followup->id,
                                   "已电话回访，简化了审核流程");
  });
  ASSERT_TRUE(closed) << closed.error().message;
  auto outcome = client.Get("/track/" + number);
  EXPECT_TRUE(Has(outcome.body, "已电话回访，简化了审核流程"));
}

TEST_P(ServicesPublicTest, CaseFilesGoOnlyToWhoMaySeeTheCase) {
  auto client = server_->Client();
  const std::string number = ApplyOnline(client);
  auto page = client.Get("/track/" + number);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(page.body, m, std::regex("/files/case/([0-9]+)")));
  const std::string url = m[0];
  auto file = client.Get(url);
  ASSERT_EQ(file.status, 200);
  EXPECT_EQ(file.body, kPdf);
  EXPECT_EQ(file.Header("Content-Type"), "application/pdf");
  EXPECT_EQ(file.Header("X-Content-Type-Options"), "nosniff");
  EXPECT_TRUE(Has(file.Header("Content-Disposition"), "filename*=UTF-8''"));

  EXPECT_EQ(server_->Client().Get(url).status, 404);
  EXPECT_EQ(server_->Client().Get("/files/case/999999").status, 404);
  EXPECT_EQ(server_->Client().Get("/files/case/abc").status, 404);

  auto clerk = server_->Client();
  ASSERT_TRUE(LoginAs(clerk, "clerk1", kTestPassword));
  EXPECT_EQ(clerk.Get(url).status, 200);
  EXPECT_EQ(clerk.Get("/cases/" + number + "/receipt").status, 200);
  auto neighbour = server_->Client();
  ASSERT_TRUE(LoginAs(neighbour, "cadre2", kTestPassword));
  EXPECT_EQ(neighbour.Get(url).status, 404);
  EXPECT_EQ(neighbour.Get("/cases/" + number + "/receipt").status, 404);
}

TEST_P(ServicesPublicTest, AccountHoldersSeeTheirCases) {
  auto made = server_->app().db().WriteSync<int64_t>([&](db::Conn& c) {
    return auth::CreateCitizen(
        c, server_->clock(), Actor(),
        {.phone = "13900001111", .display_name = "黄二妹", .password = std::string(kTestPassword)});
  });
  ASSERT_TRUE(made) << made.error().message;
  EXPECT_EQ(server_->Client().Get("/account/cases").status, 303);

  auto client = server_->Client();
  ASSERT_EQ(Login(client, "13900001111", kTestPassword, true).status, 303);
  auto page = client.Get(ApplyPath());
  EXPECT_TRUE(Has(page.body, "value=\"黄二妹\""));
  EXPECT_TRUE(Has(page.body, "value=\"13900001111\""));
  auto parts = ValidParts(page.body);
  parts[5].value = "13900001111";
  parts.push_back({FileField(0), kPdf, "身份证.pdf", "application/pdf"});
  auto res = PostMultipart(client, ApplyPath(), parts);
  ASSERT_EQ(res.status, 303) << res.body.substr(0, 2000);
  client.clear_cookies();
  ASSERT_EQ(Login(client, "13900001111", kTestPassword, true).status, 303);
  auto mine = client.Get("/account/cases");
  ASSERT_EQ(mine.status, 200);
  EXPECT_TRUE(Has(mine.body, "最低生活保障申请"));
  EXPECT_TRUE(Has(mine.body, "待受理"));
  std::smatch m;
  ASSERT_TRUE(std::regex_search(mine.body, m, std::regex("/track/([A-Z0-9-]+)")));
  const std::string own = m[0];
  EXPECT_EQ(client.Get(own).status, 200);  // no digits needed for one's own case

  // Someone else's account sees nothing of it.
  auto other = server_->app().db().WriteSync<int64_t>([&](db::Conn& c) {
    return auth::CreateCitizen(
        c, server_->clock(), Actor(),
        {.phone = "13900002222", .display_name = "李四", .password = std::string(kTestPassword)});
  });
  ASSERT_TRUE(other);
  auto stranger = server_->Client();
  ASSERT_EQ(Login(stranger, "13900002222", kTestPassword, true).status, 303);
  EXPECT_FALSE(Has(stranger.Get("/account/cases").body, "最低生活保障申请"));
  EXPECT_EQ(stranger.Get(own).status, 303);
}

TEST_P(ServicesPublicTest, UnknownSampleIs404) {
  auto client = server_->Client();
  EXPECT_EQ(
      client.Get("/services/materials/" + std::to_string(service_.materials[0].id) + "/sample")
          .status,
      404);
  EXPECT_EQ(client.Get("/services/materials/0/sample").status, 404);
}

INSTANTIATE_TEST_SUITE_P(Http, ServicesPublicTest, AllBackends(), BackendParamName);

}  // namespace
}  // namespace zhenwu::testing
