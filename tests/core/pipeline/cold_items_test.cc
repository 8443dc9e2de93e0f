#include "core/pipeline/cold_items.h"

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "core/data/item_reader.h"
#include "core/pipeline/training_pipeline.h"
#include "core/snapshot/snapshot.h"
#include "core/synthetic/synthetic_generator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/temp_files.h"

namespace recserve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Generated data whose item tastes follow their genres, with three items in
// the metadata that nobody rated.
class ColdItemsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new testutil::TempDir();
    GeneratorOptions generate;
    generate.users = 300;
    generate.items = 400;
    generate.ratings = 15000;
    generate.genres = 6;
    generate.seed = 7;
    generate.out = tmp_->Path("ratings.csv");
    ASSERT_TRUE(GenerateSyntheticData(generate).ok());
    ASSERT_TRUE(ReadRatings(generate.out, {}, &all_).ok());
    ASSERT_TRUE(ReadItems(tmp_->Path("movies.csv"), {}, &catalog_).ok());
    // New items: ids that sort numerically as 999 < 1000 < 1001, each with
    // the genres of a rated item.
    std::string movies = testutil::ReadFile(tmp_->Path("movies.csv"));
    for (const char* id : {"1001", "999", "1000"}) {
      const std::string like = all_.items.Id(std::stoi(id) % 7);
      genres_of_[id] = catalog_.at(like).genres;
      std::string genres;
      for (const std::string& g : genres_of_[id]) {
        genres += (genres.empty() ? "" : "|") + g;
      }
      movies +=
          std::string(id) + ",New Film " + id + " (2031)," + genres + "\n";
    }
    testutil::WriteFile(tmp_->Path("movies_new.csv"), movies);
  }
  static void TearDownTestSuite() { delete tmp_; }

  TrainingPipelineOptions Options(const std::string& out) const {
    TrainingPipelineOptions o;
    o.data.ratings_path = tmp_->Path("ratings.csv");
    o.data.items_path = tmp_->Path("movies_new.csv");
    RatingTrainingOptions& r = o.training.rating;
    r.algorithm = Algorithm::kAls;
    r.factor_grid.clear();
    r.als.factors = 6;
    r.reg_grid = {0.06f};
    o.training.retrieval.factors = 8;
    o.training.retrieval.iterations = 6;
    o.training.retrieval_reg_grid = {10.0f};
    o.training.candidate_grid = {50};
    o.training.blend_grid = {0.5f};
    o.fold_in_users = 0;
    o.output.root = tmp_->Path(out);
    return o;
  }

  static testutil::TempDir* tmp_;
  static Dataset all_;
  static ItemCatalog catalog_;
  static std::map<std::string, std::vector<std::string>> genres_of_;
};

testutil::TempDir* ColdItemsTest::tmp_ = nullptr;
Dataset ColdItemsTest::all_;
ItemCatalog ColdItemsTest::catalog_;
std::map<std::string, std::vector<std::string>> ColdItemsTest::genres_of_;

float Cosine(Eigen::Ref<const Eigen::RowVectorXf> a,
             Eigen::Ref<const Eigen::RowVectorXf> b) {
  return a.dot(b) / (a.norm() * b.norm());
}

TEST_F(ColdItemsTest, PublishesItemsWithoutInteractionsAsColdItems) {
  std::optional<int32_t> announced;
  PipelineObserver observer;
  observer.on_attributes = [&](const ItemAttributeFit&, int32_t cold) {
    announced = cold;
  };
  auto run = RunTrainingPipeline(Options("published"), observer);
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_TRUE(run->attributes.has_value());
  EXPECT_EQ(announced, 3);
  EXPECT_EQ(run->cold_items, 3);

  auto loaded = Snapshot::Load(run->version_dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Snapshot& s = **loaded;
  ASSERT_EQ(s.num_cold_items(), 3);
  ASSERT_NE(s.attributes(), nullptr);
  ASSERT_TRUE(s.attributes()->rating.has_value());
  const int32_t first = s.first_cold_item();
  EXPECT_EQ(first, all_.num_items());
  std::vector<std::string> cold_ids;
  for (int32_t i = first; i < s.num_items(); ++i) {
    cold_ids.push_back(s.ItemId(i));
    EXPECT_TRUE(s.IsColdItem(i));
    EXPECT_EQ(s.item_popularity()[i], 0);
  }
  EXPECT_THAT(cold_ids, ElementsAre("999", "1000", "1001"));
  EXPECT_FALSE(s.IsColdItem(first - 1));

  // Their rows are the published maps applied to their attributes.
  ItemCatalog with_new = catalog_;
  ASSERT_TRUE(ReadItems(tmp_->Path("movies_new.csv"), {}, &with_new).ok());
  const ItemAttributeSources new_sources{.items = &with_new};
  for (int32_t i = first; i < s.num_items(); ++i) {
    const AttributeRow row =
        Featurize(s.attributes()->spec, s.ItemId(i), new_sources);
    ASSERT_FALSE(row.index.empty());
    std::vector<float> embedding(s.retrieval_factors());
    s.attributes()->retrieval.Apply(row, absl::MakeSpan(embedding));
    for (int32_t f = 0; f < s.retrieval_factors(); ++f) {
      EXPECT_FLOAT_EQ(s.item_embeddings()(i, f), embedding[f]);
    }
    std::vector<float> factors(s.factors() + 1);
    s.attributes()->rating->Apply(row, absl::MakeSpan(factors));
    for (int32_t f = 0; f < s.factors(); ++f) {
      EXPECT_FLOAT_EQ(s.item_factors()(i, f), factors[f]);
    }
    EXPECT_FLOAT_EQ(s.item_bias()[i], factors[s.factors()]);
  }

  // A cold item's nearest embedding neighbour among the rated items shares
  // a genre with it: its vector comes from its genres.
  for (int32_t i = first; i < s.num_items(); ++i) {
    int32_t best = -1;
    float best_cosine = -2;
    for (int32_t j = 0; j < first; ++j) {
      const float c =
          Cosine(s.item_embeddings().row(i), s.item_embeddings().row(j));
      if (c > best_cosine) best_cosine = c, best = j;
    }
    const std::vector<std::string>& mine = genres_of_[s.ItemId(i)];
    const std::vector<std::string>* theirs = s.ItemGenres(best);
    ASSERT_NE(theirs, nullptr);
    bool shared = false;
    for (const std::string& g : *theirs) {
      shared |= std::find(mine.begin(), mine.end(), g) != mine.end();
    }
    EXPECT_TRUE(shared) << s.ItemId(i) << " nearest " << s.ItemId(best);
  }
}

TEST_F(ColdItemsTest, EvaluatesTheColdItemSplit) {
  bool started = false;
  std::optional<ColdItemEvaluation> seen;
  PipelineObserver observer;
  observer.on_cold_evaluation_start = [&] { started = true; };
  observer.on_cold_evaluated = [&](const ColdItemEvaluation& c) { seen = c; };
  TrainingPipelineOptions options = Options("");
  options.output.root.clear();
  options.cold.evaluation_items = 0.25;
  auto run = RunTrainingPipeline(options, observer);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(started);
  ASSERT_TRUE(run->cold_evaluation.has_value());
  ASSERT_TRUE(seen.has_value());
  const ColdItemEvaluation& c = *run->cold_evaluation;
  const int64_t rated = all_.num_items();
  EXPECT_EQ(c.items, (rated + 2) / 4);  // 25% of the rated items
  EXPECT_GT(c.users, 50);
  // Genres drive the generated tastes: the mapped vectors rank the held-out
  // items far better than chance, and a model that saw them does better
  // still.
  EXPECT_GT(c.mapped.hit_rate, 1.3 * c.random.hit_rate);
  EXPECT_GT(c.mapped.ndcg, 1.3 * c.random.ndcg);
  EXPECT_GT(c.trained.hit_rate, c.mapped.hit_rate);
  ASSERT_TRUE(c.label_agreement.has_value());
  EXPECT_GT(c.label_agreement->neighbours, 1.5 * c.label_agreement->random);
  // Nothing published: no maps were learned for publishing.
  EXPECT_FALSE(run->attributes.has_value());
  const nlohmann::json report = TrainingReportJson(*run);
  EXPECT_EQ(report["cold_items"]["evaluation"]["items"], c.items);
  EXPECT_TRUE(run->metrics.contains("cold_items/hit_rate@10/mapped"));
}

TEST_F(ColdItemsTest, LabelsAndTagsPlaceColdItemsAndLabelsStayForFilters) {
  testutil::WriteFile(tmp_->Path("labels.tsv"),
                      "999\tpreorder\n1000\tpreorder|region:eu\n" +
                          all_.items.Id(0) + "\tpreorder\n" + all_.items.Id(1) +
                          "\tpreorder\n");
  std::string tags = "userId,movieId,tag,timestamp\n";
  for (int32_t i = 0; i < 20; ++i) {
    tags += "1," + all_.items.Id(i) + ",Space,1\n";
  }
  tags += "1,1001,space,1\n";
  testutil::WriteFile(tmp_->Path("tags.csv"), tags);
  TrainingPipelineOptions options = Options("tagged");
  options.data.item_labels_path = tmp_->Path("labels.tsv");
  options.data.item_tags_path = tmp_->Path("tags.csv");
  options.cold.evaluation_items = 0;
  auto run = RunTrainingPipeline(options);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_FALSE(run->cold_evaluation.has_value());
  auto loaded = Snapshot::Load(run->version_dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Snapshot& s = **loaded;
  const AttributeSpec& spec = s.attributes()->spec;
  EXPECT_GE(spec.Find("label:preorder"), 0);
  EXPECT_GE(spec.Find("tag:space"), 0);
  // A cold item keeps its labels for the server's filters.
  const int32_t item = s.FindItem("1000");
  ASSERT_TRUE(s.IsColdItem(item));
  std::vector<std::string> names;
  for (int32_t label : s.ItemLabels(item)) names.push_back(s.LabelName(label));
  EXPECT_THAT(names, ::testing::IsSupersetOf({"preorder", "region:eu"}));
  // 1001 is placed with its tag: its row is the map of its attributes,
  // the tag among them.
  ItemCatalog with_new = catalog_;
  ASSERT_TRUE(ReadItems(tmp_->Path("movies_new.csv"), {}, &with_new).ok());
  ItemTagMap tag_map = {{"1001", {"space"}}};
  const AttributeRow tagged =
      Featurize(spec, "1001", {.items = &with_new, .tags = &tag_map});
  const AttributeRow untagged = Featurize(spec, "1001", {.items = &with_new});
  EXPECT_EQ(tagged.index.size(), untagged.index.size() + 1);
  std::vector<float> row(s.retrieval_factors());
  s.attributes()->retrieval.Apply(tagged, absl::MakeSpan(row));
  for (int32_t f = 0; f < s.retrieval_factors(); ++f) {
    EXPECT_FLOAT_EQ(s.item_embeddings()(s.FindItem("1001"), f), row[f]);
  }
}

TEST_F(ColdItemsTest, ImplicitFeedbackPlacesColdItemsWithoutARatingMap) {
  TrainingPipelineOptions options = Options("implicit");
  options.data.read.feedback = Feedback::kImplicit;
  options.training.tune_retrieval = false;
  auto run = RunTrainingPipeline(options);
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_TRUE(run->cold_evaluation.has_value());
  EXPECT_GT(run->cold_evaluation->mapped.ndcg,
            run->cold_evaluation->random.ndcg);
  auto loaded = Snapshot::Load(run->version_dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_FALSE((*loaded)->has_rating_model());
  EXPECT_EQ((*loaded)->num_cold_items(), 3);
  ASSERT_NE((*loaded)->attributes(), nullptr);
  EXPECT_FALSE((*loaded)->attributes()->rating.has_value());
}

TEST_F(ColdItemsTest, EvaluatedModelsAndNoSplitPublishColdItemsToo) {
  for (const bool no_split : {false, true}) {
    TrainingPipelineOptions options =
        Options(no_split ? "no_split" : "evaluated");
    options.published = PublishedModels::kEvaluated;
    if (no_split) options.data.split.reset();
    auto run = RunTrainingPipeline(options);
    ASSERT_TRUE(run.ok()) << run.status();
    auto loaded = Snapshot::Load(run->version_dir);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    // Items only in the test split are unknown to the evaluated models:
    // they are placed from their metadata like the unrated ones.
    EXPECT_GE((*loaded)->num_cold_items(), 3) << no_split;
    EXPECT_EQ((*loaded)->num_items(),
              run->data.items + (*loaded)->num_cold_items());
    // The evaluated models are left as evaluated.
    EXPECT_EQ(run->trained.retrieval->item_factors.rows(), run->data.items);
  }
}

TEST_F(ColdItemsTest, MetadataThatMatchesNothingSkipsWithAReason) {
  testutil::WriteFile(tmp_->Path("other.csv"),
                      "movieId,title,genres\n900001,Other (1990),Drama\n"
                      "900002,Another (1991),Comedy\n");
  TrainingPipelineOptions options = Options("other");
  options.data.items_path = tmp_->Path("other.csv");
  std::vector<std::string> skipped;
  PipelineObserver observer;
  observer.on_cold_items_skipped = [&](const std::string& what,
                                       const absl::Status&) {
    skipped.push_back(what);
  };
  auto run = RunTrainingPipeline(options, observer);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(skipped.size(), 2u);
  EXPECT_FALSE(run->cold_evaluation_skipped.empty());
  EXPECT_THAT(run->attributes_skipped, HasSubstr("have metadata"));
  EXPECT_FALSE(run->attributes.has_value());
  const nlohmann::json report = TrainingReportJson(*run);
  EXPECT_TRUE(report["cold_items"].contains("published_skipped"));
  auto loaded = Snapshot::Load(run->version_dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->num_cold_items(), 0);
}

TEST_F(ColdItemsTest, TagsNeedItemMetadata) {
  TrainingPipelineOptions options = Options("");
  options.data.items_path.clear();
  options.data.item_tags_path = tmp_->Path("tags.csv");
  auto run = RunTrainingPipeline(options);
  EXPECT_EQ(run.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(run.status().message(), HasSubstr("item tags"));
}

TEST_F(ColdItemsTest, TurnedOffPublishesNoColdItems) {
  TrainingPipelineOptions options = Options("off");
  options.cold.enabled = false;
  // Without a recency weighting (format 6): nothing that needs format 5.
  options.training.search_recency = false;
  // Its format would be 7 (after 5) for that model alone.
  options.training.search_item_item = false;
  auto run = RunTrainingPipeline(options);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_FALSE(run->cold_evaluation.has_value());
  EXPECT_FALSE(run->attributes.has_value());
  auto loaded = Snapshot::Load(run->version_dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->num_cold_items(), 0);
  EXPECT_EQ((*loaded)->attributes(), nullptr);
  EXPECT_LT((*loaded)->manifest().format_version, 5);
  EXPECT_EQ((*loaded)->num_items(), all_.num_items());
}

TEST_F(ColdItemsTest, RejectsAnEvaluationShareOutOfRange) {
  TrainingPipelineOptions options = Options("");
  options.cold.evaluation_items = 0.7;
  auto run = RunTrainingPipeline(options);
  EXPECT_EQ(run.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(run.status().message(), HasSubstr("cold-item evaluation"));
}

TEST(AppendColdItemsTest, AppendsMissingCatalogItemsInIdOrder) {
  ItemCatalog catalog;
  catalog["1"] = {.title = "Old (1990)", .genres = {"Drama"}, .year = 1990};
  catalog["10"] = {.title = "Ten (2001)", .genres = {"Drama"}, .year = 2001};
  catalog["9"] = {.title = "Nine (2000)", .genres = {"Comedy"}, .year = 2000};
  catalog["100"] = {.title = "Hundred", .genres = {}, .year = 0};
  Dataset data;
  data.items.GetOrAdd("1");
  data.users.GetOrAdd("u");
  data.ratings.push_back({0, 0, 4.0f, 0});
  const ItemAttributeSources sources{.items = &catalog};
  ItemAttributeModel attributes;
  auto spec = AttributeSpec::FromNames({}, {"genre:Comedy", "genre:Drama"});
  ASSERT_TRUE(spec.ok()) << spec.status();
  attributes.spec = *spec;
  attributes.retrieval.weights = FactorMatrix(3, 2);
  attributes.retrieval.weights << 1, 0,  // Comedy
      0, 1,                              // Drama
      0.5, 0.5;                          // intercept
  RetrievalModel retrieval;
  retrieval.item_factors = FactorMatrix::Zero(1, 2);
  // Rows that do not match the data are refused, and nothing changes.
  RetrievalModel wrong;
  wrong.item_factors = FactorMatrix::Zero(2, 2);
  EXPECT_EQ(AppendColdItems(attributes, sources, &data, nullptr, &wrong)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(data.num_items(), 1);
  absl::StatusOr<int32_t> appended =
      AppendColdItems(attributes, sources, &data, nullptr, &retrieval);
  ASSERT_TRUE(appended.ok()) << appended.status();
  EXPECT_EQ(*appended, 3);
  ASSERT_EQ(data.num_items(), 4);
  EXPECT_EQ(data.items.Id(1), "9");
  EXPECT_EQ(data.items.Id(2), "10");
  EXPECT_EQ(data.items.Id(3), "100");
  EXPECT_FLOAT_EQ(retrieval.item_factors(1, 0), 1.5f);  // Comedy
  EXPECT_FLOAT_EQ(retrieval.item_factors(2, 1), 1.5f);  // Drama
  EXPECT_FLOAT_EQ(retrieval.item_factors(3, 0), 0.5f);  // nothing known
  EXPECT_EQ(data.ratings.size(), 1u);
}

}  // namespace
}  // namespace recserve
