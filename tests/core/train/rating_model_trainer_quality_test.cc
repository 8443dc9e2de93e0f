// The trainer issue's quality bar, on generated data (2,000 users × 1,000
// items × 200K ratings, σ = 0.5, the trainer's default split and options):
// test RMSE within 5% of the noise floor the generator reports (the RMSE of
// its own noise-free scores).
//  - Every algorithm, on the data that issue defined: exposure by
//    popularity alone (exposure_taste 0).
//  - The default rating model, on the default data, where users mostly rate
//    what they like (exposure_taste 3), so it is no worse there.

#include <string>

#include "core/eval/rating_metrics.h"
#include "core/train/rating_model_trainer.h"
#include "gtest/gtest.h"
#include "tests/testutil/generated_data.h"

namespace recserve {
namespace {

struct Case {
  Algorithm algorithm;
  double exposure_taste;
};

class RatingModelQualityTest : public ::testing::TestWithParam<Case> {};

TEST_P(RatingModelQualityTest, DefaultsReachTheNoiseFloorWithinFivePercent) {
  const testutil::GeneratedSplit gen =
      testutil::GenerateAndSplit(GetParam().exposure_taste, "random:0.1");
  ASSERT_GT(gen.noise_floor, 0);
  RatingTrainingOptions options;  // the trainer's defaults
  options.algorithm = GetParam().algorithm;
  auto trained = TrainRatingModel(gen.data.train, options);
  ASSERT_TRUE(trained.ok()) << trained.status();
  const RatingMetrics metrics =
      EvaluateRatings(trained->train.model, gen.data.test);
  RecordProperty("test_rmse", std::to_string(metrics.rmse));
  RecordProperty("noise_floor", std::to_string(gen.noise_floor));
  EXPECT_LE(metrics.rmse, 1.05 * gen.noise_floor)
      << AlgorithmName(GetParam().algorithm) << ": test RMSE " << metrics.rmse
      << ", noise floor " << gen.noise_floor;
}

INSTANTIATE_TEST_SUITE_P(
    Generated, RatingModelQualityTest,
    ::testing::Values(Case{Algorithm::kBpmf, 0.0}, Case{Algorithm::kAls, 0.0},
                      Case{Algorithm::kSgd, 0.0}, Case{Algorithm::kBpmf, 3.0}),
    [](const ::testing::TestParamInfo<Case>& info) {
      return std::string(AlgorithmName(info.param.algorithm)) +
             (info.param.exposure_taste > 0 ? "_taste_exposure"
                                            : "_popularity_exposure");
    });

}  // namespace
}  // namespace recserve
