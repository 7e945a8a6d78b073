#include <gtest/gtest.h>

#include <thread>

#include "http/metrics.hpp"
#include "http/page_cache.hpp"

namespace zhenwu::http {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(MetricsTest, CountsByRouteMethodStatus) {
  Metrics m;
  m.Observe("/cases/{id}", "GET", 200, 0.003);
  m.Observe("/cases/{id}", "GET", 200, 0.02);
  m.Observe("/cases/{id}", "GET", 404, 0.001);
  m.Observe("", "POST", 404, 0.5);
  std::string text = m.Render();
  EXPECT_TRUE(Contains(text, "# TYPE zhenwu_http_requests_total counter\n"));
  EXPECT_TRUE(Contains(
      text, "zhenwu_http_requests_total{route=\"/cases/{id}\",method=\"GET\",status=\"200\"} 2\n"));
  EXPECT_TRUE(Contains(
      text, "zhenwu_http_requests_total{route=\"/cases/{id}\",method=\"GET\",status=\"404\"} 1\n"));
  EXPECT_TRUE(Contains(
      text, "zhenwu_http_requests_total{route=\"unmatched\",method=\"POST\",status=\"404\"} 1\n"));
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  Metrics m;
  m.Observe("/", "GET", 200, 0.0005);  // <= .001
  m.Observe("/", "GET", 200, 0.001);   // <= .001 (le is inclusive)
  m.Observe("/", "GET", 200, 0.03);    // <= .05
  m.Observe("/", "GET", 500, 20);      // only +Inf
  std::string text = m.Render();
  const std::string b =
      "zhenwu_http_request_duration_seconds_bucket{route=\"/\",method=\"GET\",le=";
  EXPECT_TRUE(Contains(text, "# TYPE zhenwu_http_request_duration_seconds histogram\n"));
  EXPECT_TRUE(Contains(text, b + "\"0.001\"} 2\n"));
  EXPECT_TRUE(Contains(text, b + "\"0.025\"} 2\n"));
  EXPECT_TRUE(Contains(text, b + "\"0.05\"} 3\n"));
  EXPECT_TRUE(Contains(text, b + "\"10\"} 3\n"));
  EXPECT_TRUE(Contains(text, b + "\"+Inf\"} 4\n"));
  EXPECT_TRUE(
      Contains(text, "zhenwu_http_request_duration_seconds_count{route=\"/\",method=\"GET\"} 4\n"));
  EXPECT_TRUE(Contains(
      text, "zhenwu_http_request_duration_seconds_sum{route=\"/\",method=\"GET\"} 20.0315\n"));
  // Thirteen buckets (twelve bounds and +Inf).
  std::size_t buckets = 0;
  for (std::size_t pos = 0; (pos = text.find(b, pos)) != std::string::npos; pos += b.size()) {
    ++buckets;
  }
  EXPECT_EQ(buckets, 13u);
}

TEST(MetricsTest, EscapesLabelValues) {
  Metrics m;
  m.Observe("/a\"b\\c\nd", "GET", 200, 0.1);
  EXPECT_TRUE(Contains(m.Render(), "route=\"/a\\\"b\\\\c\\nd\""));
}

TEST(MetricsTest, GaugesAreReadAtScrapeTimeAndReplacedByName) {
  Metrics m;
  double value = 3;
  m.AddGauge("zhenwu_db_connections", "Open database connections.", [&] { return value; });
  value = 5;
  std::string text = m.Render();
  EXPECT_TRUE(Contains(text, "# HELP zhenwu_db_connections Open database connections.\n"));
  EXPECT_TRUE(Contains(text, "# TYPE zhenwu_db_connections gauge\nzhenwu_db_connections 5\n"));
  m.AddGauge("zhenwu_db_connections", "Again.", [] { return 1.5; });
  text = m.Render();
  EXPECT_TRUE(Contains(text, "zhenwu_db_connections 1.5\n"));
  EXPECT_FALSE(Contains(text, "zhenwu_db_connections 5\n"));
}

TEST(MetricsTest, ConcurrentObserversLoseNothing) {
  Metrics m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) m.Observe("/", "GET", 200, 0.002);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(Contains(
      m.Render(), "zhenwu_http_requests_total{route=\"/\",method=\"GET\",status=\"200\"} 40000\n"));
}

std::shared_ptr<PageCache::Entry> MakeEntry(int64_t stored_ms, uint64_t generation) {
  auto e = std::make_shared<PageCache::Entry>();
  e->response = Html(bhttp::status::ok, "page");
  e->etag = "\"x\"";
  e->stored_ms = stored_ms;
  e->generation = generation;
  return e;
}

TEST(PageCacheTest, ServesUntilTtl) {
  PageCache cache(1000);
  cache.Put("/?|", MakeEntry(100, cache.generation()));
  ASSERT_NE(cache.Get("/?|", 100), nullptr);
  EXPECT_EQ(cache.Get("/?|", 1099)->response.body(), "page");
  EXPECT_EQ(cache.Get("/?|", 1100), nullptr);
  EXPECT_EQ(cache.Get("/other?|", 100), nullptr);
}

TEST(PageCacheTest, InvalidateDropsEverythingAndRefusesStaleRenders) {
  PageCache cache;
  uint64_t before = cache.generation();
  cache.Put("a", MakeEntry(0, before));
  cache.Invalidate();
  EXPECT_EQ(cache.Get("a", 1), nullptr);
  EXPECT_GT(cache.generation(), before);
  // Rendered before the Invalidate(): not stored.
  cache.Put("a", MakeEntry(0, before));
  EXPECT_EQ(cache.Get("a", 1), nullptr);
  cache.Put("a", MakeEntry(0, cache.generation()));
  EXPECT_NE(cache.Get("a", 1), nullptr);
}

TEST(PageCacheTest, BoundedSize) {
  PageCache cache(1000, 3);
  for (int i = 0; i < 10; ++i) cache.Put("k" + std::to_string(i), MakeEntry(0, 0));
  int present = 0;
  for (int i = 0; i < 10; ++i) present += cache.Get("k" + std::to_string(i), 1) != nullptr;
  EXPECT_EQ(present, 3);
  EXPECT_NE(cache.Get("k9", 1), nullptr);  // the newest is always kept
}

}  // namespace
}  // namespace zhenwu::http
