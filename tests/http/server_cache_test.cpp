// Representations over real sockets: gzip negotiation, ETag and 304, static files, and the
// rendered-page cache for anonymous visitors.

#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "http/gzip.hpp"
#include "http/page_cache.hpp"
#include "http/static_files.hpp"
#include "support/http_client.hpp"
#include "support/test_server.hpp"

namespace zhenwu::http {
namespace {

using testing::HttpClient;
using testing::HttpResponse;
using testing::TestServer;

std::string BigPage(std::string_view marker) {
  std::string page = "<!doctype html><title>镇务通</title><ul>";
  for (int i = 0; i < 200; ++i) page += "<li>办件 " + std::to_string(i) + "</li>";
  return page + "</ul>" + std::string(marker);
}

TEST(GzipServerTest, CompressesWhenAcceptedOnly) {
  Router r;
  r.Get("/page", [](Request&) -> asio::awaitable<Response> {
    co_return Html(bhttp::status::ok, BigPage("end"));
  });
  r.Get("/small", [](Request&) -> asio::awaitable<Response> {
    co_return Html(bhttp::status::ok, "<p>small</p>");
  });
  r.Get("/png", [](Request&) -> asio::awaitable<Response> {
    co_return MakeResponse(bhttp::status::ok, std::string(4096, 'p'), "image/png");
  });
  TestServer server(std::move(r));
  HttpClient client = server.Client();

  HttpResponse plain = client.Get("/page");
  EXPECT_EQ(plain.status, 200);
  EXPECT_FALSE(plain.HasHeader("Content-Encoding"));
  EXPECT_EQ(plain.Header("Vary"), "Accept-Encoding");
  EXPECT_EQ(plain.body, BigPage("end"));

  HttpResponse gz = client.Get("/page", {{"Accept-Encoding", "gzip, deflate, br"}});
  EXPECT_EQ(gz.Header("Content-Encoding"), "gzip");
  EXPECT_EQ(gz.Header("Vary"), "Accept-Encoding");
  EXPECT_LT(gz.body.size(), plain.body.size() / 3);
  EXPECT_EQ(gz.Header("Content-Length"), std::to_string(gz.body.size()));
  EXPECT_EQ(GzipDecompress(gz.body), plain.body);

  EXPECT_FALSE(
      client.Get("/page", {{"Accept-Encoding", "gzip;q=0"}}).HasHeader("Content-Encoding"));
  EXPECT_FALSE(client.Get("/small", {{"Accept-Encoding", "gzip"}}).HasHeader("Content-Encoding"));
  EXPECT_FALSE(client.Get("/png", {{"Accept-Encoding", "gzip"}}).HasHeader("Content-Encoding"));

  client.set_decompress(true);
  EXPECT_EQ(client.Get("/page", {{"Accept-Encoding", "gzip"}}).body, plain.body);

  HttpResponse head = client.Head("/page", {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(head.Header("Content-Length"), gz.Header("Content-Length"));
  EXPECT_EQ(head.body, "");
}

TEST(EtagServerTest, AnyResponseWithAnEtagAnswers304) {
  Router r;
  r.Get("/doc", [](Request&) -> asio::awaitable<Response> {
    Response res = Text(bhttp::status::ok, "version one");
    res.set(bhttp::field::etag, "\"v1\"");
    co_return res;
  });
  TestServer server(std::move(r));
  HttpClient client = server.Client();
  EXPECT_EQ(client.Get("/doc").Header("ETag"), "\"v1\"");
  HttpResponse res = client.Get("/doc", {{"If-None-Match", "\"v0\", \"v1\""}});
  EXPECT_EQ(res.status, 304);
  EXPECT_EQ(res.body, "");
  EXPECT_EQ(res.Header("ETag"), "\"v1\"");
  EXPECT_EQ(client.Get("/doc", {{"If-None-Match", "\"v2\""}}).status, 200);
}

const std::vector<embedded::File>& FakeFiles() {
  static const std::string css = "body{font-size:18px}\n" + std::string(2000, ' ') + "/*end*/";
  static const std::vector<embedded::File> files = {
      {"assets/static/css/site.css", css},
      {"assets/static/img/logo.png", std::string_view("\x89PNG....", 8)},
      {"assets/static/robots.txt", "User-agent: *\nDisallow: /admin/\n"},
      {"src/view/templates/layout.mustache", "{{secret}}"},
      {"assets/private.txt", "not for the web"},
  };
  return files;
}

TEST(StaticFilesTest, ServesWithTypeCachingAndEtag) {
  Router r;
  AddStaticRoutes(r, FakeFiles());
  TestServer server(std::move(r));
  HttpClient client = server.Client();

  HttpResponse css = client.Get("/static/css/site.css");
  ASSERT_EQ(css.status, 200);
  EXPECT_EQ(css.body, FakeFiles()[0].data);
  EXPECT_EQ(css.Header("Content-Type"), "text/css; charset=utf-8");
  EXPECT_EQ(css.Header("Cache-Control"), "public, max-age=3600");
  const std::string etag = css.Header("ETag");
  ASSERT_FALSE(etag.empty());

  HttpResponse again = client.Get("/static/css/site.css", {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_EQ(again.body, "");
  EXPECT_EQ(again.Header("ETag"), etag);

  HttpResponse gz = client.Get("/static/css/site.css", {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(gz.Header("Content-Encoding"), "gzip");
  EXPECT_EQ(GzipDecompress(gz.body), css.body);
  // The gzip form's (weak) tag and the identity tag both revalidate.
  EXPECT_EQ(client.Get("/static/css/site.css", {{"If-None-Match", gz.Header("ETag")}}).status, 304);

  HttpResponse png = client.Get("/static/img/logo.png", {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(png.Header("Content-Type"), "image/png");
  EXPECT_FALSE(png.HasHeader("Content-Encoding"));

  EXPECT_EQ(client.Get("/robots.txt").body, "User-agent: *\nDisallow: /admin/\n");
  EXPECT_EQ(client.Get("/favicon.ico").status, 404);  // no such file here
}

TEST(StaticFilesTest, NeverServesAnythingElse) {
  Router r;
  AddStaticRoutes(r, FakeFiles());
  TestServer server(std::move(r));
  HttpClient client = server.Client();
  for (const char* path :
       {"/static/nope.css", "/static/css", "/static/css/", "/static/../private.txt",
        "/static/%2E%2E/private.txt", "/static/../../src/view/templates/layout.mustache",
        "/static/src/view/templates/layout.mustache", "/static/private.txt", "/static/"}) {
    HttpResponse res = client.Get(path);
    EXPECT_EQ(res.status, 404) << path;
    EXPECT_EQ(res.body.find("secret"), std::string::npos);
  }
}

struct CachedSite {
  std::shared_ptr<std::atomic<int>> renders = std::make_shared<std::atomic<int>>(0);

  Router MakeRouter() {
    Router r;
    auto counter = renders;
    r.Get("/",
          [counter](Request& req) -> asio::awaitable<Response> {
            int n = ++*counter;
            co_return Html(bhttp::status::ok,
                           BigPage("render " + std::to_string(n) +
                                   " text=" + req.Cookie(kTextSizeCookie).value_or("normal")));
          },
          {.cacheable = true});
    r.Get("/with-cookie",
          [counter](Request&) -> asio::awaitable<Response> {
            ++*counter;
            Response res = Html(bhttp::status::ok, "set");
            res.set(bhttp::field::set_cookie, "zw_csrf=abc; Path=/");
            co_return res;
          },
          {.cacheable = true});
    r.Get("/missing-case",
          [counter](Request&) -> asio::awaitable<Response> {
            ++*counter;
            co_return Response{bhttp::status::not_found, 11};
          },
          {.cacheable = true});
    return r;
  }
};

TEST(PageCacheServerTest, AnonymousGetsAreRenderedOnce) {
  CachedSite site;
  PageCache cache(60'000);
  TestServer server({.router = site.MakeRouter(), .page_cache = &cache});
  HttpClient client = server.Client();

  HttpResponse first = client.Get("/");
  HttpResponse second = client.Get("/");
  EXPECT_EQ(*site.renders, 1);
  EXPECT_EQ(first.body, second.body);
  EXPECT_FALSE(first.Header("ETag").empty());
  EXPECT_EQ(first.Header("ETag"), second.Header("ETag"));
  EXPECT_NE(first.Header("X-Request-Id"), second.Header("X-Request-Id"));

  // gzip and HEAD come from the same entry.
  HttpResponse gz = client.Get("/", {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(gz.Header("Content-Encoding"), "gzip");
  EXPECT_EQ(GzipDecompress(gz.body), first.body);
  HttpResponse head = client.Head("/");
  EXPECT_EQ(head.Header("Content-Length"), std::to_string(first.body.size()));
  EXPECT_EQ(*site.renders, 1);

  // Revalidation.
  HttpResponse not_modified = client.Get("/", {{"If-None-Match", first.Header("ETag")}});
  EXPECT_EQ(not_modified.status, 304);
  EXPECT_EQ(not_modified.body, "");
  EXPECT_EQ(client.Get("/", {{"If-None-Match", gz.Header("ETag")}}).status, 304);

  // Other queries and the large-text variant are other pages.
  client.Get("/?page=2");
  EXPECT_EQ(*site.renders, 2);
  HttpResponse large = client.Get("/", {{"Cookie", "zw_text=large"}});
  EXPECT_NE(large.body.find("text=large"), std::string::npos);
  EXPECT_EQ(*site.renders, 3);
  client.Get("/", {{"Cookie", "zw_text=large"}});
  EXPECT_EQ(*site.renders, 3);
}

TEST(PageCacheServerTest, SignedInVisitorsAlwaysRender) {
  CachedSite site;
  PageCache cache(60'000);
  TestServer server({.router = site.MakeRouter(), .page_cache = &cache});
  HttpClient client = server.Client();
  client.Get("/");
  client.Get("/", {{"Cookie", "zw_sid=session1"}});
  client.Get("/", {{"Cookie", "other=1; zw_sid=session1"}});
  client.Get("/", {{"Authorization", "Bearer token"}});
  EXPECT_EQ(*site.renders, 4);
  client.Get("/");
  EXPECT_EQ(*site.renders, 4);
}

TEST(PageCacheServerTest, InvalidateRendersAgain) {
  CachedSite site;
  PageCache cache(60'000);
  TestServer server({.router = site.MakeRouter(), .page_cache = &cache});
  HttpClient client = server.Client();
  std::string before = client.Get("/").body;
  client.Get("/");
  EXPECT_EQ(*site.renders, 1);
  cache.Invalidate();
  std::string after = client.Get("/").body;
  EXPECT_EQ(*site.renders, 2);
  EXPECT_NE(before, after);
  client.Get("/");
  EXPECT_EQ(*site.renders, 2);
}

TEST(PageCacheServerTest, OnlyPlain200sAreCached) {
  CachedSite site;
  PageCache cache(60'000);
  TestServer server({.router = site.MakeRouter(), .page_cache = &cache});
  HttpClient client = server.Client();
  client.clear_cookies();
  client.Get("/with-cookie");
  client.Get("/with-cookie");
  EXPECT_EQ(*site.renders, 2);
  EXPECT_EQ(client.Get("/missing-case").status, 404);
  EXPECT_EQ(client.Get("/missing-case").status, 404);
  EXPECT_EQ(*site.renders, 4);
}

TEST(PageCacheServerTest, TtlBoundsStaleness) {
  CachedSite site;
  PageCache cache(/*ttl_ms=*/50);
  TestServer server({.router = site.MakeRouter(), .page_cache = &cache});
  HttpClient client = server.Client();
  client.Get("/");
  client.Get("/");
  EXPECT_EQ(*site.renders, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  client.Get("/");
  EXPECT_EQ(*site.renders, 2);
}

}  // namespace
}  // namespace zhenwu::http
