#include "http/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace zhenwu::http {
namespace {

void AppendLabelValue(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out.append("\\\\");
        break;
      case '"':
        out.append("\\\"");
        break;
      case '\n':
        out.append("\\n");
        break;
      default:
        out.push_back(c);
    }
  }
}

void AppendHelp(std::string& out, std::string_view name, std::string_view help,
                std::string_view type) {
  out.append("# HELP ").append(name).push_back(' ');
  for (char c : help) {
    if (c == '\\') {
      out.append("\\\\");
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  out.append("\n# TYPE ").append(name).push_back(' ');
  out.append(type).push_back('\n');
}

void AppendNumber(std::string& out, double v) {
  if (std::isnan(v)) {
    out.append("NaN");
  } else if (std::isinf(v)) {
    out.append(v > 0 ? "+Inf" : "-Inf");
  } else {
    fmt::format_to(std::back_inserter(out), "{}", v);
  }
}

void AppendRouteMethod(std::string& out, std::string_view route, std::string_view method) {
  out.append("route=\"");
  AppendLabelValue(out, route);
  out.append("\",method=\"");
  AppendLabelValue(out, method);
  out.push_back('"');
}

}  // namespace

void Metrics::Observe(std::string_view route, std::string_view method, int status, double seconds) {
  if (route.empty()) route = "unmatched";
  std::size_t bucket =
      std::lower_bound(kBuckets.begin(), kBuckets.end(), seconds) - kBuckets.begin();
  std::lock_guard lock(mu_);

  auto c = counts_.find(std::tuple<std::string_view, std::string_view, int>(route, method, status));
  if (c == counts_.end()) {
    c = counts_.emplace(CountKey(route, method, status), 0).first;
  }
  ++c->second;

  auto h = histograms_.find(std::tuple<std::string_view, std::string_view>(route, method));
  if (h == histograms_.end()) {
    h = histograms_.emplace(HistogramKey(route, method), Histogram{}).first;
  }
  Histogram& hist = h->second;
  if (bucket < hist.counts.size()) ++hist.counts[bucket];
  ++hist.count;
  hist.sum += seconds;
}

void Metrics::AddGauge(std::string name, std::string help, std::function<double()> read) {
  std::lock_guard lock(mu_);
  for (Gauge& g : gauges_) {
    if (g.name == name) {
      g.help = std::move(help);
      g.read = std::move(read);
      return;
    }
  }
  gauges_.push_back({std::move(name), std::move(help), std::move(read)});
}

std::string Metrics::Render() const {
  std::string out;
  std::vector<Gauge> gauges;
  {
    std::lock_guard lock(mu_);
    out.reserve(256 + counts_.size() * 96 + histograms_.size() * 1400);

    AppendHelp(out, "zhenwu_http_requests_total",
               "HTTP requests answered, by route, method and status.", "counter");
    for (const auto& [key, count] : counts_) {
      const auto& [route, method, status] = key;
      out.append("zhenwu_http_requests_total{");
      AppendRouteMethod(out, route, method);
      fmt::format_to(std::back_inserter(out), ",status=\"{}\"}} {}\n", status, count);
    }

    AppendHelp(out, "zhenwu_http_request_duration_seconds",
               "Time from a complete request to its response, by route and method.", "histogram");
    for (const auto& [key, hist] : histograms_) {
      const auto& [route, method] = key;
      uint64_t cumulative = 0;
      for (std::size_t i = 0; i <= kBuckets.size(); ++i) {
        out.append("zhenwu_http_request_duration_seconds_bucket{");
        AppendRouteMethod(out, route, method);
        out.append(",le=\"");
        if (i < kBuckets.size()) {
          cumulative += hist.counts[i];
          AppendNumber(out, kBuckets[i]);
        } else {
          cumulative = hist.count;
          out.append("+Inf");
        }
        fmt::format_to(std::back_inserter(out), "\"}} {}\n", cumulative);
      }
      out.append("zhenwu_http_request_duration_seconds_sum{");
      AppendRouteMethod(out, route, method);
      out.append("} ");
      AppendNumber(out, hist.sum);
      out.append("\nzhenwu_http_request_duration_seconds_count{");
      AppendRouteMethod(out, route, method);
      fmt::format_to(std::back_inserter(out), "}} {}\n", hist.count);
    }
    gauges = gauges_;
  }
  // Readers may take their own locks (a database pool): never call them under ours.
  for (const Gauge& g : gauges) {
    AppendHelp(out, g.name, g.help, "gauge");
    out.append(g.name).push_back(' ');
    AppendNumber(out, g.read ? g.read() : 0.0);
    out.push_back('\n');
  }
  return out;
}

}  // namespace zhenwu::http
