#include "core/eval/rating_metrics.h"

#include <cmath>
#include <limits>

namespace recserve {

RatingMetrics EvaluateRatings(const MfModel& model,
                              absl::Span<const Rating> test) {
  RatingMetrics metrics;
  metrics.count = static_cast<int64_t>(test.size());
  if (test.empty()) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    metrics.rmse = metrics.mae = metrics.r2 = metrics.rmse_for_today = nan;
    return metrics;
  }
  double sse = 0, sae = 0, sum = 0, sse_for_today = 0;
  for (const Rating& r : test) {
    const double today =
        static_cast<double>(model.Predict(r.user, r.item)) - r.value;
    sse_for_today += today * today;
    const double error =
        static_cast<double>(model.PredictAt(r.user, r.item, r.timestamp)) -
        r.value;
    sse += error * error;
    sae += std::abs(error);
    sum += r.value;
  }
  const double n = static_cast<double>(test.size());
  const double mean = sum / n;
  double sst = 0;
  for (const Rating& r : test) {
    const double d = r.value - mean;
    sst += d * d;
  }
  metrics.rmse = std::sqrt(sse / n);
  metrics.rmse_for_today = std::sqrt(sse_for_today / n);
  metrics.mae = sae / n;
  metrics.r2 =
      sst > 0 ? 1.0 - sse / sst : std::numeric_limits<double>::quiet_NaN();
  return metrics;
}

}  // namespace recserve
