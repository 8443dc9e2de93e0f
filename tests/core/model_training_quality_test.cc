// The trainer issue's quality bar, checked on generated data: with default
// options, every algorithm's test RMSE is within 5% of the noise floor the
// generator reports (the RMSE of its own noise-free scores).

#include <nlohmann/json.hpp>
#include <string>

#include "core/model_training.h"
#include "core/rating_metrics.h"
#include "core/rating_reader.h"
#include "core/split.h"
#include "core/synthetic_generator.h"
#include "gtest/gtest.h"
#include "tests/testutil/temp_files.h"

namespace recserve {
namespace {

class RatingModelQualityTest : public ::testing::TestWithParam<Algorithm> {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new testutil::TempDir;
    GeneratorOptions gen;
    gen.users = 2000;
    gen.items = 1000;
    gen.ratings = 200000;
    gen.noise = 0.5;
    gen.seed = 2024;
    gen.out = tmp_->Path("ratings.csv");
    auto report = GenerateSyntheticData(gen);
    ASSERT_TRUE(report.ok()) << report.status();
    noise_floor_ = report->noise_floor_rmse;
    Dataset all;
    ASSERT_TRUE(ReadRatings(gen.out, RatingReadOptions(), &all).ok());
    // The trainer's default split.
    auto split = SplitDataset(all, *ParseSplitSpec("random:0.1"), 1);
    ASSERT_TRUE(split.ok());
    data_ = new TrainTest(*std::move(split));
  }
  static void TearDownTestSuite() {
    delete data_;
    delete tmp_;
  }
  static testutil::TempDir* tmp_;
  static TrainTest* data_;
  static double noise_floor_;
};
testutil::TempDir* RatingModelQualityTest::tmp_ = nullptr;
TrainTest* RatingModelQualityTest::data_ = nullptr;
double RatingModelQualityTest::noise_floor_ = 0;

TEST_P(RatingModelQualityTest, DefaultsReachTheNoiseFloorWithinFivePercent) {
  ASSERT_NE(data_, nullptr);
  ModelTrainingOptions options;  // the trainer's defaults
  options.algorithm = GetParam();
  auto trained = TrainRatingModel(data_->train, options);
  ASSERT_TRUE(trained.ok()) << trained.status();
  const RatingMetrics metrics =
      EvaluateRatings(trained->train.model, data_->test);
  RecordProperty("test_rmse", std::to_string(metrics.rmse));
  RecordProperty("noise_floor", std::to_string(noise_floor_));
  EXPECT_LE(metrics.rmse, 1.05 * noise_floor_)
      << AlgorithmName(GetParam()) << ": test RMSE " << metrics.rmse
      << ", noise floor " << noise_floor_;
}

INSTANTIATE_TEST_SUITE_P(AllAlgorithms, RatingModelQualityTest,
                         ::testing::Values(Algorithm::kBpmf, Algorithm::kAls,
                                           Algorithm::kSgd),
                         [](const ::testing::TestParamInfo<Algorithm>& info) {
                           return std::string(AlgorithmName(info.param));
                         });

}  // namespace
}  // namespace recserve
