#include "core/model/ordinal_output.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/base/normal_distribution.h"

namespace recserve {

int32_t ScaleValues(const RatingScale& scale) {
  if (!(scale.step > 0.0f) || !(scale.max > scale.min)) return 1;
  return static_cast<int32_t>(
             std::lround((double{scale.max} - scale.min) / scale.step)) +
         1;
}

float ExpectedOrdinalRating(float score, const RatingScale& scale,
                            const OrdinalOutput& output) {
  double above = 0.0;  // the expected number of cutpoints below z
  for (const float cutpoint : output.cutpoints) {
    above += NormalCdf((double{score} - cutpoint) / output.stddev);
  }
  return static_cast<float>(scale.min + scale.step * above);
}

absl::Status ValidateOrdinalOutput(const OrdinalOutput& output,
                                   const RatingScale& scale) {
  if (output.empty()) return absl::OkStatus();
  const int32_t want = ScaleValues(scale) - 1;
  if (static_cast<int32_t>(output.cutpoints.size()) != want || want < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("ordinal output: ", output.cutpoints.size(),
                     " cutpoints for a rating scale of ", want + 1,
                     " values (needs ", want, ")"));
  }
  for (size_t k = 0; k < output.cutpoints.size(); ++k) {
    if (!std::isfinite(output.cutpoints[k]) ||
        (k > 0 && !(output.cutpoints[k] > output.cutpoints[k - 1]))) {
      return absl::InvalidArgumentError(
          absl::StrCat("ordinal output: cutpoint ", k + 1,
                       " is not finite or not above the one before"));
    }
  }
  if (!std::isfinite(output.stddev) || !(output.stddev > 0.0f)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ordinal output: stddev ", output.stddev, " is not finite and > 0"));
  }
  return absl::OkStatus();
}

}  // namespace recserve
