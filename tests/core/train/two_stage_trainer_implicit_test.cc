// Implicit feedback through TrainTwoStage (train_rating false) and the
// retrieval search it runs (retrieval_tuning.h).

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/train/retrieval_tuning.h"
#include "core/train/two_stage_trainer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/moved_on_users.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;

// Play counts with a block structure: 4 taste groups of 30 users and of 25
// items; each user plays 12 items, mostly (85%) of their group, with larger
// counts in it; every 5th user also dislikes (value -1) one item of another
// group. `constant` makes every positive count 1.
Dataset GroupedPlays(bool constant, uint64_t seed = 3) {
  Dataset data;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int32_t u = 0; u < 120; ++u) data.users.GetOrAdd(absl::StrCat("u", u));
  for (int32_t i = 0; i < 100; ++i) data.items.GetOrAdd(absl::StrCat("i", i));
  for (int32_t u = 0; u < 120; ++u) {
    const int32_t group = u % 4;
    std::set<int32_t> played;
    while (played.size() < 12) {
      const bool own = unit(rng) < 0.85;
      const int32_t g = own ? group : static_cast<int32_t>(unit(rng) * 4) % 4;
      played.insert(g * 25 + static_cast<int32_t>(unit(rng) * 25) % 25);
    }
    for (const int32_t i : played) {
      const bool own = i / 25 == group;
      const float count =
          constant ? 1.0f
                   : static_cast<float>(
                         1 + static_cast<int>(unit(rng) * (own ? 40 : 4)));
      data.ratings.push_back({u, i, count, 0});
    }
    if (u % 5 == 0) {
      const int32_t other = ((group + 1) % 4) * 25 + u % 25;
      if (!played.count(other)) data.ratings.push_back({u, other, -1.0f, 0});
    }
  }
  return data;
}

RetrievalTuningOptions SmallSearch() {
  RetrievalTuningOptions o;
  o.alpha_grid = {1.0f, 10.0f};
  o.epsilon_grid = {1.0f};
  o.unobserved_weight_grid = {0.1f, 1.0f};
  o.reg_grid = {0.3f, 3.0f};
  o.factor_grid = {4, 8};
  o.seconds = 0;  // no budget: deterministic
  o.threads = 2;
  return o;
}

ImplicitAlsOptions SmallModel() {
  ImplicitAlsOptions o;
  o.factors = 4;
  o.iterations = 6;
  o.reg = 1.0f;
  return o;
}

TEST(HoldOutPerUserTest, HoldsOutAFifthOfEachUsersPositivesOnly) {
  const Dataset data = GroupedPlays(false);
  const TrainTest split = HoldOutPerUser(data, 0.2, 7);
  EXPECT_EQ(split.train.ratings.size() + split.test.size(),
            data.ratings.size());
  EXPECT_EQ(split.train.num_items(), data.num_items());
  std::vector<int32_t> held(data.num_users(), 0);
  for (const Rating& r : split.test) {
    EXPECT_GE(r.value, 0.0f);  // negatives stay in training
    ++held[r.user];
  }
  // 12 positives each: round(2.4) = 2 held out.
  for (int32_t u = 0; u < data.num_users(); ++u) EXPECT_EQ(held[u], 2) << u;
  // Deterministic for a seed, another seed another choice.
  const TrainTest again = HoldOutPerUser(data, 0.2, 7);
  const TrainTest other = HoldOutPerUser(data, 0.2, 8);
  ASSERT_EQ(again.test.size(), split.test.size());
  bool differs = false;
  for (size_t j = 0; j < split.test.size(); ++j) {
    EXPECT_EQ(again.test[j].item, split.test[j].item);
    differs |= other.test[j].item != split.test[j].item;
  }
  EXPECT_TRUE(differs);
}

TEST(HoldOutPerUserTest, AUserWithOnePositiveKeepsIt) {
  Dataset data;
  data.users.GetOrAdd("a");
  data.items.GetOrAdd("x");
  data.items.GetOrAdd("y");
  data.ratings = {{0, 0, 3.0f, 0}, {0, 1, -1.0f, 0}};
  const TrainTest split = HoldOutPerUser(data, 0.5, 1);
  EXPECT_TRUE(split.test.empty());
  EXPECT_EQ(split.train.ratings.size(), 2u);
}

TEST(TuneRetrievalTest, RecordsEveryTrialAndKeepsTheBest) {
  const Dataset data = GroupedPlays(false);
  auto tuned = TuneRetrieval(data, SmallModel(), SmallSearch());
  ASSERT_TRUE(tuned.ok()) << tuned.status();
  ASSERT_FALSE(tuned->trials.empty());
  EXPECT_EQ(tuned->trials.front().setting, "start");
  std::set<std::string> settings;
  double best = 0;
  for (const RetrievalTrial& t : tuned->trials) {
    settings.insert(t.setting);
    best = std::max(best, t.recall);
    EXPECT_GE(t.recall, 0.0);
    EXPECT_LE(t.recall, 1.0);
  }
  // Counts vary: the scale and epsilon are searched too.
  for (const char* s : {"scale", "alpha", "unobserved_weight", "reg",
                        "reg_exponent", "factors"}) {
    EXPECT_TRUE(settings.count(s)) << s;
  }
  // The chosen options are those of the best trial (coordinate search keeps
  // only improvements), at least as good as where it started.
  EXPECT_DOUBLE_EQ(tuned->recall, best);
  EXPECT_GE(tuned->recall, tuned->trials.front().recall);
  EXPECT_FALSE(tuned->out_of_time);
  EXPECT_GT(tuned->validation_users, 0);
  // The structure is there to find: well above popularity.
  EXPECT_GT(tuned->recall, 1.5 * tuned->popularity_recall);
  // The iterations and threads are left as they started.
  EXPECT_EQ(tuned->options.iterations, SmallModel().iterations);
  EXPECT_EQ(tuned->options.threads, SmallModel().threads);
}

TEST(TuneRetrievalTest, DeterministicWithoutABudget) {
  const Dataset data = GroupedPlays(false);
  auto a = TuneRetrieval(data, SmallModel(), SmallSearch());
  RetrievalTuningOptions one_thread = SmallSearch();
  one_thread.threads = 1;
  auto b = TuneRetrieval(data, SmallModel(), one_thread);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->trials.size(), b->trials.size());
  for (size_t t = 0; t < a->trials.size(); ++t) {
    EXPECT_EQ(a->trials[t].setting, b->trials[t].setting);
    EXPECT_EQ(a->trials[t].recall, b->trials[t].recall);
  }
}

TEST(TuneRetrievalTest, ConstantStrengthsSkipTheScaleAndEpsilon) {
  auto tuned = TuneRetrieval(GroupedPlays(true), SmallModel(), SmallSearch());
  ASSERT_TRUE(tuned.ok()) << tuned.status();
  for (const RetrievalTrial& t : tuned->trials) {
    EXPECT_NE(t.setting, "scale");
    EXPECT_NE(t.setting, "epsilon");
  }
  EXPECT_EQ(tuned->options.confidence_scale, ConfidenceScale::kLinear);
}

TEST(TuneRetrievalTest, ATinyBudgetRunsOnlyTheStart) {
  RetrievalTuningOptions o = SmallSearch();
  o.seconds = 1e-9;
  auto tuned = TuneRetrieval(GroupedPlays(false), SmallModel(), o);
  ASSERT_TRUE(tuned.ok());
  EXPECT_EQ(tuned->trials.size(), 1u);
  EXPECT_TRUE(tuned->out_of_time);
  EXPECT_EQ(tuned->options.factors, SmallModel().factors);
}

TEST(TuneRetrievalTest, RejectsBadOptions) {
  RetrievalTuningOptions o = SmallSearch();
  o.holdout_fraction = 1.0;
  EXPECT_THAT(
      TuneRetrieval(GroupedPlays(false), SmallModel(), o).status().message(),
      HasSubstr("holdout_fraction"));
  o = SmallSearch();
  o.reg_grid = {0.0f};
  EXPECT_THAT(
      TuneRetrieval(GroupedPlays(false), SmallModel(), o).status().message(),
      HasSubstr("reg_grid"));
  o = SmallSearch();
  o.rounds = 0;
  EXPECT_THAT(
      TuneRetrieval(GroupedPlays(false), SmallModel(), o).status().message(),
      HasSubstr("rounds"));
}

TEST(TuneRetrievalTest, NothingToHoldOutKeepsTheStart) {
  Dataset single;
  single.users.GetOrAdd("a");
  single.items.GetOrAdd("x");
  single.ratings = {{0, 0, 1.0f, 0}};
  ImplicitAlsOptions start = SmallModel();
  start.reg = 7.0f;
  auto tuned = TuneRetrieval(single, start, SmallSearch());
  ASSERT_TRUE(tuned.ok()) << tuned.status();
  EXPECT_TRUE(tuned->trials.empty());
  EXPECT_EQ(tuned->options.reg, 7.0f);
}

TwoStageTrainingOptions ImplicitOnly() {
  TwoStageTrainingOptions o;
  o.train_rating = false;
  o.retrieval = SmallModel();
  o.retrieval.confidence_scale = ConfidenceScale::kLog;
  o.retrieval.epsilon = 2.0f;
  o.retrieval.reg_exponent = 1.0f;
  o.retrieval_tuning = SmallSearch();
  return o;
}

TEST(TwoStageTrainerImplicitTest, TrainsTheRetrievalModelAlone) {
  const Dataset data = GroupedPlays(false);
  TwoStageTrainingOptions options = ImplicitOnly();
  options.tune_retrieval = false;
  auto trained = TrainTwoStage(data, options);
  ASSERT_TRUE(trained.ok()) << trained.status();
  EXPECT_FALSE(trained->rating_trained);
  EXPECT_EQ(trained->rating.train.model.user_factors.size(), 0);
  EXPECT_EQ(trained->rating.train.user_prior.mean.size(), 0);
  ASSERT_TRUE(trained->retrieval.has_value());
  EXPECT_EQ(trained->retrieval->user_factors.rows(), data.num_users());
  EXPECT_EQ(trained->retrieval->item_factors.cols(), 4);
  EXPECT_TRUE(trained->blend_trials.empty());
  EXPECT_TRUE(trained->retrieval_reg_trials.empty());
  EXPECT_TRUE(trained->retrieval_trials.empty());
  // Without tuning, the options are used as given.
  EXPECT_EQ(trained->retrieval_options.confidence_scale, ConfidenceScale::kLog);
  EXPECT_EQ(trained->retrieval_options.reg, 1.0f);

  // The same model as implicit ALS trained directly.
  auto direct = TrainImplicitAls(data.num_users(), data.num_items(),
                                 data.ratings, options.retrieval);
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(trained->retrieval->item_factors, direct->item_factors);

  const FoldInParams params = FoldInParamsOf(*trained);
  EXPECT_EQ(params.rating.mean.size(), 0);  // no rating prior: factors 0
  EXPECT_EQ(params.rating.precision.size(), 0);
  EXPECT_EQ(params.retrieval.reg, 1.0f);
  EXPECT_EQ(params.retrieval.alpha, options.retrieval.alpha);
  EXPECT_EQ(params.retrieval.unobserved_weight,
            options.retrieval.unobserved_weight);
  EXPECT_EQ(params.retrieval.scale, ConfidenceScale::kLog);
  EXPECT_EQ(params.retrieval.epsilon, 2.0f);
  EXPECT_EQ(params.retrieval.reg_exponent, 1.0f);
}

TEST(TwoStageTrainerImplicitTest, TunesTheRetrievalModelAndRecordsTrials) {
  const Dataset data = GroupedPlays(false);
  auto trained = TrainTwoStage(data, ImplicitOnly());
  ASSERT_TRUE(trained.ok()) << trained.status();
  EXPECT_FALSE(trained->rating_trained);
  ASSERT_FALSE(trained->retrieval_trials.empty());
  EXPECT_GT(trained->retrieval_validation_recall,
            trained->popularity_validation_recall);
  // The final model has the chosen dimension, and fold-in the chosen
  // settings.
  ASSERT_TRUE(trained->retrieval.has_value());
  EXPECT_EQ(trained->retrieval->item_factors.cols(),
            trained->retrieval_options.factors);
  const FoldInParams params = FoldInParamsOf(*trained);
  EXPECT_EQ(params.retrieval.reg, trained->retrieval_options.reg);
  EXPECT_EQ(params.retrieval.scale,
            trained->retrieval_options.confidence_scale);
  EXPECT_EQ(params.retrieval.reg_exponent,
            trained->retrieval_options.reg_exponent);
}

TEST(TwoStageTrainerImplicitTest,
     ChoosesTheRecencyWeightingOnTheLatestPlaysWhenAsked) {
  const Dataset data = testutil::MovedOnUsers(/*value=*/1.0f);
  TwoStageTrainingOptions options = ImplicitOnly();
  options.retrieval.factors = 8;
  options.retrieval.iterations = 15;
  options.retrieval.confidence_scale = ConfidenceScale::kLinear;
  options.retrieval.reg_exponent = 0.0f;
  options.retrieval.recency_horizon = 1.0f;
  options.retrieval_tuning.factor_grid = {};
  options.retrieval_recency_grid = {0.0f, 30.0f};
  options.retrieval_horizon_grid = {1.0f, 10.0f};
  // Off by default for events.
  auto unweighted = TrainTwoStage(data, options);
  ASSERT_TRUE(unweighted.ok()) << unweighted.status();
  EXPECT_TRUE(unweighted->retrieval_reg_trials.empty());
  EXPECT_EQ(unweighted->retrieval_options.recency_weight, 0.0f);

  options.search_recency = true;
  auto trained = TrainTwoStage(data, options);
  ASSERT_TRUE(trained.ok()) << trained.status();
  ASSERT_FALSE(trained->retrieval_trials.empty());
  // TuneRetrieval's choice unweighted, then the weight 30 at horizon 1, then
  // horizon 10 if the weight won.
  const std::vector<RetrievalRegTrial>& trials = trained->retrieval_reg_trials;
  ASSERT_GE(trials.size(), 2u);
  EXPECT_EQ(trials[0].recency_weight, 0.0f);
  EXPECT_EQ(trials[1].recency_weight, 30.0f);
  EXPECT_EQ(trials[1].recency_horizon, 1.0f);
  for (const RetrievalRegTrial& t : trials)
    EXPECT_EQ(t.reg, trained->retrieval_options.reg);
  // The planted shift: the weighted model ranks the next play far better,
  // and is kept.
  EXPECT_GT(trials[1].ndcg, 1.5 * trials[0].ndcg);
  ASSERT_EQ(trials.size(), 3u);
  EXPECT_EQ(trials[2].recency_horizon, 10.0f);
  EXPECT_EQ(trained->retrieval_options.recency_weight, 30.0f);
  EXPECT_EQ(trained->retrieval_options.recency_horizon,
            trials[2].ndcg > trials[1].ndcg ? 10.0f : 1.0f);

  // Untimed plays: the weighting cannot change them, so it is not tried.
  Dataset untimed = data;
  for (Rating& r : untimed.ratings) r.timestamp = 0;
  auto plain = TrainTwoStage(untimed, options);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_TRUE(plain->retrieval_reg_trials.empty());
  EXPECT_EQ(plain->retrieval_options.recency_weight, 0.0f);
}

TEST(TwoStageTrainerImplicitTest, SearchesOnlyTheRecencyOfGivenSettings) {
  const Dataset data = testutil::MovedOnUsers(/*value=*/1.0f);
  TwoStageTrainingOptions options = ImplicitOnly();
  options.tune_retrieval = false;
  options.search_recency = true;
  options.retrieval.factors = 8;
  options.retrieval.iterations = 15;
  options.retrieval.alpha = 3.0f;
  options.retrieval.recency_horizon = 1.0f;
  options.retrieval_recency_grid = {0.0f, 30.0f};
  options.retrieval_horizon_grid = {};
  auto trained = TrainTwoStage(data, options);
  ASSERT_TRUE(trained.ok()) << trained.status();
  EXPECT_TRUE(trained->retrieval_trials.empty());
  ASSERT_EQ(trained->retrieval_reg_trials.size(), 2u);
  EXPECT_GT(trained->retrieval_reg_trials[1].ndcg,
            trained->retrieval_reg_trials[0].ndcg);
  EXPECT_EQ(trained->retrieval_options.recency_weight, 30.0f);
  EXPECT_EQ(trained->retrieval_options.factors, 8);
  EXPECT_EQ(trained->retrieval_options.reg, options.retrieval.reg);

  // A refit from it must not search again.
  EXPECT_EQ(TrainTwoStage(data, options, {}, &*trained).status().code(),
            absl::StatusCode::kInvalidArgument);

  // When every user's latest interaction is negative there is nothing to
  // score: the given settings are kept, not replaced by defaults.
  Dataset negative_last = data;
  for (size_t i = 13; i < negative_last.ratings.size(); i += 14)
    negative_last.ratings[i].value = -1.0f;
  auto unscored = TrainTwoStage(negative_last, options);
  ASSERT_TRUE(unscored.ok()) << unscored.status();
  EXPECT_EQ(unscored->retrieval_options.factors, 8);
  EXPECT_EQ(unscored->retrieval_options.alpha, 3.0f);
  EXPECT_EQ(unscored->retrieval_options.recency_weight, 0.0f);
}

TEST(TwoStageTrainerImplicitTest, NeedsARetrievalModel) {
  TwoStageTrainingOptions options = ImplicitOnly();
  options.train_retrieval = false;
  const absl::StatusOr<TwoStageTrainingResult> trained =
      TrainTwoStage(GroupedPlays(false), options);
  EXPECT_EQ(trained.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(trained.status().message(), HasSubstr("train_retrieval"));
}

TEST(TwoStageTrainerImplicitTest, ExplicitResultsCarryTheConfidenceSettings) {
  TwoStageTrainingResult trained;  // as an explicit run leaves it
  trained.rating.train.user_prior = RatingUserPrior::Ridge(3, 0.2f, 0.3f);
  trained.retrieval_options.confidence_scale = ConfidenceScale::kLog;
  trained.retrieval_options.epsilon = 5.0f;
  trained.retrieval_options.reg_exponent = 1.0f;
  const FoldInParams params = FoldInParamsOf(trained);
  EXPECT_EQ(params.rating.mean.size(), 4);
  EXPECT_EQ(params.retrieval.scale, ConfidenceScale::kLog);
  EXPECT_EQ(params.retrieval.epsilon, 5.0f);
  EXPECT_EQ(params.retrieval.reg_exponent, 1.0f);
}

}  // namespace
}  // namespace recserve
