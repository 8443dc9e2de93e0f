// The top-N issue's bar, on the default generated data (users mostly rate
// what they like) with default options: the two-stage pipeline beats
// popularity by at least 25% on leave-one-out HR@10 (100 sampled negatives,
// each user's latest rating held out) and on full-ranking Recall@10.

#include "core/eval/evaluation_report.h"
#include "core/train/two_stage_trainer.h"
#include "gtest/gtest.h"
#include "tests/testutil/generated_data.h"

namespace recserve {
namespace {

TEST(TwoStageTrainerQualityTest, TwoStageBeatsPopularityByAQuarter) {
  const testutil::GeneratedSplit gen = testutil::GenerateAndSplit(
      GeneratorOptions().exposure_taste, "random:0.1");
  auto trained = TrainTwoStage(gen.data.train, TwoStageTrainingOptions());
  ASSERT_TRUE(trained.ok()) << trained.status();
  ASSERT_TRUE(trained->retrieval.has_value());
  const EvaluationReport report = EvaluateModel(
      trained->rating.train.model, &*trained->retrieval, trained->ranking,
      gen.data.train, gen.data.test, TopNOptions());
  ASSERT_EQ(report.topn.front().first, "popularity");
  ASSERT_EQ(report.topn.back().first, "two_stage");
  const TopNMetrics& popularity = report.topn.front().second;
  const TopNMetrics& two_stage = report.topn.back().second;
  RecordProperty("two_stage_hr", std::to_string(two_stage.loo_hr));
  RecordProperty("popularity_hr", std::to_string(popularity.loo_hr));
  EXPECT_GE(two_stage.loo_hr, 1.25 * popularity.loo_hr)
      << FormatEvaluation(report);
  EXPECT_GE(two_stage.recall, 1.25 * popularity.recall)
      << FormatEvaluation(report);
}

}  // namespace
}  // namespace recserve
