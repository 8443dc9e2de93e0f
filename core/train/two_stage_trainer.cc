#include "core/train/two_stage_trainer.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/data/sparse_ratings.h"
#include "core/data/split.h"
#include "core/data/user_sample.h"
#include "core/model/item_scorer.h"
#include "core/train/early_stopping.h"

namespace recserve {
namespace {

// The ratings of a random sample of users holding about `keep` ratings (all
// of them when there are fewer), with the same id maps.
Dataset SampleUsersOf(const Dataset& data, int64_t keep, uint64_t seed) {
  if (static_cast<int64_t>(data.ratings.size()) <= keep) return data;
  Dataset out;
  out.users = data.users;
  out.items = data.items;
  out.ratings = SampleUsers(
      data.ratings, static_cast<double>(keep) / data.ratings.size(), seed);
  return out;
}

struct Validation {
  float retrieval_reg = 0;
  std::vector<RetrievalRegTrial> reg_trials;
  std::vector<BlendTrial> blend_trials;
};

// Trains the retrieval model on `fit` for every regularization of the grid
// and keeps the one whose own ranking is best (a single value is trained
// without being scored).
absl::StatusOr<RetrievalModel> ChooseRetrievalReg(
    const TrainTest& split, const TwoStageTrainingOptions& options,
    Validation* validation) {
  const Dataset& fit = split.train;
  std::vector<float> grid = options.retrieval_reg_grid;
  if (grid.empty()) grid = {options.retrieval.reg};
  std::optional<RetrievalModel> best;
  double best_ndcg = -1;
  for (const float reg : grid) {
    ImplicitAlsOptions o = options.retrieval;
    o.reg = reg;
    ASSIGN_OR_RETURN(
        RetrievalModel model,
        TrainImplicitAls(fit.num_users(), fit.num_items(), fit.ratings, o));
    if (grid.size() == 1) {
      validation->retrieval_reg = reg;
      return model;
    }
    const EmbeddingScorer scorer(model.user_factors, model.item_factors);
    const TopNMetrics m =
        EvaluateTopN(scorer, fit, split.test, options.validation);
    validation->reg_trials.push_back({reg, m.loo_hr, m.loo_ndcg});
    if (m.loo_ndcg > best_ndcg) {
      best_ndcg = m.loo_ndcg;
      validation->retrieval_reg = reg;
      best = std::move(model);
    }
  }
  return std::move(*best);
}

// Trains both models on `fit` and scores every pool size and weight of the
// grid with the chosen retrieval model.
absl::Status Validate(const TrainTest& split,
                      const TwoStageTrainingOptions& options,
                      Validation* validation) {
  const Dataset& fit = split.train;
  ASSIGN_OR_RETURN(RatingTrainingResult rating,
                   TrainRatingModel(fit, options.rating));
  ASSIGN_OR_RETURN(RetrievalModel retrieval,
                   ChooseRetrievalReg(split, options, validation));
  const EmbeddingScorer retrieval_scorer(retrieval.user_factors,
                                         retrieval.item_factors);
  const SparseRatings seen =
      GroupRatings(fit.ratings, fit.num_users(), RatingAxis::kUser);
  const std::vector<int32_t> pools =
      options.candidate_grid.empty()
          ? std::vector<int32_t>{options.ranking.candidates}
          : options.candidate_grid;
  for (const int32_t candidates : pools) {
    for (const float weight : options.blend_grid) {
      const TwoStageScorer scorer(retrieval_scorer, rating.train.model, seen,
                                  {candidates, weight});
      const TopNMetrics m =
          EvaluateTopN(scorer, fit, split.test, options.validation);
      validation->blend_trials.push_back(
          {candidates, weight, m.loo_hr, m.loo_ndcg});
    }
  }
  return absl::OkStatus();
}

absl::Status CheckOptions(const TwoStageTrainingOptions& options) {
  if (!options.train_rating && !options.train_retrieval) {
    return absl::InvalidArgumentError(
        "train_rating false needs train_retrieval: without a rating model "
        "the retrieval model ranks alone");
  }
  for (const float reg : options.retrieval_reg_grid) {
    if (!(reg > 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("retrieval reg must be > 0, got ", reg));
    }
  }
  // A pool smaller than K would be evaluated differently from how it is
  // served: the server widens the pool to the items asked for.
  std::vector<int32_t> pools = options.candidate_grid;
  pools.push_back(options.ranking.candidates);
  const int32_t min_pool = std::max(1, options.validation.k);
  for (const int32_t c : pools) {
    if (c < min_pool) {
      return absl::InvalidArgumentError(
          absl::StrCat("candidates must be at least ", min_pool,
                       " (the top-N metrics' K, and 1), got ", c));
    }
  }
  std::vector<float> weights = options.blend_grid;
  weights.push_back(options.ranking.blend_weight);
  for (const float w : weights) {
    if (!(w >= 0 && w <= 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat("blend_weight must be in [0, 1], got ", w));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TwoStageTrainingResult> TrainTwoStage(
    const Dataset& train, const TwoStageTrainingOptions& options,
    const TrainingObserver& observer) {
  RETURN_IF_ERROR(CheckOptions(options));
  const auto start = std::chrono::steady_clock::now();
  TwoStageTrainingResult result;
  result.ranking = options.ranking;
  result.retrieval_options = options.retrieval;
  result.rating_trained = options.train_rating;
  if (!options.train_rating) {
    if (options.tune_retrieval) {
      observer.Phase({TrainingPhase::kRankingValidation});
      RetrievalTuningOptions tuning = options.retrieval_tuning;
      tuning.seed = options.rating.seed;
      tuning.threads = options.validation.threads;
      ASSIGN_OR_RETURN(RetrievalTuningResult tuned,
                       TuneRetrieval(train, options.retrieval, tuning));
      result.retrieval_options = tuned.options;
      result.retrieval_trials = std::move(tuned.trials);
      result.retrieval_validation_recall = tuned.recall;
      result.popularity_validation_recall = tuned.popularity_recall;
      result.retrieval_tuning_out_of_time = tuned.out_of_time;
    }
  } else if (options.train_retrieval && options.tune_blend &&
             !options.blend_grid.empty()) {
    observer.Phase({TrainingPhase::kRankingValidation});
    const Dataset sample = SampleUsersOf(train, options.validation_sample,
                                         options.rating.seed + 7);
    ASSIGN_OR_RETURN(
        TrainTest split,
        SplitDataset(sample, SplitSpec{SplitSpec::Kind::kLeaveOneOut},
                     options.rating.seed));
    Validation validation;
    RETURN_IF_ERROR(Validate(split, options, &validation));
    result.retrieval_options.reg = validation.retrieval_reg;
    result.retrieval_reg_trials = std::move(validation.reg_trials);
    result.blend_trials = std::move(validation.blend_trials);
    // Among the trials within 0.5% of the best (validation noise), the
    // smallest pool (cheaper to serve), then the smallest retrieval weight
    // (leave-one-out rewards what users rate next, not what they like; the
    // rating model brings the latter).
    double top = 0;
    for (const BlendTrial& t : result.blend_trials) top = std::max(top, t.ndcg);
    const BlendTrial* best = nullptr;
    for (const BlendTrial& t : result.blend_trials) {
      if (t.ndcg < top * 0.995) continue;
      if (best == nullptr || t.candidates < best->candidates ||
          (t.candidates == best->candidates &&
           t.blend_weight < best->blend_weight)) {
        best = &t;
      }
    }
    result.ranking.candidates = best->candidates;
    result.ranking.blend_weight = best->blend_weight;
  }
  if (options.train_rating) {
    ASSIGN_OR_RETURN(result.rating,
                     TrainRatingModel(train, options.rating, observer));
  }
  if (options.train_retrieval) {
    observer.Phase({TrainingPhase::kRetrievalFit});
    const auto retrieval_start = std::chrono::steady_clock::now();
    ASSIGN_OR_RETURN(RetrievalModel retrieval,
                     TrainImplicitAls(train.num_users(), train.num_items(),
                                      train.ratings, result.retrieval_options));
    result.retrieval = std::move(retrieval);
    result.retrieval_seconds = SecondsSince(retrieval_start);
  }
  result.seconds = SecondsSince(start);
  return result;
}

FoldInParams FoldInParamsOf(const TwoStageTrainingResult& trained) {
  const ImplicitAlsOptions& r = trained.retrieval_options;
  FoldInParams params;
  if (trained.rating_trained) params.rating = trained.rating.train.user_prior;
  params.retrieval = {.reg = r.reg,
                      .alpha = r.alpha,
                      .unobserved_weight = r.unobserved_weight,
                      .scale = r.confidence_scale,
                      .epsilon = r.epsilon,
                      .reg_exponent = r.reg_exponent};
  return params;
}

}  // namespace recserve
