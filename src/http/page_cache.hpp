#pragma once
// Rendered anonymous pages kept in memory: a GET of a route marked cacheable, from a visitor
// without a session, is answered from here (with its gzip form and ETag precomputed) until the
// entry is invalidated or its time-to-live passes. Modules call Invalidate() after a change
// that public pages show; the TTL bounds staleness when several processes share one database.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "http/types.hpp"

namespace zhenwu::http {

class PageCache {
 public:
  struct Entry {
    Response response;      // identity body
    std::string gzip_body;  // empty when not worth compressing
    std::string etag;       // strong ETag of the identity body, quoted
    int64_t stored_ms = 0;
    uint64_t generation = 0;
  };

  explicit PageCache(int64_t ttl_ms = 5000, std::size_t max_entries = 4096);
  // `key` is built by the server from the path, query and the page variant (e.g. large text).
  std::shared_ptr<const Entry> Get(const std::string& key, int64_t now_ms) const;
  void Put(const std::string& key, std::shared_ptr<const Entry> entry);
  // Drops every entry (cheap: bumps a generation).
  void Invalidate();
  uint64_t generation() const;

 private:
  int64_t ttl_ms_;
  std::size_t max_entries_;
  mutable std::mutex mu_;
  uint64_t generation_ = 0;
  std::unordered_map<std::string, std::shared_ptr<const Entry>> entries_;
};

}  // namespace zhenwu::http

namespace zhenwu::http {
// Cookie names the server reads to decide whether a visitor is anonymous and which variant of a
// page they see.
inline constexpr std::string_view kSessionCookie = "zw_sid";
inline constexpr std::string_view kTextSizeCookie = "zw_text";  // "large" for 适老化 large text
}  // namespace zhenwu::http
