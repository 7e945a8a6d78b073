#pragma once
// JSON request bodies for the /api/v1/ handlers: the body as one JSON object, and typed getters
// whose errors name the field, so a handler reads
//
//   auto body = http::ParseJsonObject(req);
//   if (!body) co_return web::JsonError(body.error());          // 400 malformed_request
//   auto title = http::GetString(*body, "title", /*required=*/true);
//   if (!title) co_return web::JsonError(title.error());        // 422 invalid_input, field "title"
//
// The server's body limit (server.body_limit, 413) applies before any of this runs.

#include <boost/json/object.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "http/types.hpp"

namespace zhenwu::http {

struct JsonLimits {
  // Deepest nesting of arrays and objects (the parser does not recurse, so this bounds work and
  // memory per level, not the stack).
  std::size_t max_depth = 32;
};

// Parses `body` as one JSON object (RFC 8259, UTF-8; no comments, no trailing commas; of a
// duplicated key the last value counts). Fails with kMalformedRequest (400) when the body is
// empty, not well-formed JSON (the message gives line and column of the first bad byte), nested
// deeper than limits.max_depth, followed by more data, or not an object at the top level.
Result<boost::json::object> ParseJsonObject(std::string_view body, const JsonLimits& limits = {});

// The same for a request, which must also say `Content-Type: application/json` (parameters such
// as charset=utf-8 allowed); otherwise kMalformedRequest "请使用 application/json".
Result<boost::json::object> ParseJsonObject(const Request& req, const JsonLimits& limits = {});

// Typed members. A member that is absent or null counts as missing: when `required` that fails
// with kInvalidInput on `field` ("缺少 field"); otherwise GetString gives "", GetStringArray an
// empty list and GetInt/GetBool nullopt. A member of another type fails with kInvalidInput on
// `field` saying which type is expected.
//
// Strings: any JSON string except one containing U+0000 (PostgreSQL cannot store it).
Result<std::string> GetString(const boost::json::object& object, std::string_view field,
                              bool required);
// Integers: JSON numbers without a fraction in the int64 range (2, -7, 2.0 and 1e3 are fine;
// 2.5, 1e30 and "2" are not).
Result<std::optional<int64_t>> GetInt(const boost::json::object& object, std::string_view field,
                                      bool required);
// true or false only (not 0/1, not "true").
Result<std::optional<bool>> GetBool(const boost::json::object& object, std::string_view field,
                                    bool required);
// An array whose every element is a string as GetString accepts; an element of another type
// fails on `field` with a message giving the element's position ("tags 的第 3 项应为字符串").
Result<std::vector<std::string>> GetStringArray(const boost::json::object& object,
                                                std::string_view field, bool required);

}  // namespace zhenwu::http
