// The user prior each rating trainer reports (TrainResult::user_prior) and
// FoldInParamsOf: what request-time fold-in solves with must be what the
// trainer optimized.

#include <cmath>
#include <vector>

#include "core/model/user_fold_in.h"
#include "core/train/als_trainer.h"
#include "core/train/bpmf_trainer.h"
#include "core/train/sgd_trainer.h"
#include "core/train/two_stage_trainer.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

constexpr int32_t kUsers = 30;
constexpr int32_t kItems = 25;
constexpr int32_t kFactors = 3;

std::vector<Rating> SomeRatings() {
  std::vector<Rating> ratings;
  for (int32_t u = 0; u < kUsers; ++u) {
    for (int32_t j = 0; j < 5 + u % 6; ++j) {
      const int32_t item = (u * 7 + j * 5) % kItems;
      ratings.push_back(
          {u, item, static_cast<float>(1 + (u * 3 + item) % 5), 0});
    }
  }
  return ratings;
}

void ExpectRidge(const RatingUserPrior& prior, float reg, float bias_reg) {
  ASSERT_EQ(prior.mean.size(), kFactors + 1);
  ASSERT_EQ(prior.precision.size(), kFactors + 1);
  EXPECT_TRUE(prior.scales_with_count);
  EXPECT_EQ(prior.mean.norm(), 0.0f);
  for (int32_t f = 0; f < kFactors; ++f) EXPECT_EQ(prior.precision[f], reg);
  EXPECT_EQ(prior.precision[kFactors], bias_reg);
}

TEST(FoldInPriorTest, AlsReportsItsWeightedRidge) {
  AlsOptions options;
  options.factors = kFactors;
  options.reg = 0.3f;
  options.bias_reg = 0.05f;
  options.threads = 1;
  const absl::StatusOr<TrainResult> trained =
      TrainAls(kUsers, kItems, SomeRatings(), {}, {1, 5, 1}, options);
  ASSERT_TRUE(trained.ok()) << trained.status();
  ExpectRidge(trained->user_prior, 0.3f, 0.05f);
}

// At ALS's fixed point a user's factors are the user step against the final
// items, the step fold-in takes with the reported prior: folding a trained
// user in from their ratings gives back (nearly) their stored factors.
TEST(FoldInPriorTest, AlsConvergedUsersEqualTheirFoldIn) {
  AlsOptions options;
  options.factors = kFactors;
  options.reg = 0.5f;
  options.bias_reg = 0.1f;
  options.max_iterations = 400;
  options.threads = 1;
  const std::vector<Rating> ratings = SomeRatings();
  const absl::StatusOr<TrainResult> trained =
      TrainAls(kUsers, kItems, ratings, {}, {1, 5, 1}, options);
  ASSERT_TRUE(trained.ok()) << trained.status();
  const MfModel& m = trained->model;
  const FactorMatrix embeddings = FactorMatrix::Identity(kItems, 2);
  const UserFoldIn fold_in(
      Eigen::Map<const FactorMatrix>(m.item_factors.data(), kItems, kFactors),
      Eigen::Map<const Eigen::VectorXf>(m.item_bias.data(), kItems),
      m.global_mean,
      Eigen::Map<const FactorMatrix>(embeddings.data(), kItems, 2),
      {.rating = trained->user_prior,
       .retrieval = {.reg = 1, .alpha = 0, .unobserved_weight = 1}});
  double worst = 0.0;
  for (int32_t u = 0; u < kUsers; ++u) {
    std::vector<UserInteraction> xs;
    for (const Rating& r : ratings) {
      if (r.user == u) xs.push_back({r.item, r.value, 1.0f});
    }
    const FoldedInUser f = fold_in.FoldIn(xs);
    const double scale = 1.0 + m.user_factors.row(u).norm();
    worst = std::max(worst, (f.factors - m.user_factors.row(u)).norm() / scale);
    worst = std::max(worst, std::abs(f.bias - m.user_bias[u]) / scale);
  }
  EXPECT_LT(worst, 2e-2);
}

TEST(FoldInPriorTest, SgdReportsItsWeightedRidge) {
  SgdOptions options;
  options.factors = kFactors;
  options.reg = 0.04f;
  options.bias_reg = 0.01f;
  options.threads = 1;
  const absl::StatusOr<TrainResult> trained =
      TrainSgd(kUsers, kItems, SomeRatings(), {}, {1, 5, 1}, options);
  ASSERT_TRUE(trained.ok()) << trained.status();
  ExpectRidge(trained->user_prior, 0.04f, 0.01f);
}

TEST(FoldInPriorTest, BpmfReportsALearnedUnscaledPrior) {
  BpmfOptions options;
  options.factors = kFactors;
  options.sweeps = 12;
  options.burn_in = 4;
  options.threads = 1;
  const absl::StatusOr<TrainResult> trained =
      TrainBpmf(kUsers, kItems, SomeRatings(), {}, {1, 5, 1}, options);
  ASSERT_TRUE(trained.ok()) << trained.status();
  const RatingUserPrior& prior = trained->user_prior;
  EXPECT_FALSE(prior.scales_with_count);
  ASSERT_EQ(prior.mean.size(), kFactors + 1);
  ASSERT_EQ(prior.precision.size(), kFactors + 1);
  EXPECT_TRUE(ValidateFoldInParams(
                  {.rating = prior,
                   .retrieval = {.reg = 1, .alpha = 0, .unobserved_weight = 1}},
                  kFactors)
                  .ok());
  // Learned, not a fixed ridge: the mean is not exactly zero.
  EXPECT_GT(prior.mean.norm(), 0.0f);
}

TEST(FoldInPriorTest, FoldInParamsOfCopiesBothModelsSettings) {
  TwoStageTrainingResult trained;
  trained.rating.train.user_prior =
      RatingUserPrior::Ridge(kFactors, 0.2f, 0.3f);
  trained.retrieval_options.reg = 7.5f;
  trained.retrieval_options.alpha = 0.45f;
  trained.retrieval_options.unobserved_weight = 0.6f;
  const FoldInParams params = FoldInParamsOf(trained);
  ExpectRidge(params.rating, 0.2f, 0.3f);
  EXPECT_EQ(params.retrieval.reg, 7.5f);
  EXPECT_EQ(params.retrieval.alpha, 0.45f);
  EXPECT_EQ(params.retrieval.unobserved_weight, 0.6f);
  EXPECT_TRUE(ValidateFoldInParams(params, kFactors).ok());
}

}  // namespace
}  // namespace recserve
