// Format 7: the optional item-item model, manifest "item_item" and the file
// item_item.npy, written, parsed, loaded (mapped, bit for bit) and rejected
// when malformed; snapshots without it read as before.

#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"
#include "core/base/npy.h"
#include "core/model/item_item_model.h"
#include "core/snapshot/snapshot.h"
#include "core/snapshot/snapshot_manifest.h"
#include "core/snapshot/snapshot_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/snapshot/cold_snapshot_fixture.h"
#include "tests/testutil/snapshot_tampering.h"
#include "tests/testutil/temp_files.h"
#include "tests/testutil/tiny_model.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;
using testutil::ReadFile;
using testutil::WriteFile;

constexpr int32_t kUsers = 6;
constexpr int32_t kItems = 10;
constexpr int32_t kFactors = 3;
constexpr int32_t kModelItems = 8;  // the leading items the model covers

// m x m weights with a zero diagonal and values of every magnitude the
// bound allows, so that a round trip is checked to the bit.
FactorMatrix MakeWeights(int32_t m) {
  FactorMatrix w(m, m);
  for (int32_t i = 0; i < m; ++i) {
    for (int32_t j = 0; j < m; ++j) {
      w(i, j) =
          i == j ? 0.0f
                 : std::ldexp(static_cast<float>((i * 7 + j * 3) % 11) - 5.3f,
                              (i + j) % 9 - 4) /
                       3.0f;
    }
  }
  w(0, 1) = -kMaxModelMagnitude;
  w(1, 0) = kMaxModelMagnitude;
  w(1, 2) = std::numeric_limits<float>::denorm_min();
  w(2, 1) = -0.0f;
  return w;
}

std::string FloatNpy(const std::vector<float>& values,
                     std::vector<int64_t> shape) {
  return MakeNpyHeader(NpyDtype::kFloat32, shape) +
         std::string(reinterpret_cast<const char*>(values.data()),
                     values.size() * sizeof(float));
}

std::string WeightsNpy(const FactorMatrix& w) {
  return FloatNpy(std::vector<float>(w.data(), w.data() + w.size()),
                  {w.rows(), w.cols()});
}

template <typename A, typename B>
bool SameBits(const A& a, const B& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

class SnapshotItemItemTest : public ::testing::Test {
 protected:
  SnapshotItemItemTest()
      : tiny_(testutil::MakeTinyModel(kUsers, kItems, kFactors, 5)),
        retrieval_(testutil::MakeTinyRetrieval(kUsers, kItems, 4)) {
    fold_in_.rating = RatingUserPrior::Ridge(kFactors, 0.1f, 0.01f);
    fold_in_.retrieval = {
        .reg = 3.5f, .alpha = 0.25f, .unobserved_weight = 0.75f};
    item_item_.weights = MakeWeights(kModelItems);
    item_item_.params = {
        .reg = 250.5f, .recency_weight = 2.5f, .recency_horizon = 4.0f};
  }

  SnapshotContents Contents(const ItemItemModel* item_item) const {
    SnapshotContents c;
    c.train = &tiny_.train;
    c.model = &tiny_.model;
    c.algo = "als";
    c.retrieval = &retrieval_;
    c.ranking = {.candidates = 7, .blend_weight = 0.25f};
    c.fold_in = &fold_in_;
    c.item_item = item_item;
    return c;
  }

  // Publishes `c`; the version's folder ("" after a failed expectation).
  std::string Publish(const SnapshotContents& c) {
    absl::StatusOr<std::string> version = PublishSnapshot(root_, c);
    EXPECT_TRUE(version.ok()) << version.status();
    return version.ok() ? absl::StrCat(root_, "/", *version) : "";
  }

  static json ManifestJson(const std::string& dir) {
    return json::parse(ReadFile(absl::StrCat(dir, "/", kManifestFile)));
  }
  static void WriteManifestJson(const std::string& dir, const json& j) {
    WriteFile(absl::StrCat(dir, "/", kManifestFile), j.dump(2));
  }
  // What Load says of the folder (OK when it loads).
  static absl::Status LoadStatus(const std::string& dir) {
    return Snapshot::Load(dir).status();
  }
  // Load fails with InvalidArgument naming each of `parts`.
  static void ExpectRejected(const std::string& dir,
                             const std::vector<std::string>& parts,
                             const std::string& what) {
    const absl::Status status = LoadStatus(dir);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument)
        << what << ": " << status;
    for (const std::string& part : parts) {
      EXPECT_THAT(status.message(), HasSubstr(part)) << what;
    }
  }

  testutil::TempDir tmp_;
  const std::string root_ = tmp_.Path("root");
  testutil::TinyModel tiny_;
  RetrievalModel retrieval_;
  FoldInParams fold_in_;
  ItemItemModel item_item_;
};

TEST_F(SnapshotItemItemTest, RoundTripsBitForBitAsFormat7) {
  const std::string dir = Publish(Contents(&item_item_));
  ASSERT_FALSE(dir.empty());
  absl::StatusOr<std::shared_ptr<const Snapshot>> snap = Snapshot::Load(dir);
  ASSERT_TRUE(snap.ok()) << snap.status();
  const Snapshot& s = **snap;
  EXPECT_EQ(s.manifest().format_version, kItemItemSnapshotFormatVersion);
  EXPECT_EQ(s.manifest().format_version, 7);
  ASSERT_TRUE(s.has_item_item());
  ASSERT_NE(s.item_item(), nullptr);
  EXPECT_EQ(s.item_item()->reg, 250.5f);
  EXPECT_EQ(s.item_item()->recency_weight, 2.5f);
  EXPECT_EQ(s.item_item()->recency_horizon, 4.0f);
  const Eigen::Map<const FactorMatrix> w = s.item_item_weights();
  EXPECT_EQ(w.rows(), kModelItems);
  EXPECT_EQ(w.cols(), kModelItems);
  EXPECT_TRUE(SameBits(w, item_item_.weights));
  EXPECT_TRUE(std::signbit(w(2, 1)));
  // Format 7 holds format 6's seen order and recency fields too.
  EXPECT_EQ(s.manifest().files.count(kItemItemFile), 1u);
  EXPECT_EQ(s.manifest().files.count(kUserSeenLaterFile), 1u);
  EXPECT_EQ(s.SeenLater(0).size(), s.SeenItems(0).size());

  const json j = ManifestJson(dir);
  EXPECT_EQ(j["format_version"], 7);
  EXPECT_EQ(j["item_item"], json::parse(R"({"items": 8, "reg": 250.5,
      "recency_weight": 2.5, "recency_horizon": 4.0})"));
  // The file is the weights as .npy, nothing else.
  EXPECT_EQ(ReadFile(absl::StrCat(dir, "/", kItemItemFile)),
            WeightsNpy(item_item_.weights));

  const std::string text = ManifestToJson(s.manifest());
  absl::StatusOr<SnapshotManifest> parsed = ParseManifest(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_TRUE(parsed->item_item.has_value());
  EXPECT_EQ(parsed->item_item->items, kModelItems);
  EXPECT_EQ(parsed->item_item->params.reg, 250.5f);
  EXPECT_EQ(ManifestToJson(*parsed), text);
}

TEST_F(SnapshotItemItemTest, CoversEveryItemWithInteractions) {
  ItemItemModel all = item_item_;
  all.weights = MakeWeights(kItems);
  all.params = {.reg = 1e-3f, .recency_weight = 0.0f, .recency_horizon = 0.5f};
  const std::string dir = Publish(Contents(&all));
  ASSERT_FALSE(dir.empty());
  absl::StatusOr<std::shared_ptr<const Snapshot>> snap = Snapshot::Load(dir);
  ASSERT_TRUE(snap.ok()) << snap.status();
  EXPECT_TRUE(SameBits((*snap)->item_item_weights(), all.weights));
  EXPECT_EQ((*snap)->item_item()->recency_weight, 0.0f);
  // The fold-in's recency (none here) is recorded as given.
  EXPECT_EQ((*snap)->fold_in()->retrieval.recency_weight, 0.0f);
}

TEST_F(SnapshotItemItemTest, WithoutItHasNoneAndAnEarlierFormat) {
  const std::string dir = Publish(Contents(nullptr));
  ASSERT_FALSE(dir.empty());
  absl::StatusOr<std::shared_ptr<const Snapshot>> snap = Snapshot::Load(dir);
  ASSERT_TRUE(snap.ok()) << snap.status();
  const Snapshot& s = **snap;
  EXPECT_EQ(s.manifest().format_version, kFoldInSnapshotFormatVersion);
  EXPECT_FALSE(s.has_item_item());
  EXPECT_EQ(s.item_item(), nullptr);
  EXPECT_EQ(s.item_item_weights().rows(), 0);
  EXPECT_EQ(s.item_item_weights().cols(), 0);
  EXPECT_EQ(s.manifest().files.count(kItemItemFile), 0u);
  EXPECT_FALSE(ManifestJson(dir).contains("item_item"));

  // A format-7 manifest need not have one.
  json j = ManifestJson(dir);
  j["format_version"] = 7;
  j["feedback"] = "explicit";
  j["cold_items"] = 0;
  j["fold_in"]["retrieval"].update(json::parse(
      R"({"scale": "linear", "epsilon": 1, "reg_exponent": 0,
          "recency_weight": 0, "recency_horizon": 30})"));
  absl::StatusOr<SnapshotManifest> parsed = ParseManifest(j.dump());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_FALSE(parsed->item_item.has_value());
}

TEST_F(SnapshotItemItemTest, MalformedWeightsAreRejectedNamingTheFile) {
  const std::string dir = Publish(Contents(&item_item_));
  ASSERT_FALSE(dir.empty());
  const std::string name = kItemItemFile;
  const std::string original = ReadFile(absl::StrCat(dir, "/", name));
  const FactorMatrix& w = item_item_.weights;
  const std::vector<float> values(w.data(), w.data() + w.size());
  const int64_t m = kModelItems;

  const auto expect_rejected = [&](const std::string& bytes,
                                   const std::vector<std::string>& parts,
                                   const std::string& what) {
    testutil::ReplaceFileKeepingManifestValid(dir, name, bytes);
    std::vector<std::string> all = parts;
    all.push_back(name);
    ExpectRejected(dir, all, what);
    testutil::ReplaceFileKeepingManifestValid(dir, name, original);
    ASSERT_TRUE(LoadStatus(dir).ok()) << what;
  };
  // Shapes other than m x m.
  std::vector<float> wider = values;
  wider.resize(values.size() + m, 0.5f);
  expect_rejected(FloatNpy(wider, {m, m + 1}), {}, "m x m+1");
  expect_rejected(FloatNpy(wider, {m + 1, m}), {}, "m+1 x m");
  expect_rejected(FloatNpy(values, {m * m}), {}, "flat");
  std::vector<float> larger((m + 1) * (m + 1), 0.0f);
  expect_rejected(FloatNpy(larger, {m + 1, m + 1}), {}, "m+1 x m+1");
  // The wrong dtype.
  const std::vector<int32_t> ints(values.size(), 1);
  expect_rejected(MakeNpyHeader(NpyDtype::kInt32, std::vector<int64_t>{m, m}) +
                      std::string(reinterpret_cast<const char*>(ints.data()),
                                  ints.size() * sizeof(int32_t)),
                  {}, "int32");
  // Non-finite and out-of-range values, named with their place.
  std::vector<float> bad = values;
  bad[2 * m + 5] = std::numeric_limits<float>::quiet_NaN();
  expect_rejected(FloatNpy(bad, {m, m}),
                  {"non-finite value nan at row 2, column 5"}, "NaN");
  bad = values;
  bad[m + 3] = -std::numeric_limits<float>::infinity();
  expect_rejected(FloatNpy(bad, {m, m}), {"non-finite"}, "-inf");
  bad = values;
  bad[3 * m + 4] = 1.5e6f;
  expect_rejected(FloatNpy(bad, {m, m}),
                  {"out-of-range value", "at row 3, column 4",
                   "(model values are within ±1e6)"},
                  "beyond 1e6");
  bad = values;
  bad[7] = std::nextafter(-kMaxModelMagnitude, -2e6f);
  expect_rejected(FloatNpy(bad, {m, m}), {"out-of-range"}, "just below -1e6");
  // A size or checksum the manifest does not vouch for.
  WriteFile(absl::StrCat(dir, "/", name), original + "x");
  EXPECT_EQ(LoadStatus(dir).code(), absl::StatusCode::kDataLoss);
  WriteFile(absl::StrCat(dir, "/", name), original);
  ASSERT_TRUE(LoadStatus(dir).ok());
}

TEST_F(SnapshotItemItemTest, FileAndManifestBlockGoTogether) {
  const std::string dir = Publish(Contents(&item_item_));
  ASSERT_FALSE(dir.empty());
  const json manifest = ManifestJson(dir);

  // The file listed (and present) without "item_item".
  json j = manifest;
  j.erase("item_item");
  WriteManifestJson(dir, j);
  ExpectRejected(dir, {"lists item_item.npy but has no \"item_item\""},
                 "file without block");

  // "item_item" without the file listed.
  j = manifest;
  j["files"].erase(kItemItemFile);
  WriteManifestJson(dir, j);
  ExpectRejected(dir, {"has \"item_item\" but does not list item_item.npy"},
                 "block without file");

  // Listed but missing from the folder.
  WriteManifestJson(dir, manifest);
  ASSERT_TRUE(LoadStatus(dir).ok());
  const std::string path = absl::StrCat(dir, "/", kItemItemFile);
  const std::string bytes = ReadFile(path);
  ASSERT_EQ(std::remove(path.c_str()), 0);
  const absl::Status missing = LoadStatus(dir);
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound) << missing;
  EXPECT_THAT(missing.message(), HasSubstr(kItemItemFile));
  WriteFile(path, bytes);
  ASSERT_TRUE(LoadStatus(dir).ok());

  // Both in a format-6 manifest.
  j = manifest;
  j["format_version"] = 6;
  WriteManifestJson(dir, j);
  ExpectRejected(dir, {"'item_item' needs format_version 7"}, "format 6");
  // The file alone in a format-6 manifest.
  j.erase("item_item");
  WriteManifestJson(dir, j);
  ExpectRejected(dir, {"lists item_item.npy", "format_version 6"},
                 "file in format 6");
  WriteManifestJson(dir, manifest);
  ASSERT_TRUE(LoadStatus(dir).ok());
}

TEST_F(SnapshotItemItemTest, MoreItemsThanTheCatalogIsRejected) {
  const std::string dir = Publish(Contents(&item_item_));
  ASSERT_FALSE(dir.empty());
  const json manifest = ManifestJson(dir);
  // A consistent m x m file for m = num_items + 1: the count is refused.
  const std::string bytes = WeightsNpy(MakeWeights(kItems + 1));
  WriteFile(absl::StrCat(dir, "/", kItemItemFile), bytes);
  json j = manifest;
  j["item_item"]["items"] = kItems + 1;
  j["files"][kItemItemFile] = {{"bytes", bytes.size()},
                               {"crc32", Crc32ToHex(Crc32(bytes))}};
  WriteManifestJson(dir, j);
  ExpectRejected(dir, {"item_item.items", "is 11; must be in [1, 10]"},
                 "m > items");
  // The manifest's count must match the file's.
  j["item_item"]["items"] = kModelItems;
  WriteManifestJson(dir, j);
  ExpectRejected(dir, {kItemItemFile}, "count disagrees with the file");
}

// Cold items have no interactions: the model covers at most the others.
TEST(SnapshotItemItemColdTest, AtMostTheItemsWithInteractions) {
  constexpr int32_t kWarm = 12;
  constexpr int32_t kCold = 3;
  testutil::TempDir tmp;
  const testutil::ColdSnapshotFixture f =
      testutil::MakeColdFixture(5, kWarm, kCold, 2, 3);
  ItemItemModel ii;
  ii.weights = MakeWeights(kWarm);
  SnapshotContents c = testutil::ContentsOf(f);
  c.item_item = &ii;
  const std::string root = tmp.Path("root");
  absl::StatusOr<std::string> version = PublishSnapshot(root, c);
  ASSERT_TRUE(version.ok()) << version.status();
  const std::string dir = absl::StrCat(root, "/", *version);
  absl::StatusOr<std::shared_ptr<const Snapshot>> snap = Snapshot::Load(dir);
  ASSERT_TRUE(snap.ok()) << snap.status();
  EXPECT_EQ((*snap)->manifest().format_version, 7);
  EXPECT_EQ((*snap)->first_cold_item(), kWarm);
  EXPECT_EQ((*snap)->item_item_weights().rows(), kWarm);
  EXPECT_TRUE(SameBits((*snap)->item_item_weights(), ii.weights));
  EXPECT_EQ((*snap)->item_item()->reg, ItemItemParams().reg);
  snap->reset();

  // The writer refuses one cold item more.
  ItemItemModel over;
  over.weights = MakeWeights(kWarm + 1);
  c.item_item = &over;
  absl::StatusOr<std::string> refused = PublishSnapshot(root, c);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(),
              HasSubstr("contents.item_item weights are 13x13"));
  EXPECT_THAT(refused.status().message(), HasSubstr("[1, 12]"));

  // And so does the loader.
  const std::string bytes = WeightsNpy(over.weights);
  WriteFile(absl::StrCat(dir, "/", kItemItemFile), bytes);
  json j = json::parse(ReadFile(absl::StrCat(dir, "/", kManifestFile)));
  j["item_item"]["items"] = kWarm + 1;
  j["files"][kItemItemFile] = {{"bytes", bytes.size()},
                               {"crc32", Crc32ToHex(Crc32(bytes))}};
  WriteFile(absl::StrCat(dir, "/", kManifestFile), j.dump(2));
  const absl::Status status = Snapshot::Load(dir).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr("item_item.items"));
  EXPECT_THAT(status.message(), HasSubstr("num_items - cold_items"));
}

TEST_F(SnapshotItemItemTest, WriterRejectsBadModelsAndPublishesNothing) {
  const auto expect_refused = [&](const SnapshotContents& c,
                                  const std::string& part,
                                  const std::string& what) {
    absl::StatusOr<std::string> v = PublishSnapshot(root_, c);
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument)
        << what << ": " << v.status();
    EXPECT_THAT(v.status().message(), HasSubstr(part)) << what;
  };
  ItemItemModel bad = item_item_;
  bad.weights = MakeWeights(kItems + 1);
  expect_refused(Contents(&bad), "weights are 11x11", "m > items");
  bad.weights.resize(0, 0);
  expect_refused(Contents(&bad), "weights are 0x0", "empty");
  bad.weights = FactorMatrix::Zero(kModelItems, kModelItems + 1);
  expect_refused(Contents(&bad), "weights are 8x9", "not square");
  bad = item_item_;
  bad.weights(4, 6) = 2e6f;
  expect_refused(Contents(&bad),
                 "item_item.weights has out-of-range value 2e+06 at row 4, "
                 "column 6 (model values are within ±1e6)",
                 "beyond 1e6");
  bad.weights(4, 6) = -1.0000001e6f;
  expect_refused(Contents(&bad), "out-of-range", "just beyond -1e6");
  bad = item_item_;
  bad.weights(3, 2) = std::numeric_limits<float>::quiet_NaN();
  expect_refused(Contents(&bad), "item_item.weights has non-finite value",
                 "NaN");
  bad = item_item_;
  bad.weights(3, 2) = std::numeric_limits<float>::infinity();
  expect_refused(Contents(&bad), "non-finite", "inf");
  for (const float reg : {0.0f, -1.0f, std::numeric_limits<float>::infinity(),
                          std::numeric_limits<float>::quiet_NaN()}) {
    bad = item_item_;
    bad.params.reg = reg;
    expect_refused(Contents(&bad), "contents.item_item.params.reg",
                   absl::StrCat("reg ", reg));
  }
  for (const float weight : {-0.5f, std::numeric_limits<float>::infinity(),
                             std::numeric_limits<float>::quiet_NaN()}) {
    bad = item_item_;
    bad.params.recency_weight = weight;
    expect_refused(Contents(&bad), "contents.item_item.params.recency_weight",
                   absl::StrCat("weight ", weight));
  }
  for (const float horizon :
       {0.0f, -3.0f, std::numeric_limits<float>::infinity(),
        std::numeric_limits<float>::quiet_NaN()}) {
    bad = item_item_;
    bad.params.recency_horizon = horizon;
    expect_refused(Contents(&bad), "contents.item_item.params.recency_horizon",
                   absl::StrCat("horizon ", horizon));
  }
  SnapshotContents no_fold_in = Contents(&item_item_);
  no_fold_in.fold_in = nullptr;
  expect_refused(no_fold_in, "contents.item_item needs contents.retrieval",
                 "no fold_in");
  SnapshotContents no_retrieval = no_fold_in;
  no_retrieval.retrieval = nullptr;
  expect_refused(no_retrieval, "contents.item_item needs", "no retrieval");
  // Nothing was published.
  EXPECT_EQ(ResolveLatestVersion(root_).status().code(),
            absl::StatusCode::kNotFound);
}

class ManifestItemItemJsonTest : public SnapshotItemItemTest {
 protected:
  void SetUp() override {
    const std::string dir = Publish(Contents(&item_item_));
    ASSERT_FALSE(dir.empty());
    manifest_ = ManifestJson(dir);
    ASSERT_TRUE(ParseManifest(manifest_.dump()).ok());
  }
  static void ExpectInvalid(const json& j, const std::string& field,
                            const std::string& what = "") {
    const absl::StatusOr<SnapshotManifest> parsed = ParseManifest(j.dump());
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << field << ": " << parsed.status();
    EXPECT_THAT(parsed.status().message(), HasSubstr(field));
    EXPECT_THAT(parsed.status().message(), HasSubstr(what));
  }
  json manifest_;
};

TEST_F(ManifestItemItemJsonTest, FieldsAreParsedStrictly) {
  const auto with = [&](const char* key, const json& value) {
    json j = manifest_;
    j["item_item"][key] = value;
    return j;
  };
  ExpectInvalid(with("items", 0), "item_item.items", "must be in [1, 10]");
  ExpectInvalid(with("items", 11), "item_item.items", "must be in [1, 10]");
  ExpectInvalid(with("items", -1), "item_item.items", "out of range");
  ExpectInvalid(with("items", 2.5), "item_item.items", "not an integer");
  ExpectInvalid(with("reg", 0.0), "item_item.reg", "> 0");
  ExpectInvalid(with("reg", -3.0), "item_item.reg", "> 0");
  ExpectInvalid(with("reg", 1e300), "item_item.reg", "not a finite float");
  ExpectInvalid(with("reg", "300"), "item_item.reg", "not a number");
  ExpectInvalid(with("recency_weight", -0.5), "item_item.recency_weight",
                ">= 0");
  ExpectInvalid(with("recency_weight", nullptr), "item_item.recency_weight",
                "not a number");
  ExpectInvalid(with("recency_horizon", 0.0), "item_item.recency_horizon",
                "> 0");
  ExpectInvalid(with("recency_horizon", -1.0), "item_item.recency_horizon",
                "> 0");
  ExpectInvalid(with("extra", 1), "item_item.extra", "is not known");
  for (const char* key :
       {"items", "reg", "recency_weight", "recency_horizon"}) {
    json j = manifest_;
    j["item_item"].erase(key);
    ExpectInvalid(j, absl::StrCat("item_item.", key), "missing");
  }
  json j = manifest_;
  j["item_item"] = json::array();
  ExpectInvalid(j, "item_item", "not an object");
  // Weight 0 is allowed: no recency weighting.
  const absl::StatusOr<SnapshotManifest> parsed =
      ParseManifest(with("recency_weight", 0).dump());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->item_item->params.recency_weight, 0.0f);
}

TEST_F(ManifestItemItemJsonTest, EarlierFormatsHaveNone) {
  json j = manifest_;
  j["format_version"] = 6;
  ExpectInvalid(j, "'item_item'", "needs format_version 7");
  // In memory too.
  absl::StatusOr<SnapshotManifest> parsed = ParseManifest(manifest_.dump());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  SnapshotManifest m = *parsed;
  m.format_version = 6;
  absl::Status status = ValidateManifest(m);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("needs format_version 7"));
  m = *parsed;
  m.item_item->params.reg = std::numeric_limits<float>::quiet_NaN();
  status = ValidateManifest(m);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("item_item.reg"));
  m = *parsed;
  m.item_item->params.recency_horizon = std::numeric_limits<float>::infinity();
  EXPECT_THAT(ValidateManifest(m).message(),
              HasSubstr("item_item.recency_horizon"));
}

}  // namespace
}  // namespace recserve
