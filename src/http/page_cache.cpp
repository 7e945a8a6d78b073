#include "http/page_cache.hpp"

namespace zhenwu::http {

PageCache::PageCache(int64_t ttl_ms, std::size_t max_entries)
    : ttl_ms_(ttl_ms), max_entries_(max_entries == 0 ? 1 : max_entries) {}

std::shared_ptr<const PageCache::Entry> PageCache::Get(const std::string& key,
                                                       int64_t now_ms) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return nullptr;
  const Entry& e = *it->second;
  if (e.generation != generation_ || now_ms - e.stored_ms >= ttl_ms_ || now_ms < e.stored_ms) {
    return nullptr;
  }
  return it->second;
}

void PageCache::Put(const std::string& key, std::shared_ptr<const Entry> entry) {
  if (!entry) return;
  std::lock_guard lock(mu_);
  // Rendered before the last Invalidate(): it may show what was just changed.
  if (entry->generation != generation_) return;
  if (entries_.size() >= max_entries_ && !entries_.contains(key)) {
    // Drop what can no longer be served; if everything is fresh, drop an arbitrary entry.
    std::erase_if(entries_, [&](const auto& kv) {
      return kv.second->generation != generation_ ||
             entry->stored_ms - kv.second->stored_ms >= ttl_ms_;
    });
    if (entries_.size() >= max_entries_) entries_.erase(entries_.begin());
  }
  entries_.insert_or_assign(key, std::move(entry));
}

void PageCache::Invalidate() {
  // Entries of the old generation are never served again; free them now (outside the lock) so
  // a busy site does not hold two generations of pages.
  std::unordered_map<std::string, std::shared_ptr<const Entry>> old;
  {
    std::lock_guard lock(mu_);
    ++generation_;
    old.swap(entries_);
  }
}

uint64_t PageCache::generation() const {
  std::lock_guard lock(mu_);
  return generation_;
}

}  // namespace zhenwu::http
