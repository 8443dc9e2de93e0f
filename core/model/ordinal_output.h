#ifndef RECSERVE_CORE_MODEL_ORDINAL_OUTPUT_H_
#define RECSERVE_CORE_MODEL_ORDINAL_OUTPUT_H_

// The ordinal output of a rating model (an ordered probit): the score s is
// the mean of a latent z ~ N(s, σ²), and the rating is the value of the
// scale whose interval holds z. The K values of the scale have K − 1
// ascending cutpoints between them; value k's interval is (c_k, c_{k+1}],
// the lowest and highest open-ended. The predicted rating is the
// expectation of that rating,
//   min + step · Σ_k Φ((s − c_k) / σ),
// which is increasing in s, so it ranks as the score does.

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "core/data/ratings.h"

namespace recserve {

struct OrdinalOutput {
  // K − 1 ascending cutpoints for a scale of K values; empty = no ordinal
  // output (ratings are the score clamped to the scale).
  std::vector<float> cutpoints;
  // σ > 0: the latent's spread about the score.
  float stddev = 0.0f;

  bool empty() const { return cutpoints.empty(); }
};

// The number of values of `scale` (min, min + step, ..., max), at least 1.
int32_t ScaleValues(const RatingScale& scale);

// The expected rating of `score` under `output` on `scale`. `output` must
// be valid for `scale` (ValidateOrdinalOutput). Thread-safe.
float ExpectedOrdinalRating(float score, const RatingScale& scale,
                            const OrdinalOutput& output);

// The rating a rating model's score stands for: with an ordinal `output`
// the expected rating, without one the score clamped to `scale`. The one
// place both the trainer's model and the server's snapshot rate a score.
inline float RateScore(float score, const RatingScale& scale,
                       const OrdinalOutput& output) {
  return output.empty() ? scale.Clamp(score)
                        : ExpectedOrdinalRating(score, scale, output);
}

// OK when `output` is empty, or has ScaleValues(scale) − 1 finite, strictly
// ascending cutpoints (at least one) and a finite stddev > 0; else
// InvalidArgument saying which.
absl::Status ValidateOrdinalOutput(const OrdinalOutput& output,
                                   const RatingScale& scale);

}  // namespace recserve

#endif  // RECSERVE_CORE_MODEL_ORDINAL_OUTPUT_H_
