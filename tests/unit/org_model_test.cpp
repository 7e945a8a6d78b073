// Pure rules of the org tree: kinds and where they may go, code and 区划代码 formats, paths.
#include <gtest/gtest.h>

#include "org/model.hpp"
#include "org/store.hpp"

namespace zhenwu::org {
namespace {

TEST(OrgKindTest, NamesAndChineseLabelsRoundTrip) {
  for (UnitKind k : AllKinds()) {
    EXPECT_EQ(KindFromName(KindName(k)), k);
    EXPECT_EQ(KindFromText(KindLabel(k)), k);
  }
  EXPECT_EQ(KindLabel(UnitKind::kVillage), "村（社区）");
  EXPECT_EQ(KindFromText(" 村 "), UnitKind::kVillage);
  EXPECT_EQ(KindFromText("社区"), UnitKind::kVillage);
  EXPECT_EQ(KindFromText("县级市"), UnitKind::kCounty);
  EXPECT_EQ(KindFromText("village_window"), UnitKind::kVillageWindow);
  EXPECT_FALSE(KindFromText("省"));
  EXPECT_FALSE(KindFromText(""));
}

TEST(OrgKindTest, EachKindGoesOnlyWhereTheTreeAllowsIt) {
  using K = UnitKind;
  EXPECT_TRUE(AllowedUnder(K::kCity, std::nullopt));
  EXPECT_TRUE(AllowedUnder(K::kTown, std::nullopt));  // one town alone
  EXPECT_FALSE(AllowedUnder(K::kVillage, std::nullopt));
  EXPECT_FALSE(AllowedUnder(K::kWindow, std::nullopt));
  EXPECT_TRUE(AllowedUnder(K::kCounty, K::kCity));
  EXPECT_FALSE(AllowedUnder(K::kCity, K::kCity));
  EXPECT_TRUE(AllowedUnder(K::kTown, K::kCounty));
  EXPECT_FALSE(AllowedUnder(K::kTown, K::kCity));
  EXPECT_TRUE(AllowedUnder(K::kVillage, K::kTown));
  EXPECT_FALSE(AllowedUnder(K::kVillage, K::kCounty));
  EXPECT_FALSE(AllowedUnder(K::kVillage, K::kVillage));
  EXPECT_TRUE(AllowedUnder(K::kWindow, K::kTown));
  EXPECT_TRUE(AllowedUnder(K::kWindow, K::kDepartment));
  EXPECT_FALSE(AllowedUnder(K::kWindow, K::kVillage));
  EXPECT_TRUE(AllowedUnder(K::kVillageWindow, K::kVillage));
  EXPECT_FALSE(AllowedUnder(K::kVillageWindow, K::kTown));
  EXPECT_TRUE(AllowedUnder(K::kDepartment, K::kTown));
  EXPECT_TRUE(KindsAllowedUnder(K::kVillageWindow).empty());
  EXPECT_EQ(KindsAllowedUnder(K::kVillage), std::vector<K>{K::kVillageWindow});
  EXPECT_EQ(KindsAllowedUnder(K::kTown), (std::vector<K>{K::kDepartment, K::kWindow, K::kVillage}));
}

TEST(OrgCheckTest, CodesAreUpperCaseLettersDigitsAndInnerHyphens) {
  EXPECT_EQ(*CheckCode(" pz-c01 "), "PZ-C01");
  EXPECT_EQ(*CheckCode("YL"), "YL");
  EXPECT_EQ(*CheckCode(std::string(32, 'A')), std::string(32, 'A'));
  for (const std::string& bad : std::vector<std::string>{
           "", "  ", "平政", "PZ C01", "PZ_C01", "-PZ", "PZ-", "PZ.1", std::string(33, 'A')}) {
    auto r = CheckCode(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
    ASSERT_EQ(r.error().fields.size(), 1u);
    EXPECT_EQ(r.error().fields[0].field, "code");
  }
}

TEST(OrgCheckTest, DivisionCodesAreEmptyOrSixNineOrTwelveDigits) {
  EXPECT_EQ(*CheckDivisionCode(""), "");
  EXPECT_EQ(*CheckDivisionCode(" 450981 "), "450981");
  EXPECT_EQ(*CheckDivisionCode("450981106"), "450981106");
  EXPECT_EQ(*CheckDivisionCode("450981106201"), "450981106201");
  for (const std::string& bad : std::vector<std::string>{
           "4509", "4509811", "45098110", "4509811062011", "45098a", "４５０９８１"}) {
    auto r = CheckDivisionCode(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().fields.at(0).field, "division_code");
  }
}

TEST(OrgCheckTest, NamesAreTrimmedAndBounded) {
  EXPECT_EQ(*CheckName("　平政镇 "), "平政镇");  // full-width space too
  EXPECT_FALSE(CheckName("").ok());
  EXPECT_FALSE(CheckName(" 　 ").ok());
  EXPECT_EQ(CheckName("").error().fields.at(0).field, "name");
  std::string hundred;
  for (int i = 0; i < 100; ++i) hundred += "村";
  EXPECT_TRUE(CheckName(hundred).ok());
  EXPECT_FALSE(CheckName(hundred + "村").ok());
  EXPECT_FALSE(CheckName("a\x01"
                         "b")
                   .ok());
}

TEST(OrgPathTest, PathsDepthsAndSubtreeBounds) {
  EXPECT_EQ(ChildPath("", 7), "/7/");
  EXPECT_EQ(ChildPath("/1/4/", 17), "/1/4/17/");
  EXPECT_EQ(PathDepth("/1/"), 0);
  EXPECT_EQ(PathDepth("/1/4/17/"), 2);
  EXPECT_TRUE(PathWithin("/1/4/17/", "/1/4/"));
  EXPECT_TRUE(PathWithin("/1/4/", "/1/4/"));
  EXPECT_FALSE(PathWithin("/1/45/", "/1/4/"));
  EXPECT_FALSE(PathWithin("/1/", "/1/4/"));
  EXPECT_EQ(SubtreeUpperBound("/1/4/"), "/1/40");
  EXPECT_LT(std::string("/1/4/999/"), SubtreeUpperBound("/1/4/"));
  EXPECT_GE(std::string("/1/40/"), SubtreeUpperBound("/1/4/"));
  EXPECT_GT(std::string("/1/45/"), SubtreeUpperBound("/1/4/"));
}

}  // namespace
}  // namespace zhenwu::org
