#include <gtest/gtest.h>
#include <zlib.h>

#include <random>

#include "http/content.hpp"
#include "http/gzip.hpp"

namespace zhenwu::http {
namespace {

// Inflates with zlib directly, independent of GzipDecompress.
std::string Inflate(const std::string& gz) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  std::string out(1 << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  z.avail_in = static_cast<uInt>(gz.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  inflateEnd(&z);
  return out;
}

std::string Sample() {
  std::string text;
  for (int i = 0; i < 500; ++i) text += "<li>镇务通 办件 " + std::to_string(i) + "</li>\n";
  return text;
}

TEST(GzipTest, RoundTripsThroughZlib) {
  std::string text = Sample();
  std::string gz = GzipCompress(text);
  ASSERT_GE(gz.size(), 18u);
  EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b);
  EXPECT_LT(gz.size(), text.size() / 4);
  EXPECT_EQ(Inflate(gz), text);
  EXPECT_EQ(GzipDecompress(gz), text);
}

TEST(GzipTest, EveryLevelAndRepeatedUse) {
  std::string text = Sample();
  for (int level = 0; level <= 10; ++level) {  // out-of-range levels are clamped
    for (int round = 0; round < 2; ++round) EXPECT_EQ(Inflate(GzipCompress(text, level)), text);
  }
}

TEST(GzipTest, EmptyAndIncompressible) {
  EXPECT_EQ(Inflate(GzipCompress("")), "");
  std::mt19937 rng(7);
  std::string noise(100000, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  EXPECT_EQ(Inflate(GzipCompress(noise)), noise);
}

TEST(GzipTest, DecompressRejectsGarbageAndBombs) {
  EXPECT_EQ(GzipDecompress("not gzip at all"), std::nullopt);
  std::string gz = GzipCompress(Sample());
  EXPECT_EQ(GzipDecompress(gz.substr(0, gz.size() / 2)), std::nullopt);
  EXPECT_EQ(GzipDecompress(GzipCompress(std::string(1 << 20, 'a')), 1000), std::nullopt);
}

TEST(ContentTest, Etags) {
  std::string a = ContentEtag("hello");
  EXPECT_EQ(a, ContentEtag("hello"));
  EXPECT_NE(a, ContentEtag("hellp"));
  EXPECT_EQ(a.front(), '"');
  EXPECT_EQ(a.back(), '"');
  EXPECT_EQ(WeakEtag(a), "W/" + a);
  EXPECT_EQ(WeakEtag(WeakEtag(a)), "W/" + a);
  EXPECT_TRUE(EtagMatches(a, a));
  EXPECT_TRUE(EtagMatches("W/" + a, a));
  EXPECT_TRUE(EtagMatches(a, "W/" + a));
  EXPECT_TRUE(EtagMatches("\"x\", " + a, a));
  EXPECT_TRUE(EtagMatches("*", a));
  EXPECT_FALSE(EtagMatches("\"x\"", a));
  EXPECT_FALSE(EtagMatches("", a));
  EXPECT_FALSE(EtagMatches(a, ""));
}

TEST(ContentTest, Types) {
  EXPECT_TRUE(IsCompressibleType("text/html; charset=utf-8"));
  EXPECT_TRUE(IsCompressibleType("application/json"));
  EXPECT_TRUE(IsCompressibleType("Application/JavaScript; charset=utf-8"));
  EXPECT_TRUE(IsCompressibleType("image/svg+xml"));
  EXPECT_TRUE(IsCompressibleType("application/atom+xml"));
  EXPECT_FALSE(IsCompressibleType("image/png"));
  EXPECT_FALSE(IsCompressibleType("font/woff2"));
  EXPECT_FALSE(IsCompressibleType(""));
  EXPECT_EQ(ContentTypeForPath("css/zhenwu.css"), "text/css; charset=utf-8");
  EXPECT_EQ(ContentTypeForPath("a/b.JS"), "application/javascript; charset=utf-8");
  EXPECT_EQ(ContentTypeForPath("site.webmanifest"), "application/manifest+json");
  EXPECT_EQ(ContentTypeForPath("fonts/x.woff2"), "font/woff2");
  EXPECT_EQ(ContentTypeForPath("favicon.ico"), "image/x-icon");
  EXPECT_EQ(ContentTypeForPath("noext"), "application/octet-stream");
  EXPECT_EQ(ContentTypeForPath("dir.css/noext"), "application/octet-stream");
}

}  // namespace
}  // namespace zhenwu::http
