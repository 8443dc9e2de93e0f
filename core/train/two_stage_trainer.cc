#include "core/train/two_stage_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <utility>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/data/sparse_ratings.h"
#include "core/data/split.h"
#include "core/data/user_sample.h"
#include "core/model/item_scorer.h"
#include "core/train/early_stopping.h"
#include "core/train/item_item_search.h"
#include "core/train/item_item_trainer.h"
#include "core/train/recency_weights.h"
#include "core/train/retrieval_tuning.h"
#include "core/train/warm_start.h"

namespace recserve {
namespace {

// Validation ranks each user's held-out item against every item the user has
// not rated, as the server ranks, and counts it when its value is at least
// `relevance_threshold`. Against sampled negatives (loo_negatives), settings
// can rank in another order than on the full catalog (Krichene and Rendle,
// "On Sampled Metrics for Item Recommendation", 2020).
TopNOptions FullRanking(TopNOptions validation, float relevance_threshold) {
  validation.relevance_threshold = relevance_threshold;
  validation.loo_negatives = 0;
  return validation;
}

struct Validation {
  // The validation rating model's settings, which the final one reuses.
  int32_t rating_factors = 0;
  float rating_reg = 0;
  std::vector<RegTrial> rating_trials;
  // Its models: the final models start from their item rows.
  std::optional<MfModel> rating_model;
  std::optional<RetrievalModel> retrieval_model;
  // The retrieval settings chosen (reg and recency).
  ImplicitAlsOptions retrieval;
  std::vector<RetrievalRegTrial> reg_trials;
  // The item-item settings, when the model beat the embeddings.
  std::optional<ItemItemParams> item_item;
  std::vector<ItemItemTrial> item_item_trials;
  double item_item_guard_ndcg = std::numeric_limits<double>::quiet_NaN();
  std::vector<BlendTrial> blend_trials;
};

// The share of each user's ratings the item-item guard holds out.
constexpr double kGuardHoldout = 0.2;

// Trains retrieval models on a validation split and keeps the one whose
// own ranking of the held-out items is best, recording every trial.
class RetrievalSearch {
 public:
  // `warm`: each trial may start from an earlier model (a sample of large
  // data). `relevance_threshold`: the held-out values that count.
  RetrievalSearch(const TrainTest& split,
                  const TwoStageTrainingOptions& options, bool warm,
                  float relevance_threshold,
                  std::vector<RetrievalRegTrial>* trials)
      : split_(split),
        options_(options),
        warm_(warm),
        topn_(FullRanking(options.validation, relevance_threshold)),
        trials_(trials) {}

  // Trains with `o`, from `start` (for warm_retrieval_sweeps sweeps) when
  // that is not null.
  absl::StatusOr<RetrievalModel> Train(ImplicitAlsOptions o,
                                       const RetrievalModel* start) const {
    if (start != nullptr)
      o.iterations = std::min(o.iterations, options_.warm_retrieval_sweeps);
    const Dataset& fit = split_.train;
    return TrainImplicitAls(fit.num_users(), fit.num_items(), fit.ratings, o,
                            {}, start);
  }

  // Records the trial and keeps `model` when it ranks best so far. The first
  // model is kept whatever it scores, so that a split with nothing to score
  // (NaN) keeps the first setting rather than none.
  void Consider(RetrievalModel model, const ImplicitAlsOptions& o) {
    const EmbeddingScorer scorer(model.user_factors, model.item_factors);
    const TopNMetrics m =
        EvaluateTopN(scorer, split_.train, split_.test, topn_);
    trials_->push_back(
        {o.reg, m.hit_rate, m.ndcg, o.recency_weight, o.recency_horizon});
    if (best_ && !(m.ndcg > best_ndcg_)) return;
    best_ndcg_ = m.ndcg;
    best_ = std::move(model);
    best_options_ = o;
  }

  // From the best model so far (which must exist): the weight from
  // retrieval_recency_grid at its horizon, then, when a weight above 0
  // wins, the horizon from retrieval_horizon_grid at that weight (at 0 it
  // changes nothing); each setting trained once, from the best model's
  // embeddings when warm. Data whose users' interactions all share one time
  // (or have none) is left alone: the weighting cannot change it.
  absl::Status ChooseRecency() {
    if (!AnyUserHasTwoTimes(split_.train)) return absl::OkStatus();
    const std::optional<RetrievalModel> start =
        warm_ ? best_ : std::optional<RetrievalModel>();
    std::vector<std::pair<float, float>> tried = {
        {best_options_.recency_weight, best_options_.recency_horizon}};
    const auto trial = [&](float weight, float horizon) -> absl::Status {
      if (absl::c_linear_search(tried, std::make_pair(weight, horizon)))
        return absl::OkStatus();
      tried.emplace_back(weight, horizon);
      ImplicitAlsOptions o = best_options_;
      o.recency_weight = weight;
      o.recency_horizon = horizon;
      ASSIGN_OR_RETURN(RetrievalModel model,
                       Train(o, start ? &*start : nullptr));
      Consider(std::move(model), o);
      return absl::OkStatus();
    };
    const float horizon = best_options_.recency_horizon;
    for (const float weight : options_.retrieval_recency_grid)
      RETURN_IF_ERROR(trial(weight, horizon));
    if (best_options_.recency_weight > 0) {
      const float weight = best_options_.recency_weight;
      for (const float h : options_.retrieval_horizon_grid)
        RETURN_IF_ERROR(trial(weight, h));
    }
    return absl::OkStatus();
  }

  const ImplicitAlsOptions& best_options() const { return best_options_; }
  RetrievalModel TakeBest() { return std::move(*best_); }

 private:
  const TrainTest& split_;
  const TwoStageTrainingOptions& options_;
  const bool warm_;
  const TopNOptions topn_;
  std::vector<RetrievalRegTrial>* trials_;
  std::optional<RetrievalModel> best_;
  ImplicitAlsOptions best_options_;
  double best_ndcg_ = -1;
};

// Trains the retrieval model on `fit` for every regularization of the grid
// and keeps the one whose own ranking is best, then chooses its recency
// weighting (search_recency). A single λ without the recency search is
// trained without being scored.
absl::StatusOr<RetrievalModel> ChooseRetrievalReg(
    const TrainTest& split, const TwoStageTrainingOptions& options, bool warm,
    Validation* validation) {
  std::vector<float> grid = options.retrieval_reg_grid;
  if (grid.empty()) grid = {options.retrieval.reg};
  RetrievalSearch search(split, options, warm,
                         -std::numeric_limits<float>::infinity(),
                         &validation->reg_trials);
  // Each λ after the first starts from the previous one's model (a
  // regularization path), which is near its optimum: warm_retrieval_sweeps
  // sweeps take it there.
  const bool search_recency = options.search_recency.value_or(true);
  std::optional<RetrievalModel> path;
  for (const float reg : grid) {
    ImplicitAlsOptions o = options.retrieval;
    o.reg = reg;
    ASSIGN_OR_RETURN(RetrievalModel model,
                     search.Train(o, path ? &*path : nullptr));
    if (warm) path = model;
    if (grid.size() == 1 && !search_recency) {
      validation->retrieval = o;
      return model;
    }
    search.Consider(std::move(model), o);
  }
  if (search_recency) RETURN_IF_ERROR(search.ChooseRecency());
  validation->retrieval = search.best_options();
  return search.TakeBest();
}

// Implicit feedback with search_recency: the recency weighting at `tuned`
// (TuneRetrieval's choice, whose random hold-out cannot judge it, or the
// options as given), chosen on each user's latest interaction held out of a
// sample of `train` (a negative one is not scored).
absl::StatusOr<ImplicitAlsOptions> ChooseEventRecency(
    const Dataset& train, const TwoStageTrainingOptions& options,
    const ImplicitAlsOptions& tuned, std::vector<RetrievalRegTrial>* trials) {
  if (!options.search_recency.value_or(false) ||
      options.retrieval_recency_grid.empty()) {
    return tuned;
  }
  const Dataset sample =
      SampleUsersOf(train, options.validation_sample, options.rating.seed + 7);
  ASSIGN_OR_RETURN(
      TrainTest split,
      SplitDataset(sample, SplitSpec{SplitSpec::Kind::kLeaveOneOut},
                   options.rating.seed));
  if (split.test.empty() || !AnyUserHasTwoTimes(split.train)) return tuned;
  const bool warm =
      static_cast<int64_t>(train.ratings.size()) > options.validation_sample;
  RetrievalSearch search(split, options, warm, 0.0f, trials);
  ASSIGN_OR_RETURN(RetrievalModel model, search.Train(tuned, nullptr));
  search.Consider(std::move(model), tuned);
  RETURN_IF_ERROR(search.ChooseRecency());
  return search.best_options();
}

// Whether the item-item model may rank for `data` (the data the final model
// trains on, not a validation sample of it): a catalog within the limit.
bool ItemItemFits(const TwoStageTrainingOptions& options, const Dataset& data) {
  return data.num_items() >= 1 &&
         data.num_items() <= options.item_item_max_items;
}

// Trains both models on `fit` and scores every pool size and weight of the
// grid with the chosen retrieval model. `warm`: walk the λ grids as
// regularization paths (validation on a sample of large data).
// `search_item_item`: search the item-item model too (the whole data's
// catalog is within its limit).
absl::Status Validate(const Dataset& sample, const TrainTest& split,
                      const TwoStageTrainingOptions& options, bool warm,
                      bool search_item_item, Validation* validation) {
  const Dataset& fit = split.train;
  RatingTrainingOptions rating_options = options.rating;
  rating_options.regularization_path =
      warm && options.rating.regularization_path;
  ASSIGN_OR_RETURN(RatingTrainingResult rating,
                   TrainRatingModel(fit, rating_options));
  validation->rating_factors = rating.factors;
  validation->rating_reg = rating.reg;
  validation->rating_trials = rating.reg_trials;
  ASSIGN_OR_RETURN(RetrievalModel retrieval,
                   ChooseRetrievalReg(split, options, warm, validation));
  const EmbeddingScorer embedding_scorer(retrieval.user_factors,
                                         retrieval.item_factors);
  std::optional<ItemItemModel> item_item;
  if (search_item_item && fit.num_items() >= 1) {
    const TopNOptions topn = FullRanking(
        options.validation, -std::numeric_limits<float>::infinity());
    ItemItemJudges judges{.latest = &split, .topn = topn};
    judges.embeddings_latest = -1;
    for (const RetrievalRegTrial& t : validation->reg_trials) {
      judges.embeddings_latest = std::max(judges.embeddings_latest, t.ndcg);
    }
    if (validation->reg_trials.empty()) {
      judges.embeddings_latest =
          EvaluateTopN(embedding_scorer, fit, split.test, topn).ndcg;
    }
    // The guard: the embeddings as chosen, trained on a random hold-out of
    // the same users.
    TrainTest random;
    if (options.item_item_guard) {
      random = HoldOutPerUser(sample, kGuardHoldout, options.rating.seed + 13);
      ASSIGN_OR_RETURN(
          const RetrievalModel embeddings,
          TrainImplicitAls(random.train.num_users(), random.train.num_items(),
                           random.train.ratings, validation->retrieval));
      judges.random = &random;
      judges.embeddings_random =
          EvaluateTopN(
              EmbeddingScorer(embeddings.user_factors, embeddings.item_factors),
              random.train, random.test, topn)
              .ndcg;
      validation->item_item_guard_ndcg = judges.embeddings_random;
    }
    RETURN_IF_ERROR(ChooseItemItem(options, judges,
                                   &validation->item_item_trials, &item_item));
    if (item_item) validation->item_item = item_item->params;
  }
  std::optional<ItemItemScorer> item_item_scorer;
  if (item_item) item_item_scorer.emplace(*item_item, fit);
  const ItemScorer& retrieval_scorer =
      item_item_scorer ? static_cast<const ItemScorer&>(*item_item_scorer)
                       : embedding_scorer;
  // Every trial shares the retrieval stage: scored once per user.
  const MemoizedScorer shared_retrieval(retrieval_scorer);
  const SparseRatings seen =
      GroupRatings(fit.ratings, fit.num_users(), RatingAxis::kUser);
  const std::vector<int32_t> pools =
      options.candidate_grid.empty()
          ? std::vector<int32_t>{options.ranking.candidates}
          : options.candidate_grid;
  std::vector<TwoStageOptions> settings;
  std::vector<std::unique_ptr<TwoStageScorer>> trials;
  std::vector<const ItemScorer*> scorers;
  for (const int32_t candidates : pools) {
    for (const float weight : options.blend_grid) {
      settings.push_back({candidates, weight});
      trials.push_back(std::make_unique<TwoStageScorer>(
          shared_retrieval, rating.train.model, seen, settings.back()));
      scorers.push_back(trials.back().get());
    }
  }
  const std::vector<TopNMetrics> metrics = EvaluateTopN(
      scorers, fit, split.test,
      FullRanking(options.validation, -std::numeric_limits<float>::infinity()));
  for (size_t t = 0; t < settings.size(); ++t) {
    validation->blend_trials.push_back({settings[t].candidates,
                                        settings[t].blend_weight,
                                        metrics[t].hit_rate, metrics[t].ndcg});
  }
  validation->rating_model = std::move(rating.train.model);
  validation->retrieval_model = std::move(retrieval);
  return absl::OkStatus();
}

absl::Status CheckOptions(const TwoStageTrainingOptions& options) {
  if (!options.train_rating && !options.train_retrieval) {
    return absl::InvalidArgumentError(
        "train_rating false needs train_retrieval: without a rating model "
        "the retrieval model ranks alone");
  }
  if (options.warm_retrieval_sweeps < 1 || options.refit_retrieval_sweeps < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "warm_retrieval_sweeps and refit_retrieval_sweeps must be at least 1, "
        "got ",
        options.warm_retrieval_sweeps, " and ",
        options.refit_retrieval_sweeps));
  }
  for (const float recency : options.retrieval_recency_grid) {
    if (!(recency >= 0) || !std::isfinite(recency)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "retrieval recency weight must be finite and >= 0, got ", recency));
    }
  }
  for (const float horizon : options.retrieval_horizon_grid) {
    if (!(horizon > 0) || !std::isfinite(horizon)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "retrieval recency horizon must be finite and > 0, got ", horizon));
    }
  }
  if (options.item_item_max_items < 1 ||
      options.item_item_max_items > kMaxItemItemItems) {
    return absl::InvalidArgumentError(
        absl::StrCat("item_item_max_items must be in [1, ", kMaxItemItemItems,
                     "], got ", options.item_item_max_items));
  }
  for (const float weight : options.item_item_recency_grid) {
    if (!(weight >= 0) || !std::isfinite(weight)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "item-item recency weight must be finite and >= 0, got ", weight));
    }
  }
  for (const float reg : options.item_item_reg_grid) {
    if (!(reg > 0) || !std::isfinite(reg)) {
      return absl::InvalidArgumentError(
          absl::StrCat("item-item reg must be finite and > 0, got ", reg));
    }
  }
  if (options.item_item &&
      (!options.train_rating || !options.train_retrieval)) {
    return absl::InvalidArgumentError(
        "the item-item model ranks beside the embeddings and before a rating "
        "model: it needs train_rating (explicit data) and train_retrieval");
  }
  if (options.item_item && options.tune_blend && !options.blend_grid.empty()) {
    return absl::InvalidArgumentError(
        "item-item settings given need the ranking given too (tune_blend "
        "false): the pool and blend weight are chosen with the retrieval "
        "model they rank");
  }
  for (const float reg : options.retrieval_reg_grid) {
    if (!(reg > 0) || !std::isfinite(reg)) {
      return absl::InvalidArgumentError(
          absl::StrCat("retrieval reg must be finite and > 0, got ", reg));
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
    const Dataset& train, const TwoStageTrainingOptions& requested,
    const TrainingObserver& observer, const TwoStageTrainingResult* from) {
  RETURN_IF_ERROR(CheckOptions(requested));
  const bool choosing = requested.train_rating
                            ? requested.train_retrieval &&
                                  requested.tune_blend &&
                                  !requested.blend_grid.empty()
                            : requested.tune_retrieval ||
                                  requested.search_recency.value_or(false);
  if (from != nullptr && choosing) {
    return absl::InvalidArgumentError(
        "training from an earlier result needs the settings chosen already "
        "(tune_blend, tune_retrieval and search_recency false)");
  }
  const auto start = std::chrono::steady_clock::now();
  TwoStageTrainingOptions options = requested;
  options.rating.algorithm = ResolveAlgorithm(
      requested.rating, static_cast<int64_t>(train.ratings.size()));
  if (from != nullptr && from->rating_trained) {
    options.rating.algorithm = from->rating.algorithm;
  }
  TwoStageTrainingResult result;
  result.ranking = options.ranking;
  result.retrieval_options = options.retrieval;
  result.rating_trained = options.train_rating;
  std::vector<RegTrial> validation_trials;
  // The item-item settings to train the final model with: given, or chosen.
  std::optional<ItemItemParams> item_item = options.item_item;
  // Where the final models start: `from`'s models, or the validation
  // models' item rows (trained on a sample of the same users' ratings).
  std::optional<MfModel> rating_start;
  std::optional<RetrievalModel> retrieval_start;
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
    ASSIGN_OR_RETURN(
        result.retrieval_options,
        ChooseEventRecency(train, options, result.retrieval_options,
                           &result.retrieval_reg_trials));
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
    const bool sampled =
        static_cast<int64_t>(train.ratings.size()) > options.validation_sample;
    const bool search_item_item = options.search_item_item &&
                                  !options.item_item_reg_grid.empty() &&
                                  ItemItemFits(options, train);
    RETURN_IF_ERROR(Validate(sample, split, options, sampled, search_item_item,
                             &validation));
    result.retrieval_options = validation.retrieval;
    result.retrieval_reg_trials = std::move(validation.reg_trials);
    result.item_item_trials = std::move(validation.item_item_trials);
    result.item_item_guard_ndcg = validation.item_item_guard_ndcg;
    item_item = validation.item_item;
    // The final model uses the validation model's factors and λ: the sample
    // is drawn by user, so each user's ratings (what the weighted λ scales
    // with) are as in the whole data, and tuning twice doubled the cost.
    if (!validation.rating_trials.empty()) {
      SetFactors(validation.rating_factors, &options.rating);
      SetRegularization(validation.rating_reg, &options.rating);
      validation_trials = std::move(validation.rating_trials);
    }
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
    const std::vector<int32_t> rows =
        sampled ? MapIndices(train.items, split.train.items)
                : std::vector<int32_t>();
    if (sampled && validation.rating_model) {
      rating_start =
          StartFromItems(*validation.rating_model, rows, train.num_users());
    }
    if (sampled && validation.retrieval_model) {
      retrieval_start =
          StartFromItems(*validation.retrieval_model, rows, train.num_users());
    }
  }
  if (from != nullptr) {
    // Going on from a model of most of the same ratings: warm_epochs
    // iterations on all of them, nothing to stop early on.
    options.rating.validation_fraction = 0;
    if (from->rating_trained) rating_start = from->rating.train.model;
    if (from->retrieval) retrieval_start = *from->retrieval;
  }
  if (options.rating.algorithm != Algorithm::kAls) rating_start.reset();
  if (options.train_rating) {
    ASSIGN_OR_RETURN(result.rating,
                     TrainRatingModel(train, options.rating, observer,
                                      rating_start ? &*rating_start : nullptr));
    if (!validation_trials.empty()) {
      result.rating.reg_trials = std::move(validation_trials);
    }
  }
  if (options.train_retrieval) {
    observer.Phase({TrainingPhase::kRetrievalFit});
    const auto retrieval_clock = std::chrono::steady_clock::now();
    ImplicitAlsOptions retrieval_options = result.retrieval_options;
    if (retrieval_start) {
      retrieval_options.iterations =
          std::min(retrieval_options.iterations,
                   from != nullptr ? options.refit_retrieval_sweeps
                                   : options.warm_retrieval_sweeps);
    }
    ASSIGN_OR_RETURN(
        RetrievalModel retrieval,
        TrainImplicitAls(train.num_users(), train.num_items(), train.ratings,
                         retrieval_options, {},
                         retrieval_start ? &*retrieval_start : nullptr));
    result.retrieval = std::move(retrieval);
    // A refit whose new items take the catalog over the limit keeps the
    // embeddings.
    if (item_item && options.train_rating && ItemItemFits(options, train)) {
      ASSIGN_OR_RETURN(
          result.item_item,
          TrainItemItem(train, *item_item, options.validation.threads));
    }
    result.retrieval_seconds = SecondsSince(retrieval_clock);
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
                      .reg_exponent = r.reg_exponent,
                      .recency_weight = r.recency_weight,
                      .recency_horizon = r.recency_horizon};
  return params;
}

}  // namespace recserve
