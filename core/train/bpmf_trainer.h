#ifndef RECSERVE_CORE_TRAIN_BPMF_TRAINER_H_
#define RECSERVE_CORE_TRAIN_BPMF_TRAINER_H_

// Bayesian biased matrix factorization by Gibbs sampling, after
// Salakhutdinov & Mnih, "Bayesian Probabilistic Matrix Factorization using
// MCMC" (2008), with a diagonal prior: each latent dimension (and the bias)
// has its own Normal mean and Gamma precision, sampled from their
// conditionals, and the rating noise precision is sampled too. Every sweep
// draws each user row, then each item row, from the Gaussian that ALS would
// take the mode of. Nothing needs tuning: the regularization is inferred.
//
// The returned model holds the posterior means of the factors and biases
// over the kept sweeps, so it serves as an ordinary MfModel (its accuracy
// beside ALS and SGD: docs/benchmarks.md).
// Rows are sampled in parallel with per-row random streams, so results do
// not depend on the thread count.

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/data/ratings.h"
#include "core/train/early_stopping.h"

namespace recserve {

struct BpmfOptions {
  // Latent dimensions. Default 32.
  int32_t factors = 32;
  // Total sweeps, including burn-in. Default 100.
  int32_t sweeps = 100;
  // Sweeps discarded before averaging starts. Default 20.
  int32_t burn_in = 20;
  // Standard deviation of the initial factors. Default 0.1.
  float init_stddev = 0.1f;
  // Worker threads; 0 = all cores.
  int32_t threads = 0;
  uint64_t seed = 1;
};

// Trains on `fit`. `valid`, when not empty, is only reported: the RMSE of
// the running posterior mean after each sweep (EpochStats::valid_rmse), so
// progress can be followed; there is no early stopping. EpochStats::
// train_rmse is that of the current sample before averaging starts and of
// the running posterior mean after. Errors: InvalidArgument for bad options
// or empty `fit`.
absl::StatusOr<TrainResult> TrainBpmf(int32_t num_users, int32_t num_items,
                                      absl::Span<const Rating> fit,
                                      absl::Span<const Rating> valid,
                                      const RatingScale& scale,
                                      const BpmfOptions& options,
                                      const EpochCallback& on_epoch = {});

}  // namespace recserve

#endif  // RECSERVE_CORE_TRAIN_BPMF_TRAINER_H_
