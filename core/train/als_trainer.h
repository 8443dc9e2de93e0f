#ifndef RECSERVE_CORE_TRAIN_ALS_TRAINER_H_
#define RECSERVE_CORE_TRAIN_ALS_TRAINER_H_

// Biased matrix factorization by alternating least squares with weighted-λ
// regularization (Zhou et al., "Large-scale Parallel Collaborative Filtering
// for the Netflix Prize", 2008). Each half-step solves, for every user (then
// every item) independently, the ridge regression of its residual ratings on
// the other side's factors, with the bias learned jointly as an extra
// coordinate, either exactly (Cholesky) or by a few conjugate-gradient steps
// started from the row's current value (Takács, Pilászy and Tikk 2011;
// conjugate_gradient.h), which costs O(n·k) per step instead of the
// O(n·k² + k³) of forming and factorizing the system. Rows are solved in
// parallel; results do not depend on the thread count.

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/data/ratings.h"
#include "core/train/early_stopping.h"

namespace recserve {

// Below this many factors AlsOptions::cg_steps is ignored and rows are
// solved exactly: there an iteration with CG row solves is measured no
// faster than one with exact ones (the k×k system is tiny), and exact is
// exact.
inline constexpr int32_t kMinConjugateGradientFactors = 8;

struct AlsOptions {
  // Latent dimensions. Default 32.
  int32_t factors = 32;
  // Maximum number of sweeps (user half-step + item half-step). Default 25.
  int32_t max_iterations = 25;
  // λ on the factors, multiplied by the row's rating count (weighted-λ).
  // Default 0.12, the best of a sweep on MovieLens 100K u1.base (validation
  // carved from it).
  float reg = 0.12f;
  // λ on the biases, also multiplied by the rating count. Default 0.02.
  float bias_reg = 0.02f;
  // Standard deviation of the initial factors. Default 0.1.
  float init_stddev = 0.1f;
  // Conjugate-gradient steps per row solve, each started from the row's
  // current value (the previous iteration's, or `from`'s), so that a few
  // steps per iteration suffice as ALS converges; 0 solves every row
  // exactly by Cholesky. Ignored (exact) when factors <
  // kMinConjugateGradientFactors. Must be >= 0. Default 3: after the default
  // iterations its training and validation RMSE are those of the exact
  // solve (1 step falls measurably short), at a fraction of the cost.
  int32_t cg_steps = 3;
  // Worker threads; 0 = all cores.
  int32_t threads = 0;
  uint64_t seed = 1;
  // ALS converges in a few large steps and then creeps by less than an
  // iteration is worth (docs/benchmarks.md). Default patience 2, min_delta
  // 5e-4.
  EarlyStoppingOptions early_stopping = {.patience = 2, .min_delta = 5e-4};
};

// Trains on `fit` (indices < num_users / num_items), watching `valid` for
// early stopping when it is not empty. `scale` is recorded in the model and
// used to clamp predictions. Errors: InvalidArgument for bad options or empty
// `fit`. `on_epoch` may be empty. `from`, when not null, is where training
// starts instead of random factors (warm_start.h: its users and items are
// the leading rows; InvalidArgument when its shape does not fit).
absl::StatusOr<TrainResult> TrainAls(int32_t num_users, int32_t num_items,
                                     absl::Span<const Rating> fit,
                                     absl::Span<const Rating> valid,
                                     const RatingScale& scale,
                                     const AlsOptions& options,
                                     const EpochCallback& on_epoch = {},
                                     const MfModel* from = nullptr);

}  // namespace recserve

#endif  // RECSERVE_CORE_TRAIN_ALS_TRAINER_H_
