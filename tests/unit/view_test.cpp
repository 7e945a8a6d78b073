#include "view/view.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "support/temp_dir.hpp"

namespace zhenwu::view {
namespace {

Site DemoSite() { return Site{"平政镇", "北流市平政镇", "0775-0000000", "周一至周五", true}; }

TEST(View, PageHasTownTitleNavAndEscapedValues) {
  auto view = View::Create(DemoSite(), "");
  ASSERT_TRUE(view.ok()) << view.error().message;
  Data data{Data::type::object};
  PageMeta meta;
  meta.title = "<首页>";
  meta.nav_key = "home";
  meta.path = "/a b?x=1&y=<2>";
  const std::string html = (*view)->Page(meta, "portal/home", data);
  EXPECT_NE(html.find("<title>&lt;首页&gt; - 平政镇</title>"), std::string::npos);
  EXPECT_NE(html.find("aria-current=\"page\""), std::string::npos);
  EXPECT_NE(html.find("演示"), std::string::npos);  // demo data is marked
  EXPECT_EQ(html.find("<2>"), std::string::npos);   // the way back is encoded
  EXPECT_NE(html.find("back=/a%20b%3Fx%3D1%26y%3D%3C2%3E"), std::string::npos);
  EXPECT_EQ(html.find("class=\"text-large\""), std::string::npos);
  meta.large_text = true;
  EXPECT_NE((*view)->Page(meta, "portal/home", data).find("class=\"text-large\""),
            std::string::npos);
}

TEST(View, NoThirdPartyHostsInTheLayout) {
  auto view = View::Create(DemoSite(), "");
  ASSERT_TRUE(view.ok());
  const std::string html = (*view)->Page(PageMeta{}, "portal/home", Data{Data::type::object});
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("src=\"//"), std::string::npos);
}

TEST(View, OverrideFolderReplacesATemplate) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.path() / "portal");
  std::ofstream(dir.path() / "portal" / "home.mustache") << "<p>{{site.town_name}}自定义首页</p>";
  auto view = View::Create(DemoSite(), dir.path().string());
  ASSERT_TRUE(view.ok());
  EXPECT_EQ((*view)->Render("portal/home", Data{Data::type::object}), "<p>平政镇自定义首页</p>");
}

TEST(View, BrokenOverrideIsRefusedNamingTheTemplate) {
  testing::TempDir dir;
  std::ofstream(dir.path() / "layout.mustache") << "{{#open}} never closed";
  auto view = View::Create(DemoSite(), dir.path().string());
  ASSERT_FALSE(view.ok());
  EXPECT_NE(view.error().message.find("layout"), std::string::npos);
  EXPECT_FALSE(View::Create(DemoSite(), dir.File("missing")).ok());
}

TEST(View, CatalogueIsReachableFromCodeAndTemplates) {
  auto view = View::Create(DemoSite(), "");
  ASSERT_TRUE(view.ok());
  EXPECT_EQ((*view)->strings().Get("error.title_404"), "页面不存在");
  EXPECT_EQ((*view)->strings().Get("no.such.key"), "no.such.key");
  auto strings = Strings::Parse("[a]\nb = 1\n", "test.toml");
  EXPECT_FALSE(strings.ok());
}

TEST(View, RendersFromManyThreadsAtOnce) {
  auto view = View::Create(DemoSite(), "");
  ASSERT_TRUE(view.ok());
  const std::string expected = (*view)->Page(PageMeta{}, "portal/home", Data{Data::type::object});
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if ((*view)->Page(PageMeta{}, "portal/home", Data{Data::type::object}) != expected) {
          ++mismatches;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace zhenwu::view
