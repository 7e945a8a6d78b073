#pragma once
// A few seconds' memory of the desks' aggregates (the queue's counts, the leader's overview), so
// that a busy desk does not count a window's whole workload on every request.
//
// Every handler that commits a change to a case (or a rating or a follow-up) calls
// CaseCaches::CasesChanged() after the commit, so this process's own writes show at once; other
// processes' within the TTL (core/ttl_cache.hpp says how).

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "core/ttl_cache.hpp"
#include "services/service.hpp"

namespace zhenwu::services {

// The queue's head: open cases per status and how many are 超期 / 即将超期.
struct DeskCounts {
  std::map<std::string, int64_t> by_status;
  int64_t due_soon = 0, overdue = 0;
};

// How long another process's change may go unseen on a desk.
inline constexpr std::chrono::seconds kDeskCacheTtl{3};

struct CaseCaches {
  TtlCache<DeskCounts> counts{kDeskCacheTtl};
  TtlCache<Overview> overview{kDeskCacheTtl};

  // After every committed write of a case, a rating or a follow-up by this process.
  void CasesChanged() {
    counts.Invalidate();
    overview.Invalidate();
  }
};

}  // namespace zhenwu::services
