// The org tree on both databases: paths, the indexed subtree range, moves, refusals, retiring,
// the demo tree and all-or-nothing imports.
#include <gtest/gtest.h>

#include "org/demo.hpp"
#include "org/service.hpp"
#include "org/store.hpp"
#include "support/db_fixture.hpp"

namespace zhenwu::testing {
namespace {

using org::OrgUnit;
using org::UnitInput;
using org::UnitKind;

const audit::Actor kActor{int64_t{1}, "tester", "127.0.0.1", "req-1"};

bool HasField(const Error& e, std::string_view field) {
  for (const auto& f : e.fields) {
    if (f.field == field) return true;
  }
  return false;
}

std::string Fields(const Error& e) {
  std::string s = e.message;
  for (const auto& f : e.fields) s += " | " + f.field + ": " + f.message;
  return s;
}

class OrgStoreTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    if (IsSkipped()) return;
    ASSERT_TRUE(MigrateModules({"core", "audit", "org"}));
  }

  Result<OrgUnit> Create(std::optional<int64_t> parent, std::string kind, std::string name,
                         std::string code, std::string division = "") {
    UnitInput in;
    in.parent_id = parent;
    in.kind = std::move(kind);
    in.name = std::move(name);
    in.code = std::move(code);
    in.division_code = std::move(division);
    return db().WriteSync<OrgUnit>(
        [&](db::Conn& c) { return org::CreateUnit(c, clock(), kActor, in); });
  }
  OrgUnit MustCreate(std::optional<int64_t> parent, std::string kind, std::string name,
                     std::string code) {
    auto u = Create(parent, std::move(kind), std::move(name), std::move(code));
    EXPECT_TRUE(u.ok()) << Fields(u.error());
    return u.ok() ? *u : OrgUnit{};
  }
  Result<OrgUnit> Move(int64_t id, std::optional<int64_t> parent) {
    return db().WriteSync<OrgUnit>(
        [&](db::Conn& c) { return org::MoveUnit(c, clock(), kActor, id, parent); });
  }
  OrgUnit Find(int64_t id) {
    auto u =
        db().ReadSync<std::optional<OrgUnit>>([&](db::Conn& c) { return org::FindUnit(c, id); });
    EXPECT_TRUE(u.ok() && u->has_value());
    return u.ok() && u->has_value() ? **u : OrgUnit{};
  }
  std::vector<OrgUnit> SubtreeOf(const std::string& path) {
    auto r =
        db().ReadSync<std::vector<OrgUnit>>([&](db::Conn& c) { return org::Subtree(c, path); });
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::vector<OrgUnit>{};
  }
  int64_t Count(const std::string& where = "1 = 1") {
    auto r = ReadQuery("SELECT COUNT(*) FROM org_units WHERE " + where);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->rows.at(0).Int(0) : -1;
  }
};

TEST_P(OrgStoreTest, CreatesUnitsWithMaterialisedPaths) {
  OrgUnit city = MustCreate(std::nullopt, "city", "玉林市", "yl");
  EXPECT_EQ(city.code, "YL");
  EXPECT_EQ(city.path, "/" + std::to_string(city.id) + "/");
  EXPECT_EQ(city.depth, 0);
  OrgUnit county = MustCreate(city.id, "县", "北流市", "BL");
  EXPECT_EQ(county.path, city.path + std::to_string(county.id) + "/");
  EXPECT_EQ(county.depth, 1);
  EXPECT_EQ(county.kind, UnitKind::kCounty);
  OrgUnit town = MustCreate(county.id, "town", "平政镇", "PZ");

  OrgUnit read = Find(town.id);
  EXPECT_EQ(read.path, town.path);
  EXPECT_EQ(read.parent_id, county.id);
  EXPECT_EQ(read.depth, 2);
  EXPECT_EQ(read.name, "平政镇");
  auto by_code = db().ReadSync<std::optional<OrgUnit>>(
      [](db::Conn& c) { return org::FindUnitByCode(c, "PZ"); });
  ASSERT_TRUE(by_code.ok() && by_code->has_value());
  EXPECT_EQ((*by_code)->id, town.id);
  auto children =
      db().ReadSync<std::vector<OrgUnit>>([&](db::Conn& c) { return org::Children(c, city.id); });
  ASSERT_TRUE(children.ok());
  ASSERT_EQ(children->size(), 1u);
  EXPECT_EQ(children->at(0).id, county.id);
}

TEST_P(OrgStoreTest, SubtreeIsTheRangeUnderThePathAndNotItsNumericNeighbours) {
  // Ids 1 and 10 make "/1/" a string prefix of neither "/10/" nor the other way round.
  OrgUnit first = MustCreate(std::nullopt, "town", "甲镇", "A");
  for (int i = 0; i < 8; ++i)
    MustCreate(first.id, "village", "村" + std::to_string(i), "A" + std::to_string(i));
  OrgUnit tenth = MustCreate(std::nullopt, "town", "乙镇", "B");
  ASSERT_EQ(first.id + 9, tenth.id);
  MustCreate(tenth.id, "village", "乙村", "B1");
  auto under_first = SubtreeOf(first.path);
  EXPECT_EQ(under_first.size(), 9u);
  for (const auto& u : under_first) EXPECT_TRUE(u.path.starts_with(first.path)) << u.path;
  EXPECT_EQ(SubtreeOf(tenth.path).size(), 2u);
  EXPECT_EQ(org::SubtreeUpperBound("/1/4/"), "/1/40");
}

TEST_P(OrgStoreTest, SubtreeQueryUsesThePathIndex) {
  OrgUnit town = MustCreate(std::nullopt, "town", "甲镇", "A");
  const std::string where =
      "WHERE path >= '" + town.path + "' AND path < '" + org::SubtreeUpperBound(town.path) + "'";
  auto plan = db().ReadSync<std::string>([&](db::Conn& c) -> Result<std::string> {
    std::string sql;
    if (c.dialect() == db::Dialect::kSqlite) {
      sql = "EXPLAIN QUERY PLAN SELECT id FROM org_units " + where;
    } else {
      // The table is tiny: make the planner show whether it *can* use the index.
      if (auto s = c.Exec("SET LOCAL enable_seqscan = off"); !s) return std::move(s).error();
      sql = "EXPLAIN SELECT id FROM org_units " + where;
    }
    auto q = c.Query(sql);
    if (!q) return std::move(q).error();
    std::string text;
    for (const auto& r : q->rows) {
      for (std::size_t i = 0; i < r.size(); ++i) text += r.Text(i) + " ";
      text += "\n";
    }
    return text;
  });
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_NE(plan->find("org_units_path"), std::string::npos) << *plan;
}

TEST_P(OrgStoreTest, PathColumnComparesBytewise) {
  ASSERT_TRUE(Execute(db::TranslateDdl(is_sqlite() ? db::Dialect::kSqlite : db::Dialect::kPostgres,
                                       "CREATE TABLE org_test_text_c (v {{text_c}} NOT NULL)")));
  for (const char* v : {"b", "B", "/10/", "/1/", "/1/2/", "/2/", "a"}) {
    ASSERT_TRUE(Execute("INSERT INTO org_test_text_c (v) VALUES ($1)", {std::string(v)}));
  }
  auto r = ReadQuery("SELECT v FROM org_test_text_c ORDER BY v");
  ASSERT_TRUE(r.ok());
  std::string order;
  for (const auto& row : r->rows) order += row.Text(0) + " ";
  EXPECT_EQ(order, "/1/ /1/2/ /10/ /2/ B a b ");
  auto range = ReadQuery("SELECT COUNT(*) FROM org_test_text_c WHERE v >= '/1/' AND v < '/10'");
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(range->rows.at(0).Int(0), 2);
}

TEST_P(OrgStoreTest, MoveRewritesTheWholeSubtree) {
  OrgUnit county = MustCreate(std::nullopt, "county", "北流市", "BL");
  OrgUnit town_a = MustCreate(county.id, "town", "甲镇", "A");
  OrgUnit town_b = MustCreate(county.id, "town", "乙镇", "B");
  OrgUnit village = MustCreate(town_a.id, "village", "一村", "A-C01");
  OrgUnit window = MustCreate(village.id, "village_window", "党建服务", "A-C01-W1");
  OrgUnit other = MustCreate(town_a.id, "village", "二村", "A-C02");

  auto moved = Move(village.id, town_b.id);
  ASSERT_TRUE(moved.ok()) << Fields(moved.error());
  EXPECT_EQ(moved->path, town_b.path + std::to_string(village.id) + "/");
  OrgUnit v = Find(village.id);
  EXPECT_EQ(v.parent_id, town_b.id);
  EXPECT_EQ(v.path, moved->path);
  EXPECT_EQ(v.depth, 2);
  OrgUnit w = Find(window.id);
  EXPECT_EQ(w.path, v.path + std::to_string(window.id) + "/");
  EXPECT_EQ(w.depth, 3);
  EXPECT_EQ(w.parent_id, village.id);
  EXPECT_EQ(Find(other.id).path, other.path);  // the sibling stays
  EXPECT_EQ(SubtreeOf(town_a.path).size(), 2u);
  EXPECT_EQ(SubtreeOf(town_b.path).size(), 3u);

  // A town may become a root of its own, and moving to the same parent changes nothing.
  auto root = Move(town_b.id, std::nullopt);
  ASSERT_TRUE(root.ok()) << Fields(root.error());
  EXPECT_EQ(Find(window.id).path, "/" + std::to_string(town_b.id) + "/" +
                                      std::to_string(village.id) + "/" + std::to_string(window.id) +
                                      "/");
  EXPECT_EQ(Find(window.id).depth, 2);
  EXPECT_TRUE(Move(town_b.id, std::nullopt).ok());
}

TEST_P(OrgStoreTest, RefusesCyclesRetiredParentsAndWrongKinds) {
  OrgUnit city = MustCreate(std::nullopt, "city", "玉林市", "YL");
  OrgUnit county = MustCreate(city.id, "county", "北流市", "BL");
  OrgUnit town = MustCreate(county.id, "town", "平政镇", "PZ");
  OrgUnit village = MustCreate(town.id, "village", "一村", "PZ-C01");

  auto self = Move(county.id, county.id);
  ASSERT_FALSE(self.ok());
  EXPECT_EQ(self.error().code, ErrorCode::kInvalidInput);
  EXPECT_TRUE(HasField(self.error(), "parent_id"));
  auto into_child = Move(county.id, town.id);
  ASSERT_FALSE(into_child.ok());
  EXPECT_TRUE(HasField(into_child.error(), "parent_id"));
  EXPECT_NE(into_child.error().fields[0].message.find("下级"), std::string::npos);
  EXPECT_EQ(Find(county.id).path, county.path);

  // A village only under a town.
  auto village_under_county = Create(county.id, "village", "错村", "X1");
  ASSERT_FALSE(village_under_county.ok());
  EXPECT_TRUE(HasField(village_under_county.error(), "kind"));
  auto move_wrong = Move(village.id, county.id);
  ASSERT_FALSE(move_wrong.ok());
  EXPECT_TRUE(HasField(move_wrong.error(), "parent_id"));
  auto root_village = Create(std::nullopt, "village", "孤村", "X2");
  ASSERT_FALSE(root_village.ok());
  EXPECT_TRUE(HasField(root_village.error(), "kind"));
  auto unknown_parent = Create(int64_t{999999}, "town", "某镇", "X3");
  ASSERT_FALSE(unknown_parent.ok());
  EXPECT_TRUE(HasField(unknown_parent.error(), "parent_id"));

  // A retired unit takes no new children and nothing moves under it.
  OrgUnit town2 = MustCreate(county.id, "town", "乙镇", "YZ");
  auto retired = db().WriteSync<OrgUnit>(
      [&](db::Conn& c) { return org::RetireUnit(c, clock(), kActor, town2.id); });
  ASSERT_TRUE(retired.ok());
  auto child_of_retired = Create(town2.id, "village", "新村", "X4");
  ASSERT_FALSE(child_of_retired.ok());
  EXPECT_TRUE(HasField(child_of_retired.error(), "parent_id"));
  auto move_under_retired = Move(village.id, town2.id);
  ASSERT_FALSE(move_under_retired.ok());
  EXPECT_TRUE(HasField(move_under_retired.error(), "parent_id"));
  EXPECT_EQ(Count("code LIKE 'X%'"), 0);
}

TEST_P(OrgStoreTest, RefusesDuplicateAndMalformedCodesAndBadDivisionCodes) {
  OrgUnit town = MustCreate(std::nullopt, "town", "平政镇", "PZ");
  auto dup = Create(std::nullopt, "town", "另一镇", "pz");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::kInvalidInput);
  ASSERT_TRUE(HasField(dup.error(), "code"));
  EXPECT_NE(dup.error().fields[0].message.find("PZ"), std::string::npos);

  auto bad = Create(std::nullopt, "town", "", "平政", "4509");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(HasField(bad.error(), "name"));
  EXPECT_TRUE(HasField(bad.error(), "code"));
  EXPECT_TRUE(HasField(bad.error(), "division_code"));

  OrgUnit other = MustCreate(std::nullopt, "town", "乙镇", "YZ");
  auto recode = db().WriteSync<OrgUnit>([&](db::Conn& c) {
    return org::UpdateUnit(c, clock(), kActor, other.id, {"乙镇", "PZ", "", ""});
  });
  ASSERT_FALSE(recode.ok());
  EXPECT_TRUE(HasField(recode.error(), "code"));
  auto renamed = db().WriteSync<OrgUnit>([&](db::Conn& c) {
    return org::UpdateUnit(c, clock(), kActor, town.id, {"平政镇人民政府", "PZ", "450981106", "2"});
  });
  ASSERT_TRUE(renamed.ok()) << Fields(renamed.error());
  EXPECT_EQ(Find(town.id).name, "平政镇人民政府");
  EXPECT_EQ(Find(town.id).division_code, "450981106");
  EXPECT_EQ(Find(town.id).sort_order, 2);
  auto missing = db().WriteSync<OrgUnit>([&](db::Conn& c) {
    return org::UpdateUnit(c, clock(), kActor, 424242, {"x", "X", "", ""});
  });
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_P(OrgStoreTest, RetiringAUnitRetiresItsSubtreeOnce) {
  OrgUnit town = MustCreate(std::nullopt, "town", "平政镇", "PZ");
  OrgUnit village = MustCreate(town.id, "village", "一村", "PZ-C01");
  MustCreate(village.id, "village_window", "党建服务", "PZ-C01-W1");
  OrgUnit keep = MustCreate(town.id, "village", "二村", "PZ-C02");
  auto retired = db().WriteSync<OrgUnit>(
      [&](db::Conn& c) { return org::RetireUnit(c, clock(), kActor, village.id); });
  ASSERT_TRUE(retired.ok());
  EXPECT_EQ(retired->retired_at_ms, clock().NowMs());
  EXPECT_EQ(Count("retired_at_ms IS NOT NULL"), 2);
  EXPECT_FALSE(Find(keep.id).retired());
  auto again = db().WriteSync<OrgUnit>(
      [&](db::Conn& c) { return org::RetireUnit(c, clock(), kActor, village.id); });
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  auto move_retired = Move(village.id, keep.id);
  ASSERT_FALSE(move_retired.ok());
}

TEST_P(OrgStoreTest, DemoTreeHasTheTownItsWindowsAndNineteenVillagesAndLoadsOnce) {
  ASSERT_TRUE(db().WriteSync<bool>([&](db::Conn& c) -> Result<bool> {
    if (auto s = org::LoadDemoTree(c, clock()); !s) return std::move(s).error();
    return true;
  }));
  EXPECT_EQ(Count(), 1 + 1 + 1 + 9 + 19 + 19 * 9);
  EXPECT_EQ(Count("demo = 1"), Count());
  EXPECT_EQ(Count("kind = 'window'"), 9);
  EXPECT_EQ(Count("kind = 'village'"), 19);
  EXPECT_EQ(Count("kind = 'village_window'"), 171);
  EXPECT_EQ(Count("code = 'YL' AND division_code = '450900'"), 1);
  EXPECT_EQ(Count("code = 'BL' AND division_code = '450981'"), 1);
  EXPECT_EQ(Count("name = '示例十九村' AND code = 'PZ-C19'"), 1);
  EXPECT_EQ(Count("name = '食品药品监督管理所'"), 1);
  EXPECT_EQ(Count("name = '村民服务'"), 19);
  auto pz = db().ReadSync<std::optional<OrgUnit>>(
      [](db::Conn& c) { return org::FindUnitByCode(c, "PZ"); });
  ASSERT_TRUE(pz.ok() && pz->has_value());
  EXPECT_EQ(SubtreeOf((*pz)->path).size(), 1u + 9 + 19 + 171);
  ASSERT_TRUE(db().WriteSync<bool>([&](db::Conn& c) -> Result<bool> {
    if (auto s = org::LoadDemoTree(c, clock()); !s) return std::move(s).error();
    return true;
  }));
  EXPECT_EQ(Count(), 202);
}

TEST_P(OrgStoreTest, ImportCreatesEverythingOrNothing) {
  OrgUnit county = MustCreate(std::nullopt, "county", "北流市", "BL");
  MustCreate(county.id, "town", "平政镇", "PZ");
  auto import = [&](const std::vector<org::ImportRow>& rows) {
    return db().WriteSync<std::vector<OrgUnit>>([&](db::Conn& c) {
      return org::ImportUnits(c, clock(), kActor, rows, [](const OrgUnit*) { return true; });
    });
  };
  // Line 3 repeats an existing code, line 4 names a parent that does not exist, line 5 puts a
  // village under a county: nothing is imported and every problem is reported.
  auto bad = import({{2, "BL", "镇", "新丰镇", "XF", ""},
                     {3, "XF", "村", "一村", "PZ", ""},
                     {4, "NOPE", "村", "二村", "XF-C02", ""},
                     {5, "BL", "村", "三村", "XF-C03", "12"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidInput);
  std::string all = Fields(bad.error());
  EXPECT_NE(all.find("第 3 行：编码 PZ 已存在"), std::string::npos) << all;
  EXPECT_NE(all.find("第 4 行：上级编码 NOPE 不存在"), std::string::npos) << all;
  EXPECT_NE(all.find("第 5 行："), std::string::npos) << all;
  EXPECT_EQ(all.find("第 2 行"), std::string::npos) << all;
  EXPECT_EQ(Count(), 2);

  auto good = import({{2, "BL", "镇", "新丰镇", "XF", "450981107"},
                      {3, "XF", "村（社区）", "一村", "XF-C01", ""},
                      {4, "XF-C01", "村窗口", "党建服务", "XF-C01-W1", ""},
                      {5, "PZ", "窗口", "司法所", "PZ-W07", ""}});
  ASSERT_TRUE(good.ok()) << Fields(good.error());
  EXPECT_EQ(good->size(), 4u);
  EXPECT_EQ(Count(), 6);
  OrgUnit window = Find(good->at(2).id);
  EXPECT_EQ(window.depth, 3);
  EXPECT_EQ(window.parent_id, good->at(1).id);

  auto refused = db().WriteSync<std::vector<OrgUnit>>([&](db::Conn& c) {
    return org::ImportUnits(c, clock(), kActor, {{2, "BL", "镇", "别镇", "BZ", ""}},
                            [](const OrgUnit*) { return false; });
  });
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(Fields(refused.error()).find("无权"), std::string::npos);
  EXPECT_EQ(Count(), 6);
}

ZHENWU_ALL_BACKENDS(OrgStoreTest);

}  // namespace
}  // namespace zhenwu::testing
