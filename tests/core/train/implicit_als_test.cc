#include "core/train/implicit_als.h"

#include <Eigen/Dense>
#include <vector>

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
// definition of the weighted least squares step, without the Gramian trick.
Eigen::MatrixXd DenseSolve(const Eigen::MatrixXd& other, int32_t rows,
                           const std::vector<Rating>& ratings, bool by_user,
                           const ImplicitAlsOptions& o) {
  const int64_t k = other.cols();
  Eigen::MatrixXd out(rows, k);
  for (int32_t row = 0; row < rows; ++row) {
    Eigen::MatrixXd a = o.reg * Eigen::MatrixXd::Identity(k, k);
    Eigen::VectorXd b = Eigen::VectorXd::Zero(k);
    for (int32_t col = 0; col < other.rows(); ++col) {
      double weight = o.unobserved_weight, target = 0.0;
      for (const Rating& r : ratings) {
        if ((by_user ? r.user : r.item) == row &&
            (by_user ? r.item : r.user) == col) {
          weight = 1.0 + o.alpha * r.value;
          target = 1.0;
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
  auto model = TrainImplicitAls(6, 6, ratings, options);
  ASSERT_TRUE(model.ok()) << model.status();
  // The trainer starts from MakeInitialModel's item factors, sweeps users
  // then items, and ends with one more user step.
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

}  // namespace
}  // namespace recserve
