// Random input for the pure parsers: no crash, no hang, sane results.

#include <gtest/gtest.h>

#include <random>

#include "http/content.hpp"
#include "http/router.hpp"
#include "http/types.hpp"

namespace zhenwu::http {
namespace {

std::string RandomText(std::mt19937& rng, std::size_t max_len) {
  static constexpr char kAlphabet[] = "abc%2F+=&;/{}.\"*, qW0\x01\xff\xe4";
  std::string s(rng() % max_len, ' ');
  for (char& c : s) c = kAlphabet[rng() % (sizeof(kAlphabet) - 1)];
  return s;
}

TEST(HttpFuzzTest, FormsCookiesAndEncodings) {
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::string text = RandomText(rng, 64);
    Form form = Form::Parse(text);
    for (const auto& [name, value] : form.items()) {
      EXPECT_LE(name.size() + value.size(), text.size());
    }
    if (auto decoded = PercentDecode(text, i % 2 == 0)) {
      EXPECT_LE(decoded->size(), text.size());
    }
    EXPECT_EQ(PercentDecode(PercentEncode(text), false), text);

    Request req;
    req.raw.set(bhttp::field::cookie, text);
    req.raw.set(bhttp::field::accept_encoding, text);
    (void)req.Cookie("a");
    (void)req.AcceptsGzip();
    (void)EtagMatches(text, "\"abc\"");
    (void)IsCompressibleType(text);
    (void)ContentTypeForPath(text);
  }
}

TEST(HttpFuzzTest, RouterLookups) {
  Router router;
  auto h = [](Request&) -> asio::awaitable<Response> { co_return Response{}; };
  router.Get("/", h);
  router.Get("/a/{x}", h);
  router.Get("/a/b/{rest...}", h);
  router.Post("/{x}/c", h);
  std::mt19937 rng(11);
  for (int i = 0; i < 20000; ++i) {
    std::string path = "/" + RandomText(rng, 40);
    auto m = router.Find(i % 2 ? bhttp::verb::get : bhttp::verb::post, path);
    if (m.handler) {
      EXPECT_NE(m.pattern, nullptr);
    }
    for (const auto& [name, value] : m.params) EXPECT_FALSE(value.empty()) << name;
  }
}

}  // namespace
}  // namespace zhenwu::http
