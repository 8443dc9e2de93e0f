// A snapshot whose rating model has an ordinal output (format 8): every
// rating the server answers, PredictRating's and Recommend's predicted
// ratings, is the expected rating of the score, as the trainer evaluated
// it, while the ranking is the score's.

#include <cmath>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/model/ordinal_output.h"
#include "core/serve/serving_model.h"
#include "core/serve/serving_model_loader.h"
#include "core/snapshot/snapshot_writer.h"
#include "gtest/gtest.h"
#include "tests/testutil/cold_snapshot.h"
#include "tests/testutil/temp_files.h"

namespace recserve {
namespace {

class ServingOrdinalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fixture_ = testutil::MakeColdServingFixture();
    ASSERT_TRUE(fixture_.model.has_value());
    // Scores spread beyond the scale, so that clamping and the expected
    // rating differ at both ends and in between.
    fixture_.model->global_mean = 3.0f;
    for (int32_t u = 0; u < fixture_.model->num_users(); ++u) {
      fixture_.model->user_bias[u] = 1.1f * static_cast<float>(u % 5 - 2);
    }
    plain_ = *fixture_.model;
    fixture_.model->ordinal = {.cutpoints = {1.5f, 2.2f, 3.4f, 4.5f},
                               .stddev = 0.6f};
    fixture_.model->scale = RatingScale{1, 5, 1};
    plain_.scale = fixture_.model->scale;
    absl::StatusOr<std::string> version =
        PublishSnapshot(tmp_.path(), fixture_.Contents());
    ASSERT_TRUE(version.ok()) << version.status();
    absl::StatusOr<std::shared_ptr<const ServingModel>> model =
        LoadServingModel(tmp_.Path(*version), {});
    ASSERT_TRUE(model.ok()) << model.status();
    serving_ = *std::move(model);
  }

  // The same snapshot without the ordinal output.
  std::shared_ptr<const ServingModel> ServePlain() {
    SnapshotContents contents = fixture_.Contents();
    contents.model = &plain_;
    absl::StatusOr<std::string> version =
        PublishSnapshot(plain_dir_.path(), contents);
    EXPECT_TRUE(version.ok()) << version.status();
    if (!version.ok()) return nullptr;
    absl::StatusOr<std::shared_ptr<const ServingModel>> model =
        LoadServingModel(plain_dir_.Path(*version), {});
    EXPECT_TRUE(model.ok()) << model.status();
    return model.ok() ? *model : nullptr;
  }

  testutil::TempDir tmp_, plain_dir_;
  testutil::ColdServingFixture fixture_;
  MfModel plain_;  // the same model without the ordinal output
  std::shared_ptr<const ServingModel> serving_;
};

TEST_F(ServingOrdinalTest, PredictRatingIsTheExpectedRating) {
  const Snapshot& s = serving_->snapshot();
  ASSERT_EQ(s.manifest().format_version, 8);
  const MfModel& model = *fixture_.model;
  int32_t differs = 0;
  for (int32_t user = 0; user < model.num_users(); ++user) {
    for (int32_t item = 0; item < fixture_.first_cold(); ++item) {
      absl::StatusOr<RatingPrediction> p = serving_->PredictRating(
          {.user_id = s.UserId(user), .item_id = s.ItemId(item), .recent = {}},
          {}, {});
      ASSERT_TRUE(p.ok()) << p.status();
      const float score = model.Score(user, item);
      EXPECT_NEAR(p->rating,
                  ExpectedOrdinalRating(score, model.scale, model.ordinal),
                  1e-5)
          << user << " " << item;
      EXPECT_NEAR(p->rating, model.Predict(user, item), 1e-5);
      if (std::abs(p->rating - plain_.Predict(user, item)) > 0.05f) ++differs;
    }
  }
  EXPECT_GT(differs, 0);
}

TEST_F(ServingOrdinalTest, RecommendRanksByTheScoreAndRatesByTheOutput) {
  const Snapshot& s = serving_->snapshot();
  const MfModel& model = *fixture_.model;
  const std::shared_ptr<const ServingModel> plain = ServePlain();
  ASSERT_NE(plain, nullptr);
  EXPECT_LT(plain->snapshot().manifest().format_version, 8);
  for (int32_t user = 0; user < 5; ++user) {
    RecommendQuery q;
    q.user_id = s.UserId(user);
    q.n = 4;
    absl::StatusOr<Recommendation> r = serving_->Recommend(q, {}, {});
    absl::StatusOr<Recommendation> p = plain->Recommend(q, {}, {});
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(p.ok()) << p.status();
    ASSERT_FALSE(r->items.empty());
    ASSERT_EQ(r->items.size(), p->items.size());
    for (size_t k = 0; k < r->items.size(); ++k) {
      const RecommendedItem& item = r->items[k];
      // The same items in the same order at the same scores...
      EXPECT_EQ(item.item, p->items[k].item);
      EXPECT_EQ(item.score, p->items[k].score);
      if (item.cold) continue;
      // ...rated by the output.
      EXPECT_NEAR(item.predicted_rating, model.Predict(user, item.item), 1e-5);
      EXPECT_NEAR(p->items[k].predicted_rating, plain_.Predict(user, item.item),
                  1e-5);
    }
  }
}

}  // namespace
}  // namespace recserve
