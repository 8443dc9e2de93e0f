#include "core/train/item_item_trainer.h"

#include <Eigen/Dense>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;

Dataset RandomData(int32_t users, int32_t items, double density,
                   uint32_t seed) {
  Dataset d;
  for (int32_t u = 0; u < users; ++u) d.users.GetOrAdd(absl::StrCat("u", u));
  for (int32_t i = 0; i < items; ++i) d.items.GetOrAdd(absl::StrCat("i", i));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> coin(0, 1);
  int64_t t = 0;
  for (int32_t u = 0; u < users; ++u) {
    for (int32_t i = 0; i < items; ++i) {
      if (coin(rng) < density) {
        d.ratings.push_back({u, i, static_cast<float>(1 + (u + i) % 5), ++t});
      }
    }
  }
  return d;
}

// X as a dense 0/1 matrix (positive interactions, repeats once).
Eigen::MatrixXd Interactions(const Dataset& d) {
  Eigen::MatrixXd x = Eigen::MatrixXd::Zero(d.num_users(), d.num_items());
  for (const Rating& r : d.ratings) {
    if (r.value >= 0) x(r.user, r.item) = 1;
  }
  return x;
}

TEST(ItemItemTrainerTest, SolvesTheConstrainedLeastSquaresProblem) {
  const Dataset data = RandomData(60, 25, 0.3, 7);
  const ItemItemParams params{
      .reg = 5, .recency_weight = 2, .recency_horizon = 3};
  const absl::StatusOr<ItemItemModel> model = TrainItemItem(data, params, 2);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->num_items(), 25);
  EXPECT_EQ(model->params.reg, 5);
  EXPECT_EQ(model->params.recency_weight, 2);
  EXPECT_EQ(model->params.recency_horizon, 3);
  const Eigen::MatrixXd b = model->weights.cast<double>();
  EXPECT_EQ(b.diagonal().cwiseAbs().maxCoeff(), 0.0);
  // Optimality (Lagrangian of min ‖X − XB‖² + λ‖B‖² with diag(B) = 0):
  // (G + λI)B − G is zero off the diagonal.
  const Eigen::MatrixXd x = Interactions(data);
  const Eigen::MatrixXd g = x.transpose() * x;
  Eigen::MatrixXd residual =
      (g + 5 * Eigen::MatrixXd::Identity(25, 25)) * b - g;
  residual.diagonal().setZero();
  EXPECT_LT(residual.cwiseAbs().maxCoeff(), 1e-3 * g.cwiseAbs().maxCoeff());
  // And not trivially: the weights are not all zero.
  EXPECT_GT(b.cwiseAbs().maxCoeff(), 0.01);
}

TEST(ItemItemTrainerTest, CountsRepeatsOnceAndIgnoresNegativeInteractions) {
  Dataset data = RandomData(40, 12, 0.4, 3);
  const absl::StatusOr<ItemItemModel> plain = TrainItemItem(data, {.reg = 2});
  ASSERT_TRUE(plain.ok()) << plain.status();
  Dataset noisy = data;
  const size_t n = noisy.ratings.size();
  for (size_t k = 0; k < n; k += 3) noisy.ratings.push_back(noisy.ratings[k]);
  // Negative interactions with items the user has not otherwise touched.
  noisy.ratings.push_back({0, 11, -1.0f, 1});
  noisy.ratings.push_back({1, 11, -2.0f, 1});
  for (const Rating& r : data.ratings) {
    ASSERT_FALSE((r.user == 0 || r.user == 1) && r.item == 11)
        << "the fixture must leave those cells empty";
  }
  const absl::StatusOr<ItemItemModel> same = TrainItemItem(noisy, {.reg = 2});
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(plain->weights, same->weights);
  // A regularization that differs gives other weights: the comparison can
  // fail.
  const absl::StatusOr<ItemItemModel> other = TrainItemItem(data, {.reg = 3});
  ASSERT_TRUE(other.ok());
  EXPECT_NE(plain->weights, other->weights);
}

TEST(ItemItemTrainerTest, RejectsBadSettingsAndLargeCatalogs) {
  const Dataset data = RandomData(5, 4, 0.5, 1);
  EXPECT_THAT(TrainItemItem(data, {.reg = 0}).status().message(),
              HasSubstr("reg must be finite and > 0, got 0"));
  EXPECT_THAT(
      TrainItemItem(data, {.reg = 1, .recency_weight = -1}).status().message(),
      HasSubstr("recency weight"));
  EXPECT_THAT(
      TrainItemItem(data, {.reg = 1, .recency_horizon = 0}).status().message(),
      HasSubstr("recency horizon"));
  EXPECT_THAT(TrainItemItem(Dataset(), {}).status().message(),
              HasSubstr("no items"));
  Dataset large;
  for (int32_t i = 0; i <= kMaxItemItemItems; ++i) {
    large.items.GetOrAdd(absl::StrCat(i));
  }
  const absl::Status status = TrainItemItem(large, {}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("16385 items; at most 16384"));
}

}  // namespace
}  // namespace recserve
