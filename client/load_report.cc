#include "client/load_report.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace recserve::client {
namespace {

constexpr double kPercentages[] = {10, 25, 50, 75, 90, 95, 99, 99.9};
constexpr int kHistogramBuckets = 10;

LatencySummary SummarizeLatency(std::vector<float> micros) {
  LatencySummary s;
  s.count = static_cast<int64_t>(micros.size());
  if (micros.empty()) return s;
  std::sort(micros.begin(), micros.end());
  double sum = 0;
  for (const float m : micros) sum += m;
  s.average_us = sum / micros.size();
  s.fastest_us = micros.front();
  s.slowest_us = micros.back();
  for (const double p : kPercentages) {
    // Nearest rank: the smallest value with at least p% at or below it.
    const auto rank = static_cast<size_t>(
        std::ceil(p / 100.0 * static_cast<double>(micros.size())));
    s.percentiles_us.emplace_back(
        p, micros[std::clamp<size_t>(rank, 1, micros.size()) - 1]);
  }
  const double width = (s.slowest_us - s.fastest_us) / kHistogramBuckets;
  size_t next = 0;
  for (int b = 1; b <= kHistogramBuckets; ++b) {
    const double mark =
        b == kHistogramBuckets ? s.slowest_us : s.fastest_us + width * b;
    int64_t count = 0;
    while (next < micros.size() && micros[next] <= mark) {
      ++count;
      ++next;
    }
    s.histogram_us.emplace_back(mark, count);
  }
  return s;
}

std::string Millis(double micros) {
  return absl::StrFormat("%.2f ms", micros / 1000.0);
}

void AppendLatency(const LatencySummary& s, std::string* out) {
  absl::StrAppend(out, "\nResponse time histogram:\n");
  int64_t widest = 1;
  for (const auto& [mark, count] : s.histogram_us) {
    widest = std::max(widest, count);
  }
  for (const auto& [mark, count] : s.histogram_us) {
    absl::StrAppendFormat(out, "  %.3f [%d]\t|%s\n", mark / 1000.0, count,
                          std::string(40 * count / widest, '#'));
  }
  absl::StrAppend(out, "\nLatency distribution:\n");
  for (const auto& [p, micros] : s.percentiles_us) {
    absl::StrAppendFormat(out, "  %g %% in %s\n", p, Millis(micros));
  }
}

nlohmann::json LatencyJson(const LatencySummary& s) {
  const auto ns = [](double micros) {
    return static_cast<int64_t>(std::llround(micros * 1000.0));
  };
  nlohmann::json j = {{"count", s.count},
                      {"average", ns(s.average_us)},
                      {"fastest", ns(s.fastest_us)},
                      {"slowest", ns(s.slowest_us)}};
  j["latencyDistribution"] = nlohmann::json::array();
  for (const auto& [p, micros] : s.percentiles_us) {
    j["latencyDistribution"].push_back(
        {{"percentage", p}, {"latency", ns(micros)}});
  }
  j["histogram"] = nlohmann::json::array();
  for (const auto& [mark, count] : s.histogram_us) {
    j["histogram"].push_back(
        {{"mark", ns(mark)},
         {"count", count},
         {"frequency",
          s.count > 0 ? static_cast<double>(count) / s.count : 0.0}});
  }
  return j;
}

}  // namespace

LoadReport Summarize(const LoadResult& result) {
  LoadReport r;
  r.count = static_cast<int64_t>(result.calls.size());
  r.total_seconds = result.seconds;
  r.requests_per_second =
      result.seconds > 0 ? static_cast<double>(r.count) / result.seconds : 0;
  std::vector<float> all;
  std::map<std::string, std::vector<float>> by_method;
  all.reserve(result.calls.size());
  for (const CallRecord& c : result.calls) {
    all.push_back(c.micros);
    by_method[LoadMethodName(c.method)].push_back(c.micros);
    ++r.status_codes[StatusCodeName(c.code)];
  }
  r.latency = SummarizeLatency(std::move(all));
  if (by_method.size() > 1) {
    for (auto& [name, micros] : by_method) {
      r.by_method[name] = SummarizeLatency(std::move(micros));
    }
  }
  r.errors.insert(result.errors.begin(), result.errors.end());
  r.ok_per_tick = result.ok_per_tick;
  r.failed_per_tick = result.failed_per_tick;
  const size_t ticks = std::max(r.ok_per_tick.size(), r.failed_per_tick.size());
  r.ok_per_tick.resize(ticks, 0);
  r.failed_per_tick.resize(ticks, 0);
  return r;
}

std::string FormatText(const LoadReport& r) {
  std::string out = "\nSummary:\n";
  absl::StrAppendFormat(&out, "  Count:\t%d\n", r.count);
  absl::StrAppendFormat(&out, "  Total:\t%.2f s\n", r.total_seconds);
  absl::StrAppendFormat(&out, "  Slowest:\t%s\n", Millis(r.latency.slowest_us));
  absl::StrAppendFormat(&out, "  Fastest:\t%s\n", Millis(r.latency.fastest_us));
  absl::StrAppendFormat(&out, "  Average:\t%s\n", Millis(r.latency.average_us));
  absl::StrAppendFormat(&out, "  Requests/sec:\t%.2f\n", r.requests_per_second);
  if (r.count > 0) AppendLatency(r.latency, &out);
  if (!r.by_method.empty()) absl::StrAppend(&out, "\nBy method:\n");
  for (const auto& [name, s] : r.by_method) {
    absl::StrAppendFormat(&out, "  %s: %d calls, average %s", name, s.count,
                          Millis(s.average_us));
    for (const auto& [p, micros] : s.percentiles_us) {
      if (p == 50 || p == 99) {
        absl::StrAppendFormat(&out, ", p%g %s", p, Millis(micros));
      }
    }
    absl::StrAppend(&out, "\n");
  }
  absl::StrAppend(&out, "\nStatus code distribution:\n");
  for (const auto& [code, count] : r.status_codes) {
    absl::StrAppendFormat(&out, "  [%s]\t%d responses\n", code, count);
  }
  if (!r.errors.empty()) {
    absl::StrAppend(&out, "\nError distribution:\n");
    for (const auto& [error, count] : r.errors) {
      absl::StrAppendFormat(&out, "  [%d]\t%s\n", count, error);
    }
  }
  return out;
}

nlohmann::json ToJson(const LoadReport& r) {
  nlohmann::json j = LatencyJson(r.latency);
  j["total"] = static_cast<int64_t>(std::llround(r.total_seconds * 1e9));
  j["rps"] = r.requests_per_second;
  j["statusCodeDistribution"] = r.status_codes;
  j["errorDistribution"] = r.errors;
  j["timeline"] = {{"tickMs", absl::ToInt64Milliseconds(kTimelineTick)},
                   {"ok", r.ok_per_tick},
                   {"failed", r.failed_per_tick}};
  j["byMethod"] = nlohmann::json::object();
  for (const auto& [name, s] : r.by_method)
    j["byMethod"][name] = LatencyJson(s);
  return j;
}

}  // namespace recserve::client
