#include <gtest/gtest.h>

#include <stdexcept>

#include "http/router.hpp"

namespace zhenwu::http {
namespace {

Handler Dummy() {
  return [](Request&) -> asio::awaitable<Response> { co_return Response{}; };
}

std::string Pattern(const Router::Match& m) {
  return m.pattern ? *m.pattern : std::string("<none>");
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Get("/", Dummy());
    router_.Get("/cases", Dummy());
    router_.Post("/cases", Dummy());
    router_.Get("/cases/new", Dummy());
    router_.Get("/cases/{id}", Dummy(), {.cacheable = true});
    router_.Add(bhttp::verb::delete_, "/cases/{id}", Dummy());
    router_.Get("/cases/{id}/files/{file}", Dummy());
    router_.Get("/static/{path...}", Dummy());
    router_.Get("/static/special.css", Dummy());
  }
  Router router_;
};

TEST_F(RouterTest, MatchesRootAndLiterals) {
  EXPECT_EQ(Pattern(router_.Find(bhttp::verb::get, "/")), "/");
  EXPECT_EQ(Pattern(router_.Find(bhttp::verb::get, "/cases")), "/cases");
  EXPECT_EQ(Pattern(router_.Find(bhttp::verb::post, "/cases")), "/cases");
}

TEST_F(RouterTest, LiteralBeatsParameter) {
  auto m = router_.Find(bhttp::verb::get, "/cases/new");
  EXPECT_EQ(Pattern(m), "/cases/new");
  EXPECT_TRUE(m.params.empty());
}

TEST_F(RouterTest, ParameterCapturesOneSegment) {
  auto m = router_.Find(bhttp::verb::get, "/cases/42");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(Pattern(m), "/cases/{id}");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].first, "id");
  EXPECT_EQ(m.params[0].second, "42");
  EXPECT_TRUE(m.options.cacheable);
}

TEST_F(RouterTest, SeveralParameters) {
  auto m = router_.Find(bhttp::verb::get, "/cases/7/files/scan.pdf");
  EXPECT_EQ(Pattern(m), "/cases/{id}/files/{file}");
  ASSERT_EQ(m.params.size(), 2u);
  EXPECT_EQ(m.params[0], (std::pair<std::string, std::string>("id", "7")));
  EXPECT_EQ(m.params[1], (std::pair<std::string, std::string>("file", "scan.pdf")));
}

TEST_F(RouterTest, RestCapturesTheRemainder) {
  auto m = router_.Find(bhttp::verb::get, "/static/css/site/main.css");
  EXPECT_EQ(Pattern(m), "/static/{path...}");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].second, "css/site/main.css");
  EXPECT_EQ(Pattern(router_.Find(bhttp::verb::get, "/static/special.css")), "/static/special.css");
}

TEST_F(RouterTest, RestNeedsAtLeastOneCharacter) {
  EXPECT_EQ(router_.Find(bhttp::verb::get, "/static/").handler, nullptr);
  EXPECT_EQ(router_.Find(bhttp::verb::get, "/static").handler, nullptr);
}

TEST_F(RouterTest, ParameterBeatsRest) {
  Router r;
  r.Get("/a/{rest...}", Dummy());
  r.Get("/a/{one}", Dummy());
  EXPECT_EQ(Pattern(r.Find(bhttp::verb::get, "/a/x")), "/a/{one}");
  EXPECT_EQ(Pattern(r.Find(bhttp::verb::get, "/a/x/y")), "/a/{rest...}");
}

TEST_F(RouterTest, BacktracksWhenALiteralBranchDeadEnds) {
  Router r;
  r.Get("/a/b/c", Dummy());
  r.Get("/a/{x}/d", Dummy());
  auto m = r.Find(bhttp::verb::get, "/a/b/d");
  EXPECT_EQ(Pattern(m), "/a/{x}/d");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].second, "b");
}

TEST_F(RouterTest, UnknownPathHasNoAllowedMethods) {
  auto m = router_.Find(bhttp::verb::get, "/nowhere");
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.pattern, nullptr);
  EXPECT_EQ(m.allowed, "");
  EXPECT_EQ(router_.Find(bhttp::verb::get, "/cases/").handler, nullptr);
  EXPECT_EQ(router_.Find(bhttp::verb::get, "").handler, nullptr);
  EXPECT_EQ(router_.Find(bhttp::verb::get, "cases").handler, nullptr);
}

TEST_F(RouterTest, WrongMethodListsAllowed) {
  auto m = router_.Find(bhttp::verb::put, "/cases");
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.allowed, "GET, HEAD, POST");
  EXPECT_EQ(router_.Find(bhttp::verb::post, "/cases/9").allowed, "DELETE, GET, HEAD");
  EXPECT_EQ(router_.Find(bhttp::verb::unknown, "/").allowed, "GET, HEAD");
}

TEST_F(RouterTest, AllowedUnitesEveryMatchingRoute) {
  Router r;
  r.Get("/a/new", Dummy());
  r.Post("/a/{id}", Dummy());
  EXPECT_EQ(r.Find(bhttp::verb::put, "/a/new").allowed, "GET, HEAD, POST");
  // A POST to /a/new falls through to the parameter route that accepts it.
  EXPECT_EQ(Pattern(r.Find(bhttp::verb::post, "/a/new")), "/a/{id}");
}

TEST_F(RouterTest, GetAnswersHeadUnlessHeadIsRouted) {
  EXPECT_EQ(Pattern(router_.Find(bhttp::verb::head, "/cases/3")), "/cases/{id}");
  Router r;
  Handler get = Dummy();
  Handler head = Dummy();
  r.Get("/x", get);
  r.Add(bhttp::verb::head, "/x", head);
  auto m = r.Find(bhttp::verb::head, "/x");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_NE(m.handler, r.Find(bhttp::verb::get, "/x").handler);
}

TEST_F(RouterTest, RejectsMalformedPatterns) {
  Router r;
  for (const char* bad : {"", "cases", "/cases/", "//x", "/a//b", "/{", "/{}", "/{1d}", "/a{id}",
                          "/{id}x", "/{rest...}/more", "/{id}/{id}", "/{a b}"}) {
    EXPECT_THROW(r.Get(bad, Dummy()), std::invalid_argument) << bad;
  }
  EXPECT_THROW(r.Get("/ok", Handler{}), std::invalid_argument);
}

TEST_F(RouterTest, RejectsDuplicates) {
  EXPECT_THROW(router_.Get("/cases", Dummy()), std::invalid_argument);
  // Same shape, other parameter name: still ambiguous.
  EXPECT_THROW(router_.Get("/cases/{case_id}", Dummy()), std::invalid_argument);
  EXPECT_THROW(router_.Get("/static/{file...}", Dummy()), std::invalid_argument);
  EXPECT_NO_THROW(router_.Add(bhttp::verb::put, "/cases/{id}", Dummy()));
}

TEST_F(RouterTest, SurvivesAMove) {
  Router moved = std::move(router_);
  EXPECT_EQ(Pattern(moved.Find(bhttp::verb::get, "/cases/1")), "/cases/{id}");
}

}  // namespace
}  // namespace zhenwu::http
