#include <gtest/gtest.h>

#include "http/types.hpp"

namespace zhenwu::http {
namespace {

TEST(FormTest, ParsesPairsInOrder) {
  Form f = Form::Parse("a=1&b=two&a=3");
  ASSERT_EQ(f.items().size(), 3u);
  EXPECT_EQ(f.Get("a"), "1");
  EXPECT_EQ(f.GetAll("a"), (std::vector<std::string>{"1", "3"}));
  EXPECT_EQ(f.GetOr("b"), "two");
  EXPECT_EQ(f.GetOr("missing", "fallback"), "fallback");
  EXPECT_FALSE(f.Has("missing"));
}

TEST(FormTest, DecodesPercentAndPlus) {
  Form f = Form::Parse("name=%E5%BC%A0+%E4%B8%89&q=a%2Bb%26c");
  EXPECT_EQ(f.Get("name"), "张 三");
  EXPECT_EQ(f.Get("q"), "a+b&c");
}

TEST(FormTest, KeepsMalformedEscapesLiterally) {
  Form f = Form::Parse("a=100%&b=%zz&c=%4");
  EXPECT_EQ(f.Get("a"), "100%");
  EXPECT_EQ(f.Get("b"), "%zz");
  EXPECT_EQ(f.Get("c"), "%4");
}

TEST(FormTest, EdgeCases) {
  EXPECT_TRUE(Form::Parse("").items().empty());
  EXPECT_TRUE(Form::Parse("&&&").items().empty());
  Form f = Form::Parse("flag&empty=&=novalue&x=a=b");
  EXPECT_EQ(f.Get("flag"), "");
  EXPECT_EQ(f.Get("empty"), "");
  EXPECT_EQ(f.Get(""), "novalue");
  EXPECT_EQ(f.Get("x"), "a=b");
}

TEST(PercentTest, DecodeIsStrict) {
  EXPECT_EQ(PercentDecode("/a%20b", false), "/a b");
  EXPECT_EQ(PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
  EXPECT_EQ(PercentDecode("%e4%b8%ad", false), "中");
  EXPECT_EQ(PercentDecode("bad%", false), std::nullopt);
  EXPECT_EQ(PercentDecode("bad%2", false), std::nullopt);
  EXPECT_EQ(PercentDecode("bad%g0", false), std::nullopt);
}

TEST(PercentTest, EncodeRoundTrips) {
  EXPECT_EQ(PercentEncode("a b/中~._-"), "a%20b%2F%E4%B8%AD~._-");
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(PercentDecode(PercentEncode(all), false), all);
}

Request MakeRequest(std::initializer_list<std::pair<std::string, std::string>> headers,
                    std::string body = {}) {
  Request req;
  req.raw.method(bhttp::verb::post);
  req.raw.target("/x");
  for (const auto& [name, value] : headers) req.raw.insert(name, value);
  req.raw.body() = std::move(body);
  return req;
}

TEST(RequestTest, HeaderIsCaseInsensitive) {
  Request req = MakeRequest({{"X-Thing", "v"}});
  EXPECT_EQ(req.Header("x-thing"), "v");
  EXPECT_EQ(req.Header("absent"), "");
}

TEST(RequestTest, ParamAndQuery) {
  Request req;
  req.params["id"] = "7";
  req.query = "page=2&q=%E9%95%87";
  EXPECT_EQ(req.Param("id"), "7");
  EXPECT_EQ(req.Param("other"), std::nullopt);
  EXPECT_EQ(req.QueryForm().Get("q"), "镇");
  EXPECT_EQ(&req.QueryForm(), &req.QueryForm());  // parsed once
}

TEST(RequestTest, BodyFormOnlyForUrlencoded) {
  Request form = MakeRequest({{"Content-Type", "application/x-www-form-urlencoded; charset=UTF-8"}},
                             "title=%E5%8A%9E%E4%BB%B6&n=1");
  EXPECT_EQ(form.BodyForm().Get("title"), "办件");
  Request json = MakeRequest({{"Content-Type", "application/json"}}, "title=x");
  EXPECT_TRUE(json.BodyForm().items().empty());
  Request none = MakeRequest({}, "title=x");
  EXPECT_TRUE(none.BodyForm().items().empty());
}

TEST(RequestTest, Cookies) {
  Request req = MakeRequest(
      {{"Cookie", "zw_sid=abc; zw_text=large;other=\"quoted\""}, {"Cookie", "second=2"}});
  EXPECT_EQ(req.Cookie("zw_sid"), "abc");
  EXPECT_EQ(req.Cookie("zw_text"), "large");
  EXPECT_EQ(req.Cookie("other"), "quoted");
  EXPECT_EQ(req.Cookie("second"), "2");
  EXPECT_EQ(req.Cookie("zw"), std::nullopt);
  EXPECT_EQ(MakeRequest({}).Cookie("zw_sid"), std::nullopt);
}

TEST(RequestTest, AcceptsGzipHonoursQ) {
  auto accepts = [](std::string value) {
    return MakeRequest({{"Accept-Encoding", value}}).AcceptsGzip();
  };
  EXPECT_FALSE(MakeRequest({}).AcceptsGzip());
  EXPECT_TRUE(accepts("gzip"));
  EXPECT_TRUE(accepts("gzip, deflate, br"));
  EXPECT_TRUE(accepts("br;q=1.0, GZIP;q=0.5"));
  EXPECT_TRUE(accepts("*"));
  EXPECT_TRUE(accepts("x-gzip"));
  EXPECT_FALSE(accepts("identity"));
  EXPECT_FALSE(accepts("gzip;q=0"));
  EXPECT_FALSE(accepts("gzip; q=0.000"));
  EXPECT_FALSE(accepts("*, gzip;q=0"));
  EXPECT_FALSE(accepts("*;q=0"));
  EXPECT_FALSE(accepts("gzip;q=nonsense"));
  EXPECT_FALSE(accepts("gzipper"));
}

TEST(ResponseTest, Helpers) {
  Response html = Html(bhttp::status::ok, "<p>hi</p>");
  EXPECT_EQ(html[bhttp::field::content_type], "text/html; charset=utf-8");
  EXPECT_EQ(html[bhttp::field::content_length], "9");
  EXPECT_EQ(Text(bhttp::status::not_found, "x")[bhttp::field::content_type],
            "text/plain; charset=utf-8");
  Response json = Json(bhttp::status::created, "{}");
  EXPECT_EQ(json.result(), bhttp::status::created);
  EXPECT_EQ(json[bhttp::field::content_type], "application/json");
}

TEST(ResponseTest, RedirectOnlyToLocalPaths) {
  Response r = Redirect("/cases/1?tab=files");
  EXPECT_EQ(r.result(), bhttp::status::see_other);
  EXPECT_EQ(r[bhttp::field::location], "/cases/1?tab=files");
  for (const char* bad : {"https://evil.example/", "//evil.example/", "/\\evil.example", "",
                          "cases", "/a\r\nSet-Cookie: x=1"}) {
    EXPECT_EQ(Redirect(bad)[bhttp::field::location], "/") << bad;
  }
}

TEST(ResponseTest, SetCookieValue) {
  EXPECT_EQ(SetCookieValue("zw_sid", "abc", 3600, true, true),
            "zw_sid=abc; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=3600");
  EXPECT_EQ(SetCookieValue("zw_text", "large", -1, false, false),
            "zw_text=large; Path=/; SameSite=Lax");
  EXPECT_EQ(SetCookieValue("zw_sid", "", 0, true, false),
            "zw_sid=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
}

}  // namespace
}  // namespace zhenwu::http
