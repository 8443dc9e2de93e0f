#ifndef RECSERVE_CORE_TRAIN_RATING_MODEL_TRAINER_H_
#define RECSERVE_CORE_TRAIN_RATING_MODEL_TRAINER_H_

// One entry point for training the rating model with any algorithm: carves
// a validation set out of the training ratings for early stopping (ALS,
// SGD), trains, and by default refits on all training ratings for the
// number of epochs validation chose, so no training data is wasted.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/data/label_index.h"
#include "core/data/ratings.h"
#include "core/train/als_trainer.h"
#include "core/train/bpmf_trainer.h"
#include "core/train/early_stopping.h"
#include "core/train/sgd_trainer.h"
#include "core/train/training_observer.h"

namespace recserve {

// kAuto picks by the size of the data (ResolveAlgorithm).
enum class Algorithm { kAuto, kBpmf, kAls, kSgd };

// "auto", "bpmf", "als", "sgd"; InvalidArgument naming the choices otherwise.
absl::StatusOr<Algorithm> ParseAlgorithm(absl::string_view name);
absl::string_view AlgorithmName(Algorithm algorithm);

struct RatingTrainingOptions {
  // Default kAuto: BPMF up to bpmf_max_ratings training ratings, ALS above.
  // BPMF infers its own regularization, so it holds up on data nobody tuned
  // it for, but each of its sweeps factorizes a system per row and it needs
  // about a hundred of them; ALS with conjugate-gradient row solves and
  // early stopping trains large data in a fraction of that time, where the
  // data leave little for the prior to add (docs/benchmarks.md).
  Algorithm algorithm = Algorithm::kAuto;
  // Default 2,000,000 (MovieLens 1M trains with BPMF, MovieLens 10M with ALS).
  int64_t bpmf_max_ratings = 2'000'000;
  AlsOptions als;
  SgdOptions sgd;
  BpmfOptions bpmf;
  // Share of the training ratings held out for early stopping (ALS and SGD
  // only; BPMF has nothing to stop). Default 0.05; 0 trains for the full
  // number of epochs.
  double validation_fraction = 0.05;
  // After early stopping, retrain on all training ratings for the chosen
  // number of epochs (ALS: warm_epochs more iterations from the early-
  // stopped model instead). Default true.
  bool refit = true;
  // ALS iterations run from an earlier model: after early stopping (the
  // refit above) and when TrainRatingModel is given a model to start from.
  // The earlier model has converged on most of the same ratings, so a few
  // iterations take it to where a fit from scratch would end. Default 2.
  int32_t warm_epochs = 2;
  // ALS and SGD: choose the regularization on the validation set from
  // `reg_grid` instead of using als.reg / sgd.reg. The right λ scales with
  // the noise-to-signal ratio of the data, so no fixed value holds
  // everywhere (docs/benchmarks.md). Needs
  // validation_fraction > 0. Default true.
  bool tune_reg = true;
  // Candidates, tried in increasing order; the search stops once validation
  // RMSE has risen twice in a row. Default {0.015, 0.03, 0.06, 0.12, 0.24}.
  std::vector<float> reg_grid = {0.015f, 0.03f, 0.06f, 0.12f, 0.24f};
  // ALS and SGD, with tune_reg: also choose the number of factors from this
  // grid (each with its own λ search). A MAP model with more factors than the
  // data supports fits noise in the spare ones, so the right number depends
  // on the data too. Empty keeps als.factors / sgd.factors. Default
  // {4, 16, 64}.
  std::vector<int32_t> factor_grid = {4, 16, 64};
  // ALS with tune_reg: walk each factor count's λ grid as a regularization
  // path, each λ's fit starting from the previous λ's model, which stops
  // early sooner. It saves time on large data; on small data a cold start
  // per λ keeps the choice independent of the grid's order. Default true.
  bool regularization_path = true;
  // Tuning runs on the ratings of a random sample of users holding about
  // this many fitting ratings, to bound its cost on large data. Default
  // 2,000,000.
  int64_t tuning_sample = 2'000'000;
  uint64_t seed = 1;
  // The items' labels (the pipeline gives their genres) and the users'
  // labels, for the models that use them (BPMF with bpmf.item_labels /
  // bpmf.user_labels), looked up by id in whatever data is trained; shared,
  // not copied, by the copies of these options. Null: none.
  std::shared_ptr<const LabelIndex> item_labels;
  std::shared_ptr<const LabelIndex> user_labels;
};

struct RegTrial {
  int32_t factors = 0;
  float reg = 0;
  double validation_rmse = 0;
  int32_t epochs = 0;
};

struct RatingTrainingResult {
  // The algorithm that trained the model (never kAuto).
  Algorithm algorithm = Algorithm::kBpmf;
  TrainResult train;          // the final model and its history
  int32_t chosen_epochs = 0;  // epochs validation chose (or ran)
  // Whether the fit started from a given model (TrainRatingModel's `from`):
  // chosen_epochs then counts from it, not from scratch.
  bool warm_started = false;
  double validation_rmse = 0;  // best validation RMSE; NaN without validation
  int64_t validation_ratings = 0;
  bool refitted = false;
  // The factors and regularization used, and every candidate tried when
  // tuning.
  int32_t factors = 0;
  float reg = 0;
  std::vector<RegTrial> reg_trials;
};

// Uses `factors` for every algorithm instead of choosing it on validation.
void SetFactors(int32_t factors, RatingTrainingOptions* options);

// Uses λ = `reg` for ALS and SGD instead of choosing it on validation (BPMF
// infers its own).
void SetRegularization(float reg, RatingTrainingOptions* options);

// Sets the seed and worker threads (0 = all cores) of every algorithm.
void SetSeedAndThreads(uint64_t seed, int32_t threads,
                       RatingTrainingOptions* options);

// Sets the maximum epochs of every algorithm: ALS iterations, SGD epochs and
// BPMF sweeps, with BPMF's burn-in clamped to at most half the sweeps.
void SetMaxEpochs(int32_t epochs, RatingTrainingOptions* options);

// The algorithm `options` asks for on `ratings` training ratings: kAuto
// resolved by bpmf_max_ratings, any other returned as it is.
Algorithm ResolveAlgorithm(const RatingTrainingOptions& options,
                           int64_t ratings);

// Trains a rating model on `train` (all its ratings).
// `from`, when not null, is where ALS starts instead of random factors (a
// model of `train`'s shape, or of part of it with its users and items the
// leading rows: warm_start.h): with early stopping (validation_fraction >
// 0) the fit runs from it, without, warm_epochs iterations on every rating
// (the refit of a model trained on most of them). BPMF and SGD train as
// without it. Errors: those of the chosen trainer (InvalidArgument for bad
// options, no ratings, or a `from` whose shape does not fit).
absl::StatusOr<RatingTrainingResult> TrainRatingModel(
    const Dataset& train, const RatingTrainingOptions& options,
    const TrainingObserver& observer = {}, const MfModel* from = nullptr);

}  // namespace recserve

#endif  // RECSERVE_CORE_TRAIN_RATING_MODEL_TRAINER_H_
