#ifndef RECSERVE_CORE_TRAIN_EARLY_STOPPING_H_
#define RECSERVE_CORE_TRAIN_EARLY_STOPPING_H_

// What the ALS and SGD trainers share: per-epoch progress, early stopping on
// a validation set carved out of the training ratings, and the result.

#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/base/stopwatch.h"  // IWYU pragma: export
#include "core/data/ratings.h"
#include "core/model/mf_model.h"
#include "core/model/user_fold_in.h"

namespace recserve {

struct EpochStats {
  int32_t epoch = 0;        // 1-based
  double train_rmse = 0.0;  // on the ratings the model is fitted to
  double valid_rmse = 0.0;  // NaN when there is no validation set
  double seconds = 0.0;     // elapsed since training started
};

// Called on the training thread after every epoch.
using EpochCallback = std::function<void(const EpochStats&)>;

struct EarlyStoppingOptions {
  // Stop after this many epochs without a validation improvement of more
  // than min_delta. Default 3.
  int32_t patience = 3;
  // Default 1e-4 (RMSE units).
  double min_delta = 1e-4;
};

struct TrainResult {
  MfModel model;  // the best epoch's model (the last one without validation)
  int32_t best_epoch = 0;      // 1-based
  double best_valid_rmse = 0;  // NaN without validation
  std::vector<EpochStats> history;
  double seconds = 0.0;
  // The user-side prior the model was trained under, for request-time
  // fold-in (user_fold_in.h).
  RatingUserPrior user_prior;
};

// Splits `ratings` into a fitting part and a validation part holding about
// `fraction` of them, chosen at random with `seed` (deterministic). Every
// user and item keeps at least one rating in the fitting part where it has
// one, so validation measures generalization rather than cold start.
void CarveValidation(absl::Span<const Rating> ratings, double fraction,
                     uint64_t seed, std::vector<Rating>* fit,
                     std::vector<Rating>* valid);

// Checks what every trainer needs of its input: `fit` is not empty and every
// rating in `fit` and `valid` indexes a user in [0, num_users) and an item
// in [0, num_items). InvalidArgument naming `algo` otherwise.
absl::Status ValidateTrainingRatings(absl::string_view algo, int32_t num_users,
                                     int32_t num_items,
                                     absl::Span<const Rating> fit,
                                     absl::Span<const Rating> valid);

// The model a trainer starts from: zero biases, small random factors (see
// MakeInitialModel), the given scale and the mean of `fit` as μ.
MfModel StartingModel(int32_t num_users, int32_t num_items, int32_t factors,
                      float init_stddev, uint64_t seed,
                      const RatingScale& scale, absl::Span<const Rating> fit);

// The statistics reported after an epoch: RMSE of `model` on `fit` and on
// `valid` (NaN when empty), and the seconds since `start`.
EpochStats MeasureEpoch(int32_t epoch, const MfModel& model,
                        absl::Span<const Rating> fit,
                        absl::Span<const Rating> valid, int32_t threads,
                        std::chrono::steady_clock::time_point start);

// Root-mean-square error of model.PredictAt over `ratings` (each at its own
// timestamp; NaN when empty).
double Rmse(const MfModel& model, absl::Span<const Rating> ratings,
            int32_t threads = 1);

// Mean of the rating values (0 when empty).
float MeanRating(absl::Span<const Rating> ratings);

// Keeps the best model seen so far on the validation set and says when to
// stop. Not thread-safe; used by one trainer loop.
class EarlyStopper {
 public:
  // Whether the epochs are scored on held-out ratings (EpochStats's
  // valid_rmse); without them nothing is compared and the last model wins.
  enum class ValidationSet { kAbsent, kPresent };

  EarlyStopper(const EarlyStoppingOptions& options, ValidationSet validation)
      : options_(options),
        has_validation_(validation == ValidationSet::kPresent) {}

  // Records an epoch; copies `model` when it is the best so far (or always,
  // without validation). Returns true when training should stop.
  bool Update(const EpochStats& stats, const MfModel& model);

  TrainResult Finish(std::vector<EpochStats> history, double seconds) &&;

 private:
  EarlyStoppingOptions options_;
  bool has_validation_;
  MfModel best_;
  int32_t best_epoch_ = 0;
  double best_rmse_ = 0.0;
  int32_t since_best_ = 0;
};

}  // namespace recserve

#endif  // RECSERVE_CORE_TRAIN_EARLY_STOPPING_H_
