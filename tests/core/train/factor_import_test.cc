#include "core/train/factor_import.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "core/snapshot/snapshot.h"
#include "core/snapshot/snapshot_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/temp_files.h"

namespace recserve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Ratings over users u1, u2, u9 and items i1, i2, i4; u9 and i4 have no
// factors in the files below.
Dataset SampleRatings() {
  Dataset d;
  auto add = [&d](const char* u, const char* i, float v) {
    d.ratings.push_back(Rating{d.users.GetOrAdd(u), d.items.GetOrAdd(i), v,
                               static_cast<int64_t>(d.ratings.size())});
  };
  add("u1", "i1", 4);
  add("u1", "i2", 2);
  add("u2", "i1", 5);
  add("u9", "i1", 3);  // user without factors
  add("u1", "i4", 1);  // item without factors
  add("u9", "i4", 2);  // both
  return d;
}

class FactorImportTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = tmp_.Path(name);
    testutil::WriteFile(path, text);
    return path;
  }

  absl::StatusOr<ImportResult> Import(const std::string& users,
                                      const std::string& items) {
    ImportOptions options;
    options.user_factors_path = Write("users.txt", users);
    options.item_factors_path = Write("items.txt", items);
    return ImportFactors(options, SampleRatings());
  }

  // Imports kUsersCsv / kItemsCsv with the given embedding files.
  absl::StatusOr<ImportResult> ImportWithEmbeddings(
      const std::string& user_embeddings, const std::string& item_embeddings);

  testutil::TempDir tmp_;
};

constexpr char kUsersCsv[] = "id,bias,f1,f2\nu1,0.5,1,2\nu2,-0.5,0.25,0\n";
constexpr char kItemsCsv[] =
    "id,bias,f1,f2\ni1,0.1,1,1\ni2,0.2,-1,3\ni3,0,0,0\n";

TEST_F(FactorImportTest, CommaWithHeader) {
  absl::StatusOr<ImportResult> r = Import(kUsersCsv, kItemsCsv);
  ASSERT_TRUE(r.ok()) << r.status();
  const ImportReport& rep = r->report;
  EXPECT_EQ(rep.user_file.delimiter, ',');
  EXPECT_TRUE(rep.user_file.has_header);
  EXPECT_EQ(rep.user_file.rows, 2);
  EXPECT_EQ(rep.item_file.rows, 3);
  EXPECT_EQ(rep.factors, 2);
  EXPECT_EQ(rep.ratings_read, 6);
  EXPECT_EQ(rep.ratings_used, 3);
  EXPECT_EQ(rep.ratings_dropped, 3);
  EXPECT_EQ(rep.ratings_without_user_factors, 2);
  EXPECT_EQ(rep.ratings_without_item_factors, 2);
  EXPECT_EQ(rep.users_without_ratings, 0);
  EXPECT_EQ(rep.items_without_ratings, 1);  // i3
  EXPECT_TRUE(rep.global_mean_from_ratings);
  EXPECT_FLOAT_EQ(rep.global_mean, 11.0f / 3);

  const Dataset& train = r->train;
  EXPECT_THAT(train.users.ids(), ElementsAre("u1", "u2"));
  EXPECT_THAT(train.items.ids(), ElementsAre("i1", "i2", "i3"));
  ASSERT_EQ(train.ratings.size(), 3u);
  EXPECT_EQ(train.ratings[2].user, 1);
  EXPECT_EQ(train.ratings[2].item, 0);
  EXPECT_EQ(train.ratings[2].value, 5.0f);
  EXPECT_EQ(train.ratings[2].timestamp, 2);

  const MfModel& m = r->model;
  EXPECT_EQ(m.factors(), 2);
  EXPECT_EQ(m.user_bias[1], -0.5f);
  EXPECT_EQ(m.item_factors(1, 1), 3.0f);
  // μ + b_u1 + b_i2 + (1, 2)·(-1, 3) = 11/3 + 0.5 + 0.2 + 5
  EXPECT_FLOAT_EQ(m.Score(0, 1), 11.0f / 3 + 5.7f);
  EXPECT_EQ(m.scale.min, 2.0f);  // inferred from the used ratings
  EXPECT_EQ(m.scale.max, 5.0f);
  EXPECT_EQ(m.Predict(0, 1), 5.0f);
}

TEST_F(FactorImportTest, TabAndSpaceWithoutHeaderAndCrlf) {
  absl::StatusOr<ImportResult> tab =
      Import("u1\t0.5\t1\t2\r\nu2\t-0.5\t0.25\t0\r\n\r\n",
             "\xEF\xBB\xBFi1\t0.1\t1\t1\ni2\t0.2\t-1\t3\ni3\t0\t0\t0");
  ASSERT_TRUE(tab.ok()) << tab.status();
  EXPECT_EQ(tab->report.user_file.delimiter, '\t');
  EXPECT_FALSE(tab->report.user_file.has_header);
  EXPECT_FALSE(tab->report.item_file.has_header);

  absl::StatusOr<ImportResult> space =
      Import("  u1   0.5 1  2\nu2 -0.5 0.25 0\n",
             "id bias f1 f2\ni1 0.1 1 1\ni2 0.2 -1 3\ni3 0 0 0\n");
  ASSERT_TRUE(space.ok()) << space.status();
  EXPECT_EQ(space->report.user_file.delimiter, ' ');
  EXPECT_TRUE(space->report.item_file.has_header);

  absl::StatusOr<ImportResult> csv = Import(kUsersCsv, kItemsCsv);
  ASSERT_TRUE(csv.ok());
  for (const auto* r : {&*tab, &*space}) {
    EXPECT_EQ(r->model.user_factors, csv->model.user_factors);
    EXPECT_EQ(r->model.item_factors, csv->model.item_factors);
    EXPECT_EQ(r->model.user_bias, csv->model.user_bias);
    EXPECT_EQ(r->model.item_bias, csv->model.item_bias);
    EXPECT_EQ(r->train.items.ids(), csv->train.items.ids());
  }
  // Spaces around comma-separated fields are trimmed.
  absl::StatusOr<ImportResult> spaced =
      Import("id, bias, f1, f2\nu1, 0.5, 1, 2\nu2, -0.5, 0.25, 0\n", kItemsCsv);
  ASSERT_TRUE(spaced.ok()) << spaced.status();
  EXPECT_EQ(spaced->model.user_factors, csv->model.user_factors);
}

TEST_F(FactorImportTest, MalformedRowsNameFileAndLine) {
  struct Case {
    std::string users;
    std::string message;
  };
  std::vector<Case> cases = {
      {"id,bias,f1,f2\nu1,0.5,1,2\nu2,-0.5,0.25\n",
       "users.txt:3: expected 4 columns (id, bias, 2 factors) like line 2, "
       "found 3"},
      {"u1,0.5,1,2\nu2,-0.5,0.25,0,9\n", "users.txt:2: expected 4 columns"},
      {"u1,0.5,1,2\n\nu2,-0.5,abc,0\n",
       "users.txt:3: column 3: 'abc' is not a finite number"},
      {"u1,0.5,1,2\nu2,nan,1,0\n",
       "users.txt:2: column 2: 'nan' is not a finite number"},
      {"u1,0.5,1,2\nu2,1,2,3\nu1,1,1,1\n",
       "users.txt:3: duplicate id 'u1' (first on line 1)"},
      {"u1,0.5,1,2\n,1,1,1\n", "users.txt:2: empty id"},
      {"justonecolumn\n", "users.txt:1: expected at least 2 columns"},
      {"id,bias\nu1\n", "users.txt:2: expected at least 2 columns"},
      {"", "users.txt: no factor rows"},
      {"id,bias,f1,f2\n\n", "users.txt: no factor rows"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<ImportResult> r = Import(c.users, kItemsCsv);
    ASSERT_FALSE(r.ok()) << c.users;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr(c.message))
        << c.users << " -> " << r.status();
  }
}

TEST_F(FactorImportTest, FileLevelErrors) {
  absl::StatusOr<ImportResult> r =
      Import("u1,0.5,1,2,3\nu2,-0.5,0.25,0,0\n", kItemsCsv);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(),
              HasSubstr("items.txt: has 2 factors per row but"));

  // Swapped files: no rating matches.
  r = Import(kItemsCsv, kUsersCsv);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("none of the 6 ratings"));

  ImportOptions options;
  options.user_factors_path = tmp_.Path("missing.csv");
  options.item_factors_path = Write("items.txt", kItemsCsv);
  EXPECT_EQ(ImportFactors(options, SampleRatings()).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(FactorImportTest, GlobalMeanOverrideForModelsWithoutIt) {
  ImportOptions options;
  options.user_factors_path = Write("users.txt", kUsersCsv);
  options.item_factors_path = Write("items.txt", kItemsCsv);
  options.global_mean = 0.0f;
  absl::StatusOr<ImportResult> r = ImportFactors(options, SampleRatings());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->report.global_mean_from_ratings);
  EXPECT_EQ(r->model.global_mean, 0.0f);
  EXPECT_FLOAT_EQ(r->model.Score(0, 1), 5.7f);
}

absl::StatusOr<ImportResult> FactorImportTest::ImportWithEmbeddings(
    const std::string& user_embeddings, const std::string& item_embeddings) {
  ImportOptions options;
  options.user_factors_path = Write("users.txt", kUsersCsv);
  options.item_factors_path = Write("items.txt", kItemsCsv);
  options.user_embeddings_path = Write("users_emb.txt", user_embeddings);
  options.item_embeddings_path = Write("items_emb.txt", item_embeddings);
  return ImportFactors(options, SampleRatings());
}

// Embeddings for u1, u2 (reversed, plus u9, which has no factors) and for
// i1, i2, i3 (shuffled, plus i7), k = 3.
constexpr char kUserEmbeddingsCsv[] =
    "id,e1,e2,e3\nu2,0.5,0.25,-1\nu9,9,9,9\nu1,1,2,3\n";
constexpr char kItemEmbeddingsTsv[] =
    "i3\t0\t0\t1\r\ni1\t1\t0\t0\r\ni7\t7\t7\t7\r\ni2\t0\t1\t0\r\n";

TEST_F(FactorImportTest, EmbeddingsAreReindexedLikeTheFactors) {
  absl::StatusOr<ImportResult> r =
      ImportWithEmbeddings(kUserEmbeddingsCsv, kItemEmbeddingsTsv);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->retrieval.has_value());
  EXPECT_THAT(r->train.users.ids(), ElementsAre("u1", "u2"));
  EXPECT_THAT(r->train.items.ids(), ElementsAre("i1", "i2", "i3"));
  FactorMatrix users(2, 3), items(3, 3);
  users << 1, 2, 3, 0.5, 0.25, -1;
  items << 1, 0, 0, 0, 1, 0, 0, 0, 1;
  EXPECT_EQ(r->retrieval->user_factors, users);
  EXPECT_EQ(r->retrieval->item_factors, items);
  EXPECT_TRUE(r->retrieval->loss_history.empty());

  const ImportReport& rep = r->report;
  EXPECT_EQ(rep.retrieval_factors, 3);
  EXPECT_EQ(rep.factors, 2);  // the rating model's, unchanged
  EXPECT_EQ(rep.user_embeddings_file.path, tmp_.Path("users_emb.txt"));
  EXPECT_EQ(rep.user_embeddings_file.delimiter, ',');
  EXPECT_TRUE(rep.user_embeddings_file.has_header);
  EXPECT_EQ(rep.user_embeddings_file.rows, 3);
  EXPECT_EQ(rep.item_embeddings_file.delimiter, '\t');
  EXPECT_FALSE(rep.item_embeddings_file.has_header);
  EXPECT_EQ(rep.item_embeddings_file.rows, 4);
  EXPECT_EQ(rep.user_embeddings_ignored, 1);  // u9
  EXPECT_EQ(rep.item_embeddings_ignored, 1);  // i7

  // Without embedding files, nothing about them.
  absl::StatusOr<ImportResult> plain = Import(kUsersCsv, kItemsCsv);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->retrieval.has_value());
  EXPECT_EQ(plain->report.retrieval_factors, 0);
  EXPECT_TRUE(plain->report.user_embeddings_file.path.empty());
}

TEST_F(FactorImportTest, EmbeddingsRoundTripThroughAFormat2Snapshot) {
  absl::StatusOr<ImportResult> r =
      ImportWithEmbeddings(kUserEmbeddingsCsv, kItemEmbeddingsTsv);
  ASSERT_TRUE(r.ok()) << r.status();
  SnapshotContents contents;
  contents.train = &r->train;
  contents.model = &r->model;
  contents.algo = "import";
  contents.retrieval = &*r->retrieval;
  contents.retrieval_params = {{"user_embeddings", "users_emb.txt"}};
  contents.ranking = TwoStageOptions{.candidates = 2, .blend_weight = 0.5f};
  std::string root = tmp_.Path("snapshots");
  ASSERT_TRUE(PublishSnapshot(root, contents).ok());
  absl::StatusOr<std::shared_ptr<const Snapshot>> snap =
      Snapshot::LoadLatest(root);
  ASSERT_TRUE(snap.ok()) << snap.status();
  const Snapshot& s = **snap;
  EXPECT_EQ(s.manifest().format_version, 2);
  ASSERT_TRUE(s.has_retrieval());
  EXPECT_EQ(s.retrieval_factors(), 3);
  int32_t u2 = s.FindUser("u2"), i3 = s.FindItem("i3");
  EXPECT_EQ(s.user_embeddings()(u2, 2), -1.0f);
  EXPECT_EQ(s.user_embeddings().row(u2).dot(s.item_embeddings().row(i3)),
            -1.0f);
  EXPECT_EQ(FactorMatrix(s.user_embeddings()), r->retrieval->user_factors);
  EXPECT_EQ(FactorMatrix(s.item_embeddings()), r->retrieval->item_factors);
  EXPECT_EQ(s.ranking().candidates, 2);
  EXPECT_EQ(s.manifest().retrieval->params["user_embeddings"], "users_emb.txt");
}

TEST_F(FactorImportTest, EmbeddingErrors) {
  struct Case {
    std::string label;
    std::string users;
    std::string items;
    std::string message;
  };
  const std::string users_emb = tmp_.Path("users_emb.txt");
  const std::string items_emb = tmp_.Path("items_emb.txt");
  std::vector<Case> cases = {
      {"user without a row", "u1,1,2,3\nu9,0,0,0\n", kItemEmbeddingsTsv,
       users_emb + ": no row for user 'u2' of " + tmp_.Path("users.txt") +
           " (1 of 2 users have none"},
      {"items without rows", kUserEmbeddingsCsv, "i3 0 0 1\ni5 1 1 1\n",
       items_emb + ": no row for item 'i1' of " + tmp_.Path("items.txt") +
           " (2 of 3 items have none"},
      {"widths differ", kUserEmbeddingsCsv, "i1,1,0\ni2,0,1\ni3,0,0\n",
       items_emb + ": has 2 factors per row but " + users_emb + " has 3"},
      {"short row", "u1,1,2,3\nu2,1,2\n", kItemEmbeddingsTsv,
       users_emb + ":2: expected 4 columns (id, 3 factors) like line 1, "
                   "found 3"},
      {"one column", "u1\nu2\n", kItemEmbeddingsTsv,
       users_emb + ":1: expected at least 2 columns (id, f1, ...), found 1"},
      {"nan", "u1,1,2,3\nu2,1,nan,3\n", kItemEmbeddingsTsv,
       users_emb + ":2: column 3: 'nan' is not a finite number"},
      {"duplicate", kUserEmbeddingsCsv, "i1 1 1 1\ni2 1 1 1\ni1 0 0 0\n",
       items_emb + ":3: duplicate id 'i1' (first on line 1)"},
      {"empty", "", kItemEmbeddingsTsv, users_emb + ": no embedding rows"},
      {"header only", "id,e1,e2\n", kItemEmbeddingsTsv,
       users_emb + ": no embedding rows"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<ImportResult> r = ImportWithEmbeddings(c.users, c.items);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument)
        << c.label << ": " << r.status();
    EXPECT_THAT(r.status().message(), HasSubstr(c.message))
        << c.label << ": " << r.status();
  }

  // Both paths or neither.
  ImportOptions options;
  options.user_factors_path = Write("users.txt", kUsersCsv);
  options.item_factors_path = Write("items.txt", kItemsCsv);
  options.user_embeddings_path = Write("users_emb.txt", kUserEmbeddingsCsv);
  absl::Status s = ImportFactors(options, SampleRatings()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("only the user embeddings path is set"));
  options.user_embeddings_path.clear();
  options.item_embeddings_path = Write("items_emb.txt", kItemEmbeddingsTsv);
  s = ImportFactors(options, SampleRatings()).status();
  EXPECT_THAT(s.message(), HasSubstr("only the item embeddings path is set"));

  options.user_embeddings_path = tmp_.Path("missing.csv");
  EXPECT_EQ(ImportFactors(options, SampleRatings()).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(FactorImportTest, RoundTripsThroughASnapshot) {
  absl::StatusOr<ImportResult> r = Import(kUsersCsv, kItemsCsv);
  ASSERT_TRUE(r.ok()) << r.status();
  SnapshotContents contents;
  contents.train = &r->train;
  contents.model = &r->model;
  contents.algo = "import";
  contents.training_params = {{"user_factors", "users.txt"}};
  std::string root = tmp_.Path("snapshots");
  ASSERT_TRUE(PublishSnapshot(root, contents).ok());
  absl::StatusOr<std::shared_ptr<const Snapshot>> snap =
      Snapshot::LoadLatest(root);
  ASSERT_TRUE(snap.ok()) << snap.status();
  const Snapshot& s = **snap;
  EXPECT_EQ(s.manifest().algo, "import");
  EXPECT_EQ(s.manifest().num_ratings, 3);
  EXPECT_EQ(s.num_users(), 2);
  EXPECT_EQ(s.num_items(), 3);
  EXPECT_EQ(s.FindUser("u9"), kUnknownIndex);
  int32_t u1 = s.FindUser("u1"), i2 = s.FindItem("i2");
  EXPECT_FLOAT_EQ(s.Score(u1, i2), 11.0f / 3 + 5.7f);
  for (int32_t u = -1; u < 2; ++u) {
    for (int32_t i = -1; i < 3; ++i) {
      EXPECT_EQ(s.Predict(u, i), r->model.Predict(u, i));
    }
  }
  EXPECT_THAT(s.SeenItems(u1), ElementsAre(0, 1));
  EXPECT_THAT(s.SeenItems(s.FindUser("u2")), ElementsAre(0));
  EXPECT_THAT(s.item_popularity(), ElementsAre(2, 1, 0));
  EXPECT_THAT(s.SeenItems(kUnknownIndex), IsEmpty());
}

}  // namespace
}  // namespace recserve
