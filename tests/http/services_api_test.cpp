// The JSON API of 政务服务 over real HTTP on both databases: token authentication, a case's whole
// life through /api/v1/cases, illegal transitions (409), the neighbour village's cadre (404),
// validation (422 naming the field), malformed bodies (400), Idempotency-Key and cursor
// paging.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "app/app.hpp"
#include "auth/middleware.hpp"
#include "auth/service.hpp"
#include "services/service.hpp"
#include "support/services_fixture.hpp"

namespace zhenwu::testing {
namespace {

namespace json = boost::json;
using auth::Role;
using auth::Scope;

// Valid ID-card numbers (GB 11643 check digits).
constexpr const char* kIdCard1 = "450981199003071237";
constexpr const char* kIdCard2 = "450981198805120016";
constexpr const char* kIdCard3 = "450981197512300027";

json::object Json(const HttpResponse& res) {
  boost::system::error_code ec;
  json::value v = json::parse(res.body, ec);
  if (ec || !v.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << res.status << " " << res.body;
    return {};
  }
  return v.as_object();
}

std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

// The error object of a JSON error answer.
json::object ErrorOf(const HttpResponse& res) {
  json::object body = Json(res);
  const json::value* e = body.if_contains("error");
  if (e == nullptr || !e->is_object()) {
    ADD_FAILURE() << "no error object: " << res.body;
    return {};
  }
  return e->as_object();
}

class ServicesApiTest : public ServicesHttpTest {
 protected:
  void SetUp() override {
    StartServer();
    if (IsSkipped() || HasFatalFailure()) return;
    const std::string name = "测试用户";
    AddStaff("clerk", name, Role::kClerk, Scope::kUnit, tree_.window, tree_.window_path);
    AddStaff("cadre1", name, Role::kVillageCadre, Scope::kSubtree, tree_.village1,
             tree_.village1_path);
    AddStaff("cadre2", name, Role::kVillageCadre, Scope::kSubtree, tree_.village2,
             tree_.village2_path);
    const auth::Principal editor =
        AddStaff("editor", name, Role::kEditor, Scope::kSubtree, tree_.town, tree_.town_path);
    AddStaff("leader", name, Role::kLeader, Scope::kSubtree, tree_.town, tree_.town_path);
    ASSERT_FALSE(HasFailure());
    for (const char* login : {"clerk", "cadre1", "cadre2", "leader"}) tokens_[login] = Token(login);

    // Two services of the 民政办 window: one asking for an ID card (required), one without
    // materials that villages may apply for on a villager's behalf.
    auto add = [&](services::ServiceInput in) {
      auto made = WithDeps<services::Service>([&](db::Conn& c, const services::Deps& d) {
        return services::CreateService(c, d, Actor(), &editor, in);
      });
      EXPECT_TRUE(made) << made.error().message
                        << (made.error().fields.empty() ? "" : made.error().fields[0].field);
      return made ? *made : services::Service{};
    };
    services::ServiceInput subsidy;
    subsidy.code = "T-MZ-001";
    subsidy.name = "最低生活保障申请";
    subsidy.category = "行政给付";
    subsidy.unit_id = tree_.window;
    subsidy.life_events = {"subsistence"};
    subsidy.statutory_days = "30";
    subsidy.promised_days = "20";
    subsidy.online = true;
    subsidy.proxy = true;
    subsidy.materials.push_back({.name = "居民身份证", .form = "copy"});
    subsidy_ = add(subsidy);
    services::ServiceInput mediation;
    mediation.code = "T-MZ-002";
    mediation.name = "人民调解申请";
    mediation.category = "公共服务";
    mediation.unit_id = tree_.window;
    mediation.life_events = {"dispute"};
    mediation.statutory_days = "15";
    mediation.promised_days = "10";
    mediation.online = true;
    mediation.proxy = true;
    mediation_ = add(mediation);
    ASSERT_FALSE(subsidy_.materials.empty());
    client_.emplace(server_->Client());
  }

  std::string Token(const std::string& login) {
    auto t = server_->app().db().WriteSync<std::string>(
        [&](db::Conn& c) { return auth::CreateToken(c, server_->clock(), login, std::nullopt); });
    EXPECT_TRUE(t) << login << ": " << t.error().message;
    return t ? *t : std::string();
  }

  Headers Auth(const std::string& login, Headers extra = {}) {
    extra.emplace_back("Authorization", "Bearer " + tokens_.at(login));
    return extra;
  }

  HttpResponse Get(const std::string& login, std::string_view path) {
    return client_->Get(path, Auth(login));
  }
  HttpResponse Post(const std::string& login, std::string_view path, const json::value& body,
                    Headers extra = {}) {
    return client_->Post(path, json::serialize(body), "application/json",
                         Auth(login, std::move(extra)));
  }

  // A walk-in application at the 民政办 window by the clerk (no files needed there).
  json::object Applicant(const std::string& name, const std::string& id_card,
                         const std::string& service_code = "T-MZ-002") {
    return json::object{{"service_code", service_code},
                        {"channel", "window"},
                        {"name", name},
                        {"id_card", id_card},
                        {"phone", "13812345678"},
                        {"village_id", tree_.village1},
                        {"address", "示例一村 3 组"},
                        {"description", "邻里宅基地纠纷，申请调解"}};
  }

  std::string CreateCase(const std::string& login, json::object body) {
    auto res = Post(login, "/api/v1/cases", body);
    EXPECT_EQ(res.status, 201) << res.body;
    return Str(Json(res), "number");
  }

  int64_t CountCases() {
    auto n = server_->app().db().ReadSync<int64_t>([](db::Conn& c) -> Result<int64_t> {
      auto row = c.QueryOne("SELECT COUNT(*) FROM services_cases");
      if (!row) return std::move(row).error();
      return (**row).Int(0);
    });
    EXPECT_TRUE(n);
    return n ? *n : -1;
  }

  std::optional<HttpClient> client_;
  std::map<std::string, std::string> tokens_;
  services::Service subsidy_, mediation_;
};

using ServicesApi = ServicesApiTest;

TEST_P(ServicesApi, MissingInvalidAndRevokedTokensAre401) {
  auto none = client_->Get("/api/v1/cases");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(Str(ErrorOf(none), "code"), "unauthenticated");
  EXPECT_NE(none.Header("WWW-Authenticate").find("Bearer"), std::string::npos);
  EXPECT_EQ(client_->Post("/api/v1/cases", "{}", "application/json").status, 401);
  EXPECT_EQ(client_->Get("/api/v1/services").status, 401);

  auto bad = client_->Get("/api/v1/cases", {{"Authorization", "Bearer zw_not_a_token"}});
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(Str(ErrorOf(bad), "code"), "unauthenticated");

  ASSERT_EQ(Get("clerk", "/api/v1/cases").status, 200);
  auto& db = server_->app().db();
  auto revoked = db.WriteSync<bool>([&](db::Conn& c) -> Result<bool> {
    auto list = auth::ListTokens(c, "clerk");
    if (!list) return std::move(list).error();
    for (const auto& t : *list) {
      if (auto s = auth::RevokeToken(c, server_->clock(), t.id); !s) return std::move(s).error();
    }
    return true;
  });
  ASSERT_TRUE(revoked);
  // What the tokens page does after its commit; a revoke by another process (zhenwu token
  // revoke) holds within auth::kTokenCacheTtl.
  auth::AccountsChanged();
  auto after = Get("clerk", "/api/v1/cases");
  EXPECT_EQ(after.status, 401);
  EXPECT_EQ(Post("clerk", "/api/v1/cases", Applicant("黄二妹", kIdCard1)).status, 401);
  EXPECT_EQ(CountCases(), 0);
}

TEST_P(ServicesApi, ABrowserSessionIsNotAnApiCredential) {
  // A signed-in browser's cookie must not create cases: the API has no CSRF check.
  HttpClient browser = server_->Client();
  ASSERT_TRUE(LoginAs(browser, "clerk", kTestPassword));
  auto res = browser.Post("/api/v1/cases", json::serialize(Applicant("黄二妹", kIdCard1)),
                          "application/json");
  EXPECT_EQ(res.status, 401) << res.body;
  EXPECT_EQ(browser.Get("/api/v1/cases").status, 401);
  EXPECT_EQ(CountCases(), 0);
}

TEST_P(ServicesApi, CatalogueListsFiltersAndShowsMaterials) {
  auto list = Get("cadre1", "/api/v1/services");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_NE(list.Header("Content-Type").find("application/json"), std::string::npos);
  auto services = Json(list)["services"].as_array();
  ASSERT_EQ(services.size(), 2u);
  EXPECT_EQ(Str(services[0].as_object(), "code"), "T-MZ-001");

  auto filtered = Json(Get("cadre1", "/api/v1/services?event=dispute"))["services"].as_array();
  ASSERT_EQ(filtered.size(), 1u);
  EXPECT_EQ(Str(filtered[0].as_object(), "name"), "人民调解申请");
  auto searched = Json(Get("cadre1", "/api/v1/services?q=%E4%BD%8E%E4%BF%9D"))["services"];
  EXPECT_LE(searched.as_array().size(), 2u);

  auto one = Get("cadre1", "/api/v1/services/T-MZ-001");
  ASSERT_EQ(one.status, 200) << one.body;
  auto s = Json(one);
  EXPECT_EQ(s["promised_days"].as_int64(), 20);
  EXPECT_EQ(s["unit"].as_object()["id"].as_int64(), tree_.window);
  auto materials = s["materials"].as_array();
  ASSERT_EQ(materials.size(), 1u);
  EXPECT_EQ(Str(materials[0].as_object(), "name"), "居民身份证");
  EXPECT_EQ(materials[0].as_object()["required"].as_bool(), true);

  auto missing = Get("cadre1", "/api/v1/services/NOPE-1");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(Str(ErrorOf(missing), "code"), "not_found");
  auto bad_event = Get("cadre1", "/api/v1/services?event=nonsense");
  EXPECT_EQ(bad_event.status, 422);
  EXPECT_EQ(Str(ErrorOf(bad_event), "field"), "event");
  auto bad_window = Get("cadre1", "/api/v1/services?window=abc");
  EXPECT_EQ(bad_window.status, 422);
  EXPECT_EQ(Str(ErrorOf(bad_window), "field"), "window");
}

// Without "channel" the caller applies the usual way: a clerk of the service's window at the
// window (so no files are needed), by service_id as well as by service_code.
TEST_P(ServicesApi, WithoutAChannelAClerkAppliesAtTheWindow) {
  json::object usual = Applicant("黄二妹", kIdCard1);
  usual.erase("channel");
  auto by_code = Post("clerk", "/api/v1/cases", usual);
  ASSERT_EQ(by_code.status, 201) << by_code.body;
  EXPECT_EQ(Str(Json(by_code), "channel"), "window");
  const int64_t service_id = Json(by_code)["service"].as_object().at("id").as_int64();
  usual.erase("service_code");
  usual["service_id"] = service_id;
  auto by_id = Post("clerk", "/api/v1/cases", usual);
  ASSERT_EQ(by_id.status, 201) << by_id.body;
  EXPECT_EQ(Str(Json(by_id), "channel"), "window");
  usual["service_id"] = service_id + 1000;
  auto unknown = Post("clerk", "/api/v1/cases", usual);
  EXPECT_EQ(unknown.status, 422);
  EXPECT_EQ(Str(ErrorOf(unknown), "field"), "service_id");
  EXPECT_EQ(Str(ErrorOf(unknown), "message"), "没有这个服务事项");
}

TEST_P(ServicesApi, ACaseGoesThroughItsWholeLifeAndIllegalStepsAre409) {
  auto created = Post("clerk", "/api/v1/cases", Applicant("黄二妹", kIdCard1));
  ASSERT_EQ(created.status, 201) << created.body;
  auto c = Json(created);
  const std::string number = Str(c, "number");
  EXPECT_EQ(number.rfind("T-PZ-20261130-", 0), 0u) << number;
  EXPECT_EQ(created.Header("Location"), "/api/v1/cases/" + number);
  EXPECT_EQ(Str(c, "status"), "submitted");
  EXPECT_EQ(Str(c, "channel"), "window");
  EXPECT_EQ(Str(c["applicant"].as_object(), "name"), "黄二妹");
  EXPECT_EQ(Str(c["applicant"].as_object(), "phone"), "138****5678");
  EXPECT_EQ(created.body.find("13812345678"), std::string::npos) << "phone must be masked";
  EXPECT_EQ(created.body.find(kIdCard1), std::string::npos) << "ID card must not be shown";
  EXPECT_EQ(Str(c, "applied_on"), "2026-11-30");
  EXPECT_FALSE(c["due_on"].is_null());

  const std::string path = "/api/v1/cases/" + number;
  auto got = Get("clerk", path);
  ASSERT_EQ(got.status, 200) << got.body;
  auto events = Json(got)["events"].as_array();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(Str(events[0].as_object(), "action"), "submit");

  auto step = [&](json::object body, int want, const std::string& status) {
    auto res = Post("clerk", path + "/transitions", body);
    EXPECT_EQ(res.status, want) << json::serialize(body) << " → " << res.body;
    if (want == 200) {
      EXPECT_EQ(Str(Json(res), "status"), status) << res.body;
    }
    return res;
  };
  step({{"action", "correct"}, {"note", "请补充户口簿复印件"}}, 200, "correcting");
  auto corr = Json(Get("clerk", path));
  ASSERT_EQ(corr["corrections"].as_array().size(), 1u);
  EXPECT_FALSE(corr["paused_since"].is_null());
  step({{"action", "resubmit"}, {"note", "已补交户口簿"}}, 200, "submitted");
  step({{"action", "accept"}, {"expect_status", "submitted"}}, 200, "accepted");
  step({{"action", "note"}, {"note", "已电话联系双方"}}, 200, "accepted");
  auto done =
      step({{"action", "complete"}, {"result", "调解成功，双方签订协议"}}, 200, "completed");
  auto finished = Json(done);
  EXPECT_EQ(Str(finished, "result"), "调解成功，双方签订协议");
  EXPECT_FALSE(finished["completed_at"].is_null());
  EXPECT_EQ(finished["events"].as_array().size(), 6u);

  // Illegal now: the case is final. The answer names the current status.
  auto again = step({{"action", "accept"}}, 409, "");
  auto err = ErrorOf(again);
  EXPECT_EQ(Str(err, "code"), "conflict");
  EXPECT_NE(Str(err, "message").find("已办结"), std::string::npos) << again.body;
  // A stale client expecting another status gets 409 and changes nothing.
  step({{"action", "note"}, {"note", "x"}, {"expect_status", "accepted"}}, 409, "");
  EXPECT_EQ(Json(Get("clerk", path))["events"].as_array().size(), 6u);

  auto listed = Json(Get("clerk", "/api/v1/cases?status=completed"))["cases"].as_array();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(Str(listed[0].as_object(), "number"), number);
  EXPECT_TRUE(
      Json(Get("clerk", "/api/v1/cases?status=submitted,accepted"))["cases"].as_array().empty());
}

TEST_P(ServicesApi, RejectNeedsAReasonAndTransferNeedsATarget) {
  const std::string number = CreateCase("clerk", Applicant("黄二妹", kIdCard1));
  const std::string path = "/api/v1/cases/" + number + "/transitions";
  auto no_reason = Post("clerk", path, json::object{{"action", "reject"}});
  EXPECT_EQ(no_reason.status, 422);
  EXPECT_EQ(Str(ErrorOf(no_reason), "field"), "reason");
  auto no_target = Post("clerk", path, json::object{{"action", "transfer"}});
  EXPECT_EQ(no_target.status, 422);
  EXPECT_EQ(Str(ErrorOf(no_target), "field"), "target_unit_id");
  auto bad_action = Post("clerk", path, json::object{{"action", "explode"}});
  EXPECT_EQ(bad_action.status, 422);
  EXPECT_EQ(Str(ErrorOf(bad_action), "field"), "action");
  auto submit = Post("clerk", path, json::object{{"action", "submit"}});
  EXPECT_EQ(submit.status, 422);
  auto rejected =
      Post("clerk", path, json::object{{"action", "reject"}, {"reason", "不属于本窗口受理范围"}});
  ASSERT_EQ(rejected.status, 200) << rejected.body;
  EXPECT_EQ(Str(Json(rejected), "status"), "rejected");
  EXPECT_EQ(Post("clerk", path, json::object{{"action", "accept"}}).status, 409);
  EXPECT_EQ(Post("clerk", "/api/v1/cases/T-PZ-20261130-9999/transitions",
                 json::object{{"action", "accept"}})
                .status,
            404);
  EXPECT_EQ(
      Post("clerk", "/api/v1/cases/not-a-number/transitions", json::object{{"action", "accept"}})
          .status,
      404);
}

TEST_P(ServicesApi, TheNeighbourVillagesCadreGets404) {
  // cadre1 applies for a villager of 示例一村 (代办).
  json::object body = Applicant("黄二妹", kIdCard1);
  body["channel"] = "proxy";
  auto created = Post("cadre1", "/api/v1/cases", body);
  ASSERT_EQ(created.status, 201) << created.body;
  auto c = Json(created);
  const std::string number = Str(c, "number");
  EXPECT_EQ(Str(c, "channel"), "proxy");
  EXPECT_EQ(c["origin_unit_id"].as_int64(), tree_.village1);
  EXPECT_EQ(c["agent"].as_object()["name"].as_string(), "测试用户");
  const std::string path = "/api/v1/cases/" + number;

  EXPECT_EQ(Get("cadre1", path).status, 200);
  auto peek = Get("cadre2", path);
  EXPECT_EQ(peek.status, 404);
  EXPECT_EQ(Str(ErrorOf(peek), "code"), "not_found");
  EXPECT_EQ(peek.body.find("黄二妹"), std::string::npos);
  auto act = Post("cadre2", path + "/transitions", json::object{{"action", "note"}, {"note", "x"}});
  EXPECT_EQ(act.status, 404);
  EXPECT_TRUE(Json(Get("cadre2", "/api/v1/cases"))["cases"].as_array().empty());
  auto own = Json(Get("cadre1", "/api/v1/cases"))["cases"].as_array();
  ASSERT_EQ(own.size(), 1u);
  // cadre2 may not apply for 示例一村's villagers either.
  json::object other = Applicant("李四", kIdCard2);
  other["channel"] = "proxy";
  auto refused = Post("cadre2", "/api/v1/cases", other);
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_EQ(Str(ErrorOf(refused), "field"), "village_id");
  // The window clerk handles it; the cadre may see but not accept it.
  EXPECT_EQ(Post("cadre1", path + "/transitions", json::object{{"action", "accept"}}).status, 403);
  EXPECT_EQ(Post("clerk", path + "/transitions", json::object{{"action", "accept"}}).status, 200);
  EXPECT_EQ(CountCases(), 1);
}

TEST_P(ServicesApi, ValidationNamesTheFieldAndMalformedBodiesAre400) {
  json::object no_name = Applicant("", kIdCard1);
  auto res = Post("clerk", "/api/v1/cases", no_name);
  EXPECT_EQ(res.status, 422);
  auto err = ErrorOf(res);
  EXPECT_EQ(Str(err, "code"), "invalid_input");
  EXPECT_EQ(Str(err, "field"), "name");
  EXPECT_FALSE(Str(err, "message").empty());

  auto bad_id = Post("clerk", "/api/v1/cases", Applicant("黄二妹", "450981199003071230"));
  EXPECT_EQ(bad_id.status, 422);
  EXPECT_EQ(Str(ErrorOf(bad_id), "field"), "id_card");

  json::object wrong_type = Applicant("黄二妹", kIdCard1);
  wrong_type["village_id"] = "示例一村";
  auto typed = Post("clerk", "/api/v1/cases", wrong_type);
  EXPECT_EQ(typed.status, 422);
  EXPECT_EQ(Str(ErrorOf(typed), "field"), "village_id");
  EXPECT_NE(Str(ErrorOf(typed), "message").find("应为整数"), std::string::npos) << typed.body;

  json::object no_service = Applicant("黄二妹", kIdCard1);
  no_service.erase("service_code");
  auto ns = Post("clerk", "/api/v1/cases", no_service);
  EXPECT_EQ(ns.status, 422);
  EXPECT_EQ(Str(ErrorOf(ns), "field"), "service_code");
  auto unknown = Post("clerk", "/api/v1/cases", Applicant("黄二妹", kIdCard1, "NOPE-1"));
  EXPECT_EQ(unknown.status, 422);
  EXPECT_EQ(Str(ErrorOf(unknown), "field"), "service_code");
  EXPECT_EQ(Str(ErrorOf(unknown), "message"), "没有这个服务事项");

  json::object channel = Applicant("黄二妹", kIdCard1);
  channel["channel"] = "fax";
  EXPECT_EQ(Str(ErrorOf(Post("clerk", "/api/v1/cases", channel)), "field"), "channel");

  // Online applications need the required materials' files.
  json::object online = Applicant("黄二妹", kIdCard1, "T-MZ-001");
  online["channel"] = "online";
  auto missing_file = Post("cadre1", "/api/v1/cases", online);
  EXPECT_EQ(missing_file.status, 422) << missing_file.body;
  json::object bad_ref = online;
  bad_ref["files"] =
      json::array{json::object{{"material_id", subsidy_.materials[0].id}, {"sha256", "xyz"}}};
  auto br = Post("cadre1", "/api/v1/cases", bad_ref);
  EXPECT_EQ(br.status, 422);
  EXPECT_EQ(Str(ErrorOf(br), "field"), "files.0.sha256");

  auto malformed = client_->Post("/api/v1/cases", "{\"name\": ", "application/json", Auth("clerk"));
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(Str(ErrorOf(malformed), "code"), "malformed_request");
  auto array = client_->Post("/api/v1/cases", "[1,2]", "application/json", Auth("clerk"));
  EXPECT_EQ(array.status, 400);
  auto form =
      client_->Post("/api/v1/cases", "name=x", "application/x-www-form-urlencoded", Auth("clerk"));
  EXPECT_EQ(form.status, 400);
  EXPECT_EQ(CountCases(), 0);

  // Query filters are checked as well.
  for (const char* q : {"status=bogus", "due=later", "limit=0", "limit=501", "from=2026-13-01",
                        "channel=fax", "unit_id=-3", "order=random"}) {
    auto r = Get("clerk", std::string("/api/v1/cases?") + q);
    EXPECT_EQ(r.status, 422) << q << " " << r.body;
  }
  auto cursor = Get("clerk", "/api/v1/cases?cursor=zzz");
  EXPECT_EQ(cursor.status, 422);
  EXPECT_EQ(Str(ErrorOf(cursor), "field"), "cursor");
}

TEST_P(ServicesApi, TheSameIdempotencyKeyCreatesOneCase) {
  const Headers key{{"Idempotency-Key", "2f1c7d1e-8b7a-4c1e-9d55-0a4b6f3e2c11"}};
  auto first = Post("clerk", "/api/v1/cases", Applicant("黄二妹", kIdCard1), key);
  ASSERT_EQ(first.status, 201) << first.body;
  auto second = Post("clerk", "/api/v1/cases", Applicant("黄二妹", kIdCard1), key);
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(Str(Json(second), "number"), Str(Json(first), "number"));
  EXPECT_EQ(second.Header("Idempotent-Replayed"), "true");
  EXPECT_EQ(CountCases(), 1);

  // Another key is another case; the same key from another account is that account's own.
  EXPECT_EQ(Post("clerk", "/api/v1/cases", Applicant("黄二妹", kIdCard1),
                 {{"Idempotency-Key", "another-key-0000000001"}})
                .status,
            201);
  json::object proxy = Applicant("李四", kIdCard2);
  proxy["channel"] = "proxy";
  EXPECT_EQ(Post("cadre1", "/api/v1/cases", proxy, key).status, 201);
  EXPECT_EQ(CountCases(), 3);

  // A first attempt that fails validation leaves the key unused: the corrected retry works.
  const Headers retry{{"Idempotency-Key", "retry-after-fixing-0001"}};
  EXPECT_EQ(Post("clerk", "/api/v1/cases", Applicant("", kIdCard3), retry).status, 422);
  EXPECT_EQ(Post("clerk", "/api/v1/cases", Applicant("梁三", kIdCard3), retry).status, 201);
  EXPECT_EQ(CountCases(), 4);

  auto malformed =
      Post("clerk", "/api/v1/cases", Applicant("梁三", kIdCard3), {{"Idempotency-Key", "short"}});
  EXPECT_EQ(malformed.status, 422);
  EXPECT_EQ(Str(ErrorOf(malformed), "field"), "Idempotency-Key");
  EXPECT_EQ(CountCases(), 4);

  // A repeated step answers the case as it is and does not act twice.
  const std::string number = Str(Json(first), "number");
  const Headers step_key{{"Idempotency-Key", "accept-step-key-000001"}};
  const std::string path = "/api/v1/cases/" + number + "/transitions";
  EXPECT_EQ(Post("clerk", path, json::object{{"action", "accept"}}, step_key).status, 200);
  auto repeat = Post("clerk", path, json::object{{"action", "accept"}}, step_key);
  EXPECT_EQ(repeat.status, 200) << repeat.body;
  EXPECT_EQ(Str(Json(repeat), "status"), "accepted");
  EXPECT_EQ(Json(repeat)["events"].as_array().size(), 2u);
}

TEST_P(ServicesApi, CursorPagingVisitsEveryCaseOnce) {
  const char* ids[] = {kIdCard1, kIdCard2, kIdCard3};
  const char* names[] = {"黄二妹", "李四", "梁三"};
  std::set<std::string> made;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 3; ++i) made.insert(CreateCase("clerk", Applicant(names[i], ids[i])));
  }
  ASSERT_EQ(made.size(), 6u);
  for (const char* order : {"", "&order=recent"}) {
    std::set<std::string> seen;
    std::string url = std::string("/api/v1/cases?limit=4") + order;
    int pages = 0;
    while (!url.empty() && pages < 10) {
      auto res = Get("clerk", url);
      ASSERT_EQ(res.status, 200) << res.body;
      auto page = Json(res);
      for (const auto& c : page["cases"].as_array()) {
        EXPECT_TRUE(seen.insert(Str(c.as_object(), "number")).second) << "seen twice";
      }
      url = page["next"].is_null() ? "" : std::string(page["next"].as_string());
      ++pages;
    }
    EXPECT_EQ(pages, 2) << order;
    EXPECT_EQ(seen, made) << order;
  }
  // The leader sees them too; a citizen-less staff member without case rights does not.
  EXPECT_EQ(Json(Get("leader", "/api/v1/cases?limit=500"))["cases"].as_array().size(), 6u);
}

TEST_P(ServicesApi, UploadedFilesAreJudgedByContentAndAttachedBySha256) {
  const std::string pdf = "%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";
  auto up = client_->Post("/api/v1/files?name=%E8%BA%AB%E4%BB%BD%E8%AF%81.pdf", pdf,
                          "application/octet-stream", Auth("cadre1"));
  ASSERT_EQ(up.status, 201) << up.body;
  auto stored = Json(up);
  const std::string sha = Str(stored, "sha256");
  EXPECT_EQ(sha.size(), 64u);
  EXPECT_EQ(Str(stored, "content_type"), "application/pdf");
  EXPECT_EQ(stored["size"].as_int64(), static_cast<int64_t>(pdf.size()));
  EXPECT_EQ(Str(stored, "name"), "身份证.pdf");

  // A text file named .pdf is refused by its content; an empty body too; and no token, no upload.
  auto text =
      client_->Post("/api/v1/files?name=a.pdf", "just text", "application/pdf", Auth("cadre1"));
  EXPECT_EQ(text.status, 422) << text.body;
  EXPECT_EQ(Str(ErrorOf(text), "field"), "file");
  auto empty = client_->Post("/api/v1/files", "", "application/pdf", Auth("cadre1"));
  EXPECT_EQ(empty.status, 422);
  EXPECT_EQ(client_->Post("/api/v1/files", pdf, "application/pdf").status, 401);

  // An online application for a service that needs the ID card: with the uploaded file.
  json::object online = Applicant("黄二妹", kIdCard1, "T-MZ-001");
  online["channel"] = "proxy";
  const int64_t material = subsidy_.materials[0].id;
  json::object unknown = online;
  unknown["files"] = json::array{
      json::object{{"material_id", material}, {"sha256", std::string(64, 'a')}, {"name", "x.pdf"}}};
  auto missing = Post("cadre1", "/api/v1/cases", unknown);
  EXPECT_EQ(missing.status, 422) << missing.body;
  EXPECT_EQ(Str(ErrorOf(missing), "field"), "files.0.sha256");
  online["files"] =
      json::array{json::object{{"material_id", material}, {"sha256", sha}, {"name", "身份证.pdf"}}};
  auto created = Post("cadre1", "/api/v1/cases", online);
  ASSERT_EQ(created.status, 201) << created.body;
  auto files = Json(created)["files"].as_array();
  ASSERT_EQ(files.size(), 1u);
  auto f = files[0].as_object();
  EXPECT_EQ(Str(f, "sha256"), sha);
  EXPECT_EQ(Str(f, "content_type"), "application/pdf");
  EXPECT_EQ(f["material_id"].as_int64(), material);
  EXPECT_EQ(Str(f, "material_name"), "居民身份证");
}

TEST_P(ServicesApi, TheFileSweepKeepsWhatCasesAndServicesReferToAndRemovesTheRest) {
  auto& app = server_->app();
  auto upload = [&](const std::string& bytes) {
    auto up = client_->Post("/api/v1/files?name=a.pdf", bytes, "application/pdf", Auth("cadre1"));
    EXPECT_EQ(up.status, 201) << up.body;
    return Str(Json(up), "sha256");
  };
  const std::string attached = upload("%PDF-1.4\n身份证\n%%EOF\n");
  const std::string abandoned = upload("%PDF-1.4\n没有提交的申请\n%%EOF\n");
  // A material's sample (样表), as the catalogue editor stores it.
  auto sample = app.files().Put("%PDF-1.4\n样表\n%%EOF\n");
  ASSERT_TRUE(sample) << sample.error().message;
  const int64_t material = subsidy_.materials[0].id;
  auto set = app.db().WriteSync<int64_t>([&](db::Conn& c) {
    return c.Exec("UPDATE services_materials SET sample_sha256 = $1 WHERE id = $2",
                  {sample->sha256, material});
  });
  ASSERT_TRUE(set && *set == 1);
  json::object online = Applicant("黄二妹", kIdCard1, "T-MZ-001");
  online["channel"] = "proxy";
  online["files"] = json::array{
      json::object{{"material_id", material}, {"sha256", attached}, {"name", "身份证.pdf"}}};
  ASSERT_EQ(Post("cadre1", "/api/v1/cases", online).status, 201);

  // A month later (by the files' times), with files.keep_unreferenced_days = 7.
  for (const auto& h : {attached, abandoned, sample->sha256}) {
    std::filesystem::last_write_time(
        app.files().PathOf(h),
        std::filesystem::file_time_type::clock::now() - std::chrono::hours(30 * 24));
  }
  auto swept = app.SweepUnreferencedFiles();
  ASSERT_TRUE(swept) << swept.error().message;
  EXPECT_EQ(swept->files, 3);
  EXPECT_EQ(swept->removed, 1);
  EXPECT_EQ(swept->referenced, 2);
  EXPECT_NE(client_->Get("/metrics").body.find("zhenwu_files_removed_total 1"), std::string::npos);
  EXPECT_TRUE(app.files().Exists(attached));
  EXPECT_TRUE(app.files().Exists(sample->sha256));
  EXPECT_FALSE(app.files().Exists(abandoned));

  // An application naming the removed upload is told the file is unknown, beside its field.
  json::object late = Applicant("李四", kIdCard2, "T-MZ-001");
  late["channel"] = "proxy";
  late["files"] = json::array{
      json::object{{"material_id", material}, {"sha256", abandoned}, {"name", "x.pdf"}}};
  auto refused = Post("cadre1", "/api/v1/cases", late);
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_EQ(Str(ErrorOf(refused), "field"), "files.0.sha256");
}

TEST_P(ServicesApi, ACitizenSeesOnlyTheirOwnCaseAndCannotList) {
  auto& db = server_->app().db();
  auto citizen = db.WriteSync<int64_t>([&](db::Conn& c) {
    return auth::CreateCitizen(c, server_->clock(), audit::Actor{std::nullopt, "system", "", ""},
                               {.phone = "13912345678",
                                .display_name = "黄二妹",
                                .password_hash = "not-used-by-this-test"});
  });
  ASSERT_TRUE(citizen) << citizen.error().message;
  tokens_["citizen"] = Token("13912345678");
  json::object online = Applicant("黄二妹", kIdCard1, "T-MZ-002");
  online.erase("channel");  // a citizen applies online
  auto mine = Post("citizen", "/api/v1/cases", online);
  ASSERT_EQ(mine.status, 201) << mine.body;
  EXPECT_EQ(Str(Json(mine), "channel"), "online");
  const std::string number = Str(Json(mine), "number");
  EXPECT_EQ(Get("citizen", "/api/v1/cases/" + number).status, 200);
  const std::string other = CreateCase("clerk", Applicant("李四", kIdCard2));
  EXPECT_EQ(Get("citizen", "/api/v1/cases/" + other).status, 404);
  EXPECT_EQ(Get("citizen", "/api/v1/cases").status, 403);
  // The citizen withdraws their own application; a staff step is refused.
  auto accept = Post("citizen", "/api/v1/cases/" + number + "/transitions",
                     json::object{{"action", "accept"}});
  EXPECT_GE(accept.status, 400);
  EXPECT_NE(Str(Json(Get("citizen", "/api/v1/cases/" + number)), "status"), "accepted");
  auto withdrawn = Post("citizen", "/api/v1/cases/" + number + "/transitions",
                        json::object{{"action", "withdraw"}});
  ASSERT_EQ(withdrawn.status, 200) << withdrawn.body;
  EXPECT_EQ(Str(Json(withdrawn), "status"), "withdrawn");
}

INSTANTIATE_TEST_SUITE_P(Http, ServicesApi, AllBackends(), BackendParamName);

}  // namespace
}  // namespace zhenwu::testing
