#include "core/train/sgd_trainer.h"

#include <chrono>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "core/base/status_macros.h"

namespace recserve {
namespace {

absl::Status ValidateOptions(const SgdOptions& o) {
  if (o.factors < 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("sgd: factors must be >= 1, got %d", o.factors));
  }
  if (o.max_epochs < 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("sgd: epochs must be >= 1, got %d", o.max_epochs));
  }
  if (!(o.learning_rate > 0) || !std::isfinite(o.learning_rate)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("sgd: learning_rate must be a positive number, got %g",
                        o.learning_rate));
  }
  if (!(o.reg >= 0) || !(o.bias_reg >= 0) || !std::isfinite(o.reg) ||
      !std::isfinite(o.bias_reg)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "sgd: reg must be >= 0, got %g (bias %g)", o.reg, o.bias_reg));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TrainResult> TrainSgd(int32_t num_users, int32_t num_items,
                                     absl::Span<const Rating> fit,
                                     absl::Span<const Rating> valid,
                                     const RatingScale& scale,
                                     const SgdOptions& options,
                                     const EpochCallback& on_epoch) {
  RETURN_IF_ERROR(ValidateOptions(options));
  RETURN_IF_ERROR(
      ValidateTrainingRatings("sgd", num_users, num_items, fit, valid));
  const auto start = std::chrono::steady_clock::now();
  MfModel model = StartingModel(num_users, num_items, options.factors,
                                options.init_stddev, options.seed, scale, fit);

  // Shuffling a copy of the ratings, rather than an index array, keeps each
  // step's reads sequential in the rating array.
  std::vector<Rating> order(fit.begin(), fit.end());
  std::mt19937_64 rng(options.seed ^ 0x9e3779b97f4a7c15ull);
  const int32_t k = options.factors;
  float lr = options.learning_rate;
  const float reg = options.reg;
  const float bias_reg = options.bias_reg;
  const float mu = model.global_mean;
  float* user_factors = model.user_factors.data();
  float* item_factors = model.item_factors.data();
  float* user_bias = model.user_bias.data();
  float* item_bias = model.item_bias.data();

  EarlyStopper stopper(options.early_stopping,
                       valid.empty() ? EarlyStopper::ValidationSet::kAbsent
                                     : EarlyStopper::ValidationSet::kPresent);
  std::vector<EpochStats> history;
  for (int32_t epoch = 1; epoch <= options.max_epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    for (const Rating& r : order) {
      float* p = user_factors + static_cast<int64_t>(r.user) * k;
      float* q = item_factors + static_cast<int64_t>(r.item) * k;
      float dot = 0.0f;
      for (int32_t d = 0; d < k; ++d) dot += p[d] * q[d];
      const float err =
          r.value - (mu + user_bias[r.user] + item_bias[r.item] + dot);
      user_bias[r.user] += lr * (err - bias_reg * user_bias[r.user]);
      item_bias[r.item] += lr * (err - bias_reg * item_bias[r.item]);
      for (int32_t d = 0; d < k; ++d) {
        const float pd = p[d];
        const float qd = q[d];
        p[d] += lr * (err * qd - reg * pd);
        q[d] += lr * (err * pd - reg * qd);
      }
    }
    lr *= options.learning_rate_decay;
    const EpochStats stats =
        MeasureEpoch(epoch, model, fit, valid, options.threads, start);
    history.push_back(stats);
    if (on_epoch) on_epoch(stats);
    if (stopper.Update(stats, model)) break;
  }
  const double seconds = SecondsSince(start);
  // Each SGD step penalizes reg |p|² per rating: n·reg over a user's n.
  TrainResult result = std::move(stopper).Finish(std::move(history), seconds);
  result.user_prior =
      RatingUserPrior::Ridge(options.factors, options.reg, options.bias_reg);
  return result;
}

}  // namespace recserve
