// Migrations, run on both backends.

#include "db/migrator.hpp"

#include <gtest/gtest.h>

#include "support/db_fixture.hpp"

namespace zhenwu::db {
namespace {

using zhenwu::testing::DbTest;

Migration M(std::string module, int version, std::string name, std::string sql) {
  return {std::move(module), version, std::move(name), std::move(sql)};
}

std::vector<Migration> TwoModules() {
  return {
      M("alpha", 1, "create_things",
        "CREATE TABLE alpha_things (id {{id}}, label TEXT NOT NULL, weight {{real}});"
        "CREATE INDEX alpha_things_label ON alpha_things (label);"),
      M("alpha", 2, "add_owner", "ALTER TABLE alpha_things ADD COLUMN owner {{bigint}};"),
      M("beta", 1, "create_links",
        "CREATE TABLE beta_links (id {{id}}, thing_id {{bigint}} NOT NULL "
        "REFERENCES alpha_things(id), data {{blob}})"),
  };
}

class MigratorTest : public DbTest {
 protected:
  int64_t AppliedCount() {
    auto r = ReadQuery("SELECT COUNT(*) FROM schema_migrations");
    EXPECT_TRUE(r) << r.error().message;
    return r ? r->rows.at(0).Int(0) : -1;
  }
};

TEST_P(MigratorTest, AppliesOnceAndIsIdempotent) {
  ASSERT_TRUE(Migrate(db(), TwoModules(), clock()));
  EXPECT_EQ(AppliedCount(), 3);
  auto rows = ReadQuery(
      "SELECT module, version, name, applied_at_ms FROM schema_migrations ORDER BY module, "
      "version");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->rows.size(), 3u);
  EXPECT_EQ(rows->rows[1].Text(0), "alpha");
  EXPECT_EQ(rows->rows[1].Int(1), 2);
  EXPECT_EQ(rows->rows[1].Text(2), "add_owner");
  EXPECT_EQ(rows->rows[1].Int(3), clock().NowMs());

  // The tables exist with their translated types.
  auto inserted =
      WriteQuery("INSERT INTO alpha_things (label, weight, owner) VALUES ($1, $2, $3) RETURNING id",
                 {std::string("a"), 1.5, int64_t{7}});
  ASSERT_TRUE(inserted) << inserted.error().message;
  const int64_t id = inserted->rows.at(0).Int(0);
  const std::string bytes("\x00\x01\xff\xfe zhen", 9);
  ASSERT_TRUE(WriteQuery("INSERT INTO beta_links (thing_id, data) VALUES ($1, $2)", {id, bytes}));
  auto blob = ReadQuery("SELECT data FROM beta_links");
  ASSERT_TRUE(blob) << blob.error().message;
  EXPECT_EQ(blob->rows.at(0).Text(0), bytes);

  clock().Advance(1000);
  ASSERT_TRUE(Migrate(db(), TwoModules(), clock()));
  EXPECT_EQ(AppliedCount(), 3);
}

TEST_P(MigratorTest, AppliesOnlyTheNewOnes) {
  auto first = TwoModules();
  first.erase(first.begin() + 1);  // alpha 2 comes with the next release
  ASSERT_TRUE(Migrate(db(), first, clock()));
  EXPECT_EQ(AppliedCount(), 2);
  ASSERT_TRUE(Migrate(db(), TwoModules(), clock()));
  EXPECT_EQ(AppliedCount(), 3);
  EXPECT_TRUE(ReadQuery("SELECT owner FROM alpha_things"));
}

TEST_P(MigratorTest, RefusesNewerDatabase) {
  ASSERT_TRUE(Migrate(db(), TwoModules(), clock()));
  ASSERT_TRUE(
      Execute("INSERT INTO schema_migrations (module, version, name, applied_at_ms) "
              "VALUES ($1, $2, $3, $4)",
              {std::string("alpha"), int64_t{3}, std::string("from_the_future"), int64_t{0}}));
  auto more = TwoModules();
  more.push_back(M("gamma", 1, "create_x", "CREATE TABLE gamma_x (id {{id}})"));
  auto refused = Migrate(db(), more, clock());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
  EXPECT_NE(refused.error().message.find("alpha"), std::string::npos) << refused.error().message;
  EXPECT_NE(refused.error().message.find("3"), std::string::npos);
  EXPECT_NE(refused.error().message.find("2"), std::string::npos);
  EXPECT_FALSE(ReadQuery("SELECT * FROM gamma_x")) << "nothing may be applied";
}

TEST_P(MigratorTest, RefusesDatabaseWithUnknownModule) {
  ASSERT_TRUE(Migrate(db(), TwoModules(), clock()));
  auto fewer = TwoModules();
  fewer.pop_back();
  auto refused = Migrate(db(), fewer, clock());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
  EXPECT_NE(refused.error().message.find("beta"), std::string::npos) << refused.error().message;
}

TEST_P(MigratorTest, RejectsGapsDuplicatesAndBadNames) {
  auto gap = TwoModules();
  gap[1].version = 3;
  auto r = Migrate(db(), gap, clock());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(r.error().message.find("alpha"), std::string::npos) << r.error().message;

  auto duplicate = TwoModules();
  duplicate[1].version = 1;
  r = Migrate(db(), duplicate, clock());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);

  auto unnamed = TwoModules();
  unnamed[0].version = 0;
  r = Migrate(db(), unnamed, clock());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);

  EXPECT_FALSE(ReadQuery("SELECT * FROM alpha_things")) << "nothing may be applied";
}

TEST_P(MigratorTest, FailingMigrationIsRolledBackAndNamed) {
  auto broken = TwoModules();
  broken.push_back(M("beta", 2, "break_things",
                     "CREATE TABLE beta_ok (id {{id}}); CREATE TABLE beta_bad (id INTEGER,)"));
  auto r = Migrate(db(), broken, clock());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("beta/0002_break_things"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(AppliedCount(), 3);
  EXPECT_FALSE(ReadQuery("SELECT * FROM beta_ok")) << "the failed migration must leave no table";
}

TEST_P(MigratorTest, EmbeddedCoreMigrationApplies) {
  auto core = EmbeddedMigrations("core");
  ASSERT_FALSE(core.empty());
  EXPECT_EQ(core[0].module, "core");
  EXPECT_EQ(core[0].version, 1);
  EXPECT_EQ(core[0].name, "create_settings");
  ASSERT_TRUE(MigrateModules({"core"}));
  ASSERT_TRUE(Execute("INSERT INTO core_settings (key, value, updated_at_ms) VALUES ($1, $2, $3)",
                      {std::string("town_name"), std::string("平政镇"), clock().NowMs()}));
  auto dup = WriteQuery("INSERT INTO core_settings (key, value, updated_at_ms) VALUES ($1, $2, $3)",
                        {std::string("town_name"), std::string("x"), clock().NowMs()});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kConflict);
}

ZHENWU_ALL_BACKENDS(MigratorTest);

TEST(EmbeddedMigrationsTest, UnknownModuleHasNone) {
  EXPECT_TRUE(EmbeddedMigrations("no_such_module").empty());
  EXPECT_EQ(EmbeddedMigrationsOf({"core", "no_such_module"}).size(),
            EmbeddedMigrations("core").size());
}

}  // namespace
}  // namespace zhenwu::db
