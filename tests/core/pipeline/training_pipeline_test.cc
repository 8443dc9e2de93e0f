#include "core/pipeline/training_pipeline.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "core/snapshot/snapshot.h"
#include "core/synthetic/synthetic_generator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/temp_files.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;

class TrainingPipelineTest : public ::testing::Test {
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
    ASSERT_TRUE(ReadRatings(generate.out, {}, &all_).ok());
  }
  static void TearDownTestSuite() { delete tmp_; }

  // Small and quick: ALS with fixed settings and one validation candidate.
  TrainingPipelineOptions Options(const std::string& out) const {
    TrainingPipelineOptions o;
    o.data.ratings_path = tmp_->Path("ratings.csv");
    o.data.items_path = tmp_->Path("movies.csv");
    RatingTrainingOptions& r = o.training.rating;
    r.algorithm = Algorithm::kAls;
    r.factor_grid.clear();
    r.als.factors = 4;
    r.reg_grid = {0.06f};
    o.training.retrieval.factors = 8;
    o.training.retrieval.iterations = 4;
    o.training.retrieval_reg_grid = {10.0f};
    o.training.candidate_grid = {50};
    o.training.blend_grid = {0.5f};
    o.output.root = tmp_->Path(out);
    return o;
  }

  // Every (user, item) of the input file is in the snapshot's seen lists
  // (which may hold more).
  static void ExpectSeenListsHoldEveryRating(const Snapshot& s) {
    int64_t missing = 0;
    for (const Rating& r : all_.ratings) {
      const int32_t user = s.FindUser(all_.users.Id(r.user));
      const int32_t item = s.FindItem(all_.items.Id(r.item));
      ASSERT_NE(user, kUnknownIndex) << all_.users.Id(r.user);
      ASSERT_NE(item, kUnknownIndex) << all_.items.Id(r.item);
      const absl::Span<const int32_t> seen = s.SeenItems(user);
      if (!std::binary_search(seen.begin(), seen.end(), item)) ++missing;
    }
    EXPECT_EQ(missing, 0);
  }

  static testutil::TempDir* tmp_;
  static Dataset all_;
};

testutil::TempDir* TrainingPipelineTest::tmp_ = nullptr;
Dataset TrainingPipelineTest::all_;

TEST_F(TrainingPipelineTest, PublishesModelsRefittedOnEveryRating) {
  std::vector<TrainingPhase> phases;
  int refits = 0;
  PipelineObserver observer;
  observer.training.on_phase = [&](const PhaseEvent& e) {
    phases.push_back(e.phase);
  };
  observer.on_refit = [&](const DataSummary& all) {
    ++refits;
    EXPECT_EQ(all.train_ratings, static_cast<int64_t>(all_.ratings.size()));
  };
  auto run = RunTrainingPipeline(Options("refit"), observer);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(run->refitted);
  EXPECT_EQ(refits, 1);
  ASSERT_TRUE(run->evaluation.has_value());
  // A random 10% was held out for the estimate.
  EXPECT_NEAR(run->data.test_ratings, 600, 1);
  EXPECT_EQ(run->params["published"], "refit");
  EXPECT_EQ(TrainingReportJson(*run)["published"], "refit");
  // Validation, the evaluated models, then the refit on all ratings with
  // the chosen settings: no second validation.
  EXPECT_EQ(std::count(phases.begin(), phases.end(),
                       TrainingPhase::kRankingValidation),
            1);
  EXPECT_EQ(
      std::count(phases.begin(), phases.end(), TrainingPhase::kRetrievalFit),
      2);

  auto snapshot = Snapshot::Load(run->version_dir);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ((*snapshot)->num_users(), all_.num_users());
  EXPECT_EQ((*snapshot)->num_items(), all_.num_items());
  ExpectSeenListsHoldEveryRating(**snapshot);
  EXPECT_EQ((*snapshot)->manifest().num_ratings,
            static_cast<int64_t>(all_.ratings.size()));
  EXPECT_EQ((*snapshot)->ranking().candidates, 50);
  EXPECT_EQ((*snapshot)->manifest().training_params["published"], "refit");
}

TEST_F(TrainingPipelineTest, EvaluatedModelsStillKnowEveryRating) {
  TrainingPipelineOptions options = Options("evaluated");
  options.published = PublishedModels::kEvaluated;
  auto run = RunTrainingPipeline(options);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_FALSE(run->refitted);
  EXPECT_EQ(run->params["published"], "evaluated");
  auto snapshot = Snapshot::Load(run->version_dir);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  // The evaluated models know the users and items with training ratings;
  // on this data that is all of them.
  ExpectSeenListsHoldEveryRating(**snapshot);
  EXPECT_EQ((*snapshot)->manifest().num_ratings,
            static_cast<int64_t>(all_.ratings.size()));
}

TEST_F(TrainingPipelineTest, WithoutASplitTrainsOnceOnEverything) {
  TrainingPipelineOptions options = Options("none");
  options.data.split.reset();
  int refits = 0;
  PipelineObserver observer;
  observer.on_refit = [&](const DataSummary&) { ++refits; };
  auto run = RunTrainingPipeline(options, observer);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(refits, 0);
  EXPECT_FALSE(run->evaluation.has_value());
  EXPECT_EQ(run->params["published"], "all_ratings");
  auto snapshot = Snapshot::Load(run->version_dir);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  ExpectSeenListsHoldEveryRating(**snapshot);
  EXPECT_EQ((*snapshot)->manifest().num_ratings,
            static_cast<int64_t>(all_.ratings.size()));
}

TEST_F(TrainingPipelineTest, TrainAndTestFilesAreBothPublished) {
  // The test file repeats a pair of the training file and brings a user and
  // an item that no training rating has.
  std::vector<std::string> lines = absl::StrSplit(
      testutil::ReadFile(tmp_->Path("ratings.csv")), '\n', absl::SkipEmpty());
  const std::string header = lines[0];
  std::string train = header + "\n", test = header + "\n";
  for (size_t i = 1; i < lines.size(); ++i) {
    (i <= 5000 ? train : test) += lines[i] + "\n";
  }
  test += lines[1] + "\n";
  test += "999999,888888,4,1\n";
  testutil::WriteFile(tmp_->Path("train.csv"), train);
  testutil::WriteFile(tmp_->Path("test.csv"), test);

  for (const PublishedModels published :
       {PublishedModels::kRefit, PublishedModels::kEvaluated}) {
    const bool refit = published == PublishedModels::kRefit;
    TrainingPipelineOptions options =
        Options(refit ? "files-refit" : "files-evaluated");
    options.data.ratings_path.clear();
    options.data.train_path = tmp_->Path("train.csv");
    options.data.test_path = tmp_->Path("test.csv");
    options.published = published;
    auto run = RunTrainingPipeline(options);
    ASSERT_TRUE(run.ok()) << run.status();
    auto snapshot = Snapshot::Load(run->version_dir);
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    const Snapshot& s = **snapshot;
    if (refit) {
      // Every distinct rating once, the newcomer's too.
      EXPECT_EQ(s.manifest().num_ratings,
                static_cast<int64_t>(all_.ratings.size()) + 1);
      const int32_t newcomer = s.FindUser("999999");
      ASSERT_NE(newcomer, kUnknownIndex);
      EXPECT_THAT(s.SeenItems(newcomer),
                  ::testing::ElementsAre(s.FindItem("888888")));
      ExpectSeenListsHoldEveryRating(s);
    } else {
      // The evaluated models never saw the newcomer.
      EXPECT_EQ(s.FindUser("999999"), kUnknownIndex);
      EXPECT_EQ(s.FindItem("888888"), kUnknownIndex);
    }
  }
}

TEST_F(TrainingPipelineTest, RejectsInconsistentSources) {
  TrainingPipelineOptions both = Options("bad");
  both.data.train_path = both.data.ratings_path;
  both.data.test_path = both.data.ratings_path;
  EXPECT_THAT(RunTrainingPipeline(both).status().message(),
              HasSubstr("either one ratings file"));
  TrainingPipelineOptions none = Options("bad");
  none.data.ratings_path.clear();
  EXPECT_THAT(RunTrainingPipeline(none).status().message(),
              HasSubstr("no ratings"));
  TrainingPipelineOptions small_pool = Options("bad");
  small_pool.training.candidate_grid = {5};
  EXPECT_THAT(RunTrainingPipeline(small_pool).status().message(),
              HasSubstr("candidates must be at least 10"));
  TrainingPipelineOptions weight = Options("bad");
  weight.training.blend_grid = {1.5f};
  const absl::Status status = RunTrainingPipeline(weight).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("blend_weight"));
  EXPECT_THAT(status.message(), ::testing::Not(HasSubstr("--")));
}

}  // namespace
}  // namespace recserve
