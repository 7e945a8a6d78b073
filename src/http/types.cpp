#include "http/types.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace zhenwu::http {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes a form component: '+' is a space, and a '%' not followed by two hex digits stays as
// it is (browsers send such bytes literally; refusing the whole form would lose the input).
std::string DecodeLenient(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 &&
               HexValue(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The q value of one Accept-Encoding member's parameters (";q=0.5"); 1 when absent, 0 when
// unreadable so that a garbled preference never turns compression on.
double QValue(std::string_view params) {
  while (!params.empty()) {
    auto semi = params.find(';');
    std::string_view param = TrimSpaces(params.substr(0, semi));
    if (param.size() >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
      std::string_view number = TrimSpaces(param.substr(2));
      double q = 0;
      auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), q);
      if (ec != std::errc() || end != number.data() + number.size()) return 0;
      return q;
    }
    if (semi == std::string_view::npos) break;
    params.remove_prefix(semi + 1);
  }
  return 1;
}

}  // namespace

Form Form::Parse(std::string_view encoded) {
  Form form;
  while (!encoded.empty()) {
    auto amp = encoded.find('&');
    std::string_view pair = encoded.substr(0, amp);
    if (!pair.empty()) {
      auto eq = pair.find('=');
      if (eq == std::string_view::npos) {
        form.Add(DecodeLenient(pair), {});
      } else {
        form.Add(DecodeLenient(pair.substr(0, eq)), DecodeLenient(pair.substr(eq + 1)));
      }
    }
    if (amp == std::string_view::npos) break;
    encoded.remove_prefix(amp + 1);
  }
  return form;
}

std::optional<std::string> Form::Get(std::string_view name) const {
  for (const auto& [key, value] : items_) {
    if (key == name) return value;
  }
  return std::nullopt;
}

std::string Form::GetOr(std::string_view name, std::string fallback) const {
  for (const auto& [key, value] : items_) {
    if (key == name) return value;
  }
  return fallback;
}

std::vector<std::string> Form::GetAll(std::string_view name) const {
  std::vector<std::string> values;
  for (const auto& [key, value] : items_) {
    if (key == name) values.push_back(value);
  }
  return values;
}

std::optional<std::string> PercentDecode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      int hi = HexValue(in[i + 1]);
      int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string PercentEncode(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size());
  for (char c : in) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    }
  }
  return out;
}

std::string_view Request::Header(std::string_view name) const {
  auto it = raw.find(name);
  if (it == raw.end()) return {};
  return it->value();
}

std::optional<std::string> Request::Param(std::string_view name) const {
  auto it = params.find(name);
  if (it == params.end()) return std::nullopt;
  return it->second;
}

const Form& Request::QueryForm() const {
  if (!query_form_) query_form_ = Form::Parse(query);
  return *query_form_;
}

const Form& Request::BodyForm() const {
  if (!body_form_) {
    std::string_view type = raw[bhttp::field::content_type];
    type = TrimSpaces(type.substr(0, type.find(';')));
    if (IEquals(type, "application/x-www-form-urlencoded")) {
      body_form_ = Form::Parse(raw.body());
    } else {
      body_form_.emplace();
    }
  }
  return *body_form_;
}

std::optional<std::string> Request::Cookie(std::string_view name) const {
  // Proxies speaking HTTP/2 upstream may split cookies over several Cookie fields.
  auto [begin, end] = raw.equal_range(bhttp::field::cookie);
  for (auto it = begin; it != end; ++it) {
    std::string_view header = it->value();
    while (!header.empty()) {
      auto semi = header.find(';');
      std::string_view pair = TrimSpaces(header.substr(0, semi));
      auto eq = pair.find('=');
      if (eq != std::string_view::npos && TrimSpaces(pair.substr(0, eq)) == name) {
        std::string_view value = TrimSpaces(pair.substr(eq + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
          value = value.substr(1, value.size() - 2);
        }
        return std::string(value);
      }
      if (semi == std::string_view::npos) break;
      header.remove_prefix(semi + 1);
    }
  }
  return std::nullopt;
}

bool Request::AcceptsGzip() const {
  std::string_view header = raw[bhttp::field::accept_encoding];
  std::optional<double> gzip_q;
  std::optional<double> any_q;
  while (!header.empty()) {
    auto comma = header.find(',');
    std::string_view member = TrimSpaces(header.substr(0, comma));
    auto semi = member.find(';');
    std::string_view coding = TrimSpaces(member.substr(0, semi));
    std::string_view params =
        semi == std::string_view::npos ? std::string_view{} : member.substr(semi + 1);
    if (IEquals(coding, "gzip") || IEquals(coding, "x-gzip")) {
      gzip_q = QValue(params);
    } else if (coding == "*") {
      any_q = QValue(params);
    }
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  if (gzip_q) return *gzip_q > 0;
  return any_q && *any_q > 0;
}

Response MakeResponse(bhttp::status status, std::string body, std::string_view content_type) {
  Response res{status, 11};
  res.set(bhttp::field::content_type, content_type);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response Html(bhttp::status status, std::string body) {
  return MakeResponse(status, std::move(body), "text/html; charset=utf-8");
}

Response Text(bhttp::status status, std::string body) {
  return MakeResponse(status, std::move(body), "text/plain; charset=utf-8");
}

Response Json(bhttp::status status, std::string body) {
  return MakeResponse(status, std::move(body), "application/json");
}

Response Redirect(std::string_view location) {
  // Only same-site paths: "//host" and "/\host" are read by browsers as another host, and a
  // control character could split the header.
  bool local = location.size() >= 1 && location[0] == '/' &&
               !(location.size() >= 2 && (location[1] == '/' || location[1] == '\\')) &&
               std::none_of(location.begin(), location.end(), [](char c) {
                 return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
               });
  Response res{bhttp::status::see_other, 11};
  res.set(bhttp::field::location, local ? location : std::string_view("/"));
  res.prepare_payload();
  return res;
}

std::string SetCookieValue(std::string_view name, std::string_view value, int64_t max_age_s,
                           bool http_only, bool secure) {
  std::string out;
  out.reserve(name.size() + value.size() + 64);
  out.append(name).append("=").append(value).append("; Path=/");
  if (http_only) out.append("; HttpOnly");
  out.append("; SameSite=Lax");
  if (secure) out.append("; Secure");
  if (max_age_s >= 0) out.append("; Max-Age=").append(std::to_string(max_age_s));
  return out;
}

}  // namespace zhenwu::http
