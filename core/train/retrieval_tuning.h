#ifndef RECSERVE_CORE_TRAIN_RETRIEVAL_TUNING_H_
#define RECSERVE_CORE_TRAIN_RETRIEVAL_TUNING_H_

// Chooses implicit ALS's settings (implicit_als.h) for implicit feedback on a
// validation split of the training data itself, never on a test split: a
// random share of each user's positive interactions is held out, the model
// is trained on the rest, and settings are compared by full-ranking
// Recall@K over the items each user has not interacted with
// (topn_evaluation.h, every held-out positive relevant).
//
// The search is by coordinates: from the starting options, one setting at a
// time is searched with the others fixed, and the best value is kept before
// the next setting is searched (a value replaces the current one only when
// its recall is higher by more than min_gain, so noise does not trade a
// cheap setting for a costly one). An ordered setting (reg, alpha, epsilon,
// the unobserved weight, the dimension) walks its sorted grid from the
// current value upwards while each step improves, then downwards if going up
// did not (the dimension only upwards); the confidence scale (only when
// strengths vary) and reg_exponent (Rendle et al. 2021: frequency-scaled
// against constant regularization, whichever measures better) try every
// value; a change of scale starts from the alpha that gives the median
// strength the same confidence as before. The order is reg, scale, alpha,
// epsilon (log scale only), the unobserved weight, reg_exponent, the dimension;
// then again for up to `rounds` rounds, until a round changes nothing. Options
// already measured are not trained again. Each trial trains one model on the
// fit part, so the cost is about (number of trials) × (one training on the
// sample).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/data/ratings.h"
#include "core/data/split.h"
#include "core/model/confidence.h"
#include "core/train/implicit_als.h"

namespace recserve {

struct RetrievalTuningOptions {
  // Share of each user's positive interactions (value >= 0) held out for
  // validation, for users with at least 2 of them: round(share · n), at
  // least 1 and at most n − 1. In (0, 1). Default 0.2.
  double holdout_fraction = 0.2;
  // Validation uses the interactions of a random sample of users holding
  // about this many (all of them when there are fewer), to bound the cost
  // on large data. Default 2,000,000. On a sample each item row has fewer
  // users behind it while λ stays the same, so above this size the λ
  // chosen regularizes items more, relative to their data, than it will in
  // the fit on all of it.
  int64_t validation_sample = 2'000'000;
  // Full ranking over at most this many validation users (0: all).
  // Default 3,000.
  int32_t max_users = 3000;
  // K of Recall@K and NDCG@K. Default 10.
  int32_t k = 10;
  // Wall-clock budget in seconds for the whole search (<= 0: none). A trial
  // whose estimated cost (the last trial's time, times the dimension ratio
  // squared) would overrun it is skipped, and the search stops once it is
  // spent; the starting options' trial always runs. Default 600.
  double seconds = 600;
  // A value must beat the current one's recall by this share to replace it.
  // Default 0.005.
  double min_gain = 0.005;
  // Passes over the settings, >= 1. Default 2.
  int32_t rounds = 2;

  // The grids (an empty grid leaves that setting as it starts). Defaults
  // from sweeps on MovieLens 100K read as implicit and on generated
  // Last.fm-shaped play counts (docs/benchmarks.md).
  // Default {linear, log}; tried only when strengths vary.
  std::vector<ConfidenceScale> scale_grid = {ConfidenceScale::kLinear,
                                             ConfidenceScale::kLog};
  // Default {0.1, 0.3, 1, 3, 10}.
  std::vector<float> alpha_grid = {0.1f, 0.3f, 1.0f, 3.0f, 10.0f};
  // Log scale only. Default {0.1, 1, 10}.
  std::vector<float> epsilon_grid = {0.1f, 1.0f, 10.0f};
  // Default {0.03, 0.1, 0.3, 1}.
  std::vector<float> unobserved_weight_grid = {0.03f, 0.1f, 0.3f, 1.0f};
  // Default {1, 3, 10, 30, 100, 300, 1000}.
  std::vector<float> reg_grid = {1.0f,   3.0f,   10.0f,  30.0f,
                                 100.0f, 300.0f, 1000.0f};
  // Default {0, 1}.
  std::vector<float> reg_exponent_grid = {0.0f, 1.0f};
  // Default {32, 64, 128}; a dimension above a quarter of the smaller side
  // of the fit data is skipped.
  std::vector<int32_t> factor_grid = {32, 64, 128};

  // Seeds the sample and the hold-out.
  uint64_t seed = 1;
  // Worker threads for training and evaluation; 0 = all cores.
  int32_t threads = 0;
};

// One trained and scored setting.
struct RetrievalTrial {
  // "start", "scale", "alpha", "epsilon", "unobserved_weight", "reg",
  // "reg_exponent" or "factors".
  std::string setting;
  // Its value (the scale as 0 linear, 1 log; "start": 0).
  double value = 0;
  double recall = 0;   // full-ranking Recall@K on the validation users
  double ndcg = 0;     // and NDCG@K
  double seconds = 0;  // training and scoring
};

struct RetrievalTuningResult {
  // The starting options with the chosen settings.
  ImplicitAlsOptions options;
  // In the order run; the first is the starting options (none when nothing
  // could be held out).
  std::vector<RetrievalTrial> trials;
  // The chosen options' validation figures, and popularity's beside them.
  double recall = 0;
  double ndcg = 0;
  double popularity_recall = 0;
  int64_t validation_users = 0;
  // Whether trials were skipped for the time budget.
  bool out_of_time = false;
  double seconds = 0;
};

// Holds out round(fraction · n) of each user's n positive interactions
// (value >= 0; at least 1, at most n − 1; users with n < 2 hold out none),
// chosen uniformly at random by `seed`. Negative interactions stay in
// training. The split's train keeps `data`'s id maps (not compacted: an item
// held out everywhere keeps its index with no training interaction), test
// uses the same indices. Deterministic for (data, fraction, seed).
TrainTest HoldOutPerUser(const Dataset& data, double fraction, uint64_t seed);

// Runs the search on `data` (the training data) from `start`. When no user
// has 2 positive interactions there is nothing to validate on: the result
// is `start` with no trials. Errors: InvalidArgument for out-of-range
// options (naming the field); TrainImplicitAls's errors.
absl::StatusOr<RetrievalTuningResult> TuneRetrieval(
    const Dataset& data, const ImplicitAlsOptions& start,
    const RetrievalTuningOptions& options);

}  // namespace recserve

#endif  // RECSERVE_CORE_TRAIN_RETRIEVAL_TUNING_H_
