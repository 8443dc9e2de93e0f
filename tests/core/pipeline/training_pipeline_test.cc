#include "core/pipeline/training_pipeline.h"

#include <algorithm>
#include <cmath>
#include <optional>
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
  // Nothing is evaluated, fold-in included.
  EXPECT_FALSE(run->fold_in.has_value());
  EXPECT_FALSE(run->metrics.contains("fold_in/recall@10"));
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

TEST_F(TrainingPipelineTest, MeasuresFoldInOnUsersHeldOutOfTraining) {
  std::optional<FoldInSplit> split;
  int reported = 0;
  PipelineObserver observer;
  observer.on_fold_in_start = [&](const FoldInSplit& s) { split = s; };
  observer.on_fold_in = [&](const FoldInEvaluation&) { ++reported; };
  auto run = RunTrainingPipeline(Options("fold-in"), observer);
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_TRUE(run->fold_in.has_value());
  ASSERT_TRUE(split.has_value());
  EXPECT_EQ(reported, 1);
  const FoldInEvaluation& f = *run->fold_in;
  // 10% of the 150 users.
  EXPECT_EQ(f.users, 15);
  EXPECT_EQ(f.fold_in.loo_users, 15);
  EXPECT_GT(f.fold_in.users, 0);

  // Model A never saw a rating of the held-out users: they are not in its
  // data, which holds every other training rating.
  for (const int32_t u : split->users) {
    const std::string& id = split->with_recent.users.Id(u);
    EXPECT_EQ(split->without_users.users.Find(id), kUnknownIndex) << id;
  }
  const int64_t held_out_ratings = f.recent_ratings + f.test_ratings;
  EXPECT_EQ(f.model_a_ratings,
            static_cast<int64_t>(split->without_users.ratings.size()));
  EXPECT_EQ(f.model_a_users, split->without_users.num_users());
  EXPECT_EQ(f.model_a_ratings + held_out_ratings, run->data.train_ratings);
  EXPECT_EQ(f.model_a_users + f.users, run->data.users);

  // In the manifest metrics (finite numbers or null) and the report.
  for (const char* key :
       {"fold_in/recall@10", "fold_in/precision@10", "fold_in/ndcg@10",
        "fold_in/hr@10", "fold_in/trained/recall@10",
        "fold_in/popularity/recall@10", "fold_in/retrieval/recall@10",
        "fold_in/recall_vs_popularity", "fold_in/recall_vs_trained",
        "fold_in/users", "fold_in_seconds"}) {
    ASSERT_TRUE(run->metrics.contains(key)) << key;
    const nlohmann::json& value = run->metrics[key];
    EXPECT_TRUE(value.is_null() ||
                (value.is_number() && std::isfinite(value.get<double>())))
        << key << " " << value;
  }
  const double recall = run->metrics["fold_in/recall@10"].get<double>();
  EXPECT_GE(recall, 0);
  EXPECT_LE(recall, 1);
  EXPECT_GT(run->metrics["fold_in_seconds"].get<double>(), 0);
  const nlohmann::json report = TrainingReportJson(*run);
  ASSERT_TRUE(report.contains("fold_in"));
  EXPECT_EQ(report["fold_in"]["users"], 15);
  EXPECT_DOUBLE_EQ(
      report["fold_in"]["methods"]["fold_in"]["recall@10"].get<double>(),
      recall);
  auto snapshot = Snapshot::Load(run->version_dir);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_DOUBLE_EQ(
      (*snapshot)->manifest().metrics["fold_in/recall@10"].get<double>(),
      recall);
}

TEST_F(TrainingPipelineTest, FoldInRunsOnAUserSampleOfLargeData) {
  TrainingPipelineOptions options = Options("fold-in-sample");
  options.output.root.clear();
  options.fold_in_sample = 2500;  // about half the training ratings
  auto run = RunTrainingPipeline(options);
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_TRUE(run->fold_in.has_value());
  const FoldInEvaluation& f = *run->fold_in;
  const int64_t sampled = f.model_a_ratings + f.recent_ratings + f.test_ratings;
  EXPECT_LT(sampled, run->data.train_ratings * 3 / 4);
  EXPECT_GT(sampled, run->data.train_ratings / 4);
  // 10% of the sampled users, every one of them drawn from the sample.
  EXPECT_LT(f.users, 15);
  EXPECT_GT(f.users, 3);
  EXPECT_NEAR(f.users, 0.1 * (f.users + f.model_a_users), 1.0);
}

TEST_F(TrainingPipelineTest, FoldInUsersZeroTurnsTheRowOff) {
  TrainingPipelineOptions options = Options("no-fold-in");
  options.fold_in_users = 0;
  options.output.root.clear();
  int started = 0;
  PipelineObserver observer;
  observer.on_fold_in_start = [&](const FoldInSplit&) { ++started; };
  auto run = RunTrainingPipeline(options, observer);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(started, 0);
  EXPECT_FALSE(run->fold_in.has_value());
  EXPECT_FALSE(run->metrics.contains("fold_in/recall@10"));
  EXPECT_FALSE(TrainingReportJson(*run).contains("fold_in"));

  for (const double bad : {-0.1, 1.0, std::nan("")}) {
    TrainingPipelineOptions invalid = Options("bad");
    invalid.fold_in_users = bad;
    const absl::Status status = RunTrainingPipeline(invalid).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(status.message(), HasSubstr("fold_in_users must be in [0, 1)"));
  }
}

TEST_F(TrainingPipelineTest, PublishesItemLabels) {
  const std::string first = all_.items.Id(0), second = all_.items.Id(1);
  testutil::WriteFile(tmp_->Path("labels.tsv"),
                      "# item\tlabels\n" + first + "\tin_stock|region:eu\n" +
                          second + "\tin_stock\n" + "no-such-item\tin_stock\n" +
                          first + "\tstaff pick\n");
  TrainingPipelineOptions options = Options("labels");
  options.data.item_labels_path = tmp_->Path("labels.tsv");
  options.fold_in_users = 0;  // not what this test is about
  std::optional<ItemLabelReadReport> read;
  PipelineObserver observer;
  observer.on_item_labels_read =
      [&](const std::string&, const ItemLabelReadReport& r) { read = r; };
  auto run = RunTrainingPipeline(options, observer);
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->items, 3);
  ASSERT_TRUE(run->labels.has_value());
  EXPECT_EQ(run->labels->items, 2);
  EXPECT_EQ(run->labels->distinct_labels, 3);
  EXPECT_EQ(run->labels->unknown_items, 1);
  const nlohmann::json report = TrainingReportJson(*run);
  EXPECT_EQ(report["item_labels"]["unknown_items"], 1);

  auto snapshot = Snapshot::Load(run->version_dir);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  const Snapshot& s = **snapshot;
  auto names = [&](const std::string& id) {
    std::vector<std::string> out;
    const int32_t item = s.FindItem(id);
    EXPECT_NE(item, kUnknownIndex) << id;
    if (item == kUnknownIndex) return out;
    for (const int32_t label : s.ItemLabels(item)) {
      out.push_back(s.LabelName(label));
    }
    return out;
  };
  using ::testing::Contains;
  // The file's labels beside the item's genres from movies.csv.
  EXPECT_THAT(names(first), Contains("in_stock"));
  EXPECT_THAT(names(first), Contains("region:eu"));
  EXPECT_THAT(names(first), Contains("staff pick"));
  EXPECT_THAT(names(second), Contains("in_stock"));
  EXPECT_THAT(names(second), ::testing::Not(Contains("region:eu")));
  EXPECT_THAT(names(all_.items.Id(2)), ::testing::Not(Contains("in_stock")));
  EXPECT_NE(s.FindLabel("region:eu"), kUnknownIndex);
  EXPECT_EQ(s.FindLabel("no-such-item"), kUnknownIndex);
}

TEST_F(TrainingPipelineTest, RejectsBadItemLabels) {
  testutil::WriteFile(tmp_->Path("bad_labels.tsv"), "1\tok\n2\ta||b\n");
  TrainingPipelineOptions bad = Options("bad");
  bad.data.item_labels_path = tmp_->Path("bad_labels.tsv");
  const absl::Status status = RunTrainingPipeline(bad).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("bad_labels.tsv:2: empty label"));

  TrainingPipelineOptions no_retrieval = Options("bad");
  no_retrieval.data.item_labels_path = tmp_->Path("bad_labels.tsv");
  no_retrieval.training.train_retrieval = false;
  EXPECT_THAT(RunTrainingPipeline(no_retrieval).status().message(),
              HasSubstr("item labels need retrieval embeddings"));
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
