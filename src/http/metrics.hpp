#pragma once
// Prometheus text exposition: request counts and latency histograms by route and status, plus
// gauges that other parts register (database pool, open connections).

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace zhenwu::http {

class Metrics {
 public:
  // Upper bounds (seconds) of the latency histogram buckets; +Inf is implied.
  static constexpr std::array<double, 12> kBuckets = {.001, .005, .01, .025, .05, .1,
                                                      .25,  .5,   1,   2.5,  5,   10};

  // Records one answered request; `route` is the matched pattern ("" for none -> "unmatched").
  // Cheap: one short lock, no allocation once the series exists.
  void Observe(std::string_view route, std::string_view method, int status, double seconds);
  // A gauge read at scrape time: name (e.g. "zhenwu_db_connections"), help text, reader. A
  // gauge added again under the same name replaces the earlier one. `read` is called without
  // any lock held and must be safe from any thread.
  void AddGauge(std::string name, std::string help, std::function<double()> read);
  // The whole text exposition (text/plain; version=0.0.4).
  std::string Render() const;

 private:
  // Series are keyed by value but looked up by string_view, so Observe never allocates.
  using CountKey = std::tuple<std::string, std::string, int>;  // route, method, status
  using HistogramKey = std::tuple<std::string, std::string>;   // route, method
  struct KeyLess {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return View(a) < View(b);
    }
    template <class... T>
    static auto View(const std::tuple<T...>& t) {
      return std::apply(
          [](const auto&... v) {
            return std::tuple<std::conditional_t<std::is_same_v<std::decay_t<decltype(v)>, int>,
                                                 int, std::string_view>...>(v...);
          },
          t);
    }
  };
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> counts{};  // per bucket, not cumulative
    uint64_t count = 0;
    double sum = 0;
  };
  struct Gauge {
    std::string name, help;
    std::function<double()> read;
  };
  mutable std::mutex mu_;
  std::map<CountKey, uint64_t, KeyLess> counts_;
  std::map<HistogramKey, Histogram, KeyLess> histograms_;
  std::vector<Gauge> gauges_;
};

}  // namespace zhenwu::http
