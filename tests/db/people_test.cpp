// The people register on both backends: encryption at rest, blind-index lookup, uniqueness,
// validation, audited changes and reveals, and the data key's binding to the database.

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <filesystem>

#include "audit/audit.hpp"
#include "org/demo.hpp"
#include "people/demo.hpp"
#include "people/keys.hpp"
#include "people/service.hpp"
#include "support/db_fixture.hpp"

namespace zhenwu::people {
namespace {

using zhenwu::testing::DbTest;

constexpr const char* kIdCard = "450981199003071237";
constexpr const char* kIdCard2 = "11010519491231002X";

class PeopleTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_TRUE(MigrateModules({"core", "audit", "people"}));
    auto keys = OpenKeys(test_db().temp_dir().string(), db());
    ASSERT_TRUE(keys) << keys.error().message;
    keys_ = *keys;
  }

  Result<Resident> Create(ResidentInput input) {
    return db().WriteSync<Resident>(
        [&](db::Conn& c) { return CreateResident(c, clock(), *keys_, actor_, input); });
  }

  ResidentInput Sample(std::string id_card = kIdCard) {
    return ResidentInput{.name = "韦小红",
                         .id_card = std::move(id_card),
                         .phone = "138 1234 5678",
                         .village_unit_id = 17,
                         .address = "示例一村 3 组"};
  }

  std::shared_ptr<const Keys> keys_;
  audit::Actor actor_{int64_t{5}, "clerk1", "127.0.0.1", "req-9"};
};

TEST_P(PeopleTest, CreatesResidentWithMasksAndFindsItByBlindIndex) {
  auto r = Create(Sample());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_GT(r->id, 0);
  EXPECT_EQ(r->name, "韦小红");
  EXPECT_EQ(r->id_card_mask, "4509**********1237");
  EXPECT_EQ(r->phone_mask, "138****5678");
  EXPECT_EQ(r->village_unit_id, 17);

  auto by_id = db().ReadSync<std::optional<Resident>>([&](db::Conn& c) {
    return FindResidentByIdCard(c, clock(), *keys_, "450981 19900307 1237");
  });
  ASSERT_TRUE(by_id);
  ASSERT_TRUE(*by_id);
  EXPECT_EQ((*by_id)->id, r->id);
  auto by_phone = db().ReadSync<std::vector<Resident>>(
      [&](db::Conn& c) { return FindResidentsByPhone(c, *keys_, "+8613812345678"); });
  ASSERT_TRUE(by_phone);
  ASSERT_EQ(by_phone->size(), 1u);
  auto none = db().ReadSync<std::optional<Resident>>(
      [&](db::Conn& c) { return FindResidentByIdCard(c, clock(), *keys_, kIdCard2); });
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  auto bad = db().ReadSync<std::optional<Resident>>(
      [&](db::Conn& c) { return FindResidentByIdCard(c, clock(), *keys_, "123"); });
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidInput);
}

TEST_P(PeopleTest, ValuesAreEncryptedAtRest) {
  ASSERT_TRUE(Create(Sample()));
  auto raw = ReadQuery(
      "SELECT id_card_enc, id_card_idx, phone_enc, phone_idx FROM "
      "people_residents");
  ASSERT_TRUE(raw);
  const auto& row = raw->rows.at(0);
  for (std::size_t i = 0; i < 4; ++i) {
    const std::string v = row.Text(i);
    EXPECT_EQ(v.find("19900307"), std::string::npos) << v;
    EXPECT_EQ(v.find(kIdCard), std::string::npos) << v;
    EXPECT_EQ(v.find("12345678"), std::string::npos) << v;
  }
  EXPECT_EQ(row.Text(0).rfind("v1:", 0), 0u);
  auto opened = keys_->Decrypt(row.Text(0));
  ASSERT_TRUE(opened);
  EXPECT_EQ(*opened, kIdCard);
  // A fresh nonce each time: the same number never encrypts to the same text.
  EXPECT_NE(keys_->Encrypt(kIdCard), keys_->Encrypt(kIdCard));
}

TEST_P(PeopleTest, SameIdCardCannotBeRegisteredTwice) {
  ASSERT_TRUE(Create(Sample()));
  auto again = Create(Sample("45098119900307123 7"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kInvalidInput);
  ASSERT_EQ(again.error().fields.size(), 1u);
  EXPECT_EQ(again.error().fields[0].field, "id_card");
  EXPECT_NE(again.error().fields[0].message.find("已登记"), std::string::npos);
}

TEST_P(PeopleTest, InvalidInputNamesEveryWrongField) {
  auto r = Create(ResidentInput{
      .name = "", .id_card = "450981199003071238", .phone = "12345", .village_unit_id = 0});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
  std::vector<std::string> fields;
  for (const auto& f : r.error().fields) fields.push_back(f.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"name", "id_card", "phone", "village_id"}));
  auto count = ReadQuery("SELECT COUNT(*) FROM people_residents");
  EXPECT_EQ(count->rows.at(0).Int(0), 0);
}

TEST_P(PeopleTest, ChangesAreAuditedWithMaskedValuesOnly) {
  auto r = Create(Sample());
  ASSERT_TRUE(r);
  auto input = Sample(kIdCard2);
  input.phone = "";
  input.clear_phone = true;
  auto u = db().WriteSync<Resident>(
      [&](db::Conn& c) { return UpdateResident(c, clock(), *keys_, actor_, r->id, input); });
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->id_card_mask, "1101**********002X");
  EXPECT_EQ(u->phone_mask, "");
  auto rows = ReadQuery(
      "SELECT action, entity, entity_id, unit_id, before_json, after_json, "
      "actor_name FROM audit_events ORDER BY id");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->rows.size(), 2u);
  EXPECT_EQ(rows->rows[0].Text(0), "people.resident.create");
  EXPECT_EQ(rows->rows[1].Text(0), "people.resident.update");
  EXPECT_EQ(rows->rows[1].Text(2), std::to_string(r->id));
  EXPECT_EQ(rows->rows[1].Int(3), 17);
  EXPECT_EQ(rows->rows[1].Text(6), "clerk1");
  for (const auto& row : rows->rows) {
    for (std::size_t i : {4u, 5u}) {
      EXPECT_EQ(row.Text(i).find(kIdCard), std::string::npos);
      EXPECT_EQ(row.Text(i).find("13812345678"), std::string::npos);
    }
  }
  EXPECT_NE(rows->rows[1].Text(4).find("4509**********1237"), std::string::npos);
  EXPECT_NE(rows->rows[1].Text(5).find("1101**********002X"), std::string::npos);

  auto missing = db().WriteSync<Resident>(
      [&](db::Conn& c) { return UpdateResident(c, clock(), *keys_, actor_, 9999, input); });
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_P(PeopleTest, UpdateWithEmptyNumbersKeepsTheStoredOnes) {
  auto r = Create(Sample());
  ASSERT_TRUE(r);
  ResidentInput input{.name = "韦小红", .village_unit_id = 18, .address = "新址"};
  auto u = db().WriteSync<Resident>(
      [&](db::Conn& c) { return UpdateResident(c, clock(), *keys_, actor_, r->id, input); });
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->id_card_mask, "4509**********1237");
  EXPECT_EQ(u->phone_mask, "138****5678");
  EXPECT_EQ(u->village_unit_id, 18);
  auto found = db().ReadSync<std::optional<Resident>>(
      [&](db::Conn& c) { return FindResidentByIdCard(c, clock(), *keys_, kIdCard); });
  ASSERT_TRUE(found && *found);
  // Taking another resident's number is refused on update too.
  auto second = Create(Sample(kIdCard2));
  ASSERT_TRUE(second);
  input.id_card = kIdCard;
  auto dup = db().WriteSync<Resident>(
      [&](db::Conn& c) { return UpdateResident(c, clock(), *keys_, actor_, second->id, input); });
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().fields.at(0).field, "id_card");
}

TEST_P(PeopleTest, RevealReturnsTheNumberAndWritesAnAuditRow) {
  auto r = Create(Sample());
  ASSERT_TRUE(r);
  auto full = db().WriteSync<std::string>(
      [&](db::Conn& c) { return RevealResidentIdCard(c, clock(), *keys_, actor_, r->id); });
  ASSERT_TRUE(full) << full.error().message;
  EXPECT_EQ(*full, kIdCard);
  auto phone = db().WriteSync<std::string>(
      [&](db::Conn& c) { return RevealResidentPhone(c, clock(), *keys_, actor_, r->id); });
  ASSERT_TRUE(phone);
  EXPECT_EQ(*phone, "13812345678");
  auto rows = ReadQuery(
      "SELECT action, entity_id, unit_id, summary FROM audit_events "
      "WHERE action LIKE 'people.%.reveal' ORDER BY id");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->rows.size(), 2u);
  EXPECT_EQ(rows->rows[0].Text(0), "people.id_card.reveal");
  EXPECT_EQ(rows->rows[0].Text(1), std::to_string(r->id));
  EXPECT_EQ(rows->rows[0].Int(2), 17);
  EXPECT_EQ(rows->rows[0].Text(3).find(kIdCard), std::string::npos);
  auto report = audit::Verify(db());
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->intact);

  auto missing = db().WriteSync<std::string>(
      [&](db::Conn& c) { return RevealResidentIdCard(c, clock(), *keys_, actor_, 9999); });
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_P(PeopleTest, ListsByVillageAndName) {
  ASSERT_TRUE(Create(Sample()));
  auto other = Sample(kIdCard2);
  other.name = "黄大山";
  other.village_unit_id = 18;
  ASSERT_TRUE(Create(other));
  auto list = [&](ResidentQuery q) {
    auto r = db().ReadSync<std::vector<Resident>>([&](db::Conn& c) { return ListResidents(c, q); });
    EXPECT_TRUE(r);
    std::vector<std::string> names;
    if (r) {
      for (const auto& x : *r) names.push_back(x.name);
    }
    return names;
  };
  EXPECT_EQ(list({}), (std::vector<std::string>{"黄大山", "韦小红"}));
  EXPECT_EQ(list({.unit_ids = std::vector<int64_t>{17}}), (std::vector<std::string>{"韦小红"}));
  EXPECT_EQ(list({.unit_ids = std::vector<int64_t>{}}), (std::vector<std::string>{}));
  EXPECT_EQ(list({.name_part = "大"}), (std::vector<std::string>{"黄大山"}));
  EXPECT_EQ(list({.name_part = "%"}), (std::vector<std::string>{}));
}

TEST_P(PeopleTest, EnterprisesValidateUsccAndEncryptThePhone) {
  EnterpriseInput in{.name = "北流市示例农业有限公司",
                     .uscc = "91450981ma5k12345r",
                     .legal_rep = "陈一",
                     .phone = "13912345678",
                     .address = "平政镇",
                     .unit_id = 4};
  auto e = db().WriteSync<Enterprise>(
      [&](db::Conn& c) { return CreateEnterprise(c, clock(), *keys_, actor_, in); });
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->uscc, "91450981MA5K12345R");
  EXPECT_EQ(e->phone_mask, "139****5678");
  auto dup = db().WriteSync<Enterprise>(
      [&](db::Conn& c) { return CreateEnterprise(c, clock(), *keys_, actor_, in); });
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().fields.at(0).field, "uscc");
  in.uscc = "91450981MA5K12345T";
  auto bad = db().WriteSync<Enterprise>(
      [&](db::Conn& c) { return CreateEnterprise(c, clock(), *keys_, actor_, in); });
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().fields.at(0).message.find("校验位"), std::string::npos);
  auto raw = ReadQuery("SELECT phone_enc FROM people_enterprises");
  EXPECT_EQ(raw->rows.at(0).Text(0).find("13912345678"), std::string::npos);
  auto found = db().ReadSync<std::optional<Enterprise>>(
      [&](db::Conn& c) { return FindEnterpriseByUscc(c, "91450981MA5K12345R"); });
  ASSERT_TRUE(found && *found);
  auto phone = db().WriteSync<std::string>(
      [&](db::Conn& c) { return RevealEnterprisePhone(c, clock(), *keys_, actor_, e->id); });
  ASSERT_TRUE(phone);
  EXPECT_EQ(*phone, "13912345678");
}

TEST_P(PeopleTest, KeyFileIsPrivateAndReloadsTheSameKeys) {
  const auto path = test_db().temp_dir() / "keys" / "people.key";
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto again = OpenKeys(test_db().temp_dir().string(), db());
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_FALSE((*again)->created);
  EXPECT_EQ((*again)->Fingerprint(), keys_->Fingerprint());
}

TEST_P(PeopleTest, RefusesToStartWhenTheKeyFileIsLostButDataExists) {
  ASSERT_TRUE(Create(Sample()));
  const auto path = test_db().temp_dir() / "keys" / "people.key";
  std::filesystem::remove(path);
  auto lost = OpenKeys(test_db().temp_dir().string(), db());
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(lost.error().message.find("备份中恢复"), std::string::npos) << lost.error().message;
  EXPECT_NE(lost.error().message.find("people.key"), std::string::npos);
  // The refused start leaves no new key behind to be mistaken for the real one.
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_P(PeopleTest, RefusesAKeyFileOfAnotherDatabase) {
  ASSERT_TRUE(Create(Sample()));
  const auto other_dir = test_db().temp_dir() / "other";
  auto other = LoadOrCreateKeys(other_dir.string());
  ASSERT_TRUE(other);
  other->created = false;  // an existing file, brought from elsewhere
  auto refused = BindKeys(db(), *other);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("不匹配"), std::string::npos);
}

TEST_P(PeopleTest, AcceptsNewKeysWhileNothingIsEncrypted) {
  auto other = LoadOrCreateKeys((test_db().temp_dir() / "other").string());
  ASSERT_TRUE(other);
  ASSERT_TRUE(BindKeys(db(), *other));
  auto row = ReadQuery("SELECT fingerprint FROM people_key_check");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->rows.at(0).Text(0), other->Fingerprint());
}

ZHENWU_ALL_BACKENDS(PeopleTest);

// `zhenwu demo`'s people: residents over the demo villages and a few enterprises, all demo,
// all with identifiers that pass the real checks, and nothing added by a second run.
class PeopleDemoTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_TRUE(MigrateModules({"core", "audit", "org", "people"}));
    auto keys = OpenKeys(test_db().temp_dir().string(), db());
    ASSERT_TRUE(keys) << keys.error().message;
    keys_ = *keys;
  }

  Status Load(bool with_tree = true) {
    auto done = db().WriteSync<bool>([&](db::Conn& c) -> Result<bool> {
      if (with_tree) {
        if (auto s = org::LoadDemoTree(c, clock()); !s) return std::move(s).error();
      }
      if (auto s = LoadDemoPeople(c, clock(), *keys_); !s) return std::move(s).error();
      return true;
    });
    if (!done) return std::move(done).error();
    return {};
  }

  int64_t Count(const std::string& sql) {
    auto r = ReadQuery(sql);
    EXPECT_TRUE(r) << r.error().message;
    return r ? r->rows.at(0).Int(0) : -1;
  }

  std::shared_ptr<const Keys> keys_;
};

TEST_P(PeopleDemoTest, LoadsDemoResidentsAndEnterprisesOnceAcrossTheVillages) {
  ASSERT_TRUE(Load());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM people_residents WHERE demo = 1"), kDemoResidents);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM people_residents"), kDemoResidents);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM people_enterprises WHERE demo = 1"), kDemoEnterprises);
  EXPECT_EQ(Count("SELECT COUNT(DISTINCT village_unit_id) FROM people_residents"), 19);
  const int64_t audited = Count("SELECT COUNT(*) FROM audit_events");

  // Stored encrypted, found again by the blind index, shown masked.
  auto first = db().ReadSync<std::optional<Resident>>(
      [&](db::Conn& c) { return FindResidentByIdCard(c, clock(), *keys_, DemoIdCard(1)); });
  ASSERT_TRUE(first && *first) << (first ? "not found" : first.error().message);
  EXPECT_EQ((*first)->name, "示例居民01");
  EXPECT_EQ((*first)->phone_mask, "138****0001");
  auto raw = ReadQuery("SELECT id_card_enc FROM people_residents");
  ASSERT_TRUE(raw);
  for (const auto& row : raw->rows) EXPECT_EQ(row.Text(0).find("450981"), std::string::npos);

  // Again: nothing new, not even an audit entry.
  ASSERT_TRUE(Load());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM people_residents"), kDemoResidents);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM people_enterprises"), kDemoEnterprises);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_events"), audited);
}

TEST_P(PeopleDemoTest, WithoutTheDemoTreeItSaysWhatIsMissingAndWritesNothing) {
  auto s = Load(false);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_NE(s.error().message.find("PZ-C01"), std::string::npos) << s.error().message;
  EXPECT_EQ(Count("SELECT COUNT(*) FROM people_residents"), 0);
}

ZHENWU_ALL_BACKENDS(PeopleDemoTest);

}  // namespace
}  // namespace zhenwu::people
