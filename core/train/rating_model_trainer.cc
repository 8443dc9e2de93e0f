#include "core/train/rating_model_trainer.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/types/optional.h"
#include "core/base/status_macros.h"
#include "core/data/user_sample.h"

namespace recserve {
namespace {

absl::StatusOr<TrainResult> RunTrainer(
    const Dataset& train, absl::Span<const Rating> fit,
    absl::Span<const Rating> valid, const RatingScale& scale,
    const RatingTrainingOptions& options, int32_t epochs,
    const EpochCallback& on_epoch, const MfModel* from = nullptr) {
  switch (options.algorithm) {
    case Algorithm::kAls: {
      AlsOptions als = options.als;
      if (epochs > 0) als.max_iterations = epochs;
      return TrainAls(train.num_users(), train.num_items(), fit, valid, scale,
                      als, on_epoch, from);
    }
    case Algorithm::kSgd: {
      SgdOptions sgd = options.sgd;
      if (epochs > 0) sgd.max_epochs = epochs;
      return TrainSgd(train.num_users(), train.num_items(), fit, valid, scale,
                      sgd, on_epoch);
    }
    case Algorithm::kBpmf: {
      std::vector<std::vector<int32_t>> user_labels, item_labels;
      if (options.user_labels != nullptr && options.bpmf.user_labels) {
        user_labels = options.user_labels->ForIds(train.users);
      }
      if (options.item_labels != nullptr && options.bpmf.item_labels) {
        item_labels = options.item_labels->ForIds(train.items);
      }
      return TrainBpmf(train.num_users(), train.num_items(), fit, valid, scale,
                       options.bpmf, on_epoch,
                       BpmfLabels{.users = user_labels, .items = item_labels});
    }
    case Algorithm::kAuto:
      break;
  }
  return absl::InternalError("the algorithm was not resolved");
}

float RegOf(const RatingTrainingOptions& options) {
  return options.algorithm == Algorithm::kAls ? options.als.reg
                                              : options.sgd.reg;
}

int32_t FactorsOf(const RatingTrainingOptions& options) {
  switch (options.algorithm) {
    case Algorithm::kAls:
      return options.als.factors;
    case Algorithm::kSgd:
      return options.sgd.factors;
    case Algorithm::kBpmf:
      return options.bpmf.factors;
    case Algorithm::kAuto:
      break;
  }
  return 0;
}

RatingTrainingOptions WithFactorsAndReg(RatingTrainingOptions options,
                                        int32_t factors, float reg) {
  options.als.factors = options.sgd.factors = factors;
  options.als.reg = options.sgd.reg = reg;
  return options;
}

struct Tuning {
  std::vector<RegTrial> trials;
  size_t best = 0;  // index into trials
  // The best candidate's model, when tuning saw all the fitting ratings (so
  // the fit phase need not run again).
  absl::optional<TrainResult> best_full;
};

// For every factor count (options.factor_grid, or the configured one), tries
// options.reg_grid in increasing order with early stopping on `valid`, moving
// on once the RMSE has risen twice in a row.
absl::StatusOr<Tuning> TuneReg(const Dataset& train,
                               absl::Span<const Rating> fit,
                               absl::Span<const Rating> valid,
                               const RatingScale& scale,
                               const RatingTrainingOptions& options,
                               const TrainingObserver& observer) {
  const double share = static_cast<double>(options.tuning_sample) /
                       std::max<size_t>(1, fit.size());
  const bool sampled = share < 1.0;
  std::vector<Rating> tune_fit, tune_valid;
  if (sampled) {
    tune_fit = SampleUsers(fit, share, options.seed + 1);
    tune_valid = SampleUsers(valid, share, options.seed + 1);
  }
  const std::vector<int32_t> factor_grid =
      options.factor_grid.empty() ? std::vector<int32_t>{FactorsOf(options)}
                                  : options.factor_grid;
  Tuning tuning;
  for (const int32_t factors : factor_grid) {
    int rises = 0;
    double previous = std::numeric_limits<double>::infinity();
    // ALS walks the λ grid from the previous λ's model (a regularization
    // path): each trial starts near its optimum and stops early sooner.
    absl::optional<MfModel> path;
    for (const float reg : options.reg_grid) {
      observer.Phase({TrainingPhase::kRatingTuning, factors, reg});
      ASSIGN_OR_RETURN(
          TrainResult trial,
          RunTrainer(train, sampled ? absl::MakeConstSpan(tune_fit) : fit,
                     sampled ? absl::MakeConstSpan(tune_valid) : valid, scale,
                     WithFactorsAndReg(options, factors, reg), 0,
                     observer.on_epoch, path ? &*path : nullptr));
      if (options.algorithm == Algorithm::kAls && options.regularization_path) {
        path = trial.model;
      }
      rises = trial.best_valid_rmse >= previous ? rises + 1 : 0;
      previous = trial.best_valid_rmse;
      tuning.trials.push_back(
          {factors, reg, trial.best_valid_rmse, trial.best_epoch});
      if (trial.best_valid_rmse <= tuning.trials[tuning.best].validation_rmse) {
        tuning.best = tuning.trials.size() - 1;
        if (!sampled) tuning.best_full = std::move(trial);
      }
      if (rises >= 2) break;
    }
  }
  return tuning;
}

}  // namespace

absl::StatusOr<Algorithm> ParseAlgorithm(absl::string_view name) {
  if (name == "auto") return Algorithm::kAuto;
  if (name == "bpmf") return Algorithm::kBpmf;
  if (name == "als") return Algorithm::kAls;
  if (name == "sgd") return Algorithm::kSgd;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown algorithm '", name, "'; choose auto, bpmf, als or sgd"));
}

absl::string_view AlgorithmName(Algorithm algorithm) {
  switch (algorithm) {
    case Algorithm::kAuto:
      return "auto";
    case Algorithm::kBpmf:
      return "bpmf";
    case Algorithm::kAls:
      return "als";
    case Algorithm::kSgd:
      return "sgd";
  }
  return "unknown";
}

void SetFactors(int32_t factors, RatingTrainingOptions* options) {
  options->als.factors = options->sgd.factors = options->bpmf.factors = factors;
  options->factor_grid.clear();
}

void SetRegularization(float reg, RatingTrainingOptions* options) {
  options->als.reg = options->sgd.reg = reg;
  options->tune_reg = false;
}

void SetSeedAndThreads(uint64_t seed, int32_t threads,
                       RatingTrainingOptions* options) {
  options->seed = options->als.seed = options->sgd.seed = options->bpmf.seed =
      seed;
  options->als.threads = options->sgd.threads = options->bpmf.threads = threads;
}

void SetMaxEpochs(int32_t epochs, RatingTrainingOptions* options) {
  options->als.max_iterations = epochs;
  options->sgd.max_epochs = epochs;
  options->bpmf.sweeps = epochs;
  options->bpmf.burn_in = std::min(options->bpmf.burn_in, epochs / 2);
}

Algorithm ResolveAlgorithm(const RatingTrainingOptions& options,
                           int64_t ratings) {
  if (options.algorithm != Algorithm::kAuto) return options.algorithm;
  return ratings <= options.bpmf_max_ratings ? Algorithm::kBpmf
                                             : Algorithm::kAls;
}

absl::StatusOr<RatingTrainingResult> TrainRatingModel(
    const Dataset& train, const RatingTrainingOptions& requested,
    const TrainingObserver& observer, const MfModel* from) {
  const auto start = std::chrono::steady_clock::now();
  const auto elapsed = [&start] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         start)
        .count();
  };
  if (!(requested.validation_fraction >= 0 &&
        requested.validation_fraction < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("validation_fraction must be in [0, 1), got ",
                     requested.validation_fraction));
  }
  if (requested.warm_epochs < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "warm_epochs must be at least 1, got ", requested.warm_epochs));
  }
  RatingTrainingOptions options = requested;
  options.algorithm =
      ResolveAlgorithm(requested, static_cast<int64_t>(train.ratings.size()));
  const RatingScale scale = InferRatingScale(train.ratings);
  RatingTrainingResult result;
  result.algorithm = options.algorithm;
  result.validation_rmse = std::numeric_limits<double>::quiet_NaN();
  const bool early_stopping =
      options.algorithm != Algorithm::kBpmf && options.validation_fraction > 0;
  if (from != nullptr && options.algorithm == Algorithm::kAls &&
      !early_stopping) {
    observer.Phase({TrainingPhase::kRatingRefit});
    result.reg = RegOf(options);
    result.factors = FactorsOf(options);
    ASSIGN_OR_RETURN(result.train,
                     RunTrainer(train, train.ratings, {}, scale, options,
                                options.warm_epochs, observer.on_epoch, from));
    result.chosen_epochs = result.train.best_epoch;
    result.warm_started = true;
    result.train.seconds = elapsed();
    result.refitted = true;
    return result;
  }
  if (!early_stopping) {
    observer.Phase({TrainingPhase::kRatingFit});
    result.reg = RegOf(options);
    result.factors = FactorsOf(options);
    ASSIGN_OR_RETURN(result.train, RunTrainer(train, train.ratings, {}, scale,
                                              options, 0, observer.on_epoch));
    result.chosen_epochs = result.train.best_epoch;
    result.train.seconds = elapsed();
    return result;
  }
  std::vector<Rating> fit, valid;
  CarveValidation(train.ratings, options.validation_fraction, options.seed,
                  &fit, &valid);
  result.validation_ratings = static_cast<int64_t>(valid.size());
  RatingTrainingOptions chosen = options;
  absl::optional<TrainResult> fitted;
  if (options.tune_reg && !options.reg_grid.empty() && !valid.empty()) {
    ASSIGN_OR_RETURN(Tuning tuning,
                     TuneReg(train, fit, valid, scale, options, observer));
    const RegTrial& best = tuning.trials[tuning.best];
    chosen = WithFactorsAndReg(options, best.factors, best.reg);
    result.reg_trials = tuning.trials;
    fitted = std::move(tuning.best_full);
  }
  result.reg = RegOf(chosen);
  result.factors = FactorsOf(chosen);
  if (!fitted) {
    observer.Phase({TrainingPhase::kRatingFit});
    ASSIGN_OR_RETURN(fitted, RunTrainer(train, fit, valid, scale, chosen, 0,
                                        observer.on_epoch, from));
    result.warm_started =
        from != nullptr && chosen.algorithm == Algorithm::kAls;
  }
  result.train = *std::move(fitted);
  result.chosen_epochs = result.train.best_epoch;
  result.validation_rmse = result.train.best_valid_rmse;
  if (!options.refit || valid.empty()) {
    result.train.seconds = elapsed();
    return result;
  }
  observer.Phase({TrainingPhase::kRatingRefit});
  // ALS goes on from the early-stopped model; the others start over for the
  // chosen number of epochs (SGD's learning-rate schedule and BPMF's chain
  // have no warm start).
  const bool warm = chosen.algorithm == Algorithm::kAls;
  ASSIGN_OR_RETURN(
      TrainResult refit,
      RunTrainer(train, train.ratings, {}, scale, chosen,
                 warm ? options.warm_epochs : result.chosen_epochs,
                 observer.on_epoch, warm ? &result.train.model : nullptr));
  refit.best_valid_rmse = result.validation_rmse;
  result.train = std::move(refit);
  result.train.seconds = elapsed();
  result.refitted = true;
  return result;
}

}  // namespace recserve
