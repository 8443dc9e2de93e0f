#include "core/train/implicit_als.h"

#include <Eigen/Dense>
#include <cmath>
#include <vector>

#include "core/model/implicit_row_solver.h"
#include "core/model/item_scorer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;

// A tiny data set: users 0-2 rate items 0-2, users 3-5 rate items 3-5, each
// leaving one item of their block unrated; rating values vary.
std::vector<Rating> TwoBlocks() {
  std::vector<Rating> r;
  for (int32_t u = 0; u < 6; ++u) {
    const int32_t block = u < 3 ? 0 : 3;
    for (int32_t i = block; i < block + 3; ++i) {
      if (i - block == u % 3) continue;  // the unrated in-block item
      r.push_back({u, i, static_cast<float>(1 + (u + i) % 5), 0});
    }
  }
  return r;
}

// Solves one side densely, visiting every (row, column) cell: the
// definition of the weighted least squares step, without the Gramian trick:
// an observed cell weighs Confidence(|value|) with target PreferenceOf(value),
// and each row's penalty is reg · ((n + w0·others) / (w0·others))^exponent
// for its n observed cells, all in double.
Eigen::MatrixXd DenseSolve(const Eigen::MatrixXd& other, int32_t rows,
                           const std::vector<Rating>& ratings, bool by_user,
                           const ImplicitAlsOptions& o) {
  const int64_t k = other.cols();
  Eigen::MatrixXd out(rows, k);
  for (int32_t row = 0; row < rows; ++row) {
    int64_t n = 0;
    for (const Rating& r : ratings) n += (by_user ? r.user : r.item) == row;
    const double others = o.unobserved_weight * other.rows();
    const double reg =
        o.reg * std::pow((n + others) / others, double{o.reg_exponent});
    Eigen::MatrixXd a = reg * Eigen::MatrixXd::Identity(k, k);
    Eigen::VectorXd b = Eigen::VectorXd::Zero(k);
    for (int32_t col = 0; col < other.rows(); ++col) {
      double weight = o.unobserved_weight, target = 0.0;
      for (const Rating& r : ratings) {
        if ((by_user ? r.user : r.item) == row &&
            (by_user ? r.item : r.user) == col) {
          const double strength = std::fabs(r.value);
          weight = o.confidence_scale == ConfidenceScale::kLog
                       ? 1.0 + o.alpha * std::log1p(strength / o.epsilon)
                       : 1.0 + o.alpha * strength;
          target = r.value < 0 ? 0.0 : 1.0;
        }
      }
      const Eigen::VectorXd y = other.row(col).transpose();
      a += weight * y * y.transpose();
      b += weight * target * y;
    }
    out.row(row) = a.ldlt().solve(b).transpose();
  }
  return out;
}

// The objective of implicit_als.h written cell by cell, in double.
double DenseLoss(const RetrievalModel& m, int32_t users, int32_t items,
                 const std::vector<Rating>& ratings,
                 const ImplicitAlsOptions& o) {
  double loss = 0.0;
  std::vector<int64_t> user_n(users, 0), item_n(items, 0);
  for (const Rating& r : ratings) ++user_n[r.user], ++item_n[r.item];
  for (int32_t u = 0; u < users; ++u) {
    for (int32_t i = 0; i < items; ++i) {
      double w = o.unobserved_weight, p = 0.0;
      for (const Rating& r : ratings) {
        if (r.user != u || r.item != i) continue;
        const double strength = std::fabs(r.value);
        w = o.confidence_scale == ConfidenceScale::kLog
                ? 1.0 + o.alpha * std::log1p(strength / o.epsilon)
                : 1.0 + o.alpha * strength;
        p = r.value < 0 ? 0.0 : 1.0;
      }
      const double s = m.user_factors.row(u).cast<double>().dot(
          m.item_factors.row(i).cast<double>());
      loss += w * (p - s) * (p - s);
    }
  }
  const auto scale = [&](int64_t n, int64_t others) {
    const double unobserved = o.unobserved_weight * others;
    return std::pow((n + unobserved) / unobserved, double{o.reg_exponent});
  };
  for (int32_t u = 0; u < users; ++u) {
    loss += o.reg * scale(user_n[u], items) *
            m.user_factors.row(u).cast<double>().squaredNorm();
  }
  for (int32_t i = 0; i < items; ++i) {
    loss += o.reg * scale(item_n[i], users) *
            m.item_factors.row(i).cast<double>().squaredNorm();
  }
  return loss;
}

// TwoBlocks with one negative cell per user: an item of the other block,
// disliked with strength 2.
std::vector<Rating> TwoBlocksWithNegatives() {
  std::vector<Rating> r = TwoBlocks();
  for (int32_t u = 0; u < 6; ++u) {
    const int32_t other_block = u < 3 ? 3 : 0;
    r.push_back({u, other_block + u % 3, -2.0f, 0});
  }
  return r;
}

// One sweep of 6 users × 6 items at 3 factors against DenseSolve: the trainer
// starts from MakeInitialModel's item factors, sweeps users then items, and
// ends with one more user step.
void ExpectOneSweepMatchesDense(const std::vector<Rating>& ratings,
                                const ImplicitAlsOptions& options) {
  auto model = TrainImplicitAls(6, 6, ratings, options);
  ASSERT_TRUE(model.ok()) << model.status();
  const Eigen::MatrixXd items0 =
      MakeInitialModel(6, 6, 3, options.init_stddev, options.seed)
          .item_factors.cast<double>();
  const Eigen::MatrixXd swept = DenseSolve(items0, 6, ratings, true, options);
  const Eigen::MatrixXd items1 = DenseSolve(swept, 6, ratings, false, options);
  const Eigen::MatrixXd users1 = DenseSolve(items1, 6, ratings, true, options);
  EXPECT_TRUE(model->user_factors.cast<double>().isApprox(users1, 1e-4))
      << model->user_factors << "\nvs\n"
      << users1;
  EXPECT_TRUE(model->item_factors.cast<double>().isApprox(items1, 1e-4));
}

TEST(ImplicitAlsTest, OneSweepMatchesADenseReferenceSolve) {
  const std::vector<Rating> ratings = TwoBlocks();
  ImplicitAlsOptions options;
  options.factors = 3;
  options.iterations = 1;
  options.reg = 0.5f;
  options.unobserved_weight = 0.3f;
  options.alpha = 2.0f;
  options.init_stddev = 0.5f;
  options.threads = 2;
  ExpectOneSweepMatchesDense(ratings, options);
}

TEST(ImplicitAlsTest, LossFallsEverySweepAndMatchesTheDefinition) {
  const std::vector<Rating> ratings = TwoBlocks();
  ImplicitAlsOptions options;
  options.factors = 2;
  options.iterations = 8;
  options.reg = 0.1f;
  auto model = TrainImplicitAls(6, 6, ratings, options);
  ASSERT_TRUE(model.ok());
  ASSERT_EQ(model->loss_history.size(), 8u);
  for (size_t s = 1; s < model->loss_history.size(); ++s) {
    EXPECT_LE(model->loss_history[s], model->loss_history[s - 1] + 1e-6) << s;
  }
  // The Gramian form of the loss equals the cell-by-cell sum.
  double dense = 0.0;
  for (int32_t u = 0; u < 6; ++u) {
    for (int32_t i = 0; i < 6; ++i) {
      double w = options.unobserved_weight, p = 0.0;
      for (const Rating& r : ratings) {
        if (r.user == u && r.item == i) w = 1 + options.alpha * r.value, p = 1;
      }
      const double s =
          model->user_factors.row(u).dot(model->item_factors.row(i));
      dense += w * (p - s) * (p - s);
    }
  }
  dense += options.reg * (model->user_factors.squaredNorm() +
                          model->item_factors.squaredNorm());
  EXPECT_NEAR(model->loss_history.back(), dense, 1e-3 * dense);
}

TEST(ImplicitAlsTest, RetrievesTheUnratedItemOfTheUsersOwnBlock) {
  ImplicitAlsOptions options;
  options.factors = 2;
  options.iterations = 10;
  options.reg = 0.05f;
  auto model = TrainImplicitAls(6, 6, TwoBlocks(), options);
  ASSERT_TRUE(model.ok());
  const EmbeddingScorer scorer(model->user_factors, model->item_factors);
  std::vector<float> scores(6);
  for (int32_t u = 0; u < 6; ++u) {
    scorer.ScoreItems(u, absl::MakeSpan(scores));
    const int32_t block = u < 3 ? 0 : 3;
    const int32_t unrated = block + u % 3;
    for (int32_t i = 0; i < 6; ++i) {
      if (i / 3 != block / 3) {
        EXPECT_GT(scores[unrated], scores[i]) << "user " << u << " item " << i;
      }
    }
  }
}

TEST(ImplicitAlsTest, SameResultForAnyThreadCount) {
  ImplicitAlsOptions options;
  options.factors = 3;
  options.iterations = 3;
  options.threads = 1;
  auto one = TrainImplicitAls(6, 6, TwoBlocks(), options);
  options.threads = 3;
  auto three = TrainImplicitAls(6, 6, TwoBlocks(), options);
  ASSERT_TRUE(one.ok() && three.ok());
  EXPECT_EQ(one->user_factors, three->user_factors);
  EXPECT_EQ(one->item_factors, three->item_factors);
}

TEST(ImplicitAlsTest, RejectsBadOptionsAndIndices) {
  ImplicitAlsOptions options;
  options.unobserved_weight = 0;
  EXPECT_THAT(TrainImplicitAls(6, 6, TwoBlocks(), options).status().message(),
              HasSubstr("unobserved weight"));
  std::vector<Rating> bad = {{0, 9, 1.0f, 0}};
  EXPECT_EQ(TrainImplicitAls(6, 6, bad, ImplicitAlsOptions()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ImplicitAlsTest, OneSweepWithNegativesLogScaleAndFrequencyRegMatches) {
  const std::vector<Rating> ratings = TwoBlocksWithNegatives();
  ImplicitAlsOptions options;
  options.factors = 3;
  options.iterations = 1;
  options.reg = 0.5f;
  options.unobserved_weight = 0.3f;
  options.alpha = 2.0f;
  options.confidence_scale = ConfidenceScale::kLog;
  options.epsilon = 0.5f;
  options.reg_exponent = 1.0f;
  options.init_stddev = 0.5f;
  options.threads = 2;
  ExpectOneSweepMatchesDense(ratings, options);
}

TEST(ImplicitAlsTest, LossIncludesTheFrequencyScaledPenaltyAndFalls) {
  const std::vector<Rating> ratings = TwoBlocksWithNegatives();
  ImplicitAlsOptions options;
  options.factors = 2;
  options.iterations = 6;
  options.reg = 0.3f;
  options.unobserved_weight = 0.2f;
  options.reg_exponent = 1.0f;
  options.confidence_scale = ConfidenceScale::kLog;
  options.alpha = 3.0f;
  auto model = TrainImplicitAls(6, 6, ratings, options);
  ASSERT_TRUE(model.ok());
  for (size_t s = 1; s < model->loss_history.size(); ++s) {
    EXPECT_LE(model->loss_history[s], model->loss_history[s - 1] + 1e-6) << s;
  }
  const double dense = DenseLoss(*model, 6, 6, ratings, options);
  EXPECT_NEAR(model->loss_history.back(), dense, 1e-4 * dense);
  // The constant penalty differs from it: the scaling is in the loss.
  ImplicitAlsOptions constant = options;
  constant.reg_exponent = 0.0f;
  EXPECT_GT(std::fabs(ImplicitLoss(model->user_factors, model->item_factors,
                                   ratings, constant) -
                      dense),
            1e-3);
}

TEST(ImplicitAlsTest, NegativeCellsScoreBelowPositiveOnes) {
  // Users 0-9 play items 0-3; users 10-19 play items 0-5, so items 4 and 5
  // look like good suggestions for users 0-9. Users 0-4 dislike item 4.
  std::vector<Rating> ratings;
  for (int32_t u = 0; u < 20; ++u) {
    for (int32_t i = 0; i < (u < 10 ? 4 : 6); ++i) {
      ratings.push_back({u, i, 1.0f, 0});
    }
    if (u < 5) ratings.push_back({u, 4, -3.0f, 0});
  }
  // One dimension cannot fit both groups' rows exactly (two would): the
  // model has to generalize, so items 4 and 5 score well for users 0-9.
  ImplicitAlsOptions options;
  options.factors = 1;
  options.iterations = 15;
  options.reg = 0.05f;
  options.alpha = 2.0f;
  auto model = TrainImplicitAls(20, 6, ratings, options);
  ASSERT_TRUE(model.ok()) << model.status();
  std::vector<Rating> positives;
  for (const Rating& r : ratings) {
    if (r.value >= 0) positives.push_back(r);
  }
  auto unaware = TrainImplicitAls(20, 6, positives, options);
  ASSERT_TRUE(unaware.ok());
  const auto score = [](const RetrievalModel& m, int32_t u, int32_t i) {
    return m.user_factors.row(u).dot(m.item_factors.row(i));
  };
  for (int32_t u = 0; u < 5; ++u) {
    const float disliked = score(*model, u, 4);
    for (int32_t i = 0; i < 4; ++i) {
      EXPECT_LT(disliked, score(*model, u, i)) << "user " << u << " item " << i;
    }
    // Below the item nobody disliked, below a user without the dislike, and
    // below what the same user scored without the negatives.
    EXPECT_LT(disliked, score(*model, u, 5) - 0.05f) << "user " << u;
    EXPECT_LT(disliked, score(*model, u + 5, 4) - 0.05f) << "user " << u;
    EXPECT_LT(disliked, score(*unaware, u, 4) - 0.05f) << "user " << u;
    EXPECT_GT(score(*unaware, u, 4), 0.1f) << "user " << u;
  }
}

TEST(ImplicitAlsTest, SameSeedSameModelOtherSeedAnother) {
  ImplicitAlsOptions options;
  options.factors = 3;
  options.iterations = 3;
  options.reg_exponent = 1.0f;
  options.confidence_scale = ConfidenceScale::kLog;
  options.seed = 5;
  options.threads = 1;
  auto a = TrainImplicitAls(6, 6, TwoBlocksWithNegatives(), options);
  options.threads = 2;
  auto b = TrainImplicitAls(6, 6, TwoBlocksWithNegatives(), options);
  options.seed = 6;
  auto c = TrainImplicitAls(6, 6, TwoBlocksWithNegatives(), options);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->user_factors, b->user_factors);
  EXPECT_EQ(a->item_factors, b->item_factors);
  EXPECT_EQ(a->loss_history, b->loss_history);
  EXPECT_NE(a->item_factors, c->item_factors);
}

// A larger block data set for the conjugate-gradient tests: 60 users × 40
// items in four blocks, each user interacting with about half of their
// block's items at varied strengths.
std::vector<Rating> FourBlocks() {
  std::vector<Rating> r;
  for (int32_t u = 0; u < 60; ++u) {
    const int32_t block = (u % 4) * 10;
    for (int32_t i = block; i < block + 10; ++i) {
      if ((u * 7 + i * 3) % 2 == 0) continue;
      r.push_back({u, i, static_cast<float>(1 + (u + i) % 5), 0});
    }
  }
  return r;
}

ImplicitAlsOptions CgOptions(int32_t cg_steps) {
  ImplicitAlsOptions options;
  options.factors = 16;
  options.iterations = 15;
  options.reg = 0.5f;
  options.init_stddev = 0.1f;
  options.cg_steps = cg_steps;
  return options;
}

TEST(ImplicitAlsTest, ConjugateGradientReachesTheExactSolvesLoss) {
  const std::vector<Rating> ratings = FourBlocks();
  auto exact = TrainImplicitAls(60, 40, ratings, CgOptions(0));
  auto cg = TrainImplicitAls(60, 40, ratings, CgOptions(3));
  ASSERT_TRUE(exact.ok() && cg.ok());
  EXPECT_LT(cg->loss_history.back(), exact->loss_history.back() * 1.01);
  EXPECT_NE(exact->item_factors, cg->item_factors);
  // The loss falls every sweep with CG as well (each CG step lowers each
  // row's objective).
  for (size_t s = 1; s + 1 < cg->loss_history.size(); ++s) {
    EXPECT_LE(cg->loss_history[s], cg->loss_history[s - 1] * (1 + 1e-6))
        << "sweep " << s + 1;
  }
}

TEST(ImplicitAlsTest, ConjugateGradientIsDeterministicForAnyThreadCount) {
  ImplicitAlsOptions options = CgOptions(3);
  options.iterations = 4;
  options.threads = 2;
  auto first = TrainImplicitAls(60, 40, FourBlocks(), options);
  auto again = TrainImplicitAls(60, 40, FourBlocks(), options);
  options.threads = 1;
  auto one = TrainImplicitAls(60, 40, FourBlocks(), options);
  options.threads = 3;
  auto three = TrainImplicitAls(60, 40, FourBlocks(), options);
  ASSERT_TRUE(first.ok() && again.ok() && one.ok() && three.ok());
  for (const auto* other : {&again, &one, &three}) {
    EXPECT_EQ(first->user_factors, (*other)->user_factors);
    EXPECT_EQ(first->item_factors, (*other)->item_factors);
  }
}

// The last user step is exact whatever cg_steps says: one exact user step
// against the returned items gives the returned users back.
TEST(ImplicitAlsTest, ConjugateGradientEndsWithAnExactUserStep) {
  ImplicitAlsOptions options = CgOptions(2);
  options.iterations = 3;
  auto cg = TrainImplicitAls(60, 40, FourBlocks(), options);
  ASSERT_TRUE(cg.ok());
  const ImplicitRowSolver solver(
      cg->item_factors,
      {.reg = options.reg, .unobserved_weight = options.unobserved_weight});
  std::vector<std::vector<int32_t>> rated(60);
  std::vector<std::vector<float>> confidences(60);
  for (const Rating& r : FourBlocks()) {
    rated[r.user].push_back(r.item);
    confidences[r.user].push_back(
        Confidence(options.confidence(), StrengthOf(r.value)));
  }
  ImplicitRowSolver::Scratch scratch;
  for (int32_t u = 0; u < 60; ++u) {
    Eigen::RowVectorXf x(options.factors);
    solver.Solve(rated[u], confidences[u], &scratch, x);
    // Equal up to the order of the sums.
    EXPECT_LT((x - cg->user_factors.row(u)).norm(), 1e-5 * x.norm())
        << "user " << u;
  }
}

TEST(ImplicitAlsTest, ConjugateGradientFromAConvergedModelStaysConverged) {
  const std::vector<Rating> ratings = FourBlocks();
  ImplicitAlsOptions options = CgOptions(0);
  options.iterations = 40;
  auto converged = TrainImplicitAls(60, 40, ratings, options);
  ASSERT_TRUE(converged.ok());
  const double start = converged->loss_history.back();
  options = CgOptions(3);
  options.iterations = 3;
  auto warm = TrainImplicitAls(60, 40, ratings, options, {}, &*converged);
  ASSERT_TRUE(warm.ok()) << warm.status();
  for (const double loss : warm->loss_history) {
    EXPECT_LE(loss, start * (1 + 1e-6));
  }
}

TEST(ImplicitAlsTest, RejectsNegativeConjugateGradientSteps) {
  ImplicitAlsOptions options;
  options.cg_steps = -2;
  auto model = TrainImplicitAls(6, 6, TwoBlocks(), options);
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(model.status().message(), HasSubstr("conjugate-gradient"));
}

TEST(ImplicitAlsTest, RejectsBadEpsilonAndExponent) {
  ImplicitAlsOptions options;
  options.epsilon = 0;
  EXPECT_THAT(TrainImplicitAls(6, 6, TwoBlocks(), options).status().message(),
              HasSubstr("epsilon"));
  options.epsilon = 1;
  options.reg_exponent = -1;
  EXPECT_THAT(TrainImplicitAls(6, 6, TwoBlocks(), options).status().message(),
              HasSubstr("reg_exponent"));
}

}  // namespace
}  // namespace recserve
