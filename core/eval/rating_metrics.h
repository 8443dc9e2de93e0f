#ifndef RECSERVE_CORE_EVAL_RATING_METRICS_H_
#define RECSERVE_CORE_EVAL_RATING_METRICS_H_

// Rating-prediction accuracy of a model on held-out ratings.

#include <cstdint>

#include "absl/types/span.h"
#include "core/data/ratings.h"
#include "core/model/mf_model.h"

namespace recserve {

struct RatingMetrics {
  double rmse = 0;  // sqrt(mean((r̂ - r)²))
  double mae = 0;   // mean(|r̂ - r|)
  // 1 - SSE / SST, where SST is the sum of squares of the test ratings around
  // their own mean: 0 means "no better than predicting the test mean",
  // negative means worse. NaN when SST is 0 (all test ratings equal).
  double r2 = 0;
  int64_t count = 0;  // number of test ratings evaluated
  // The RMSE of the time-free predictions (MfModel::Predict), which is what
  // the server answers for today; equal to rmse for a model without day
  // biases.
  double rmse_for_today = 0;
};

// Evaluates model.PredictAt (the prediction at the rating's time: clamped,
// or the expected rating of an ordinal output) on
// every rating of `test`,
// whose indices refer to the model's training Dataset. A user or item that is
// kUnknownIndex gets the fallback MfModel::Score documents (μ + b_i, μ + b_u
// or μ). Known indices must be in range for `model`. Sums are accumulated in
// double in input order, so the result is deterministic. An empty `test`
// gives count 0 and NaN rmse, mae and r2. Pure function; thread-safe.
RatingMetrics EvaluateRatings(const MfModel& model,
                              absl::Span<const Rating> test);

}  // namespace recserve

#endif  // RECSERVE_CORE_EVAL_RATING_METRICS_H_
