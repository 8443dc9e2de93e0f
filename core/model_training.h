#ifndef RECSERVE_CORE_MODEL_TRAINING_H_
#define RECSERVE_CORE_MODEL_TRAINING_H_

// One entry point for training the rating model with any algorithm: carves
// a validation set out of the training ratings for early stopping (ALS,
// SGD), trains, and by default refits on all training ratings for the
// number of epochs validation chose, so no training data is wasted.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/als_trainer.h"
#include "core/bpmf_trainer.h"
#include "core/mf_training.h"
#include "core/ratings.h"
#include "core/sgd_trainer.h"

namespace recserve {

enum class Algorithm { kBpmf, kAls, kSgd };

// "bpmf", "als", "sgd"; InvalidArgument naming the choices otherwise.
absl::StatusOr<Algorithm> ParseAlgorithm(absl::string_view name);
absl::string_view AlgorithmName(Algorithm algorithm);

struct ModelTrainingOptions {
  // Default kBpmf: it infers its own regularization, so it holds up on data
  // nobody tuned it for.
  Algorithm algorithm = Algorithm::kBpmf;
  AlsOptions als;
  SgdOptions sgd;
  BpmfOptions bpmf;
  // Share of the training ratings held out for early stopping (ALS and SGD
  // only; BPMF has nothing to stop). Default 0.05; 0 trains for the full
  // number of epochs.
  double validation_fraction = 0.05;
  // After early stopping, retrain on all training ratings for the chosen
  // number of epochs. Default true.
  bool refit = true;
  uint64_t seed = 1;
};

struct ModelTrainingResult {
  TrainResult train;           // the final model and its history
  int32_t chosen_epochs = 0;   // epochs validation chose (or ran)
  double validation_rmse = 0;  // best validation RMSE; NaN without validation
  int64_t validation_ratings = 0;
  bool refitted = false;
};

// Called before each phase ("fit", "refit") and after every epoch.
struct TrainingObserver {
  std::function<void(absl::string_view phase)> on_phase;
  EpochCallback on_epoch;
};

// Trains a rating model on `train` (all its ratings). Errors: those of the
// chosen trainer (InvalidArgument for bad options or no ratings).
absl::StatusOr<ModelTrainingResult> TrainRatingModel(
    const Dataset& train, const ModelTrainingOptions& options,
    const TrainingObserver& observer = {});

}  // namespace recserve

#endif  // RECSERVE_CORE_MODEL_TRAINING_H_
