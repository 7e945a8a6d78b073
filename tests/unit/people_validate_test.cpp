// ID-card numbers (GB 11643), unified social credit codes (GB 32100), mobile numbers, masking.

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "people/demo.hpp"
#include "people/validate.hpp"

namespace zhenwu::people {
namespace {

constexpr Date kToday{2026, 11, 28};

std::string FieldMessage(const Result<std::string>& r) {
  if (r.ok() || r.error().fields.empty()) return {};
  return r.error().fields[0].message;
}

TEST(IdCardTest, CheckCharacterFollowsGb11643) {
  EXPECT_EQ(IdCardCheckChar("11010519491231002"), 'X');  // the standard's own example
  EXPECT_EQ(IdCardCheckChar("45098119900307123"), '7');
  EXPECT_EQ(IdCardCheckChar("45098119850101001"), '0');
  EXPECT_EQ(IdCardCheckChar("4509811990030712"), std::nullopt);
  EXPECT_EQ(IdCardCheckChar("4509811990030712A"), std::nullopt);
}

TEST(IdCardTest, AcceptsValidNumbersInCanonicalForm) {
  for (const char* id :
       {"450981199003071237", "11010519491231002X", "450981198501010010", "45098120000229002X"}) {
    auto r = NormalizeIdCard(id, kToday);
    ASSERT_TRUE(r) << id << " " << FieldMessage(r);
    EXPECT_EQ(*r, id);
  }
  auto lower = NormalizeIdCard(" 11010519491231002x ", kToday);
  ASSERT_TRUE(lower);
  EXPECT_EQ(*lower, "11010519491231002X");
  auto spaced = NormalizeIdCard("450981 19900307 1237", kToday);
  ASSERT_TRUE(spaced);
  EXPECT_EQ(*spaced, "450981199003071237");
}

TEST(IdCardTest, RejectsWrongCheckDigit) {
  auto r = NormalizeIdCard("450981199003071238", kToday);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(r.error().fields.at(0).field, "id_card");
  EXPECT_NE(FieldMessage(r).find("校验位"), std::string::npos);
}

TEST(IdCardTest, RejectsImpossibleBirthDates) {
  // Valid check digits, impossible dates: 1990-02-30, 2001-02-29, month 13, the future, 1899.
  for (std::string first17 : {"45098119900230123", "45098120010229123", "45098119901301123",
                              "45098120991231123", "45098118991231123"}) {
    const std::string id = first17 + *IdCardCheckChar(first17);
    auto r = NormalizeIdCard(id, kToday);
    ASSERT_FALSE(r) << id;
    EXPECT_NE(FieldMessage(r).find("出生日期"), std::string::npos) << id;
  }
}

TEST(IdCardTest, RejectsWrongShapeWithItsOwnMessage) {
  EXPECT_NE(FieldMessage(NormalizeIdCard("", kToday)).find("请填写"), std::string::npos);
  EXPECT_NE(FieldMessage(NormalizeIdCard("45098119900307123", kToday)).find("18 位"),
            std::string::npos);
  EXPECT_NE(FieldMessage(NormalizeIdCard("4509811990030712A7", kToday)).find("前 17 位"),
            std::string::npos);
  EXPECT_NE(FieldMessage(NormalizeIdCard("45098119900307123Y", kToday)).find("最后一位"),
            std::string::npos);
  auto named = NormalizeIdCard("1", kToday, "legal_id");
  ASSERT_FALSE(named);
  EXPECT_EQ(named.error().fields.at(0).field, "legal_id");
}

TEST(UsccTest, CheckCharacterFollowsGb32100) {
  EXPECT_EQ(UsccCheckChar("91350100M000100Y4"), '3');
  EXPECT_EQ(UsccCheckChar("91450981MA5K12345"), 'R');
  EXPECT_EQ(UsccCheckChar("12100000400000624"), 'D');
  EXPECT_EQ(UsccCheckChar("91350100M000100I4"), std::nullopt);  // I is not in the alphabet
}

TEST(UsccTest, AcceptsValidAndRejectsInvalidCodes) {
  auto ok = NormalizeUscc("91350100m000100y43");
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, "91350100M000100Y43");
  EXPECT_TRUE(NormalizeUscc("12100000400000624D"));
  EXPECT_NE(FieldMessage(NormalizeUscc("91350100M000100Y44")).find("校验位"), std::string::npos);
  EXPECT_NE(FieldMessage(NormalizeUscc("91350100M000100Y4")).find("18 位"), std::string::npos);
  EXPECT_NE(FieldMessage(NormalizeUscc("91350100M0001O0Y43")).find("无效字符"), std::string::npos);
  EXPECT_NE(FieldMessage(NormalizeUscc("  ")).find("请填写"), std::string::npos);
  EXPECT_EQ(NormalizeUscc("x").error().fields.at(0).field, "uscc");
}

TEST(MobileTest, AcceptsCommonForms) {
  for (const char* in : {"13812345678", "138 1234 5678", "138-1234-5678", "+86 13812345678",
                         "008613812345678", " 13812345678　"}) {
    auto r = NormalizeMobile(in);
    ASSERT_TRUE(r) << in << " " << FieldMessage(r);
    EXPECT_EQ(*r, "13812345678");
  }
}

TEST(MobileTest, RejectsWhatIsNotAMobileNumber) {
  for (const char* in : {"1381234567", "138123456789", "12812345678", "23812345678", "0775-1234567",
                         "1381234567a"}) {
    auto r = NormalizeMobile(in);
    ASSERT_FALSE(r) << in;
    EXPECT_EQ(r.error().fields.at(0).field, "phone");
    EXPECT_NE(FieldMessage(r).find("11 位"), std::string::npos);
  }
  EXPECT_NE(FieldMessage(NormalizeMobile("")).find("请填写"), std::string::npos);
}

TEST(MaskTest, ShowsOnlyTheEnds) {
  EXPECT_EQ(MaskIdCard("450981199003071237"), "4509**********1237");
  EXPECT_EQ(MaskIdCard("11010519491231002X"), "1101**********002X");
  EXPECT_EQ(MaskPhone("13812345678"), "138****5678");
  EXPECT_EQ(MaskIdCard("1234"), "****");
  EXPECT_EQ(MaskPhone(""), "");
}

TEST(TrimTest, TrimsAsciiAndIdeographicSpaces) {
  EXPECT_EQ(Trim("  张三\t"), "张三");
  EXPECT_EQ(Trim("　张 三　 "), "张 三");
  EXPECT_EQ(Trim(""), "");
}

// The demo's made-up numbers pass the same checks as real ones, are all different and are the
// same on every run (so `zhenwu demo` can find what it made before).
TEST(DemoIdentifiersTest, ValidDistinctAndStable) {
  std::set<std::string> ids, phones, codes;
  for (int n = 1; n <= kDemoResidents; ++n) {
    const std::string id = DemoIdCard(n);
    auto normal = NormalizeIdCard(id, kToday);
    ASSERT_TRUE(normal) << id << ": " << FieldMessage(normal);
    EXPECT_EQ(*normal, id);
    EXPECT_EQ(id.substr(0, 6), "450981");
    ids.insert(id);
    ASSERT_TRUE(NormalizeMobile(DemoPhone(n))) << DemoPhone(n);
    EXPECT_EQ(DemoPhone(n).substr(0, 7), "1380000");
    phones.insert(DemoPhone(n));
  }
  for (int n = 1; n <= kDemoEnterprises; ++n) {
    auto normal = NormalizeUscc(DemoUscc(n));
    ASSERT_TRUE(normal) << DemoUscc(n) << ": " << FieldMessage(normal);
    codes.insert(DemoUscc(n));
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kDemoResidents));
  EXPECT_EQ(phones.size(), static_cast<std::size_t>(kDemoResidents));
  EXPECT_EQ(codes.size(), static_cast<std::size_t>(kDemoEnterprises));
  EXPECT_EQ(DemoIdCard(1), DemoIdCard(1));
  EXPECT_EQ(DemoUscc(3), DemoUscc(3));
}

}  // namespace
}  // namespace zhenwu::people
