#include "http/content.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>

namespace zhenwu::http {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string_view StripWeak(std::string_view tag) {
  if (tag.size() >= 2 && tag[0] == 'W' && tag[1] == '/') tag.remove_prefix(2);
  return tag;
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::string ContentEtag(std::string_view body) {
  static const bool sodium_ready = sodium_init() >= 0;
  if (!sodium_ready) throw std::runtime_error("libsodium failed to initialise");
  std::array<unsigned char, 12> hash{};
  crypto_generichash(hash.data(), hash.size(), reinterpret_cast<const unsigned char*>(body.data()),
                     body.size(), nullptr, 0);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string tag;
  tag.reserve(hash.size() * 2 + 2);
  tag.push_back('"');
  for (unsigned char b : hash) {
    tag.push_back(kHex[b >> 4]);
    tag.push_back(kHex[b & 0xf]);
  }
  tag.push_back('"');
  return tag;
}

std::string WeakEtag(std::string_view etag) {
  if (etag.starts_with("W/")) return std::string(etag);
  std::string weak = "W/";
  weak.append(etag);
  return weak;
}

bool EtagMatches(std::string_view if_none_match, std::string_view etag) {
  if (etag.empty()) return false;
  etag = StripWeak(etag);
  while (!if_none_match.empty()) {
    auto comma = if_none_match.find(',');
    std::string_view item = Trim(if_none_match.substr(0, comma));
    if (item == "*" || StripWeak(item) == etag) return true;
    if (comma == std::string_view::npos) break;
    if_none_match.remove_prefix(comma + 1);
  }
  return false;
}

bool IsCompressibleType(std::string_view content_type) {
  std::string_view type = Trim(content_type.substr(0, content_type.find(';')));
  if (type.size() > 5 && IEquals(type.substr(0, 5), "text/")) return true;
  static constexpr std::string_view kTypes[] = {
      "application/json", "application/javascript",    "application/xml", "application/atom+xml",
      "image/svg+xml",    "application/manifest+json", "text/javascript"};
  return std::any_of(std::begin(kTypes), std::end(kTypes),
                     [&](std::string_view t) { return IEquals(type, t); });
}

std::string_view ContentTypeForPath(std::string_view path) {
  struct Type {
    std::string_view ext, type;
  };
  static constexpr Type kTypes[] = {
      {"css", "text/css; charset=utf-8"},
      {"js", "application/javascript; charset=utf-8"},
      {"mjs", "application/javascript; charset=utf-8"},
      {"json", "application/json"},
      {"map", "application/json"},
      {"webmanifest", "application/manifest+json"},
      {"html", "text/html; charset=utf-8"},
      {"txt", "text/plain; charset=utf-8"},
      {"xml", "application/xml"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"webp", "image/webp"},
      {"ico", "image/x-icon"},
      {"woff2", "font/woff2"},
      {"woff", "font/woff"},
      {"ttf", "font/ttf"},
      {"otf", "font/otf"},
      {"pdf", "application/pdf"},
  };
  auto slash = path.rfind('/');
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  auto dot = name.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  std::string_view ext = name.substr(dot + 1);
  for (const Type& t : kTypes) {
    if (IEquals(ext, t.ext)) return t.type;
  }
  return "application/octet-stream";
}

}  // namespace zhenwu::http
