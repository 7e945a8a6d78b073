// The desks' few-seconds cache: values live for the TTL, an invalidation drops them at once, and
// a value computed from a snapshot taken before an invalidation is never stored.

#include "services/desk_cache.hpp"

#include <gtest/gtest.h>

namespace zhenwu::services {
namespace {

using namespace std::chrono_literals;

class DeskCacheTest : public ::testing::Test {
 protected:
  std::chrono::steady_clock::time_point now_{};
  TtlCache<int> cache_{3s, [this] { return now_; }};
};

TEST_F(DeskCacheTest, KeepsAValueForTheTtlOnly) {
  EXPECT_FALSE(cache_.Get("a"));
  cache_.Put("a", cache_.Generation(), 7);
  ASSERT_TRUE(cache_.Get("a"));
  EXPECT_EQ(*cache_.Get("a"), 7);
  EXPECT_FALSE(cache_.Get("b"));
  now_ += 2999ms;
  EXPECT_TRUE(cache_.Get("a"));
  now_ += 1ms;
  EXPECT_FALSE(cache_.Get("a"));
  // Stored again, it lives another TTL.
  cache_.Put("a", cache_.Generation(), 8);
  EXPECT_EQ(cache_.Get("a").value_or(0), 8);
}

TEST_F(DeskCacheTest, AnInvalidationDropsEveryValueAtOnce) {
  cache_.Put("a", cache_.Generation(), 1);
  cache_.Put("b", cache_.Generation(), 2);
  cache_.Invalidate();
  EXPECT_FALSE(cache_.Get("a"));
  EXPECT_FALSE(cache_.Get("b"));
}

TEST_F(DeskCacheTest, AValueCountedBeforeAWriteIsNotStored) {
  // A reader takes the generation, a write commits and invalidates, then the reader (whose
  // snapshot may predate the write) stores its value: it must not be served.
  const uint64_t before = cache_.Generation();
  cache_.Invalidate();
  cache_.Put("a", before, 5);
  EXPECT_FALSE(cache_.Get("a"));
  // A reader that started after the write stores normally.
  cache_.Put("a", cache_.Generation(), 6);
  EXPECT_EQ(cache_.Get("a").value_or(0), 6);
}

TEST(CaseCachesTest, CasesChangedClearsCountsAndOverview) {
  CaseCaches caches;
  caches.counts.Put("k", caches.counts.Generation(), DeskCounts{{{"submitted", 3}}, 1, 2});
  caches.overview.Put("k", caches.overview.Generation(), Overview{});
  ASSERT_TRUE(caches.counts.Get("k"));
  EXPECT_EQ(caches.counts.Get("k")->by_status.at("submitted"), 3);
  ASSERT_TRUE(caches.overview.Get("k"));
  caches.CasesChanged();
  EXPECT_FALSE(caches.counts.Get("k"));
  EXPECT_FALSE(caches.overview.Get("k"));
}

}  // namespace
}  // namespace zhenwu::services
