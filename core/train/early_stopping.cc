#include "core/train/early_stopping.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "absl/strings/str_cat.h"
#include "core/base/parallel_for.h"

namespace recserve {

void CarveValidation(absl::Span<const Rating> ratings, double fraction,
                     uint64_t seed, std::vector<Rating>* fit,
                     std::vector<Rating>* valid) {
  fit->clear();
  valid->clear();
  const int64_t target = static_cast<int64_t>(
      std::llround(std::clamp(fraction, 0.0, 1.0) * ratings.size()));
  int32_t max_user = -1, max_item = -1;
  for (const Rating& r : ratings) {
    max_user = std::max(max_user, r.user);
    max_item = std::max(max_item, r.item);
  }
  std::vector<int32_t> user_left(max_user + 1, 0), item_left(max_item + 1, 0);
  for (const Rating& r : ratings) {
    ++user_left[r.user];
    ++item_left[r.item];
  }
  std::vector<int64_t> order(ratings.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<char> in_valid(ratings.size(), 0);
  int64_t taken = 0;
  for (int64_t idx : order) {
    if (taken >= target) break;
    const Rating& r = ratings[idx];
    if (user_left[r.user] > 1 && item_left[r.item] > 1) {
      --user_left[r.user];
      --item_left[r.item];
      in_valid[idx] = 1;
      ++taken;
    }
  }
  fit->reserve(ratings.size() - taken);
  valid->reserve(taken);
  for (size_t i = 0; i < ratings.size(); ++i) {
    (in_valid[i] ? valid : fit)->push_back(ratings[i]);
  }
}

absl::Status ValidateTrainingRatings(absl::string_view algo, int32_t num_users,
                                     int32_t num_items,
                                     absl::Span<const Rating> fit,
                                     absl::Span<const Rating> valid) {
  if (fit.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(algo, ": no training ratings"));
  }
  for (absl::Span<const Rating> ratings : {fit, valid}) {
    for (const Rating& r : ratings) {
      if (r.user < 0 || r.user >= num_users || r.item < 0 ||
          r.item >= num_items) {
        return absl::InvalidArgumentError(
            absl::StrCat(algo, ": a rating refers to user index ", r.user,
                         " or item index ", r.item, " outside the ", num_users,
                         " users and ", num_items, " items"));
      }
    }
  }
  return absl::OkStatus();
}

MfModel StartingModel(int32_t num_users, int32_t num_items, int32_t factors,
                      float init_stddev, uint64_t seed,
                      const RatingScale& scale, absl::Span<const Rating> fit) {
  MfModel model =
      MakeInitialModel(num_users, num_items, factors, init_stddev, seed);
  model.scale = scale;
  model.global_mean = MeanRating(fit);
  return model;
}

EpochStats MeasureEpoch(int32_t epoch, const MfModel& model,
                        absl::Span<const Rating> fit,
                        absl::Span<const Rating> valid, int32_t threads,
                        std::chrono::steady_clock::time_point start) {
  EpochStats stats;
  stats.epoch = epoch;
  stats.train_rmse = Rmse(model, fit, threads);
  stats.valid_rmse = Rmse(model, valid, threads);
  stats.seconds = SecondsSince(start);
  return stats;
}

double Rmse(const MfModel& model, absl::Span<const Rating> ratings,
            int32_t threads) {
  if (ratings.empty()) return std::numeric_limits<double>::quiet_NaN();
  // One partial sum per fixed chunk, added in chunk order, so the result
  // (which early stopping acts on) does not depend on thread scheduling.
  constexpr int64_t kChunk = 1 << 14;
  const int64_t n = static_cast<int64_t>(ratings.size());
  std::vector<double> partial((n + kChunk - 1) / kChunk, 0.0);
  ParallelFor(
      n, threads,
      [&](int64_t begin, int64_t end, int32_t) {
        double sum = 0.0;
        for (int64_t i = begin; i < end; ++i) {
          const Rating& r = ratings[i];
          const double e =
              r.value - model.PredictAt(r.user, r.item, r.timestamp);
          sum += e * e;
        }
        partial[begin / kChunk] = sum;
      },
      kChunk);
  const double sse = std::accumulate(partial.begin(), partial.end(), 0.0);
  return std::sqrt(sse / ratings.size());
}

float MeanRating(absl::Span<const Rating> ratings) {
  if (ratings.empty()) return 0.0f;
  double sum = 0.0;
  for (const Rating& r : ratings) sum += r.value;
  return static_cast<float>(sum / ratings.size());
}

bool EarlyStopper::Update(const EpochStats& stats, const MfModel& model) {
  if (!has_validation_) {
    best_ = model;
    best_epoch_ = stats.epoch;
    best_rmse_ = stats.valid_rmse;
    return false;
  }
  if (best_epoch_ == 0 || stats.valid_rmse < best_rmse_ - options_.min_delta) {
    best_ = model;
    best_epoch_ = stats.epoch;
    best_rmse_ = stats.valid_rmse;
    since_best_ = 0;
    return false;
  }
  return ++since_best_ >= options_.patience;
}

TrainResult EarlyStopper::Finish(std::vector<EpochStats> history,
                                 double seconds) && {
  TrainResult result;
  result.model = std::move(best_);
  result.best_epoch = best_epoch_;
  result.best_valid_rmse =
      has_validation_ ? best_rmse_ : std::numeric_limits<double>::quiet_NaN();
  result.history = std::move(history);
  result.seconds = seconds;
  return result;
}

}  // namespace recserve
