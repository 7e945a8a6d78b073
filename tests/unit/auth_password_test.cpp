// 等保 password rules, phone and login checks, hashing and tokens.
#include <gtest/gtest.h>

#include "auth/password.hpp"

namespace zhenwu::auth {
namespace {

std::string RuleMessage(std::string_view password, std::string_view login = "clerk") {
  auto s = CheckPasswordRules(password, login);
  return s.ok() ? "" : s.error().fields.at(0).message;
}

TEST(AuthPasswordRules, AcceptsThreeClassesOfEightOrMore) {
  EXPECT_TRUE(CheckPasswordRules("Abcdefg1", "clerk").ok());
  EXPECT_TRUE(CheckPasswordRules("abcdef1!", "clerk").ok());
  EXPECT_TRUE(CheckPasswordRules("ABCDEF1!", "clerk").ok());
  EXPECT_TRUE(CheckPasswordRules("Abcdefg!", "clerk").ok());
  EXPECT_TRUE(CheckPasswordRules("Demo@2026", "admin").ok());
}

TEST(AuthPasswordRules, RefusesShortOnesInChinese) {
  EXPECT_EQ(RuleMessage("Ab1!"), "密码至少需要 8 个字符");
  EXPECT_EQ(RuleMessage(""), "密码至少需要 8 个字符");
  // Characters, not bytes: four Chinese characters are 12 bytes but 4 characters.
  EXPECT_EQ(RuleMessage("镇务通A"), "密码至少需要 8 个字符");
}

TEST(AuthPasswordRules, RefusesFewerThanThreeClasses) {
  EXPECT_NE(RuleMessage("abcdefgh").find("至少三类"), std::string::npos);
  EXPECT_NE(RuleMessage("abcdefg1").find("至少三类"), std::string::npos);
  EXPECT_NE(RuleMessage("12345678").find("至少三类"), std::string::npos);
  EXPECT_NE(RuleMessage("ABCDEFG!").find("至少三类"), std::string::npos);
}

TEST(AuthPasswordRules, RefusesTheLoginNameInsideAnyCase) {
  EXPECT_EQ(RuleMessage("Clerk2026!", "clerk"), "密码不能包含用户名");
  EXPECT_EQ(RuleMessage("xxCLERKxx1", "clerk"), "密码不能包含用户名");
  EXPECT_TRUE(CheckPasswordRules("Clerk2026!", "leader").ok());
  auto s = CheckPasswordRules("short", "x", "new_password");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(s.error().fields.at(0).field, "new_password");
}

TEST(AuthPhone, AcceptsElevenDigitMainlandMobiles) {
  EXPECT_TRUE(IsMobilePhone("13812345678"));
  EXPECT_TRUE(IsMobilePhone("19912345678"));
  EXPECT_FALSE(IsMobilePhone("12812345678"));   // no 12x mobiles
  EXPECT_FALSE(IsMobilePhone("1381234567"));    // 10 digits
  EXPECT_FALSE(IsMobilePhone("138123456789"));  // 12 digits
  EXPECT_FALSE(IsMobilePhone("2381234567a"));
  EXPECT_FALSE(IsMobilePhone("138 1234 567"));
  EXPECT_FALSE(IsMobilePhone("+8613812345678"));
  EXPECT_FALSE(IsMobilePhone(""));
}

TEST(AuthLogin, StaffLoginNames) {
  EXPECT_TRUE(IsStaffLogin("clerk"));
  EXPECT_TRUE(IsStaffLogin("wang.li_2"));
  EXPECT_FALSE(IsStaffLogin("ab"));
  EXPECT_FALSE(IsStaffLogin("1abc"));
  EXPECT_FALSE(IsStaffLogin("Clerk"));
  EXPECT_FALSE(IsStaffLogin("王五"));
  EXPECT_FALSE(IsStaffLogin("13812345678"));
}

TEST(AuthHash, VerifiesOnlyTheRightPassword) {
  const std::string hash = HashPassword("Abcdefg1!");
  EXPECT_EQ(hash.rfind("$argon2id$", 0), 0u);
  EXPECT_TRUE(VerifyPassword(hash, "Abcdefg1!"));
  EXPECT_FALSE(VerifyPassword(hash, "Abcdefg1?"));
  EXPECT_FALSE(VerifyPassword("", "Abcdefg1!"));
  EXPECT_FALSE(VerifyPassword("not a hash", "Abcdefg1!"));
  EXPECT_NE(HashPassword("Abcdefg1!"), hash);  // salted
}

// Unknown logins are verified against a fixed hash: it must be a real argon2id hash made with
// the live parameters (else an unknown login would answer faster than a known one), and using
// it must cost exactly one hash, not one to make it and one to verify.
TEST(AuthHash, DummyHashCostsWhatARealOneDoes) {
  const std::string real = HashPassword("Abcdefg1!");
  const std::string_view dummy = DummyPasswordHash();
  const auto params = [](std::string_view h) { return h.substr(0, h.find('$', 30)); };
  EXPECT_EQ(params(dummy), params(real));
  EXPECT_EQ(params(real), "$argon2id$v=19$m=65536,t=3,p=1");
  EXPECT_TRUE(VerifyPassword(dummy, "zhenwu-dummy-password-Aa1!"));
  const auto before = PasswordHashesComputed();
  EXPECT_FALSE(VerifyPassword("", "zhenwu-dummy-password-Aa1!"));  // unknown: never true
  EXPECT_EQ(PasswordHashesComputed() - before, 1u);
  EXPECT_TRUE(VerifyPassword(real, "Abcdefg1!"));
  EXPECT_EQ(PasswordHashesComputed() - before, 2u);
}

TEST(AuthTokens, RandomTokensAndDigests) {
  const std::string a = RandomToken(32), b = RandomToken(32);
  EXPECT_EQ(a.size(), 43u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(SecureEquals("abc", "abc"));
  EXPECT_FALSE(SecureEquals("abc", "abd"));
  EXPECT_FALSE(SecureEquals("abc", "abcd"));
}

}  // namespace
}  // namespace zhenwu::auth
