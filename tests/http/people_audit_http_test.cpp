// The people register's and the audit log's pages over real HTTP: scoping (a neighbour village's
// clerk gets 404), the audited reveal, validation that keeps the input, the audit list and its
// CSV export.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "audit/audit.hpp"
#include "people/keys.hpp"
#include "people/service.hpp"
#include "support/app_server.hpp"
#include "support/auth_fixture.hpp"
#include "support/temp_dir.hpp"

namespace zhenwu::testing {
namespace {

using auth::Role;
using auth::Scope;

constexpr const char* kIdCard = "450981199003071237";

class PeopleAuditHttpTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres && !TestPostgresUrl()) {
      GTEST_SKIP() << "ZHENWU_TEST_PG is not set (./test.sh sets it)";
    }
    server_ = std::make_unique<AppServer>(AppServerOptions{.backend = GetParam()});
    ASSERT_TRUE(server_->ok()) << server_->error();
    auto& db = server_->app().db();
    auto tree = CreateSmallTree(db, server_->clock());
    ASSERT_TRUE(tree) << tree.error().message;
    tree_ = *tree;
    auto staff = [&](std::string login, Role role, Scope scope, int64_t unit) {
      auto r = CreateStaffUser(db, server_->clock(),
                               {.login = login, .unit_id = unit, .grants = {{role, scope, unit}}});
      ASSERT_TRUE(r) << login << ": " << r.error().message;
    };
    staff("clerk1", Role::kClerk, Scope::kUnit, tree_.village1);
    staff("clerk2", Role::kVillageCadre, Scope::kUnit, tree_.village2);
    staff("leader", Role::kLeader, Scope::kSubtree, tree_.town);
    staff("auditor", Role::kAuditor, Scope::kSubtree, tree_.city);
    staff("auditor_v1", Role::kAuditor, Scope::kUnit, tree_.village1);

    const auto keys = server_->app().people_keys();
    ASSERT_TRUE(keys);
    auto r = db.WriteSync<people::Resident>([&](db::Conn& c) {
      return people::CreateResident(c, server_->clock(), *keys,
                                    audit::Actor{std::nullopt, "system", "", ""},
                                    people::ResidentInput{.name = "黄二妹",
                                                          .id_card = kIdCard,
                                                          .phone = "13812345678",
                                                          .village_unit_id = tree_.village2,
                                                          .address = "示例二村 5 组"});
    });
    ASSERT_TRUE(r) << r.error().message;
    resident_id_ = r->id;
  }

  HttpClient SignedIn(const std::string& login) {
    HttpClient client = server_->Client();
    EXPECT_TRUE(LoginAs(client, login, kTestPassword)) << login;
    return client;
  }

  std::string ResidentPath() const { return "/admin/people/" + std::to_string(resident_id_); }

  std::unique_ptr<AppServer> server_;
  SmallTree tree_;
  int64_t resident_id_ = 0;
};

TEST_P(PeopleAuditHttpTest, NeighbourVillageClerkGets404AndLearnsNothing) {
  auto clerk1 = SignedIn("clerk1");
  auto res = clerk1.Get(ResidentPath());
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.body.find("黄二妹"), std::string::npos);
  EXPECT_EQ(res.body.find("4509"), std::string::npos);
  auto post = PostFormWithCsrf(clerk1, ResidentPath() + "/reveal", {});
  EXPECT_EQ(post.status, 404);
  auto list = clerk1.Get("/admin/people");
  EXPECT_EQ(list.status, 200);
  EXPECT_EQ(list.body.find("黄二妹"), std::string::npos);
  auto search = clerk1.Get(std::string("/admin/people?q=") + kIdCard);
  EXPECT_EQ(search.body.find("黄二妹"), std::string::npos);

  auto clerk2 = SignedIn("clerk2");
  auto own = clerk2.Get(ResidentPath());
  ASSERT_EQ(own.status, 200);
  EXPECT_NE(own.body.find("黄二妹"), std::string::npos);
  EXPECT_NE(own.body.find("4509**********1237"), std::string::npos);
  EXPECT_NE(own.body.find("138****5678"), std::string::npos);
  EXPECT_EQ(own.body.find(kIdCard), std::string::npos);
  EXPECT_EQ(own.body.find("13812345678"), std::string::npos);
  EXPECT_NE(own.body.find("name=\"_csrf\""), std::string::npos);
  auto found = clerk2.Get(std::string("/admin/people?q=") + kIdCard);
  EXPECT_NE(found.body.find("黄二妹"), std::string::npos);
}

TEST_P(PeopleAuditHttpTest, AnonymousVisitorsAreSentToLogin) {
  auto res = server_->Client().Get(ResidentPath());
  EXPECT_EQ(res.status, 303);
  EXPECT_EQ(res.Header("Location").rfind("/login", 0), 0u);
}

TEST_P(PeopleAuditHttpTest, RevealNeedsThePermissionAndIsAudited) {
  auto clerk2 = SignedIn("clerk2");
  auto page = clerk2.Get(ResidentPath());
  EXPECT_EQ(page.body.find("/reveal"), std::string::npos);  // no button without the permission
  auto denied = PostFormWithCsrf(clerk2, ResidentPath() + "/reveal", {});
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(denied.body.find(kIdCard), std::string::npos);

  auto leader = SignedIn("leader");
  auto shown = leader.Get(ResidentPath());
  EXPECT_NE(shown.body.find("/reveal"), std::string::npos);
  auto revealed = PostFormWithCsrf(leader, ResidentPath() + "/reveal", {});
  ASSERT_EQ(revealed.status, 200);
  EXPECT_NE(revealed.body.find(kIdCard), std::string::npos);
  EXPECT_NE(revealed.body.find("13812345678"), std::string::npos);

  auto rows = server_->app().db().ReadSync<db::QueryResult>([](db::Conn& c) {
    return c.Query(
        "SELECT actor_name, entity_id FROM audit_events WHERE action = 'people.id_card.reveal'");
  });
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->rows.size(), 1u);
  EXPECT_EQ(rows->rows[0].Text(0), "leader");
  EXPECT_EQ(rows->rows[0].Text(1), std::to_string(resident_id_));
}

TEST_P(PeopleAuditHttpTest, InvalidInputComesBackWithMessagesAndEverythingTyped) {
  auto clerk1 = SignedIn("clerk1");
  auto form = clerk1.Get("/admin/people/new");
  ASSERT_EQ(form.status, 200);
  EXPECT_NE(form.body.find("name=\"_csrf\""), std::string::npos);
  const std::string village = std::to_string(tree_.village1);
  auto bad = PostFormWithCsrf(clerk1, "/admin/people",
                              {{"name", "韦小红"},
                               {"id_card", "450981199003071238"},
                               {"phone", "1381234"},
                               {"village_id", village},
                               {"address", "示例一村 3 组"}});
  ASSERT_EQ(bad.status, 422);
  EXPECT_NE(bad.body.find("身份证号码校验位不正确"), std::string::npos);
  EXPECT_NE(bad.body.find("手机号码应为 11 位"), std::string::npos);
  EXPECT_NE(bad.body.find("value=\"韦小红\""), std::string::npos);
  EXPECT_NE(bad.body.find("value=\"450981199003071238\""), std::string::npos);
  EXPECT_NE(bad.body.find("value=\"1381234\""), std::string::npos);
  EXPECT_NE(bad.body.find("value=\"示例一村 3 组\""), std::string::npos);

  // A number registered already (in the neighbour village) is refused beside the field.
  auto dup = PostFormWithCsrf(clerk1, "/admin/people",
                              {{"name", "韦小红"}, {"id_card", kIdCard}, {"village_id", village}});
  ASSERT_EQ(dup.status, 422);
  EXPECT_NE(dup.body.find("已登记"), std::string::npos);

  // Another village than one's own is not offered and not accepted.
  auto other = PostFormWithCsrf(clerk1, "/admin/people",
                                {{"name", "韦小红"},
                                 {"id_card", "11010519491231002X"},
                                 {"village_id", std::to_string(tree_.village2)}});
  EXPECT_EQ(other.status, 422);

  auto ok = PostFormWithCsrf(clerk1, "/admin/people",
                             {{"name", "韦小红"},
                              {"id_card", "11010519491231002x"},
                              {"phone", "139 1234 5678"},
                              {"village_id", village}});
  ASSERT_EQ(ok.status, 303) << ok.body;
  auto created = clerk1.Get(ok.Header("Location"));
  ASSERT_EQ(created.status, 200);
  EXPECT_NE(created.body.find("1101**********002X"), std::string::npos);
}

TEST_P(PeopleAuditHttpTest, AuditPageFiltersAndScopes) {
  auto leader = SignedIn("leader");
  ASSERT_EQ(PostFormWithCsrf(leader, ResidentPath() + "/reveal", {}).status, 200);

  auto auditor = SignedIn("auditor");
  auto all = auditor.Get("/admin/audit");
  ASSERT_EQ(all.status, 200);
  EXPECT_NE(all.body.find("people.id_card.reveal"), std::string::npos);
  EXPECT_NE(all.body.find("people.resident.create"), std::string::npos);
  auto filtered = auditor.Get("/admin/audit?action=people.id_card&actor=leader");
  ASSERT_EQ(filtered.status, 200);
  EXPECT_NE(filtered.body.find("people.id_card.reveal"), std::string::npos);
  EXPECT_EQ(filtered.body.find("people.resident.create"), std::string::npos);
  auto future = auditor.Get("/admin/audit?from=2099-01-01");
  EXPECT_EQ(future.body.find("people.id_card.reveal"), std::string::npos);
  auto bad_date = auditor.Get("/admin/audit?from=2026-13-01");
  EXPECT_EQ(bad_date.status, 422);

  // An auditor of 示例一村 does not see 示例二村's events.
  auto narrow = SignedIn("auditor_v1");
  auto scoped = narrow.Get("/admin/audit");
  ASSERT_EQ(scoped.status, 200);
  EXPECT_EQ(scoped.body.find("people.id_card.reveal"), std::string::npos);

  auto clerk = SignedIn("clerk1");
  EXPECT_EQ(clerk.Get("/admin/audit").status, 403);
  EXPECT_EQ(clerk.Get("/admin/audit.csv").status, 403);
}

// Events not chained yet are listed (序号 待入链) in the order they were recorded, with chained
// ones; chaining gives them their seq; the keyset cursor (an id) pages across both kinds.
TEST_P(PeopleAuditHttpTest, UnchainedEventsAreListedAndPagedWithChainedOnes) {
  auto& db = server_->app().db();
  auto record = [&](int from, int to) {
    for (int i = from; i < to; ++i) {
      ASSERT_TRUE(db.WriteSync<bool>([&](db::Conn& c) -> Result<bool> {
        if (auto s =
                audit::Record(c, server_->clock(), audit::Actor{std::nullopt, "system", "", ""},
                              audit::Entry{.action = "test.page",
                                           .unit_id = tree_.village2,
                                           .summary = "〔" + std::to_string(i) + "〕"});
            !s) {
          return s.error();
        }
        return true;
      }));
    }
  };
  record(0, 30);
  ASSERT_TRUE(audit::ChainPending(db));
  record(30, 60);  // left unchained: no background job in tests
  auto auditor = SignedIn("auditor");
  auto first = auditor.Get("/admin/audit?action=test.page");
  ASSERT_EQ(first.status, 200);
  EXPECT_NE(first.body.find("<td>待入链</td>"), std::string::npos) << first.body;
  for (int i : {59, 30, 29, 10}) {
    EXPECT_NE(first.body.find("〔" + std::to_string(i) + "〕"), std::string::npos) << i;
  }
  EXPECT_EQ(first.body.find("〔9〕"), std::string::npos);
  EXPECT_LT(first.body.find("〔59〕"), first.body.find("〔30〕"));  // newest first
  EXPECT_LT(first.body.find("〔30〕"), first.body.find("〔29〕"));
  const auto at = first.body.find("before=");
  ASSERT_NE(at, std::string::npos) << first.body;
  const auto end = first.body.find('"', at);
  std::string next = first.body.substr(at, end - at);
  auto second = auditor.Get("/admin/audit?action=test.page&" + next);
  ASSERT_EQ(second.status, 200);
  for (int i = 0; i < 10; ++i) {
    EXPECT_NE(second.body.find("〔" + std::to_string(i) + "〕"), std::string::npos) << i;
  }
  EXPECT_EQ(second.body.find("〔10〕"), std::string::npos);
  EXPECT_EQ(second.body.find("待入链"), std::string::npos);

  ASSERT_TRUE(audit::ChainPending(db));
  auto chained = auditor.Get("/admin/audit?action=test.page");
  ASSERT_EQ(chained.status, 200);
  EXPECT_EQ(chained.body.find("待入链"), std::string::npos) << chained.body;
  auto csv = auditor.Get("/admin/audit.csv?action=test.page");
  ASSERT_EQ(csv.status, 200);
  EXPECT_EQ(csv.body.find("待入链"), std::string::npos);
  auto report = audit::Verify(db);
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->intact) << audit::FormatReport(*report);
}

TEST_P(PeopleAuditHttpTest, CsvExportHasBomChineseHeadersAndNoFormulas) {
  auto& db = server_->app().db();
  ASSERT_TRUE(db.WriteSync<bool>([&](db::Conn& c) -> Result<bool> {
    if (auto s = audit::Record(
            c, server_->clock(), audit::Actor{std::nullopt, "=cmd|' /C calc'!A0", "", ""},
            audit::Entry{.action = "test.csv", .unit_id = tree_.village2, .summary = "+SUM(1,2)"});
        !s) {
      return s.error();
    }
    return true;
  }));
  auto auditor = SignedIn("auditor");
  auto csv = auditor.Get("/admin/audit.csv?action=test.");
  ASSERT_EQ(csv.status, 200);
  EXPECT_NE(csv.Header("Content-Type").find("text/csv"), std::string::npos);
  EXPECT_NE(csv.Header("Content-Disposition").find("attachment"), std::string::npos);
  ASSERT_EQ(csv.body.rfind("\xEF\xBB\xBF", 0), 0u);
  EXPECT_EQ(csv.body.find("\xEF\xBB\xBF序号,时间,操作人"), 0u);
  EXPECT_NE(csv.body.find("'=cmd|"), std::string::npos) << csv.body;
  EXPECT_NE(csv.body.find("\"'+SUM(1,2)\""), std::string::npos) << csv.body;
  EXPECT_EQ(csv.body.find(",=cmd"), std::string::npos);
  EXPECT_EQ(csv.body.find("people.resident.create"), std::string::npos);   // filter applies
  EXPECT_NE(csv.body.find("\r\n待入链,"), std::string::npos) << csv.body;  // not chained yet
}

INSTANTIATE_TEST_SUITE_P(Http, PeopleAuditHttpTest, AllBackends(), BackendParamName);

// The start refuses an unusable key file with one line that names it and says what to do,
// instead of a crash or an error page later.
class PeopleKeysStartupTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres && !TestPostgresUrl()) {
      GTEST_SKIP() << "ZHENWU_TEST_PG is not set (./test.sh sets it)";
    }
  }

  // Starts the app with `key_text` as <data_dir>/keys/people.key.
  std::unique_ptr<AppServer> StartWithKeyFile(const std::string& key_text) {
    std::filesystem::create_directories(data_.path() / "keys");
    std::ofstream(data_.path() / "keys" / "people.key") << key_text;
    return std::make_unique<AppServer>(
        AppServerOptions{.backend = GetParam(),
                         .customize = [this](Config& c) { c.data_dir = data_.path().string(); }});
  }

  std::string KeyPath() const { return (data_.path() / "keys" / "people.key").string(); }

  TempDir data_;
};

TEST_P(PeopleKeysStartupTest, DamagedKeyFileStopsTheStartNamingTheFileAndTheBackup) {
  auto server = StartWithKeyFile("# 镇务通 people data key\ndata_key=00ff\nindex_key=zz\n");
  ASSERT_FALSE(server->ok());
  const std::string& error = server->error();
  EXPECT_NE(error.find(KeyPath()), std::string::npos) << error;
  EXPECT_NE(error.find("已损坏"), std::string::npos) << error;
  EXPECT_NE(error.find("备份中恢复"), std::string::npos) << error;
  EXPECT_NE(error.find("keys/people.key"), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << "one line: " << error;
  // The damaged file is left as it was, for the operator to look at.
  std::ifstream in(KeyPath());
  std::string first;
  std::getline(in, first);
  EXPECT_EQ(first, "# 镇务通 people data key");
}

TEST_P(PeopleKeysStartupTest, EmptyKeyFileIsDamagedToo) {
  auto server = StartWithKeyFile("");
  ASSERT_FALSE(server->ok());
  EXPECT_NE(server->error().find(KeyPath()), std::string::npos) << server->error();
}

TEST_P(PeopleKeysStartupTest, AValidKeyFileStartsAndReachesTheModules) {
  auto server = StartWithKeyFile("data_key=" + std::string(64, 'a') +
                                 "\nindex_key=" + std::string(64, 'b') + "\n");
  ASSERT_TRUE(server->ok()) << server->error();
  ASSERT_TRUE(server->app().people_keys());
  EXPECT_EQ(server->app().people_keys()->path, KeyPath());
  EXPECT_FALSE(server->app().people_keys()->created);
}

INSTANTIATE_TEST_SUITE_P(Http, PeopleKeysStartupTest, AllBackends(), BackendParamName);

}  // namespace
}  // namespace zhenwu::testing
