#ifndef RECSERVE_CORE_TRAIN_TWO_STAGE_TRAINER_H_
#define RECSERVE_CORE_TRAIN_TWO_STAGE_TRAINER_H_

// Trains everything the server ranks with: the rating model (see
// rating_model_trainer.h), the implicit-feedback retrieval embeddings (see
// implicit_als.h), and the two-stage ranking configuration.
//
// Explicit data (train_rating): the retrieval regularization and recency
// weighting, the candidate pool and the blend weight are chosen on a
// validation set: each user's latest training rating is held out, the
// models are trained on the rest, and the settings under which the held-out
// item ranks best (NDCG@K among every item the user has not rated) win;
// then both models are trained on all ratings.
//
// Implicit feedback (train_rating false): no rating model; the retrieval
// model ranks alone. Its settings are chosen by TuneRetrieval
// (retrieval_tuning.h) on a random per-user hold-out of the training data,
// then its recency weighting as above on each user's latest positive
// interaction, then it is trained on all of it.

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "core/data/ratings.h"
#include "core/eval/topn_evaluation.h"
#include "core/model/item_item_model.h"
#include "core/model/two_stage_scorer.h"
#include "core/train/implicit_als.h"
#include "core/train/rating_model_trainer.h"
#include "core/train/retrieval_tuning.h"

namespace recserve {

struct TwoStageTrainingOptions {
  // Train the rating model. Default true; false for implicit feedback
  // (events: there are no ratings to predict), which needs train_retrieval:
  // the retrieval model then ranks alone.
  bool train_rating = true;
  RatingTrainingOptions rating;
  // Learn retrieval embeddings. Default true; without them the server
  // retrieves with the rating model's factors.
  bool train_retrieval = true;
  // retrieval.reg is replaced by the chosen one when retrieval_reg_grid has
  // more than one value and tune_blend is set (explicit data), and its
  // recency settings when they are searched (search_recency); for implicit
  // feedback with tune_retrieval, these are where the search starts and
  // every setting it tunes is replaced by the chosen one.
  ImplicitAlsOptions retrieval;
  // Implicit feedback (train_rating false) only: choose the retrieval
  // settings by TuneRetrieval on the training data. Default true; a refit
  // with settings already chosen sets it false. Explicit data keeps its
  // latest-interaction choice of reg (retrieval_reg_grid), which measured
  // better for the two-stage ranking than choosing more settings by recall.
  bool tune_retrieval = true;
  // The search's grids, budget, sample and hold-out (retrieval_tuning.h).
  // Its seed and threads are replaced by rating.seed and validation.threads.
  RetrievalTuningOptions retrieval_tuning;
  // Implicit ALS regularizations to choose from by the retrieval model's own
  // ranking of the held-out items (NDCG@K). The best value depends on the data,
  // not only on its size (what it chose on each data set: docs/benchmarks.md).
  // Default {3, 10, 30, 100, 300}.
  std::vector<float> retrieval_reg_grid = {3.0f, 10.0f, 30.0f, 100.0f, 300.0f};
  // Whether to choose the retrieval's recency weighting (ImplicitAlsOptions::
  // recency_weight and recency_horizon) on validation; unset: yes for
  // explicit data, no for implicit feedback. The weighting trades ranking a
  // random hold-out for ranking what each user does next (what it gained
  // and cost: docs/benchmarks.md). It is chosen after λ (for implicit
  // feedback, after TuneRetrieval) at the chosen settings: first the weight
  // from retrieval_recency_grid at retrieval.recency_horizon, then, when a
  // weight above 0 won, the horizon from retrieval_horizon_grid at that
  // weight, by the same validation, which holds out each user's latest
  // interaction. Both replace retrieval's; an empty grid keeps retrieval's
  // value. Data in which no user has two interaction times is not searched
  // (data read without a timestamp column has the line order for time:
  // rating_reader.h). Defaults {0, 10, 100, 1000} (weights a decade apart)
  // and {1, 3, 10, 30}.
  std::optional<bool> search_recency;
  std::vector<float> retrieval_recency_grid = {0.0f, 10.0f, 100.0f, 1000.0f};
  std::vector<float> retrieval_horizon_grid = {1.0f, 3.0f, 10.0f, 30.0f};
  // The item-item retrieval model (item_item_model.h), explicit data only.
  // With search_item_item, tune_blend and train_retrieval, on data whose
  // catalog has at most item_item_max_items items, it is searched on the
  // validation split: λ from item_item_reg_grid unweighted, then its recency
  // weight from item_item_recency_grid (at retrieval.recency_horizon), then,
  // when a weight above 0 wins, the horizon from retrieval_horizon_grid,
  // then λ again at that weighting; only λ trains (the weighting is applied
  // at scoring). It replaces the embeddings as the retrieval stage when its
  // best setting ranks the held-out latest items better (NDCG@K) and, with
  // item_item_guard, also ranks a random 20% of each validation user's
  // ratings, held out of the same sample, at least as well as the
  // embeddings trained with their chosen settings do: weighted towards the
  // last few items, the model ranks what users rate next far better and
  // their other ratings far worse, so the guard keeps it to settings that
  // cost neither (docs/benchmarks.md). The embeddings are trained either
  // way (SimilarItems, new items). The search holds about seven items²
  // float matrices at its peak (450 MB at 4,096 items), the final model
  // four. Defaults: true, 4,096 items (64 MB of weights; training costs
  // items³), {30, 100, 300, 1000, 3000, 10000}, {0, 1, 3, 10, 30, 100,
  // 1000}, true.
  bool search_item_item = true;
  int32_t item_item_max_items = 4096;
  std::vector<float> item_item_reg_grid = {30.0f,   100.0f,  300.0f,
                                           1000.0f, 3000.0f, 10000.0f};
  std::vector<float> item_item_recency_grid = {0.0f,  1.0f,   3.0f,   10.0f,
                                               30.0f, 100.0f, 1000.0f};
  bool item_item_guard = true;
  // Settings already chosen: train the item-item model with them and rank
  // with it (a refit), unless the catalog has grown past
  // item_item_max_items (the embeddings then rank). Needs train_rating,
  // train_retrieval and the ranking given (tune_blend false).
  std::optional<ItemItemParams> item_item;
  // The ranking to record; candidates and blend_weight are replaced by the
  // chosen ones when tune_blend is set.
  TwoStageOptions ranking;
  // Choose the candidate pool size and the blend weight on the validation
  // set from candidate_grid × blend_grid: among the settings whose NDCG@K
  // is within 0.5% of the best, the smallest pool (it
  // costs the server time), then the smallest retrieval weight (the metric
  // rewards predicting what users rate next, not what they like, which the
  // rating model brings). Default true.
  bool tune_blend = true;
  // Default {0, 0.25, 0.5, 0.75, 1}.
  std::vector<float> blend_grid = {0.0f, 0.25f, 0.5f, 0.75f, 1.0f};
  // Default {100, 200, 400, 800}: enough to hold the held-out item for most
  // users on catalogs of a few thousand items; the server bounds it.
  std::vector<int32_t> candidate_grid = {100, 200, 400, 800};
  // How validation ranks: K, seed, threads, and at most how many of the
  // sample's users (default 5,000: every trial ranks them all, and the
  // trials are compared on the same users, whose paired differences vary
  // far less than each figure). It ranks over the whole catalog, so
  // loo_negatives and relevance_threshold are not used. Every candidate
  // pool must hold at least K items.
  TopNOptions validation = {.max_users = 5000};
  // Validation runs on the ratings of a random sample of users holding about
  // this many ratings, to bound its cost on large data. Default 2,000,000.
  int64_t validation_sample = 2'000'000;
  // Implicit ALS sweeps run from another model's embeddings: along the
  // validation's λ grid (each λ from the previous one's model) and for the
  // final model from the validation model's item rows. Both warm starts
  // (and the rating model's regularization_path) are taken only when
  // validation runs on a sample (more ratings than validation_sample):
  // they save time on large data, and on small data starting cold keeps
  // every choice independent of the grid's order. Default 5.
  int32_t warm_retrieval_sweeps = 5;
  // Implicit ALS sweeps run from TrainTwoStage's `from`, which has
  // converged on most of the same ratings. Default 2.
  int32_t refit_retrieval_sweeps = 2;
};

struct BlendTrial {
  int32_t candidates = 0;
  float blend_weight = 0;
  double hr = 0;    // HR@K of the held-out items on the validation users
  double ndcg = 0;  // and NDCG@K
};

struct RetrievalRegTrial {
  float reg = 0;
  double hr = 0;    // the retrieval model's HR@K of the held-out items
  double ndcg = 0;  // and NDCG@K
  float recency_weight = 0;
  float recency_horizon = 0;
};

struct ItemItemTrial {
  ItemItemParams params;
  double hr = 0;    // the item-item model's HR@K of the held-out latest items
  double ndcg = 0;  // and NDCG@K
  // Its NDCG@K on the guard's random hold-out; NaN without the guard, and
  // for a setting that does not beat the embeddings on the latest items
  // (it cannot be chosen, so the guard does not judge it).
  double random_ndcg = std::numeric_limits<double>::quiet_NaN();
};

struct TwoStageTrainingResult {
  // Whether a rating model was trained (TwoStageTrainingOptions
  // .train_rating; default true). When false, `rating` is default-
  // constructed (no model, an empty user prior) and the retrieval model
  // ranks alone.
  bool rating_trained = true;
  // ALS and SGD with tune_reg and validation (tune_blend): the factors and λ
  // are chosen once, on the validation users, and the final model uses them
  // (rating.reg_trials lists the candidates tried there).
  RatingTrainingResult rating;
  std::optional<RetrievalModel> retrieval;
  // As trained: with the chosen reg and recency settings (explicit data) or
  // every setting the searches chose (implicit feedback).
  ImplicitAlsOptions retrieval_options;
  // Every retrieval λ and recency setting scored on the latest-interaction
  // validation, in order (for implicit feedback, the recency search's).
  std::vector<RetrievalRegTrial> retrieval_reg_trials;
  // Implicit feedback with tune_retrieval: every setting TuneRetrieval
  // tried, in order, with its validation Recall@K and NDCG@K, and
  // popularity's recall on the same hold-out; empty / 0 otherwise.
  std::vector<RetrievalTrial> retrieval_trials;
  double retrieval_validation_recall = 0;
  double popularity_validation_recall = 0;
  bool retrieval_tuning_out_of_time = false;
  // The item-item model, when it was chosen (or given): it is the retrieval
  // stage of the ranking, trained on all of `train`.
  std::optional<ItemItemModel> item_item;
  // Every item-item setting scored on the validation, in order, and the
  // embeddings' NDCG@K on the guard's random hold-out (NaN without it).
  std::vector<ItemItemTrial> item_item_trials;
  double item_item_guard_ndcg = std::numeric_limits<double>::quiet_NaN();
  TwoStageOptions ranking;  // with the chosen blend weight
  std::vector<BlendTrial> blend_trials;
  double retrieval_seconds = 0;
  double seconds = 0;  // the whole call
};

// How the server folds users into these models (user_fold_in.h): the rating
// model's user prior and the retrieval model's settings as trained (reg,
// alpha, unobserved weight, confidence scale, epsilon, reg_exponent, recency
// weight and horizon).
// Without a rating model (rating_trained false) the prior is left empty:
// factors 0.
FoldInParams FoldInParamsOf(const TwoStageTrainingResult& trained);

// Observer phases, besides TrainRatingModel's: "validation" (also for the
// implicit retrieval search), "retrieval". The rating algorithm kAuto is
// resolved once, on the size of `train` (rating_model_trainer.h), and every
// model of the call uses it.
// `from`, when not null, is the result of this call with these options on
// part of `train` (its users and items the leading rows, warm_start.h):
// each model starts from its counterpart there (the rating model as
// TrainRatingModel's `from` says; the retrieval model for
// refit_retrieval_sweeps sweeps) instead of from scratch. Nothing is chosen
// then: `options` must come with its settings chosen (tune_blend false, or
// for events tune_retrieval false).
// Errors: InvalidArgument for out-of-range options (train_rating false
// needs train_retrieval) or a `from` that does not fit, and the trainers'
// errors.
absl::StatusOr<TwoStageTrainingResult> TrainTwoStage(
    const Dataset& train, const TwoStageTrainingOptions& options,
    const TrainingObserver& observer = {},
    const TwoStageTrainingResult* from = nullptr);

}  // namespace recserve

#endif  // RECSERVE_CORE_TRAIN_TWO_STAGE_TRAINER_H_
