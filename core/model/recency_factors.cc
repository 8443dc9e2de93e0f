#include "core/model/recency_factors.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace recserve {

std::vector<int32_t> LaterCounts(absl::Span<const int64_t> times) {
  std::vector<int32_t> order(times.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](int32_t a, int32_t b) { return times[a] > times[b]; });
  std::vector<int32_t> later(times.size());
  int32_t rank = 0;
  for (size_t p = 0; p < order.size(); ++p) {
    if (p > 0 && times[order[p]] != times[order[p - 1]]) {
      rank = static_cast<int32_t>(p);
    }
    later[order[p]] = rank;
  }
  return later;
}

std::vector<double> RecencyFactors(absl::Span<const int64_t> times,
                                   float weight, float horizon) {
  const std::vector<int32_t> later = LaterCounts(times);
  std::vector<double> factors(times.size());
  double sum = 0.0;
  for (size_t i = 0; i < times.size(); ++i) {
    factors[i] =
        1.0 + weight * std::exp(-static_cast<double>(later[i]) / horizon);
    sum += factors[i];
  }
  const double mean = times.empty() ? 1.0 : sum / times.size();
  for (double& f : factors) f /= mean;
  return factors;
}

}  // namespace recserve
