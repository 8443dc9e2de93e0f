#include "core/factor_import.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "core/snapshot.h"
#include "core/snapshot_writer.h"
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
