#include "core/train/warm_start.h"

#include <vector>

#include "core/model/mf_model.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;

MfModel Filled(int32_t users, int32_t items, int32_t factors, float base) {
  MfModel m = MakeInitialModel(users, items, factors, 0.0f, 1);
  for (int32_t u = 0; u < users; ++u) {
    m.user_factors.row(u).setConstant(base + u);
    m.user_bias[u] = base + u;
  }
  for (int32_t i = 0; i < items; ++i) {
    m.item_factors.row(i).setConstant(-base - i);
    m.item_bias[i] = -base - i;
  }
  return m;
}

TEST(WarmStartTest, CopiesTheLeadingRowsAndKeepsTheRest) {
  const MfModel start = Filled(2, 3, 4, 10.0f);
  MfModel model = Filled(4, 5, 4, 100.0f);
  model.global_mean = 7.0f;
  ASSERT_TRUE(WarmStart(start, &model).ok());
  EXPECT_EQ(model.user_factors(1, 3), 11.0f);
  EXPECT_EQ(model.user_bias[1], 11.0f);
  EXPECT_EQ(model.user_factors(2, 0), 102.0f);  // beyond the start: kept
  EXPECT_EQ(model.item_factors(2, 1), -12.0f);
  EXPECT_EQ(model.item_bias[2], -12.0f);
  EXPECT_EQ(model.item_bias[3], -103.0f);
  EXPECT_EQ(model.global_mean, 7.0f);  // the trainer's, from its data

  RetrievalModel small{start.user_factors, start.item_factors, {}};
  RetrievalModel large{model.user_factors, model.item_factors, {}};
  large.user_factors.setZero();
  ASSERT_TRUE(WarmStart(small, &large).ok());
  EXPECT_EQ(large.user_factors(0, 0), 10.0f);
  EXPECT_EQ(large.user_factors(3, 0), 0.0f);
}

TEST(WarmStartTest, RefusesAStartThatDoesNotFit) {
  MfModel model = Filled(4, 5, 4, 0.0f);
  const MfModel before = model;
  absl::Status factors = WarmStart(Filled(2, 3, 3, 1.0f), &model);
  EXPECT_EQ(factors.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(factors.message(), HasSubstr("3 factors"));
  absl::Status rows = WarmStart(Filled(5, 3, 4, 1.0f), &model);
  EXPECT_EQ(rows.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(rows.message(), HasSubstr("5 users"));
  EXPECT_EQ(model.user_factors, before.user_factors);
  EXPECT_EQ(model.item_bias, before.item_bias);
}

TEST(WarmStartTest, StartsFromTheItemsOfAnotherIdSpace) {
  const MfModel source = Filled(2, 3, 2, 10.0f);
  // Item 0 is the source's item 2, item 1 is unknown to it, item 2 its 0.
  const std::vector<int32_t> rows = {2, kUnknownIndex, 0};
  const MfModel start = StartFromItems(source, rows, 6);
  EXPECT_EQ(start.num_users(), 6);
  EXPECT_EQ(start.num_items(), 3);
  EXPECT_EQ(start.factors(), 2);
  EXPECT_EQ(start.item_factors(0, 1), -12.0f);
  EXPECT_EQ(start.item_bias[0], -12.0f);
  EXPECT_EQ(start.item_factors(1, 0), 0.0f);
  EXPECT_EQ(start.item_bias[1], 0.0f);
  EXPECT_EQ(start.item_factors(2, 0), -10.0f);
  EXPECT_TRUE(start.user_factors.isZero());
  EXPECT_TRUE(start.user_bias.isZero());

  const RetrievalModel embeddings{source.user_factors, source.item_factors, {}};
  const RetrievalModel from = StartFromItems(embeddings, rows, 6);
  EXPECT_EQ(from.user_factors.rows(), 6);
  EXPECT_EQ(from.item_factors.row(0), source.item_factors.row(2));
  EXPECT_TRUE(from.item_factors.row(1).isZero());
}

}  // namespace
}  // namespace recserve
