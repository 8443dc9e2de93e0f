#ifndef RECSERVE_CORE_MODEL_CONFIDENCE_H_
#define RECSERVE_CORE_MODEL_CONFIDENCE_H_

// How strongly an observed interaction counts in the retrieval model (Hu,
// Koren and Volinsky 2008): its confidence, from the interaction's strength.
//
// A stored interaction value (Rating::value) is signed: value >= 0 is a
// positive interaction of strength value (a star rating, or the summed,
// weighted counts of events), value < 0 a negative one (events such as
// "dislike" or "skip") of strength -value. A positive cell is fitted to
// preference 1, a negative one to preference 0; both weigh
// Confidence(params, strength).

#include <cmath>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace recserve {

// How strength becomes confidence.
enum class ConfidenceScale {
  // 1 + alpha · strength: star ratings, binary events.
  kLinear,
  // 1 + alpha · log(1 + strength / epsilon): counts with a long tail
  // (plays, views), so that the thousandth play adds little.
  kLog,
};

// "linear" / "log".
absl::string_view ConfidenceScaleName(ConfidenceScale scale);
// The inverse; InvalidArgument listing the names otherwise.
absl::StatusOr<ConfidenceScale> ParseConfidenceScale(absl::string_view name);

struct ConfidenceParams {
  ConfidenceScale scale = ConfidenceScale::kLinear;
  // >= 0. Default 0.3 (the linear scale on star ratings).
  float alpha = 0.3f;
  // kLog only: > 0. Default 1.
  float epsilon = 1.0f;
};

// The confidence of an interaction of `strength` (>= 0).
inline float Confidence(const ConfidenceParams& params, float strength) {
  return params.scale == ConfidenceScale::kLog
             ? 1.0f + params.alpha * std::log1p(strength / params.epsilon)
             : 1.0f + params.alpha * strength;
}

// The preference a stored value is fitted to: 1 for positive interactions,
// 0 for negative ones.
inline float PreferenceOf(float value) { return value < 0.0f ? 0.0f : 1.0f; }
// The strength of a stored value.
inline float StrengthOf(float value) { return std::fabs(value); }

}  // namespace recserve

#endif  // RECSERVE_CORE_MODEL_CONFIDENCE_H_
