#ifndef RECSERVE_CORE_TRAIN_POSTERIOR_MEAN_H_
#define RECSERVE_CORE_TRAIN_POSTERIOR_MEAN_H_

// The posterior mean of a Gibbs sampler's predictions, as one servable
// MfModel. Averaging the samples' factors instead would not do: successive
// samples drift along the factorization's rotations, so their average
// shrinks towards zero as the chain runs. The mean of the predictions,
// Σ_s (U_s V_sᵀ) / S, is exactly the product of the samples' factors laid
// side by side, [U_1 … U_S] [V_1 … V_S]ᵀ / S; Model returns its best
// approximation at the serving rank (a truncated SVD, computed through the
// small side-by-side Gramians, a block of rows at a time). Biases are
// averaged over every sample offered.

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/mf_model.h"

namespace recserve {

class PosteriorMean {
 public:
  // Expects `samples_to_come` samples (>= 1) and keeps at most
  // `max_samples` (>= 1) of them, evenly spaced (every ⌈to come / max⌉-th,
  // from the first): a chain's successive samples are correlated, so a
  // thinned set averages nearly as well.
  PosteriorMean(int32_t max_samples, int64_t samples_to_come);

  // Adds one sample. Every sample must have the shape of the first.
  void Add(const MfModel& sample);

  int32_t samples() const { return static_cast<int32_t>(kept_.size()); }

  // The model whose scores best approximate the kept samples' mean scores
  // at rank `rank` (>= 1): the rank-`rank` truncation of that mean, padded
  // with zero columns when it has fewer directions. Its factor dimensions
  // are the SVD's, ordered by singular value, not any sample's.
  // FailedPrecondition before any sample; InvalidArgument for rank < 1.
  absl::StatusOr<MfModel> Model(int32_t rank) const;

 private:
  int64_t stride_;
  int64_t offered_ = 0;
  std::vector<MfModel> kept_;
  Eigen::VectorXd user_bias_sum_, item_bias_sum_;
};

// How many samples of a model with `rows` users and items and `factors`
// dimensions fit in `bytes` (at least 1, at most `wanted`).
int32_t AffordableSamples(int32_t wanted, int64_t rows, int32_t factors,
                          int64_t bytes);

}  // namespace recserve

#endif  // RECSERVE_CORE_TRAIN_POSTERIOR_MEAN_H_
