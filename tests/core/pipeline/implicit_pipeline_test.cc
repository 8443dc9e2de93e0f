// The training run on events (implicit feedback): read, tune, train the
// retrieval model alone, evaluate beside popularity, refit, publish an
// implicit snapshot.

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "core/pipeline/training_pipeline.h"
#include "core/snapshot/snapshot.h"
#include "core/synthetic/synthetic_generator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/temp_files.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;

// A retail-style event log made from a generated rating set: a rating of 4
// or more is a view, a cart and a purchase; 3 is two views; 1 or 2 a view
// then a dislike (negative). Each event its own line.
class ImplicitPipelineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new testutil::TempDir();
    GeneratorOptions generate;
    generate.users = 150;
    generate.items = 120;
    generate.ratings = 6000;
    generate.seed = 5;
    generate.out = tmp_->Path("ratings.csv");
    ASSERT_TRUE(GenerateSyntheticData(generate).ok());
    Dataset ratings;
    ASSERT_TRUE(ReadRatings(generate.out, {}, &ratings).ok());
    std::ofstream out(tmp_->Path("events.csv"));
    out << "customer,sku,action,ts\n";
    for (const Rating& r : ratings.ratings) {
      const std::string prefix =
          ratings.users.Id(r.user) + "," + ratings.items.Id(r.item) + ",";
      const std::string ts = std::to_string(r.timestamp);
      if (r.value >= 4) {
        out << prefix << "view," << ts << "\n"
            << prefix << "cart," << ts << "\n"
            << prefix << "purchase," << ts << "\n";
        ++positive_pairs_;
      } else if (r.value >= 3) {
        out << prefix << "view," << ts << "\n"
            << prefix << "view," << ts << "\n";
        ++positive_pairs_;
      } else {
        out << prefix << "view," << ts << "\n"
            << prefix << "dislike," << r.timestamp + 1 << "\n";
        ++negative_pairs_;
      }
    }
  }
  static void TearDownTestSuite() { delete tmp_; }

  // Small and quick: fixed retrieval settings.
  static TrainingPipelineOptions Options(const std::string& out) {
    TrainingPipelineOptions o;
    o.data.ratings_path = tmp_->Path("events.csv");
    o.data.read.format = RatingFormat::kGeneric;
    o.data.read.generic_columns =
        "user=customer,item=sku,event=action,timestamp=ts";
    o.data.read.events =
        *ParseEventWeights("view=1,cart=4,purchase=10", "dislike,skip");
    o.training.retrieval.factors = 8;
    o.training.retrieval.iterations = 6;
    o.training.retrieval_reg_grid = {10.0f};
    o.training.tune_retrieval = false;
    o.output.root = tmp_->Path(out);
    return o;
  }

  static testutil::TempDir* tmp_;
  static int64_t positive_pairs_;
  static int64_t negative_pairs_;
};

testutil::TempDir* ImplicitPipelineTest::tmp_ = nullptr;
int64_t ImplicitPipelineTest::positive_pairs_ = 0;
int64_t ImplicitPipelineTest::negative_pairs_ = 0;

TEST_F(ImplicitPipelineTest, TrainsTheRetrievalModelAloneAndPublishesIt) {
  std::vector<RatingReadReport> reads;
  PipelineObserver observer;
  observer.on_ratings_read = [&](const std::string&,
                                 const RatingReadReport& r) {
    reads.push_back(r);
  };
  const absl::StatusOr<TrainingRun> run =
      RunTrainingPipeline(Options("snapshots"), observer);
  ASSERT_TRUE(run.ok()) << run.status();

  // Read as events: one interaction per (user, item), the rest merged.
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].feedback, Feedback::kImplicit);
  EXPECT_EQ(reads[0].ratings, positive_pairs_ + negative_pairs_);
  EXPECT_EQ(reads[0].negative, negative_pairs_);
  EXPECT_EQ(reads[0].merged, reads[0].lines - reads[0].ratings);
  EXPECT_EQ(run->data.feedback, Feedback::kImplicit);

  // No rating model: no rating metrics, and the retrieval model ranks.
  ASSERT_TRUE(run->evaluation.has_value());
  EXPECT_FALSE(run->metrics.contains("rmse"));
  EXPECT_FALSE(run->metrics.contains("validation_rmse"));
  std::vector<std::string> methods;
  for (const auto& [name, metrics] : run->evaluation->topn) {
    methods.push_back(name);
  }
  EXPECT_THAT(methods, ::testing::ElementsAre("popularity", "retrieval"));
  const TopNMetrics& popularity = run->evaluation->topn.front().second;
  const TopNMetrics& retrieval = run->evaluation->topn.back().second;
  EXPECT_GT(retrieval.users, 0);
  EXPECT_GT(retrieval.recall, popularity.recall);

  // The report and the snapshot say what they are.
  EXPECT_EQ(run->params["feedback"], "implicit");
  EXPECT_EQ(run->params["events"]["weights"]["purchase"], 10.0);
  EXPECT_EQ(run->params["events"]["negative"][0], "dislike");
  EXPECT_EQ(run->params["events"]["negative"][1], "skip");
  ASSERT_FALSE(run->version_dir.empty());
  const auto snapshot = Snapshot::Load(run->version_dir);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  const Snapshot& s = **snapshot;
  EXPECT_EQ(s.feedback(), Feedback::kImplicit);
  EXPECT_FALSE(s.has_rating_model());
  EXPECT_TRUE(s.has_retrieval());
  EXPECT_EQ(s.events().WeightOf("cart"), 4.0f);
  EXPECT_TRUE(s.events().IsNegative("dislike"));
  EXPECT_EQ(s.events().weights.count("view"), 1u);  // every type of the data
  EXPECT_TRUE(s.events().IsNegative("skip"));       // and of the flags
  EXPECT_EQ(s.manifest().algo, "implicit_als");

  // Refitted on everything: every pair is seen, the disliked ones with a
  // negative value.
  int64_t seen = 0, negative = 0;
  for (int32_t u = 0; u < s.num_users(); ++u) {
    seen += static_cast<int64_t>(s.SeenItems(u).size());
    for (float v : s.SeenRatings(u)) negative += v < 0;
  }
  EXPECT_EQ(seen, positive_pairs_ + negative_pairs_);
  EXPECT_EQ(negative, negative_pairs_);
}

TEST_F(ImplicitPipelineTest, ExplicitFeedbackNeedsARatingColumn) {
  TrainingPipelineOptions o = Options("none");
  o.data.read.feedback = Feedback::kExplicit;
  const absl::StatusOr<TrainingRun> run = RunTrainingPipeline(o);
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(run.status().message(), HasSubstr("rating"));
}

TEST_F(ImplicitPipelineTest, EventsNeedTheRetrievalModel) {
  TrainingPipelineOptions o = Options("none");
  o.training.train_retrieval = false;
  const absl::StatusOr<TrainingRun> run = RunTrainingPipeline(o);
  ASSERT_FALSE(run.ok());
  EXPECT_THAT(run.status().message(), HasSubstr("retrieval"));
}

}  // namespace
}  // namespace recserve
