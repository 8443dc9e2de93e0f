// add-items: a new version with the latest one's contents unchanged plus new
// cold items placed by the snapshot's attribute maps, its indexes extended.

#include "core/pipeline/add_items.h"

#include <atomic>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/data/item_reader.h"
#include "core/index/item_index.h"
#include "core/model/item_item_model.h"
#include "core/model/ordinal_output.h"
#include "core/serve/serving_model.h"
#include "core/serve/serving_model_loader.h"
#include "core/snapshot/snapshot.h"
#include "core/snapshot/snapshot_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/snapshot/cold_snapshot_fixture.h"
#include "tests/testutil/temp_files.h"

namespace recserve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int32_t kUsers = 10;
constexpr int32_t kWarm = 40;
constexpr int32_t kCold = 2;
constexpr int32_t kFactors = 3;
constexpr int32_t kRetrievalFactors = 5;

ItemIndexOptions SmallIndex() {
  ItemIndexOptions o;
  o.m = 8;
  o.ef_construction = 40;
  o.threads = 1;
  return o;
}

template <typename T>
bool SameBytes(const T& a, const T& b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(a.data()[0])) == 0;
}

class AddItemsTest : public ::testing::Test {
 protected:
  AddItemsTest()
      : fixture_(testutil::MakeColdFixture(kUsers, kWarm, kCold, kFactors,
                                           kRetrievalFactors)) {}

  // Publishes the fixture as v000001, with indexes when asked.
  void PublishBase(bool indexes, bool attributes = true) {
    SnapshotContents c = testutil::ContentsOf(fixture_);
    if (!attributes) {
      c.attributes = nullptr;
      c.cold_items = 0;
    }
    absl::StatusOr<std::string> v = PublishSnapshot(root_, c);
    ASSERT_TRUE(v.ok()) << v.status();
    base_dir_ = absl::StrCat(root_, "/", *v);
    if (indexes) {
      ASSERT_TRUE(BuildSnapshotIndexes(base_dir_, SmallIndex()).ok());
    }
  }

  AddItemsOptions Options(const std::string& items_csv) {
    const std::string path = tmp_.Path("new_items.csv");
    testutil::WriteFile(path, items_csv);
    AddItemsOptions o;
    o.root = root_;
    o.items_path = path;
    o.threads = 1;
    return o;
  }

  testutil::TempDir tmp_;
  const std::string root_ = tmp_.Path("snapshots");
  testutil::ColdSnapshotFixture fixture_;
  std::string base_dir_;
};

TEST_F(AddItemsTest, AddsNewItemsColdWithMappedRowsAndKeepsTheRest) {
  ASSERT_NO_FATAL_FAILURE(PublishBase(/*indexes=*/true));
  // Items 1..42 are in the snapshot; 43..47 are new.
  AddItemsOptions o = Options(testutil::MoviesCsv(1, kWarm + kCold + 5));
  const std::string labels = tmp_.Path("labels.tsv");
  testutil::WriteFile(labels, "44\tin_stock|region:eu\n3\tignored\n");
  o.item_labels_path = labels;
  absl::StatusOr<AddItemsReport> report = AddItems(o);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->base_version, "v000001");
  EXPECT_EQ(report->version, "v000002");
  EXPECT_EQ(report->dir, absl::StrCat(root_, "/v000002"));
  EXPECT_EQ(report->added, 5);
  EXPECT_EQ(report->already_present, kWarm + kCold);
  EXPECT_EQ(report->without_attributes, 0);
  EXPECT_EQ(report->indexes_extended, 2);
  EXPECT_GT(report->seconds, 0.0);

  absl::StatusOr<std::string> latest = ResolveLatestVersion(root_);
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(*latest, "v000002");
  auto base = Snapshot::Load(base_dir_);
  auto added = Snapshot::Load(report->dir);
  ASSERT_TRUE(base.ok() && added.ok()) << added.status();
  const Snapshot& b = **base;
  const Snapshot& s = **added;
  const int32_t old_items = kWarm + kCold;
  ASSERT_EQ(s.num_items(), old_items + 5);
  EXPECT_EQ(s.num_cold_items(), kCold + 5);
  EXPECT_EQ(s.first_cold_item(), kWarm);
  EXPECT_EQ(s.num_users(), b.num_users());
  EXPECT_EQ(s.manifest().data_fingerprint, b.manifest().data_fingerprint);
  EXPECT_EQ(s.manifest().num_ratings, b.manifest().num_ratings);
  EXPECT_EQ(s.manifest().metrics, b.manifest().metrics);
  EXPECT_EQ(
      s.manifest().training_params["added_items"],
      nlohmann::json::parse(R"([{"base_version": "v000001", "added": 5}])"));
  // The old rows, byte for byte.
  EXPECT_TRUE(SameBytes(s.user_factors(), b.user_factors()));
  EXPECT_TRUE(SameBytes(s.user_bias(), b.user_bias()));
  EXPECT_TRUE(SameBytes(s.user_embeddings(), b.user_embeddings()));
  EXPECT_TRUE(SameBytes(FactorMatrix(s.item_factors().topRows(old_items)),
                        FactorMatrix(b.item_factors())));
  EXPECT_TRUE(SameBytes(FactorMatrix(s.item_embeddings().topRows(old_items)),
                        FactorMatrix(b.item_embeddings())));
  EXPECT_TRUE(SameBytes(Eigen::VectorXf(s.item_bias().head(old_items)),
                        Eigen::VectorXf(b.item_bias())));
  for (int32_t u = 0; u < kUsers; ++u) {
    EXPECT_THAT(s.SeenItems(u), ::testing::ElementsAreArray(b.SeenItems(u)));
    EXPECT_THAT(s.SeenRatings(u),
                ::testing::ElementsAreArray(b.SeenRatings(u)));
  }
  // The new items: in id order, cold, never seen, at the mapped rows.
  ItemCatalog read;
  ASSERT_TRUE(ReadItems(o.items_path, ItemReadOptions(), &read).ok());
  for (int32_t n = 0; n < 5; ++n) {
    const int32_t item = old_items + n;
    const std::string id = absl::StrCat(old_items + 1 + n);
    EXPECT_EQ(s.ItemId(item), id);
    EXPECT_TRUE(s.IsColdItem(item));
    EXPECT_EQ(s.item_popularity()[item], 0);
    const std::vector<float> rating = testutil::MappedRow(
        fixture_.attributes, *fixture_.attributes.rating, id, read);
    const std::vector<float> embedding = testutil::MappedRow(
        fixture_.attributes, fixture_.attributes.retrieval, id, read);
    for (int32_t f = 0; f < kFactors; ++f) {
      EXPECT_EQ(s.item_factors()(item, f), rating[f]) << id;
    }
    EXPECT_EQ(s.item_bias()[item], rating[kFactors]);
    for (int32_t f = 0; f < kRetrievalFactors; ++f) {
      EXPECT_EQ(s.item_embeddings()(item, f), embedding[f]) << id;
    }
    ASSERT_NE(s.ItemTitle(item), nullptr);
    EXPECT_EQ(*s.ItemTitle(item), read[id].title);
    ASSERT_NE(s.ItemGenres(item), nullptr);
    EXPECT_EQ(*s.ItemGenres(item), read[id].genres);
  }
  // The labels of the new item; no other item got one.
  const int32_t in_stock = s.FindLabel("in_stock");
  ASSERT_NE(in_stock, kUnknownIndex);
  const int32_t item44 = s.FindItem("44");
  EXPECT_THAT(s.ItemLabels(item44), ::testing::Contains(in_stock));
  EXPECT_THAT(s.ItemLabels(s.FindItem("3")),
              ::testing::Not(::testing::Contains(in_stock)));
  EXPECT_EQ(s.FindLabel("ignored"), kUnknownIndex);
  ASSERT_NE(s.attributes(), nullptr);
  EXPECT_EQ(s.attributes()->retrieval.weights,
            fixture_.attributes.retrieval.weights);

  // The extended indexes load as the server loads them, and find the new
  // items.
  ServingModelLoadOptions load;
  load.index = SmallIndex();
  load.save_built_indexes = false;
  ServingModelLoadReport loaded;
  absl::StatusOr<std::shared_ptr<const ServingModel>> model =
      LoadServingModel(report->dir, load, &loaded);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_TRUE(loaded.retrieval_index_loaded);
  EXPECT_TRUE(loaded.similarity_index_loaded);
  EXPECT_THAT(loaded.warnings, ::testing::IsEmpty());
  const std::string checksum = *SnapshotChecksum(report->dir);
  for (IndexSpace space : {IndexSpace::kCosine, IndexSpace::kInnerProduct}) {
    absl::StatusOr<std::unique_ptr<ItemIndex>> index = ItemIndex::Load(
        absl::StrCat(report->dir, "/",
                     IndexFileName(checksum, space, SmallIndex())),
        s.item_embeddings(), space);
    ASSERT_TRUE(index.ok()) << index.status();
    EXPECT_EQ((*index)->size(), old_items + 5);
    for (int32_t item = old_items; item < s.num_items(); ++item) {
      const auto row = s.item_embeddings().row(item);
      const std::vector<ScoredItem> exact = ExactNeighbors(
          s.item_embeddings(), space,
          absl::Span<const float>(row.data(), kRetrievalFactors), 1);
      absl::StatusOr<std::vector<ScoredItem>> found = (*index)->Search(
          absl::Span<const float>(row.data(), kRetrievalFactors), 1, 50);
      ASSERT_TRUE(found.ok());
      ASSERT_EQ(found->size(), 1u);
      EXPECT_EQ((*found)[0].item, exact[0].item);
    }
  }
}

// An item-item model (format 7) is carried over unchanged: the same file
// (linked, same size and checksum), the same m; the new items lie beyond it.
TEST_F(AddItemsTest, KeepsTheItemItemModel) {
  ItemItemModel item_item;
  item_item.weights.resize(kWarm - 3, kWarm - 3);
  for (int64_t i = 0; i < item_item.weights.size(); ++i) {
    item_item.weights.data()[i] = static_cast<float>(i % 13) * 0.37f - 2.0f;
  }
  item_item.weights.diagonal().setZero();
  item_item.params = {
      .reg = 123.5f, .recency_weight = 1.5f, .recency_horizon = 6.0f};
  SnapshotContents c = testutil::ContentsOf(fixture_);
  c.item_item = &item_item;
  absl::StatusOr<std::string> v = PublishSnapshot(root_, c);
  ASSERT_TRUE(v.ok()) << v.status();
  base_dir_ = absl::StrCat(root_, "/", *v);

  absl::StatusOr<AddItemsReport> report =
      AddItems(Options(testutil::MoviesCsv(1, kWarm + kCold + 4)));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->added, 4);
  auto base = Snapshot::Load(base_dir_);
  auto added = Snapshot::Load(report->dir);
  ASSERT_TRUE(base.ok() && added.ok()) << added.status();
  const Snapshot& b = **base;
  const Snapshot& s = **added;
  EXPECT_EQ(s.manifest().format_version, 7);
  EXPECT_EQ(s.num_items(), kWarm + kCold + 4);
  ASSERT_TRUE(s.has_item_item());
  EXPECT_EQ(s.manifest().item_item->items, kWarm - 3);
  EXPECT_EQ(s.item_item()->reg, 123.5f);
  EXPECT_EQ(s.item_item()->recency_weight, 1.5f);
  EXPECT_EQ(s.item_item()->recency_horizon, 6.0f);
  EXPECT_TRUE(
      SameBytes(FactorMatrix(s.item_item_weights()), item_item.weights));
  EXPECT_TRUE(SameBytes(FactorMatrix(s.item_item_weights()),
                        FactorMatrix(b.item_item_weights())));
  EXPECT_EQ(s.manifest().files.at(kItemItemFile),
            b.manifest().files.at(kItemItemFile));
  EXPECT_EQ(testutil::ReadFile(absl::StrCat(report->dir, "/", kItemItemFile)),
            testutil::ReadFile(absl::StrCat(base_dir_, "/", kItemItemFile)));
  for (int32_t u = 0; u < kUsers; ++u) {
    EXPECT_THAT(s.SeenLater(u), ::testing::ElementsAreArray(b.SeenLater(u)));
  }
}

// The rating model's ordinal output (format 8) is carried over unchanged,
// and the new items' predictions are its expected ratings.
TEST_F(AddItemsTest, KeepsTheOrdinalOutput) {
  fixture_.model.ordinal.cutpoints = {1.6f, 2.45f, 3.5f, 4.25f};
  fixture_.model.ordinal.stddev = 0.35f;
  ASSERT_NO_FATAL_FAILURE(PublishBase(/*indexes=*/false));
  absl::StatusOr<AddItemsReport> report =
      AddItems(Options(testutil::MoviesCsv(1, kWarm + kCold + 3)));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->added, 3);
  auto added = Snapshot::Load(report->dir);
  ASSERT_TRUE(added.ok()) << added.status();
  const Snapshot& s = **added;
  EXPECT_EQ(s.manifest().format_version, 8);
  EXPECT_EQ(s.ordinal_output().cutpoints, fixture_.model.ordinal.cutpoints);
  EXPECT_EQ(s.ordinal_output().stddev, fixture_.model.ordinal.stddev);
  const int32_t item = s.num_items() - 1;  // a new one
  for (int32_t u = 0; u < kUsers; ++u) {
    EXPECT_EQ(s.Predict(u, item),
              ExpectedOrdinalRating(s.Score(u, item), s.rating_scale(),
                                    fixture_.model.ordinal));
  }
}

TEST_F(AddItemsTest, NewIdsInNumericOrderAndItemsWithoutKnownAttributes) {
  ASSERT_NO_FATAL_FAILURE(PublishBase(/*indexes=*/false));
  AddItemsOptions o = Options(
      "movieId,title,genres\n"
      "1000,Zzyzx,(no genres listed)\n"
      "100,The love film 100 (1990),Comedy\n"
      "99,War night (1985),Drama|Action\n"
      "7,Already here (1990),Drama\n");
  absl::StatusOr<AddItemsReport> report = AddItems(o);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->added, 3);
  EXPECT_EQ(report->already_present, 1);
  EXPECT_EQ(report->without_attributes, 1);  // 1000: no known attribute
  EXPECT_EQ(report->indexes_extended, 0);
  auto s = Snapshot::Load(report->dir);
  ASSERT_TRUE(s.ok()) << s.status();
  const int32_t first = kWarm + kCold;
  EXPECT_EQ((*s)->ItemId(first), "99");
  EXPECT_EQ((*s)->ItemId(first + 1), "100");
  EXPECT_EQ((*s)->ItemId(first + 2), "1000");
  // An item without attributes is the intercept: the mean item.
  const FactorMatrix& w = fixture_.attributes.retrieval.weights;
  for (int32_t f = 0; f < kRetrievalFactors; ++f) {
    EXPECT_EQ((*s)->item_embeddings()(first + 2, f), w(w.rows() - 1, f));
  }
  // The base's seen lists, fold-in and maps carry over, so a second run on
  // the new version adds to it.
  AddItemsOptions again = Options("movieId,title,genres\n5000,War,Drama\n");
  absl::StatusOr<AddItemsReport> second = AddItems(again);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->base_version, "v000002");
  auto s3 = Snapshot::Load(second->dir);
  ASSERT_TRUE(s3.ok()) << s3.status();
  EXPECT_EQ((*s3)->num_cold_items(), kCold + 4);
  EXPECT_EQ((*s3)->manifest().training_params["added_items"].size(), 2u);
}

TEST_F(AddItemsTest, NothingNewPublishesNothing) {
  ASSERT_NO_FATAL_FAILURE(PublishBase(/*indexes=*/false));
  absl::StatusOr<AddItemsReport> report =
      AddItems(Options(testutil::MoviesCsv(1, 10)));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->added, 0);
  EXPECT_EQ(report->already_present, 10);
  EXPECT_EQ(report->version, "");
  absl::StatusOr<std::vector<std::string>> versions = ListVersions(root_);
  ASSERT_TRUE(versions.ok());
  EXPECT_THAT(*versions, ElementsAre("v000001"));
}

TEST_F(AddItemsTest, WithoutAttributeMapsIsFailedPrecondition) {
  ASSERT_NO_FATAL_FAILURE(PublishBase(/*indexes=*/false, /*attributes=*/false));
  absl::StatusOr<AddItemsReport> report =
      AddItems(Options(testutil::MoviesCsv(40, 50)));
  EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(report.status().message(),
              HasSubstr("snapshot v000001 has no attribute maps: retrain with "
                        "item metadata (--items) to add items"));
}

TEST_F(AddItemsTest, BadInputsAreErrorsAndPublishNothing) {
  ASSERT_NO_FATAL_FAILURE(PublishBase(/*indexes=*/false));
  AddItemsOptions o = Options(testutil::MoviesCsv(40, 50));
  o.item_tags_path = tmp_.Path("missing-tags.csv");
  EXPECT_EQ(AddItems(o).status().code(), absl::StatusCode::kNotFound);
  o = Options("movieId,title,genres\nnot-a-number,x,y\n");
  EXPECT_FALSE(AddItems(o).ok());
  o = Options(testutil::MoviesCsv(40, 50));
  o.root = tmp_.Path("nowhere");
  EXPECT_EQ(AddItems(o).status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<std::vector<std::string>> versions = ListVersions(root_);
  ASSERT_TRUE(versions.ok());
  EXPECT_THAT(*versions, ElementsAre("v000001"));
}

// LATEST never names an incomplete version: a reader polling it while
// add-items publishes always loads what it names, with its indexes.
TEST_F(AddItemsTest, LatestSwitchesOnlyToACompleteVersion) {
  ASSERT_NO_FATAL_FAILURE(PublishBase(/*indexes=*/true));
  std::atomic<bool> done{false};
  std::atomic<int> checked{0}, failures{0};
  std::thread reader([&] {
    while (!done.load()) {
      absl::StatusOr<std::string> latest = ResolveLatestVersion(root_);
      if (!latest.ok()) {
        ++failures;
        continue;
      }
      const std::string dir = absl::StrCat(root_, "/", *latest);
      auto snapshot = Snapshot::Load(dir);
      absl::StatusOr<std::string> checksum = SnapshotChecksum(dir);
      if (!snapshot.ok() || !checksum.ok() ||
          !std::filesystem::exists(absl::StrCat(
              dir, "/",
              IndexFileName(*checksum, IndexSpace::kCosine, SmallIndex())))) {
        ++failures;
      }
      ++checked;
    }
  });
  absl::StatusOr<AddItemsReport> report =
      AddItems(Options(testutil::MoviesCsv(40, 60)));
  done = true;
  reader.join();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_GT(checked.load(), 0);
  EXPECT_EQ(failures.load(), 0);
  for (const auto& entry : std::filesystem::directory_iterator(root_)) {
    EXPECT_FALSE(absl::StartsWith(entry.path().filename().string(), ".tmp-"))
        << entry.path();
  }
}

}  // namespace
}  // namespace recserve
