#include "core/eval/evaluation_report.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// 3 users, 6 items; u0 interacted with item 0, u1 with 1, u2 with 2.
Dataset Train() {
  Dataset d;
  for (int32_t u = 0; u < 3; ++u) d.users.GetOrAdd(absl::StrCat("u", u));
  for (int32_t i = 0; i < 6; ++i) d.items.GetOrAdd(absl::StrCat("i", i));
  d.ratings = {{0, 0, 1, 1}, {1, 1, 1, 1}, {2, 2, 1, 1}};
  return d;
}

// One dimension: every user 1, item i scores 6 - i, so everyone ranks the
// items by index.
RetrievalModel Retrieval() {
  RetrievalModel r;
  r.user_factors = FactorMatrix::Constant(3, 1, 1.0f);
  r.item_factors.resize(6, 1);
  for (int32_t i = 0; i < 6; ++i) r.item_factors(i, 0) = 6.0f - i;
  return r;
}

// Implicit test interactions: u0 a positive on item 1, u1 on item 5, u2 only
// a negative one.
const std::vector<Rating> kTest = {{0, 1, 2, 1}, {1, 5, 1, 1}, {2, 3, -1, 1}};

TopNOptions ImplicitOptions() {
  TopNOptions options;
  options.k = 1;
  options.relevance_threshold = 0;
  options.threads = 1;
  return options;
}

std::vector<std::string> Methods(const EvaluationReport& report) {
  std::vector<std::string> names;
  for (const auto& [name, metrics] : report.topn) names.push_back(name);
  return names;
}

void ExpectOnlyNumbers(const nlohmann::json& json) {
  for (const auto& [key, value] : json.items()) {
    EXPECT_TRUE(value.is_number() || value.is_null()) << key << ": " << value;
  }
}

TEST(EvaluationReportTest, ImplicitFeedbackHasNoRatingMetrics) {
  const Dataset train = Train();
  const RetrievalModel retrieval = Retrieval();
  const EvaluationReport report = EvaluateModel(
      /*model=*/nullptr, &retrieval, TwoStageOptions(), train, kTest,
      ImplicitOptions());
  EXPECT_FALSE(report.rating.has_value());
  EXPECT_EQ(report.test_ratings, 3);
  EXPECT_THAT(Methods(report), ElementsAre("popularity", "retrieval"));

  // Retrieval, k = 1: u0's top unseen item is 1, relevant: a hit; u1's is
  // item 0, its relevant item 5 is not: a miss; u2 has nothing relevant.
  // AP = hit for k = 1. Leave-one-out: u0's positive (item 1) outscores
  // every unrated item, u1's (item 5) scores below all; u2 has no positive.
  const TopNMetrics& m = report.topn.back().second;
  EXPECT_EQ(m.users, 2);
  EXPECT_DOUBLE_EQ(m.hit_rate, 0.5);
  EXPECT_DOUBLE_EQ(m.map, 0.5);
  EXPECT_DOUBLE_EQ(m.recall, 0.5);
  EXPECT_EQ(m.loo_users, 2);
  EXPECT_DOUBLE_EQ(m.loo_hr, 0.5);

  const nlohmann::json json = EvaluationToJson(report);
  for (const char* key :
       {"rmse", "mae", "r2", "rating_model/recall@1", "two_stage/recall@1"}) {
    EXPECT_FALSE(json.contains(key)) << key;
  }
  ExpectOnlyNumbers(json);
  // The served ranking is the retrieval model's.
  EXPECT_EQ(json["hit_rate@1"], 0.5);
  EXPECT_EQ(json["retrieval/hit_rate@1"], 0.5);
  EXPECT_EQ(json["map@1"], 0.5);
  EXPECT_EQ(json["hr@1"], 0.5);
  EXPECT_EQ(json["recall@1"], json["retrieval/recall@1"]);
  EXPECT_EQ(json["topn_users"], 2);
  EXPECT_EQ(json["loo_users"], 2);
  EXPECT_EQ(json["test_ratings"], 3);
  EXPECT_TRUE(json.contains("popularity/map@1"));
  EXPECT_TRUE(json.contains("popularity/hit_rate@1"));

  const std::string reason = NoRatingMetricsReason(report);
  EXPECT_THAT(reason, HasSubstr("implicit feedback"));
  EXPECT_THAT(reason, HasSubstr("preferences, not ratings"));
  const std::string table = FormatEvaluation(report);
  EXPECT_THAT(table, HasSubstr(reason));
  EXPECT_THAT(table, Not(HasSubstr("RMSE")));
  EXPECT_THAT(table, HasSubstr("hit_rate@1"));
  EXPECT_THAT(table, HasSubstr("map@1"));
  EXPECT_THAT(table, HasSubstr("retrieval"));
}

TEST(EvaluationReportTest, ExplicitFeedbackKeepsEveryMethodAndKey) {
  Dataset train = Train();
  for (Rating& r : train.ratings) r.value = 4;
  const std::vector<Rating> test = {{0, 1, 5, 1}, {1, 5, 4, 1}, {2, 3, 2, 1}};
  const RetrievalModel retrieval = Retrieval();
  MfModel model = MakeInitialModel(3, 6, 1, 0.0f, 1);
  model.global_mean = 3.5f;
  model.scale = {1, 5, 1};
  TopNOptions options;
  options.k = 2;
  options.threads = 1;
  // The reference overload is the pointer one with &model.
  const EvaluationReport report =
      EvaluateModel(model, &retrieval, TwoStageOptions(), train, test, options);
  ASSERT_TRUE(report.rating.has_value());
  EXPECT_EQ(report.rating->count, 3);
  // Predictions 3.5 for ratings 5, 4, 2: RMSE sqrt((2.25 + .25 + 2.25) / 3).
  EXPECT_NEAR(report.rating->rmse, std::sqrt(4.75 / 3), 1e-6);
  EXPECT_THAT(Methods(report), ElementsAre("popularity", "rating_model",
                                           "retrieval", "two_stage"));
  EXPECT_EQ(NoRatingMetricsReason(report), "");

  const nlohmann::json json = EvaluationToJson(report);
  ExpectOnlyNumbers(json);
  for (const char* key :
       {"rmse", "mae", "r2", "test_ratings", "precision@2", "recall@2",
        "ndcg@2", "hit_rate@2", "map@2", "coverage", "hr@2", "loo_ndcg@2",
        "two_stage/map@2", "rating_model/hit_rate@2", "retrieval/hr@2"}) {
    EXPECT_TRUE(json.contains(key)) << key;
  }
  EXPECT_EQ(json["hit_rate@2"], json["two_stage/hit_rate@2"]);
  EXPECT_EQ(json["hr@2"], json["two_stage/hr@2"]);
  // Explicit relevance (>= 4): u0's item 1 and u1's item 5.
  EXPECT_EQ(json["topn_users"], 2);
  const std::string table = FormatEvaluation(report);
  EXPECT_THAT(table, HasSubstr("RMSE"));
  EXPECT_THAT(table, HasSubstr("two_stage"));
  EXPECT_THAT(table, HasSubstr("hit_rate@2"));
}

TEST(EvaluationReportTest, WithoutRetrievalModel) {
  const Dataset train = Train();
  const MfModel model = MakeInitialModel(3, 6, 1, 0.1f, 1);
  const EvaluationReport explicit_report = EvaluateModel(
      &model, nullptr, TwoStageOptions(), train, kTest, ImplicitOptions());
  EXPECT_THAT(Methods(explicit_report),
              ElementsAre("popularity", "rating_model"));
  const EvaluationReport neither = EvaluateModel(
      nullptr, nullptr, TwoStageOptions(), train, kTest, ImplicitOptions());
  EXPECT_THAT(Methods(neither), ElementsAre("popularity"));
  EXPECT_FALSE(EvaluationToJson(neither).contains("rmse"));
  EXPECT_TRUE(EvaluationToJson(neither).contains("hit_rate@1"));
}

}  // namespace
}  // namespace recserve
