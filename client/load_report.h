#ifndef RECSERVE_CLIENT_LOAD_REPORT_H_
#define RECSERVE_CLIENT_LOAD_REPORT_H_

// What recserve-bench prints: ghz's summary (count, total, average,
// fastest, slowest, requests/s, a latency histogram and distribution,
// status-code and error distributions), per method when several ran, as
// text or JSON (latencies in nanoseconds there, as ghz's JSON has them).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "client/load_generator.h"
#include "nlohmann/json.hpp"

namespace recserve::client {

struct LatencySummary {
  int64_t count = 0;
  double average_us = 0, fastest_us = 0, slowest_us = 0;
  // (percentage, latency) for 10 25 50 75 90 95 99 99.9.
  std::vector<std::pair<double, double>> percentiles_us;
  // (upper mark, count): 10 equal-width buckets from fastest to slowest.
  std::vector<std::pair<double, int64_t>> histogram_us;
};

struct LoadReport {
  int64_t count = 0;
  double total_seconds = 0;
  double requests_per_second = 0;
  LatencySummary latency;                             // every call
  std::map<std::string, LatencySummary> by_method;    // when several ran
  std::map<std::string, int64_t> status_codes;        // "OK" -> count
  std::map<std::string, int64_t> errors;              // "[Code] msg" -> count
  std::vector<int64_t> ok_per_tick, failed_per_tick;  // see LoadResult
};

LoadReport Summarize(const LoadResult& result);

std::string FormatText(const LoadReport& report);
nlohmann::json ToJson(const LoadReport& report);

}  // namespace recserve::client

#endif  // RECSERVE_CLIENT_LOAD_REPORT_H_
