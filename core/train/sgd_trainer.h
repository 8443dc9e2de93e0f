#ifndef RECSERVE_CORE_TRAIN_SGD_TRAINER_H_
#define RECSERVE_CORE_TRAIN_SGD_TRAINER_H_

// Biased matrix factorization by stochastic gradient descent, FunkSVD style
// (Koren, Bell, Volinsky, "Matrix Factorization Techniques for Recommender
// Systems", 2009): for each rating in a shuffled order, step the two biases
// and the two factor vectors along the gradient of the regularized squared
// error. Single-threaded so that a seed fixes the result exactly.

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/data/ratings.h"
#include "core/train/early_stopping.h"

namespace recserve {

struct SgdOptions {
  // Latent dimensions. Default 32.
  int32_t factors = 32;
  // Maximum passes over the ratings. Default 60.
  int32_t max_epochs = 60;
  // Initial learning rate. Default 0.02.
  float learning_rate = 0.02f;
  // Multiplies the learning rate after every epoch. Default 0.97.
  float learning_rate_decay = 0.97f;
  // L2 penalty on factors. Default 0.12 (best of a sweep on MovieLens 100K
  // u1.base with validation carved from it).
  float reg = 0.12f;
  // L2 penalty on biases. Default 0.01.
  float bias_reg = 0.01f;
  // Standard deviation of the initial factors. Default 0.1.
  float init_stddev = 0.1f;
  // Threads used only for RMSE reporting; the updates are sequential.
  int32_t threads = 0;
  uint64_t seed = 1;
  EarlyStoppingOptions early_stopping;
};

// Same contract as TrainAls: trains on `fit`, early-stops on `valid` when it
// is not empty. Errors: InvalidArgument for bad options or empty `fit`.
absl::StatusOr<TrainResult> TrainSgd(int32_t num_users, int32_t num_items,
                                     absl::Span<const Rating> fit,
                                     absl::Span<const Rating> valid,
                                     const RatingScale& scale,
                                     const SgdOptions& options,
                                     const EpochCallback& on_epoch = {});

}  // namespace recserve

#endif  // RECSERVE_CORE_TRAIN_SGD_TRAINER_H_
