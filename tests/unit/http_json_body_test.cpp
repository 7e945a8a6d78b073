// JSON request bodies: the Content-Type rule, malformed, deep, huge and non-object input, and the
// typed getters with their field-named errors.

#include "http/json_body.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <limits>
#include <random>

#include "web/page.hpp"

namespace zhenwu::http {
namespace {

namespace json = boost::json;

Request JsonRequest(std::string body, std::string_view content_type = "application/json") {
  Request req;
  req.raw.method(bhttp::verb::post);
  req.raw.target("/api/v1/things");
  if (!content_type.empty()) req.raw.set(bhttp::field::content_type, content_type);
  req.raw.body() = std::move(body);
  return req;
}

void ExpectMalformed(const Result<json::object>& r, std::string_view fragment = {}) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kMalformedRequest);
  EXPECT_EQ(web::StatusFor(r.error().code), bhttp::status::bad_request);
  EXPECT_TRUE(r.error().fields.empty());
  if (!fragment.empty()) {
    EXPECT_NE(r.error().message.find(fragment), std::string::npos) << r.error().message;
  }
}

template <class T>
void ExpectFieldError(const Result<T>& r, std::string_view field, std::string_view fragment) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
  ASSERT_EQ(r.error().fields.size(), 1u);
  EXPECT_EQ(r.error().fields[0].field, field);
  EXPECT_NE(r.error().message.find(fragment), std::string::npos) << r.error().message;
}

TEST(JsonBody, ParsesAnObject) {
  auto r = ParseJsonObject(JsonRequest(R"({"title":"路灯不亮","count":2,"urgent":true})"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->at("title").as_string(), "路灯不亮");
  EXPECT_EQ(r->at("count").as_int64(), 2);
}

TEST(JsonBody, ContentTypeMustBeJson) {
  EXPECT_TRUE(ParseJsonObject(JsonRequest("{}", "application/json; charset=utf-8")));
  EXPECT_TRUE(ParseJsonObject(JsonRequest("{}", "Application/JSON")));
  EXPECT_TRUE(ParseJsonObject(JsonRequest("{}", " application/json ;charset=UTF-8")));
  for (std::string_view type :
       {"", "text/plain", "application/x-www-form-urlencoded", "application/jsonp",
        "application/json-patch+json", "multipart/form-data; boundary=x"}) {
    SCOPED_TRACE(type);
    ExpectMalformed(ParseJsonObject(JsonRequest("{}", type)), "请使用 application/json");
  }
}

TEST(JsonBody, MalformedJsonNamesTheLineAndColumn) {
  ExpectMalformed(ParseJsonObject(R"({"a":1,})"), "第 1 行第 8 列");
  ExpectMalformed(ParseJsonObject("{\n  \"a\": 1,\n  \"b\": tru\n}"), "第 3 行");
  ExpectMalformed(ParseJsonObject("{\"a\": 'single'}"), "不是有效的 JSON");
  ExpectMalformed(ParseJsonObject("{\"a\": 1} // comment"), "不是有效的 JSON");
  ExpectMalformed(ParseJsonObject("{\"a\": 1"), "不是有效的 JSON");  // cut short
  ExpectMalformed(ParseJsonObject("{} {}"), "第 1 行第 4 列");       // more after the object
  ExpectMalformed(ParseJsonObject("{\"a\": NaN}"));
  ExpectMalformed(ParseJsonObject("{\"a\": \"\xff\xfe\"}"));  // not UTF-8
  ExpectMalformed(ParseJsonObject("{\"a\": \"\\ud800\"}"));   // a lone surrogate
  ExpectMalformed(ParseJsonObject(std::string("{\"a\":\0}", 7)));
}

TEST(JsonBody, EmptyAndNonObjectBodiesAreRefused) {
  ExpectMalformed(ParseJsonObject(""), "请求体为空");
  ExpectMalformed(ParseJsonObject(" \r\n\t"), "请求体为空");
  for (std::string_view body : {"[]", "[{\"a\":1}]", "\"text\"", "42", "true", "null"}) {
    SCOPED_TRACE(body);
    ExpectMalformed(ParseJsonObject(body), "应为 JSON 对象");
  }
}

TEST(JsonBody, DeepNestingIsRefusedWithoutRecursion) {
  auto nested = [](int depth) {
    std::string s = "{\"a\":";
    for (int i = 1; i < depth; ++i) s += "[";
    s += "1";
    for (int i = 1; i < depth; ++i) s += "]";
    return s + "}";
  };
  EXPECT_TRUE(ParseJsonObject(nested(32)));
  ExpectMalformed(ParseJsonObject(nested(33)), "嵌套过深");
  EXPECT_TRUE(ParseJsonObject(nested(5), JsonLimits{.max_depth = 5}));
  ExpectMalformed(ParseJsonObject(nested(6), JsonLimits{.max_depth = 5}), "最多 5 层");
  // A million open brackets: refused at depth 33, not a stack overflow.
  ExpectMalformed(ParseJsonObject("{\"a\":" + std::string(1000000, '[')), "嵌套过深");
}

TEST(JsonBody, LargeBodiesParse) {
  const std::string long_text(2 * 1024 * 1024, 'x');
  auto big = ParseJsonObject("{\"text\":\"" + long_text + "\"}");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->at("text").as_string().size(), long_text.size());

  std::string many = "{\"ids\":[";
  for (int i = 0; i < 100000; ++i) many += (i ? ",\"" : "\"") + std::to_string(i) + "\"";
  many += "]}";
  auto list = ParseJsonObject(many);
  ASSERT_TRUE(list);
  auto ids = GetStringArray(*list, "ids", true);
  ASSERT_TRUE(ids);
  EXPECT_EQ(ids->size(), 100000u);
  EXPECT_EQ(ids->back(), "99999");
}

TEST(JsonBody, TheLastOfDuplicateKeysCounts) {
  auto r = ParseJsonObject(R"({"a":"first","a":"second"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(*GetString(*r, "a", true), "second");
}

TEST(JsonGetters, Strings) {
  auto o = *ParseJsonObject(R"({"name":"张三","empty":"","nul":"a\u0000b","n":1,"none":null})");
  EXPECT_EQ(*GetString(o, "name", true), "张三");
  EXPECT_EQ(*GetString(o, "empty", true), "");
  EXPECT_EQ(*GetString(o, "missing", false), "");
  EXPECT_EQ(*GetString(o, "none", false), "");
  ExpectFieldError(GetString(o, "missing", true), "missing", "缺少 missing");
  ExpectFieldError(GetString(o, "none", true), "none", "缺少 none");
  ExpectFieldError(GetString(o, "n", false), "n", "应为字符串");
  ExpectFieldError(GetString(o, "nul", false), "nul", "空字符");
}

TEST(JsonGetters, Integers) {
  auto o = *ParseJsonObject(
      R"({"a":42,"neg":-7,"whole":2.0,"exp":1e3,"max":9223372036854775807,
          "min":-9223372036854775808,"over":9223372036854775808,"frac":2.5,"huge":1e30,
          "inf":1e999,"text":"42","flag":true,"none":null})");
  EXPECT_EQ(*GetInt(o, "a", true), 42);
  EXPECT_EQ(*GetInt(o, "neg", true), -7);
  EXPECT_EQ(*GetInt(o, "whole", true), 2);
  EXPECT_EQ(*GetInt(o, "exp", true), 1000);
  EXPECT_EQ(*GetInt(o, "max", true), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(*GetInt(o, "min", true), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(*GetInt(o, "missing", false), std::nullopt);
  EXPECT_EQ(*GetInt(o, "none", false), std::nullopt);
  ExpectFieldError(GetInt(o, "missing", true), "missing", "缺少");
  for (std::string_view bad : {"over", "frac", "huge", "inf", "text", "flag"}) {
    SCOPED_TRACE(bad);
    ExpectFieldError(GetInt(o, bad, false), bad, "应为整数");
  }
}

TEST(JsonGetters, Booleans) {
  auto o = *ParseJsonObject(R"({"yes":true,"no":false,"one":1,"text":"true"})");
  EXPECT_EQ(*GetBool(o, "yes", true), true);
  EXPECT_EQ(*GetBool(o, "no", true), false);
  EXPECT_EQ(*GetBool(o, "missing", false), std::nullopt);
  ExpectFieldError(GetBool(o, "missing", true), "missing", "缺少");
  ExpectFieldError(GetBool(o, "one", false), "one", "true 或 false");
  ExpectFieldError(GetBool(o, "text", false), "text", "true 或 false");
}

TEST(JsonGetters, StringArrays) {
  auto o = *ParseJsonObject(
      R"({"tags":["路灯","供水"],"empty":[],"mixed":["a","b",3],"nul":["\u0000"],"text":"a"})");
  EXPECT_EQ(*GetStringArray(o, "tags", true), (std::vector<std::string>{"路灯", "供水"}));
  EXPECT_TRUE(GetStringArray(o, "empty", true)->empty());
  EXPECT_TRUE(GetStringArray(o, "missing", false)->empty());
  ExpectFieldError(GetStringArray(o, "missing", true), "missing", "缺少");
  ExpectFieldError(GetStringArray(o, "mixed", false), "mixed", "第 3 项应为字符串");
  ExpectFieldError(GetStringArray(o, "nul", false), "nul", "空字符");
  ExpectFieldError(GetStringArray(o, "text", false), "text", "应为字符串数组");
}

TEST(JsonBody, ErrorsBecomeTheJsonErrorShape) {
  auto bad = ParseJsonObject(JsonRequest("{", "application/json"));
  ASSERT_FALSE(bad);
  Response res = web::JsonError(bad.error());
  EXPECT_EQ(res.result(), bhttp::status::bad_request);
  auto body = json::parse(res.body()).as_object().at("error").as_object();
  EXPECT_EQ(body.at("code").as_string(), "malformed_request");

  auto o = *ParseJsonObject(R"({"n":"x"})");
  auto field = GetInt(o, "n", true);
  ASSERT_FALSE(field);
  Response res2 = web::JsonError(field.error());
  EXPECT_EQ(res2.result(), bhttp::status::unprocessable_entity);
  auto body2 = json::parse(res2.body()).as_object().at("error").as_object();
  EXPECT_EQ(body2.at("code").as_string(), "invalid_input");
  EXPECT_EQ(body2.at("field").as_string(), "n");
}

// Mangled bodies: every one is either an object or a kMalformedRequest with a message, and the
// getters never throw on whatever parsed.
TEST(JsonBody, SurvivesMangledInput) {
  const std::string valid =
      R"({"title":"路灯不亮","count":2,"tags":["a","b"],"nested":{"x":[1,2.5,null,true]}})";
  std::mt19937 rng(20261128);
  int parsed = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string body = valid;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < edits; ++i) {
      const std::size_t at = rng() % body.size();
      switch (rng() % 3) {
        case 0:
          body[at] = static_cast<char>(rng());
          break;
        case 1:
          body.erase(at, 1 + rng() % 8);
          break;
        default:
          body.insert(at, 1, "{}[],:\"0\\\x80"[rng() % 10]);
          break;
      }
      if (body.empty()) body = "{";
    }
    auto r = ParseJsonObject(body);
    if (r) {
      ++parsed;
      for (const auto& [key, value] : *r) {
        (void)value;
        (void)GetString(*r, key, false);
        (void)GetInt(*r, key, false);
        (void)GetBool(*r, key, false);
        (void)GetStringArray(*r, key, false);
      }
    } else {
      EXPECT_EQ(r.error().code, ErrorCode::kMalformedRequest);
      EXPECT_FALSE(r.error().message.empty());
    }
  }
  EXPECT_GT(parsed, 0);  // some mutations (inside strings) keep the JSON valid
}

}  // namespace
}  // namespace zhenwu::http
