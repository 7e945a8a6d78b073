#include "http/json_body.hpp"

#include <boost/json/error.hpp>
#include <boost/json/stream_parser.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace zhenwu::http {

namespace json = boost::json;

namespace {

Error Malformed(std::string message) {
  return {ErrorCode::kMalformedRequest, std::move(message), {}};
}

bool IsJsonContentType(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  constexpr std::string_view kJson = "application/json";
  return type.size() == kJson.size() &&
         std::equal(type.begin(), type.end(), kJson.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

// Line and column (both from 1, columns in bytes) of byte `offset` of `text`.
std::pair<std::size_t, std::size_t> LineAndColumn(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  std::size_t line = 1, line_start = 0;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return {line, offset - line_start + 1};
}

std::string Name(std::string_view field) { return std::string(field); }

// The member `field` when present and not null.
const json::value* Member(const json::object& object, std::string_view field) {
  const json::value* v = object.if_contains(field);
  return v == nullptr || v->is_null() ? nullptr : v;
}

Error Missing(std::string_view field) { return Error::Invalid(Name(field), "缺少 " + Name(field)); }

Error WrongType(std::string_view field, std::string_view expected) {
  return Error::Invalid(Name(field), Name(field) + " 应为" + std::string(expected));
}

bool HasNul(const json::string& s) { return std::find(s.begin(), s.end(), '\0') != s.end(); }

}  // namespace

Result<json::object> ParseJsonObject(std::string_view body, const JsonLimits& limits) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return Malformed("请求体为空，应为 JSON 对象");
  }
  json::parse_options options;
  options.max_depth = limits.max_depth;
  json::stream_parser parser({}, options);
  json::error_code ec;
  const std::size_t used = parser.write(body.data(), body.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) {
    if (ec == json::error::too_deep) {
      return Malformed("JSON 嵌套过深（最多 " + std::to_string(limits.max_depth) + " 层）");
    }
    auto [line, column] = LineAndColumn(body, used);
    return Malformed("请求体不是有效的 JSON：第 " + std::to_string(line) + " 行第 " +
                     std::to_string(column) + " 列（" + ec.message() + "）");
  }
  json::value value = parser.release();
  if (!value.is_object()) return Malformed("请求体应为 JSON 对象 {…}");
  return std::move(value.as_object());
}

Result<json::object> ParseJsonObject(const Request& req, const JsonLimits& limits) {
  if (!IsJsonContentType(req.Header("Content-Type"))) {
    return Malformed("请使用 application/json");
  }
  return ParseJsonObject(std::string_view(req.raw.body()), limits);
}

Result<std::string> GetString(const json::object& object, std::string_view field, bool required) {
  const json::value* v = Member(object, field);
  if (v == nullptr) {
    if (required) return Missing(field);
    return std::string();
  }
  if (!v->is_string()) return WrongType(field, "字符串");
  if (HasNul(v->get_string())) return Error::Invalid(Name(field), Name(field) + " 不能包含空字符");
  return std::string(v->get_string());
}

Result<std::optional<int64_t>> GetInt(const json::object& object, std::string_view field,
                                      bool required) {
  const json::value* v = Member(object, field);
  if (v == nullptr) {
    if (required) return Missing(field);
    return std::optional<int64_t>();
  }
  if (v->is_int64()) return std::optional<int64_t>(v->get_int64());
  if (v->is_uint64()) {
    if (v->get_uint64() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return std::optional<int64_t>(static_cast<int64_t>(v->get_uint64()));
    }
    return WrongType(field, "整数（超出范围）");
  }
  if (v->is_double()) {
    const double d = v->get_double();
    // 2^63 is the first double past the int64 range.
    if (std::isfinite(d) && std::trunc(d) == d && d >= -9223372036854775808.0 &&
        d < 9223372036854775808.0) {
      return std::optional<int64_t>(static_cast<int64_t>(d));
    }
  }
  return WrongType(field, "整数");
}

Result<std::optional<bool>> GetBool(const json::object& object, std::string_view field,
                                    bool required) {
  const json::value* v = Member(object, field);
  if (v == nullptr) {
    if (required) return Missing(field);
    return std::optional<bool>();
  }
  if (!v->is_bool()) return WrongType(field, " true 或 false");
  return std::optional<bool>(v->get_bool());
}

Result<std::vector<std::string>> GetStringArray(const json::object& object, std::string_view field,
                                                bool required) {
  const json::value* v = Member(object, field);
  if (v == nullptr) {
    if (required) return Missing(field);
    return std::vector<std::string>();
  }
  if (!v->is_array()) return WrongType(field, "字符串数组");
  std::vector<std::string> out;
  out.reserve(v->get_array().size());
  for (const json::value& item : v->get_array()) {
    const std::string position = "第 " + std::to_string(out.size() + 1) + " 项";
    if (!item.is_string()) {
      return Error::Invalid(Name(field), Name(field) + " 的" + position + "应为字符串");
    }
    if (HasNul(item.get_string())) {
      return Error::Invalid(Name(field), Name(field) + " 的" + position + "不能包含空字符");
    }
    out.emplace_back(item.get_string());
  }
  return out;
}

}  // namespace zhenwu::http
