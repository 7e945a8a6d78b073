#pragma once
// A few seconds' memory of values that are costly to compute (a desk's counts, the principal
// behind an API token), dropped at once by this process's own changes.
//
// Correctness within one process: the code that commits a change the values depend on calls
// Invalidate() after the commit, which bumps the generation and drops every entry. A reader
// takes Generation() before its database work starts and stores its value with that generation;
// Put ignores a value computed from a snapshot older than the last change, and Get returns only
// values of the current generation. So after this process's own write the next request computes
// again. Other processes sharing one PostgreSQL are not told: their changes show once the entry
// expires (the TTL).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace zhenwu {

template <class V>
class TtlCache {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Now = std::function<TimePoint()>;

  explicit TtlCache(std::chrono::milliseconds ttl, Now now = &std::chrono::steady_clock::now)
      : ttl_(ttl), now_(std::move(now)) {}

  // Read before the work whose result goes to Put starts (before its transaction).
  uint64_t Generation() const { return generation_.load(std::memory_order_acquire); }

  // The value under `key` if it is of the current generation and younger than the TTL.
  std::optional<V> Get(const std::string& key) const {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.generation != Generation() ||
        now_() - it->second.stored >= ttl_) {
      return std::nullopt;
    }
    return it->second.value;
  }

  // Keeps `value` under `key` unless the cache was invalidated since `generation` was read.
  void Put(const std::string& key, uint64_t generation, V value) {
    std::lock_guard lock(mu_);
    if (generation != Generation()) return;
    if (entries_.size() >= kMaxEntries) entries_.clear();
    entries_.insert_or_assign(key, Entry{generation, now_(), std::move(value)});
  }

  // Forgets every value; values computed before this call are not stored afterwards.
  void Invalidate() {
    std::lock_guard lock(mu_);
    generation_.fetch_add(1, std::memory_order_acq_rel);
    entries_.clear();
  }

 private:
  static constexpr std::size_t kMaxEntries = 4096;
  struct Entry {
    uint64_t generation;
    TimePoint stored;
    V value;
  };
  const std::chrono::milliseconds ttl_;
  const Now now_;
  mutable std::mutex mu_;
  std::atomic<uint64_t> generation_{0};
  std::map<std::string, Entry> entries_;
};

}  // namespace zhenwu
