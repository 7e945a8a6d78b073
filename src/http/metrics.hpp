#pragma once
// Prometheus text exposition: request counts and latency histograms by route and status, plus
// gauges that other parts register (database pool, open connections).

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace zhenwu::http {

class Metrics {
 public:
  // Records one answered request; `route` is the matched pattern ("" for none -> "unmatched").
  void Observe(std::string_view route, std::string_view method, int status, double seconds);
  // A gauge read at scrape time: name (e.g. "zhenwu_db_connections"), help text, reader.
  void AddGauge(std::string name, std::string help, std::function<double()> read);
  // The whole text exposition (text/plain; version=0.0.4).
  std::string Render() const;

 private:
  struct Series {
    uint64_t count = 0;
    double sum = 0;
    std::vector<uint64_t> buckets;  // cumulative at render time
  };
  struct Gauge {
    std::string name, help;
    std::function<double()> read;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, Series> series_;
  std::vector<Gauge> gauges_;
};

}  // namespace zhenwu::http
