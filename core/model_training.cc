#include "core/model_training.h"

#include <limits>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace recserve {
namespace {

absl::StatusOr<TrainResult> RunTrainer(const Dataset& train,
                                       absl::Span<const Rating> fit,
                                       absl::Span<const Rating> valid,
                                       const RatingScale& scale,
                                       const ModelTrainingOptions& options,
                                       int32_t epochs,
                                       const EpochCallback& on_epoch) {
  switch (options.algorithm) {
    case Algorithm::kAls: {
      AlsOptions als = options.als;
      if (epochs > 0) als.max_iterations = epochs;
      return TrainAls(train.num_users(), train.num_items(), fit, valid, scale,
                      als, on_epoch);
    }
    case Algorithm::kSgd: {
      SgdOptions sgd = options.sgd;
      if (epochs > 0) sgd.max_epochs = epochs;
      return TrainSgd(train.num_users(), train.num_items(), fit, valid, scale,
                      sgd, on_epoch);
    }
    case Algorithm::kBpmf:
      return TrainBpmf(train.num_users(), train.num_items(), fit, valid, scale,
                       options.bpmf, on_epoch);
  }
  return absl::InternalError("unknown algorithm");
}

}  // namespace

absl::StatusOr<Algorithm> ParseAlgorithm(absl::string_view name) {
  if (name == "bpmf") return Algorithm::kBpmf;
  if (name == "als") return Algorithm::kAls;
  if (name == "sgd") return Algorithm::kSgd;
  return absl::InvalidArgumentError(absl::StrCat(
      "--algo: unknown algorithm '", name, "'; choose bpmf, als or sgd"));
}

absl::string_view AlgorithmName(Algorithm algorithm) {
  switch (algorithm) {
    case Algorithm::kBpmf:
      return "bpmf";
    case Algorithm::kAls:
      return "als";
    case Algorithm::kSgd:
      return "sgd";
  }
  return "unknown";
}

absl::StatusOr<ModelTrainingResult> TrainRatingModel(
    const Dataset& train, const ModelTrainingOptions& options,
    const TrainingObserver& observer) {
  const RatingScale scale = InferRatingScale(train.ratings);
  const bool early_stopping =
      options.algorithm != Algorithm::kBpmf && options.validation_fraction > 0;
  ModelTrainingResult result;
  result.validation_rmse = std::numeric_limits<double>::quiet_NaN();
  if (!early_stopping) {
    if (observer.on_phase) observer.on_phase("fit");
    ASSIGN_OR_RETURN(result.train, RunTrainer(train, train.ratings, {}, scale,
                                              options, 0, observer.on_epoch));
    result.chosen_epochs = result.train.best_epoch;
    return result;
  }
  std::vector<Rating> fit, valid;
  CarveValidation(train.ratings, options.validation_fraction, options.seed,
                  &fit, &valid);
  result.validation_ratings = static_cast<int64_t>(valid.size());
  if (observer.on_phase) observer.on_phase("fit");
  ASSIGN_OR_RETURN(result.train, RunTrainer(train, fit, valid, scale, options,
                                            0, observer.on_epoch));
  result.chosen_epochs = result.train.best_epoch;
  result.validation_rmse = result.train.best_valid_rmse;
  if (!options.refit || valid.empty()) return result;
  if (observer.on_phase) observer.on_phase("refit");
  ASSIGN_OR_RETURN(TrainResult refit,
                   RunTrainer(train, train.ratings, {}, scale, options,
                              result.chosen_epochs, observer.on_epoch));
  refit.best_valid_rmse = result.validation_rmse;
  refit.seconds += result.train.seconds;
  result.train = std::move(refit);
  result.refitted = true;
  return result;
}

}  // namespace recserve
