#ifndef RECSERVE_CORE_TRAIN_POSTERIOR_MEAN_H_
#define RECSERVE_CORE_TRAIN_POSTERIOR_MEAN_H_

// The posterior mean of a Gibbs sampler's predictions, as one servable
// MfModel. Averaging the samples' factors instead would not do: successive
// samples drift along the factorization's rotations, so their average
// shrinks towards zero as the chain runs. The mean of the predictions,
// Σ_s (U_s V_sᵀ) / S, is exactly the product of the samples' factors laid
// side by side, [U_1 … U_S] [V_1 … V_S]ᵀ / S; its best approximation at the
// serving rank (truncated SVD, computed through the small side-by-side
// Gramians) is what Model returns. Biases are averaged as they are.

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/mf_model.h"

namespace recserve {

class PosteriorMean {
 public:
  // Keeps at most `max_samples` samples (>= 1): a chain's successive samples
  // are correlated, so a thinned set averages nearly as well.
  explicit PosteriorMean(int32_t max_samples) : max_samples_(max_samples) {}

  // Adds one sample. Every sample must have the shape of the first.
  // When full, every other kept sample is dropped and the thinning stride
  // doubles, so the kept samples stay evenly spread over the chain.
  void Add(const MfModel& sample);

  int32_t samples() const { return static_cast<int32_t>(kept_.size()); }

  // The model whose scores are the samples' mean scores, at rank `rank`
  // (>= 1; at most samples() x factors directions exist). FailedPrecondition
  // before any sample.
  absl::StatusOr<MfModel> Model(int32_t rank) const;

 private:
  int32_t max_samples_;
  int64_t offered_ = 0;
  int64_t stride_ = 1;
  std::vector<MfModel> kept_;
  Eigen::VectorXd user_bias_sum_, item_bias_sum_;
  int64_t bias_count_ = 0;
};

}  // namespace recserve

#endif  // RECSERVE_CORE_TRAIN_POSTERIOR_MEAN_H_
