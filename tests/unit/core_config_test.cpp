#include "core/config.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "support/temp_dir.hpp"

namespace zhenwu {
namespace {

std::string Write(const testing::TempDir& dir, const std::string& text) {
  const std::string path = dir.File("zhenwu.toml");
  std::ofstream(path) << text;
  return path;
}

const ConfigKey& KeyNamed(const std::string& name) {
  for (const auto& k : ConfigKeys()) {
    if (k.key == name) return k;
  }
  throw std::logic_error(name);
}

TEST(Config, FileOverridesDefaults) {
  testing::TempDir dir;
  Config c;
  ASSERT_TRUE(ApplyConfigFile(Write(dir,
                                    "[server]\nlisten = \"0.0.0.0:9000\"\n"
                                    "[site]\ntown_name = \"平政镇\"\ndemo = true\n"
                                    "[database]\npool = 8\n"),
                              c));
  EXPECT_EQ(c.listen, "0.0.0.0:9000");
  EXPECT_EQ(c.town_name, "平政镇");
  EXPECT_TRUE(c.demo);
  EXPECT_EQ(c.db_pool, 8);
  EXPECT_TRUE(ValidateConfig(c));
}

TEST(Config, UnknownKeyIsNamed) {
  testing::TempDir dir;
  Config c;
  auto s = ApplyConfigFile(Write(dir, "[server]\nlsten = \"x\"\n"), c);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().fields.at(0).field, "server.lsten");
  EXPECT_NE(s.error().message.find("server.lsten"), std::string::npos);
}

TEST(Config, WrongTypeIsNamed) {
  testing::TempDir dir;
  Config c;
  auto s = ApplyConfigFile(Write(dir, "[server]\nio_threads = \"two\"\n"), c);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().fields.at(0).field, "server.io_threads");
  EXPECT_NE(s.error().message.find("整数"), std::string::npos);
}

TEST(Config, SyntaxErrorAndMissingFileAreClear) {
  testing::TempDir dir;
  Config c;
  EXPECT_FALSE(ApplyConfigFile(Write(dir, "[server\nlisten = 1\n"), c));
  auto missing = ApplyConfigFile(dir.File("nope.toml"), c);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("nope.toml"), std::string::npos);
  EXPECT_FALSE(ApplyConfigFile(Write(dir, "listen = \"x\"\n"), c));  // not in a table
}

TEST(Config, EnvironmentOverridesFileAndIgnoresUnknownNames) {
  Config c;
  c.listen = "127.0.0.1:1";
  ASSERT_TRUE(ApplyEnvironment({{"ZHENWU_SERVER_LISTEN", "127.0.0.1:2"},
                                {"ZHENWU_DATABASE_URL", "sqlite:/tmp/x.db"},
                                {"ZHENWU_LOG_ACCESS", "false"},
                                {"ZHENWU_TEST_PG", "ignored"}},
                               c));
  EXPECT_EQ(c.listen, "127.0.0.1:2");
  EXPECT_EQ(c.db, "sqlite:/tmp/x.db");
  EXPECT_FALSE(c.access_log);
  auto bad = ApplyEnvironment({{"ZHENWU_SERVER_IO_THREADS", "many"}}, c);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("ZHENWU_SERVER_IO_THREADS"), std::string::npos);
}

TEST(Config, EveryKeyHasFlagEnvAndHelp) {
  for (const auto& k : ConfigKeys()) {
    EXPECT_EQ(k.flag.rfind("--", 0), 0u) << k.key;
    EXPECT_EQ(k.env.rfind("ZHENWU_", 0), 0u) << k.key;
    EXPECT_FALSE(k.help.empty()) << k.key;
  }
  EXPECT_EQ(KeyNamed("database.url").flag, "--db");
  EXPECT_EQ(KeyNamed("server.listen").flag, "--listen");
}

TEST(Config, ValidationNamesTheKey) {
  struct Case {
    std::function<void(Config&)> change;
    std::string key;
  };
  const std::vector<Case> cases = {
      {[](Config& c) { c.listen = "8080"; }, "server.listen"},
      {[](Config& c) { c.listen = "127.0.0.1:99999"; }, "server.listen"},
      {[](Config& c) { c.db = "mysql://x"; }, "database.url"},
      {[](Config& c) { c.sqlite_synchronous = "OFF"; }, "database.sqlite_synchronous"},
      {[](Config& c) { c.body_limit = 10; }, "server.body_limit"},
      {[](Config& c) { c.log_level = "loud"; }, "log.level"},
      {[](Config& c) { c.town_name = ""; }, "site.town_name"},
  };
  for (const auto& tc : cases) {
    Config c;
    tc.change(c);
    auto s = ValidateConfig(c);
    ASSERT_FALSE(s) << tc.key;
    EXPECT_EQ(s.error().fields.at(0).field, tc.key);
  }
  EXPECT_TRUE(ValidateConfig(Config{}));
}

TEST(Config, BooleansAcceptCommonSpellingsOnly) {
  Config c;
  EXPECT_TRUE(SetConfigValue(KeyNamed("site.demo"), "yes", "test", c));
  EXPECT_TRUE(c.demo);
  EXPECT_TRUE(SetConfigValue(KeyNamed("site.demo"), "0", "test", c));
  EXPECT_FALSE(c.demo);
  EXPECT_FALSE(SetConfigValue(KeyNamed("site.demo"), "maybe", "test", c));
  EXPECT_FALSE(SetConfigValue(KeyNamed("server.body_limit"), "12kb", "test", c));
}

}  // namespace
}  // namespace zhenwu
