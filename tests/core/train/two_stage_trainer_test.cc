#include "core/train/two_stage_trainer.h"

#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/low_rank_ratings.h"
#include "tests/testutil/moved_on_users.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;

// Small and fast: ALS by size (bpmf_max_ratings below the data), two factor
// counts, a short retrieval grid, validation on every user.
TwoStageTrainingOptions SmallOptions(int64_t bpmf_max_ratings) {
  TwoStageTrainingOptions o;
  o.rating.bpmf_max_ratings = bpmf_max_ratings;
  o.rating.factor_grid = {2, 4};
  o.rating.reg_grid = {0.03f, 0.12f};
  o.retrieval.factors = 4;
  o.retrieval.iterations = 6;
  o.retrieval_reg_grid = {3.0f, 30.0f};
  o.candidate_grid = {20, 40};
  o.blend_grid = {0.0f, 0.5f};
  return o;
}

TEST(TwoStageTrainerTest, ChoosesTheAlgorithmOnceAndTheRatingSettingsOnce) {
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(120, 90, 3, 0.3, 0.5, 21);
  // The validation sample holds fewer ratings than bpmf_max_ratings, the
  // data more: every model is still ALS, resolved on the whole data.
  TwoStageTrainingOptions options =
      SmallOptions(static_cast<int64_t>(lr.data.ratings.size()) - 10);
  options.validation_sample = lr.data.ratings.size() / 2;
  std::vector<TrainingPhase> phases;
  TrainingObserver observer;
  observer.on_phase = [&](const PhaseEvent& e) { phases.push_back(e.phase); };
  auto trained = TrainTwoStage(lr.data, options, observer);
  ASSERT_TRUE(trained.ok()) << trained.status();
  EXPECT_EQ(trained->rating.algorithm, Algorithm::kAls);
  // The factors and λ were tuned on the validation users alone: the final
  // model reports those trials and uses the best of them.
  ASSERT_FALSE(trained->rating.reg_trials.empty());
  const RegTrial* best = &trained->rating.reg_trials[0];
  for (const RegTrial& t : trained->rating.reg_trials) {
    if (t.validation_rmse < best->validation_rmse) best = &t;
  }
  EXPECT_EQ(trained->rating.factors, best->factors);
  EXPECT_EQ(trained->rating.reg, best->reg);
  // The final model did not tune again: no tuning phase reached the
  // observer (validation trains without reporting to it).
  int tuning_phases = 0;
  for (const TrainingPhase p : phases) {
    tuning_phases += p == TrainingPhase::kRatingTuning;
  }
  EXPECT_EQ(tuning_phases, 0);
  // The final retrieval model started from the validation model's items:
  // warm_retrieval_sweeps sweeps, not the configured iterations.
  ASSERT_TRUE(trained->retrieval.has_value());
  EXPECT_EQ(
      static_cast<int32_t>(trained->retrieval->loss_history.size()),
      std::min(options.retrieval.iterations, options.warm_retrieval_sweeps));
}

TEST(TwoStageTrainerTest, ChoosesTheRecencyWeightThenItsHorizon) {
  const Dataset data = testutil::MovedOnUsers();
  TwoStageTrainingOptions options = SmallOptions(100);
  options.retrieval.factors = 8;
  options.retrieval.iterations = 15;
  options.retrieval.alpha = 3.0f;
  options.retrieval_reg_grid = {1.0f, 3.0f};
  options.retrieval.recency_horizon = 1.0f;
  options.retrieval_recency_grid = {0.0f, 30.0f};
  options.retrieval_horizon_grid = {1.0f, 10.0f};
  auto trained = TrainTwoStage(data, options);
  ASSERT_TRUE(trained.ok()) << trained.status();
  const std::vector<RetrievalRegTrial>& trials = trained->retrieval_reg_trials;
  // Two λs unweighted, the weight 30 at the chosen λ and horizon 1, then
  // horizon 10 at the weight that won (1 was tried already).
  ASSERT_EQ(trials.size(), 4u);
  const RetrievalRegTrial& unweighted =
      trials[0].ndcg >= trials[1].ndcg ? trials[0] : trials[1];
  EXPECT_EQ(trials[2].reg, unweighted.reg);
  EXPECT_EQ(trials[2].recency_weight, 30.0f);
  EXPECT_EQ(trials[2].recency_horizon, 1.0f);
  // The planted shift: the weighted model ranks the next item far better.
  EXPECT_GT(trials[2].ndcg, 1.5 * unweighted.ndcg);
  EXPECT_EQ(trials[3].recency_weight, 30.0f);
  EXPECT_EQ(trials[3].recency_horizon, 10.0f);
  const RetrievalRegTrial& best =
      trials[3].ndcg > trials[2].ndcg ? trials[3] : trials[2];
  EXPECT_EQ(trained->retrieval_options.reg, unweighted.reg);
  EXPECT_EQ(trained->retrieval_options.recency_weight, 30.0f);
  EXPECT_EQ(trained->retrieval_options.recency_horizon, best.recency_horizon);

  // Not searched when asked not to.
  options.search_recency = false;
  auto not_searched = TrainTwoStage(data, options);
  ASSERT_TRUE(not_searched.ok()) << not_searched.status();
  EXPECT_EQ(not_searched->retrieval_reg_trials.size(), 2u);
  EXPECT_EQ(not_searched->retrieval_options.recency_weight, 0.0f);
  options.search_recency = std::nullopt;

  options.retrieval_recency_grid = {-1.0f};
  EXPECT_EQ(TrainTwoStage(data, options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.retrieval_recency_grid = {std::numeric_limits<float>::infinity()};
  EXPECT_EQ(TrainTwoStage(data, options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.retrieval_recency_grid = {0.0f};
  options.retrieval_horizon_grid = {0.0f};
  EXPECT_EQ(TrainTwoStage(data, options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TwoStageTrainerTest, ASingleRegularizationStillGetsItsRecencySearched) {
  const Dataset data = testutil::MovedOnUsers();
  TwoStageTrainingOptions options = SmallOptions(100);
  options.retrieval_reg_grid = {10.0f};
  options.retrieval.recency_weight = 5.0f;
  options.retrieval.recency_horizon = 4.0f;
  options.retrieval_recency_grid = {0.0f, 30.0f};
  options.retrieval_horizon_grid = {};
  auto searched = TrainTwoStage(data, options);
  ASSERT_TRUE(searched.ok()) << searched.status();
  // The given settings, then each weight of the grid at the given horizon.
  const std::vector<RetrievalRegTrial>& trials = searched->retrieval_reg_trials;
  ASSERT_EQ(trials.size(), 3u);
  EXPECT_EQ(trials[0].recency_weight, 5.0f);
  EXPECT_EQ(trials[1].recency_weight, 0.0f);
  EXPECT_EQ(trials[2].recency_weight, 30.0f);
  size_t best = 0;
  for (size_t t = 1; t < trials.size(); ++t)
    if (trials[t].ndcg > trials[best].ndcg) best = t;
  EXPECT_EQ(searched->retrieval_options.recency_weight,
            trials[best].recency_weight);
  EXPECT_EQ(searched->retrieval_options.recency_horizon, 4.0f);
  EXPECT_EQ(searched->retrieval_options.reg, 10.0f);

  // Asked not to search: the settings as given, nothing scored.
  options.search_recency = false;
  auto kept = TrainTwoStage(data, options);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_TRUE(kept->retrieval_reg_trials.empty());
  EXPECT_EQ(kept->retrieval_options.recency_weight, 5.0f);
  EXPECT_EQ(kept->retrieval_options.recency_horizon, 4.0f);
}

TEST(TwoStageTrainerTest, GoesOnFromAnEarlierResultOnMoreData) {
  testutil::LowRankRatings lr =
      testutil::MakeLowRankRatings(120, 90, 3, 0.3, 0.5, 22);
  TwoStageTrainingOptions options = SmallOptions(100);
  // The first 90% of the ratings, in the same id space: the earlier result
  // knows every user and item that these ratings hold.
  Dataset part = lr.data;
  part.ratings.resize(lr.data.ratings.size() * 9 / 10);
  auto earlier = TrainTwoStage(part, options);
  ASSERT_TRUE(earlier.ok()) << earlier.status();

  TwoStageTrainingOptions chosen = options;
  chosen.tune_blend = false;
  chosen.rating.tune_reg = false;
  chosen.rating.validation_fraction = 0;
  SetFactors(earlier->rating.factors, &chosen.rating);
  chosen.retrieval.reg = earlier->retrieval_options.reg;
  auto refit = TrainTwoStage(lr.data, chosen, {}, &*earlier);
  ASSERT_TRUE(refit.ok()) << refit.status();
  EXPECT_EQ(refit->rating.algorithm, Algorithm::kAls);
  EXPECT_EQ(static_cast<int32_t>(refit->rating.train.history.size()),
            chosen.rating.warm_epochs);
  EXPECT_EQ(
      static_cast<int32_t>(refit->retrieval->loss_history.size()),
      std::min(chosen.retrieval.iterations, chosen.refit_retrieval_sweeps));
  // It fits every rating as well as the earlier model fitted its part.
  EXPECT_LT(Rmse(refit->rating.train.model, lr.data.ratings),
            Rmse(earlier->rating.train.model, part.ratings) + 0.02);

  // Going on needs the settings chosen already.
  auto choosing = TrainTwoStage(lr.data, options, {}, &*earlier);
  EXPECT_EQ(choosing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(choosing.status().message(), HasSubstr("chosen"));
  chosen.refit_retrieval_sweeps = 0;
  EXPECT_EQ(TrainTwoStage(lr.data, chosen).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace recserve

namespace recserve {
namespace {

double BestNdcg(const std::vector<RetrievalRegTrial>& trials) {
  double best = -1;
  for (const RetrievalRegTrial& t : trials) best = std::max(best, t.ndcg);
  return best;
}

// SmallOptions with short recency and item-item grids, for MovedOnUsers.
TwoStageTrainingOptions ItemItemOptions(std::vector<float> item_item_recency) {
  TwoStageTrainingOptions options = SmallOptions(100);
  options.retrieval_reg_grid = {3.0f};
  options.retrieval_recency_grid = {0.0f, 30.0f};
  options.retrieval_horizon_grid = {1.0f, 10.0f};
  options.item_item_reg_grid = {1.0f, 10.0f, 100.0f};
  options.item_item_recency_grid = std::move(item_item_recency);
  return options;
}

TEST(TwoStageTrainerTest, TriesTheItemItemModelAndRanksWithItWhenItWins) {
  const Dataset data = testutil::MovedOnUsers();
  TwoStageTrainingOptions options = ItemItemOptions({0.0f, 30.0f});
  // Judged by the latest items alone (the guard has its own test).
  options.item_item_guard = false;
  auto trained = TrainTwoStage(data, options);
  ASSERT_TRUE(trained.ok()) << trained.status();
  const std::vector<ItemItemTrial>& trials = trained->item_item_trials;
  EXPECT_TRUE(std::isnan(trained->item_item_guard_ndcg));
  // Each λ unweighted at the configured horizon, then the weights of the
  // grid at the best λ (the one tried already skipped), then the horizons
  // at a weight above 0, then λ again.
  ASSERT_GE(trials.size(), 4u);
  for (size_t t = 0; t < 3; ++t) {
    EXPECT_EQ(trials[t].params.reg, options.item_item_reg_grid[t]);
    EXPECT_EQ(trials[t].params.recency_weight, 0.0f);
    EXPECT_EQ(trials[t].params.recency_horizon,
              options.retrieval.recency_horizon);
    EXPECT_TRUE(std::isnan(trials[t].random_ndcg));
  }
  EXPECT_EQ(trials[3].params.recency_weight, 30.0f);
  const ItemItemTrial* best = &trials[0];
  for (const ItemItemTrial& t : trials) {
    if (t.ndcg > best->ndcg) best = &t;
    EXPECT_GE(t.ndcg, 0.0);
  }
  // The planted shift: weighted by recency, the model ranks the next item
  // far better than unweighted.
  double unweighted = 0;
  for (size_t t = 0; t < 3; ++t)
    unweighted = std::max(unweighted, trials[t].ndcg);
  EXPECT_GT(best->ndcg, 1.5 * unweighted);
  EXPECT_GT(best->params.recency_weight, 0.0f);
  // Chosen exactly when it beats the embeddings, trained on all the data
  // with the best trial's settings.
  const bool wins = best->ndcg > BestNdcg(trained->retrieval_reg_trials);
  ASSERT_EQ(trained->item_item.has_value(), wins);
  ASSERT_TRUE(wins) << "the planted data should favour the item-item model";
  EXPECT_EQ(trained->item_item->num_items(), data.num_items());
  EXPECT_EQ(trained->item_item->params.reg, best->params.reg);
  EXPECT_EQ(trained->item_item->params.recency_weight,
            best->params.recency_weight);
  EXPECT_EQ(trained->item_item->params.recency_horizon,
            best->params.recency_horizon);
  // The embeddings are trained either way.
  EXPECT_TRUE(trained->retrieval.has_value());

  // Given the chosen settings (as a refit is), it trains the same model
  // without searching.
  TwoStageTrainingOptions fixed = options;
  fixed.tune_blend = false;
  fixed.search_recency = false;
  fixed.search_item_item = false;
  fixed.retrieval = trained->retrieval_options;
  fixed.item_item = trained->item_item->params;
  auto refit = TrainTwoStage(data, fixed);
  ASSERT_TRUE(refit.ok()) << refit.status();
  ASSERT_TRUE(refit->item_item.has_value());
  EXPECT_TRUE(refit->item_item_trials.empty());
  EXPECT_EQ(refit->item_item->weights, trained->item_item->weights);
}

// The guard: a setting must also rank a random hold-out of the validation
// users' ratings at least as well as the embeddings.
TEST(TwoStageTrainerTest, TheGuardKeepsSettingsThatCostTheRandomHoldOut) {
  const Dataset data = testutil::MovedOnUsers();
  TwoStageTrainingOptions options = ItemItemOptions({0.0f, 1.0f, 30.0f});
  auto guarded = TrainTwoStage(data, options);
  ASSERT_TRUE(guarded.ok()) << guarded.status();
  const double guard = guarded->item_item_guard_ndcg;
  ASSERT_TRUE(std::isfinite(guard));
  EXPECT_GT(guard, 0.0);
  const ItemItemTrial* best_passing = nullptr;
  int32_t failing = 0;
  const double embeddings = BestNdcg(guarded->retrieval_reg_trials);
  for (const ItemItemTrial& t : guarded->item_item_trials) {
    // Judged by the guard exactly when it beats the embeddings.
    ASSERT_EQ(std::isfinite(t.random_ndcg), t.ndcg > embeddings);
    if (!(t.ndcg > embeddings)) continue;
    if (t.random_ndcg < guard) {
      ++failing;
      continue;
    }
    if (best_passing == nullptr || t.ndcg > best_passing->ndcg) {
      best_passing = &t;
    }
  }
  // Weighted by recency, some setting ranks the random hold-out worse than
  // the embeddings (the trade the guard is for).
  EXPECT_GT(failing, 0);
  const bool expected = best_passing != nullptr;
  ASSERT_EQ(guarded->item_item.has_value(), expected);
  if (expected) {
    EXPECT_EQ(guarded->item_item->params.reg, best_passing->params.reg);
    EXPECT_EQ(guarded->item_item->params.recency_weight,
              best_passing->params.recency_weight);
    EXPECT_EQ(guarded->item_item->params.recency_horizon,
              best_passing->params.recency_horizon);
  }
  // Unguarded, the best latest ranking wins whatever it costs elsewhere.
  options.item_item_guard = false;
  auto unguarded = TrainTwoStage(data, options);
  ASSERT_TRUE(unguarded.ok()) << unguarded.status();
  ASSERT_TRUE(unguarded->item_item.has_value());
  const ItemItemTrial* failing_best = nullptr;
  for (const ItemItemTrial& t : guarded->item_item_trials) {
    if (failing_best == nullptr || t.ndcg > failing_best->ndcg) {
      failing_best = &t;
    }
  }
  // On this data the best latest ranking costs the random hold-out, so the
  // guarded run did not take it.
  EXPECT_LT(failing_best->random_ndcg, guard);
  {
    EXPECT_FALSE(guarded->item_item.has_value() &&
                 guarded->item_item->params.recency_weight ==
                     unguarded->item_item->params.recency_weight &&
                 guarded->item_item->params.reg ==
                     unguarded->item_item->params.reg &&
                 guarded->item_item->params.recency_horizon ==
                     unguarded->item_item->params.recency_horizon);
  }
}

TEST(TwoStageTrainerTest, LeavesTheItemItemModelOutWhenAskedOrTooLarge) {
  const Dataset data = testutil::MovedOnUsers();
  TwoStageTrainingOptions options = SmallOptions(100);
  options.retrieval_reg_grid = {3.0f};
  options.retrieval_recency_grid = {0.0f};
  options.search_item_item = false;
  auto off = TrainTwoStage(data, options);
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_TRUE(off->item_item_trials.empty());
  EXPECT_FALSE(off->item_item.has_value());
  // A catalog above the limit (100 items) is not tried.
  options.search_item_item = true;
  options.item_item_max_items = 99;
  auto large = TrainTwoStage(data, options);
  ASSERT_TRUE(large.ok()) << large.status();
  EXPECT_TRUE(large->item_item_trials.empty());
  EXPECT_FALSE(large->item_item.has_value());
  options.item_item_max_items = 100;
  auto within = TrainTwoStage(data, options);
  ASSERT_TRUE(within.ok()) << within.status();
  EXPECT_FALSE(within->item_item_trials.empty());

  options.item_item_max_items = 0;
  EXPECT_THAT(TrainTwoStage(data, options).status().message(),
              HasSubstr("item_item_max_items must be in [1, 16384], got 0"));
  options.item_item_max_items = 100;
  options.item_item_reg_grid = {0.0f};
  EXPECT_THAT(TrainTwoStage(data, options).status().message(),
              HasSubstr("item-item reg must be finite and > 0, got 0"));
  options.item_item_reg_grid = {10.0f};
  options.item_item_recency_grid = {-1.0f};
  EXPECT_THAT(TrainTwoStage(data, options).status().message(),
              HasSubstr("item-item recency weight must be finite and >= 0"));
  options.item_item_recency_grid = {0.0f};
  // Given settings need the ranking given too.
  options.item_item_reg_grid = {10.0f};
  options.item_item = ItemItemParams{};
  EXPECT_THAT(TrainTwoStage(data, options).status().message(),
              HasSubstr("need the ranking given too"));
  // Events train no rating model for it to rank before.
  options.train_rating = false;
  options.item_item = ItemItemParams{};
  EXPECT_THAT(TrainTwoStage(data, options).status().message(),
              HasSubstr("needs train_rating"));
}

}  // namespace
}  // namespace recserve
