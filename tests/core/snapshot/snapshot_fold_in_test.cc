// Format 3: the manifest's "fold_in", user_seen_ratings.npy and the item
// labels (genres and item_labels.txt), written, parsed and loaded.

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/snapshot/snapshot.h"
#include "core/snapshot/snapshot_manifest.h"
#include "core/snapshot/snapshot_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/snapshot_tampering.h"
#include "tests/testutil/temp_files.h"
#include "tests/testutil/tiny_model.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

constexpr int32_t kUsers = 6;
constexpr int32_t kItems = 10;
constexpr int32_t kFactors = 3;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

FoldInParams BpmfLikeParams() {
  FoldInParams params;
  params.rating.mean = Eigen::VectorXf(kFactors + 1);
  params.rating.precision = Eigen::VectorXf(kFactors + 1);
  for (int32_t f = 0; f <= kFactors; ++f) {
    params.rating.mean[f] = 0.1f * static_cast<float>(f) - 0.125f;
    params.rating.precision[f] = 2.5f + static_cast<float>(f) / 3.0f;
  }
  params.rating.scales_with_count = false;
  params.retrieval = {.reg = 3.5f, .alpha = 0.25f, .unobserved_weight = 0.75f};
  return params;
}

class SnapshotFoldInTest : public ::testing::Test {
 protected:
  SnapshotFoldInTest()
      : tiny_(testutil::MakeTinyModel(kUsers, kItems, kFactors, 3)),
        retrieval_(testutil::MakeTinyRetrieval(kUsers, kItems, 5)),
        params_(BpmfLikeParams()) {
    // Labels beyond the genres: one shared with a genre ("Comedy"), new
    // ones, an item with none and an id the model does not know.
    labels_["i1"] = {"in_stock", "region:eu"};
    labels_["i2"] = {"Comedy", "in_stock"};
    labels_["i7"] = {"region:eu"};
    labels_["unknown-item"] = {"ghost"};
  }

  SnapshotContents Contents(bool fold_in, bool labels) const {
    SnapshotContents c;
    c.train = &tiny_.train;
    c.model = &tiny_.model;
    c.items = &tiny_.catalog;
    c.algo = "als";
    c.retrieval = &retrieval_;
    c.ranking = {.candidates = 7, .blend_weight = 0.25f};
    if (fold_in) c.fold_in = &params_;
    if (labels) c.labels = &labels_;
    return c;
  }

  std::string Publish(bool fold_in, bool labels) {
    absl::StatusOr<std::string> version =
        PublishSnapshot(tmp_.Path("root"), Contents(fold_in, labels));
    EXPECT_TRUE(version.ok()) << version.status();
    return version.ok() ? tmp_.Path(absl::StrCat("root/", *version)) : "";
  }

  testutil::TempDir tmp_;
  testutil::TinyModel tiny_;
  RetrievalModel retrieval_;
  FoldInParams params_;
  ItemLabelMap labels_;
};

TEST_F(SnapshotFoldInTest, ManifestRoundTrip) {
  const std::string dir = Publish(true, true);
  ASSERT_FALSE(dir.empty());
  absl::StatusOr<std::shared_ptr<const Snapshot>> snap = Snapshot::Load(dir);
  ASSERT_TRUE(snap.ok()) << snap.status();
  const SnapshotManifest& m = (*snap)->manifest();
  EXPECT_EQ(m.format_version, kFoldInSnapshotFormatVersion);
  ASSERT_TRUE(m.fold_in.has_value());
  EXPECT_EQ(m.fold_in->rating.mean, params_.rating.mean);
  EXPECT_EQ(m.fold_in->rating.precision, params_.rating.precision);
  EXPECT_FALSE(m.fold_in->rating.scales_with_count);
  EXPECT_EQ(m.fold_in->retrieval.reg, 3.5f);
  EXPECT_EQ(m.fold_in->retrieval.alpha, 0.25f);
  EXPECT_EQ(m.fold_in->retrieval.unobserved_weight, 0.75f);
  EXPECT_EQ(m.files.count(kUserSeenRatingsFile), 1u);
  EXPECT_EQ(m.files.count(kItemLabelsFile), 1u);

  // ManifestToJson → ParseManifest gives the same manifest and JSON.
  const std::string text = ManifestToJson(m);
  absl::StatusOr<SnapshotManifest> parsed = ParseManifest(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_TRUE(parsed->fold_in.has_value());
  EXPECT_EQ(parsed->fold_in->rating.mean, m.fold_in->rating.mean);
  EXPECT_EQ(parsed->fold_in->rating.precision, m.fold_in->rating.precision);
  EXPECT_EQ(parsed->fold_in->rating.scales_with_count,
            m.fold_in->rating.scales_with_count);
  EXPECT_EQ(parsed->fold_in->retrieval.reg, m.fold_in->retrieval.reg);
  EXPECT_EQ(parsed->fold_in->retrieval.alpha, m.fold_in->retrieval.alpha);
  EXPECT_EQ(parsed->fold_in->retrieval.unobserved_weight,
            m.fold_in->retrieval.unobserved_weight);
  EXPECT_EQ(parsed->files, m.files);
  EXPECT_EQ(ManifestToJson(*parsed), text);
  // And what the writer wrote is exactly that text.
  EXPECT_EQ(ReadFile(absl::StrCat(dir, "/", kManifestFile)), text);

  // A ridge prior (scales_with_count) round-trips too.
  SnapshotManifest ridge = m;
  ridge.fold_in->rating = RatingUserPrior::Ridge(kFactors, 0.1f, 0.01f);
  ASSERT_TRUE(ValidateManifest(ridge).ok());
  parsed = ParseManifest(ManifestToJson(ridge));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->fold_in->rating.scales_with_count);
  EXPECT_EQ(parsed->fold_in->rating.precision, ridge.fold_in->rating.precision);
}

class ManifestFoldInJsonTest : public SnapshotFoldInTest {
 protected:
  void SetUp() override {
    const std::string dir = Publish(true, true);
    ASSERT_FALSE(dir.empty());
    manifest_ = json::parse(ReadFile(absl::StrCat(dir, "/", kManifestFile)));
    ASSERT_TRUE(ParseManifest(manifest_.dump()).ok());
  }
  static void ExpectInvalid(const json& j, const std::string& field) {
    const absl::StatusOr<SnapshotManifest> parsed = ParseManifest(j.dump());
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << field << ": " << parsed.status();
    EXPECT_THAT(parsed.status().message(), HasSubstr(field)) << j["fold_in"];
  }
  json manifest_;
};

TEST_F(ManifestFoldInJsonTest, FoldInIsRequiredInFormat3Only) {
  json j = manifest_;
  j.erase("fold_in");
  ExpectInvalid(j, "fold_in");
  j = manifest_;
  j["format_version"] = 2;
  ExpectInvalid(j, "fold_in");
  j["format_version"] = 1;
  EXPECT_FALSE(ParseManifest(j.dump()).ok());
}

TEST_F(ManifestFoldInJsonTest, BadFoldInArraysAreRejected) {
  json j = manifest_;
  j["fold_in"]["rating"]["mean"].push_back(0.5);
  ExpectInvalid(j, "fold_in.rating");
  j = manifest_;
  j["fold_in"]["rating"]["precision"].erase(0);
  ExpectInvalid(j, "fold_in.rating");
  j = manifest_;
  j["fold_in"]["rating"]["precision"] = json::array();
  ExpectInvalid(j, "fold_in.rating");
  j = manifest_;
  j["fold_in"]["rating"]["precision"][1] = 0.0;
  ExpectInvalid(j, "fold_in.rating.precision");
  j = manifest_;
  j["fold_in"]["rating"]["precision"][2] = -3.0;
  ExpectInvalid(j, "fold_in.rating.precision");
  j = manifest_;
  j["fold_in"]["rating"]["precision"][0] = 1e300;  // inf as a float
  ExpectInvalid(j, "fold_in.rating.precision");
  j = manifest_;
  j["fold_in"]["rating"]["mean"][2] = "0.5";
  ExpectInvalid(j, "fold_in.rating.mean[2]");
  j = manifest_;
  j["fold_in"]["rating"]["mean"][0] = nullptr;
  ExpectInvalid(j, "fold_in.rating.mean[0]");
  j = manifest_;
  j["fold_in"]["rating"]["precision"][3] = true;
  ExpectInvalid(j, "fold_in.rating.precision[3]");
  j = manifest_;
  j["fold_in"]["rating"]["mean"] = 0.5;
  ExpectInvalid(j, "fold_in.rating.mean");
  j = manifest_;
  j["fold_in"]["rating"]["scales_with_count"] = 1;
  ExpectInvalid(j, "fold_in.rating.scales_with_count");
  j = manifest_;
  j["fold_in"]["rating"].erase("scales_with_count");
  ExpectInvalid(j, "scales_with_count");
  j = manifest_;
  j["fold_in"]["retrieval"]["reg"] = 0.0;
  ExpectInvalid(j, "fold_in.retrieval.reg");
  j = manifest_;
  j["fold_in"]["retrieval"]["alpha"] = -1.0;
  ExpectInvalid(j, "fold_in.retrieval.alpha");
  j = manifest_;
  j["fold_in"]["retrieval"]["unobserved_weight"] = "1";
  ExpectInvalid(j, "unobserved_weight");
  j = manifest_;
  j["fold_in"]["retrieval"]["extra"] = 1.0;
  ExpectInvalid(j, "extra");
  j = manifest_;
  j["fold_in"]["extra"] = json::object();
  ExpectInvalid(j, "extra");
  j = manifest_;
  j["fold_in"] = json::array();
  ExpectInvalid(j, "fold_in");
}

TEST_F(SnapshotFoldInTest, LoadsSeenRatingsAndLabels) {
  const std::string dir = Publish(true, true);
  ASSERT_FALSE(dir.empty());
  absl::StatusOr<std::shared_ptr<const Snapshot>> loaded = Snapshot::Load(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Snapshot& s = **loaded;
  ASSERT_NE(s.fold_in(), nullptr);
  EXPECT_EQ(s.fold_in()->rating.mean, params_.rating.mean);

  // Seen ratings: aligned with SeenItems, the mean of repeated pairs.
  std::vector<std::map<int32_t, std::pair<double, int>>> sums(kUsers);
  for (const Rating& r : tiny_.train.ratings) {
    sums[r.user][r.item].first += r.value;
    ++sums[r.user][r.item].second;
  }
  bool repeated = false;
  for (int32_t u = 0; u < kUsers; ++u) {
    const auto items = s.SeenItems(u);
    const auto ratings = s.SeenRatings(u);
    ASSERT_EQ(items.size(), ratings.size()) << "user " << u;
    ASSERT_EQ(items.size(), sums[u].size()) << "user " << u;
    size_t j = 0;
    for (const auto& [item, sc] : sums[u]) {
      EXPECT_EQ(items[j], item);
      EXPECT_FLOAT_EQ(ratings[j], static_cast<float>(sc.first / sc.second))
          << "user " << u << " item " << item;
      repeated |= sc.second > 1;
      ++j;
    }
  }
  EXPECT_TRUE(repeated) << "the fixture repeats a pair";
  EXPECT_TRUE(s.SeenRatings(kUnknownIndex).empty());

  // Labels: genres ∪ item_labels.txt, sorted, ids dense; the unknown item's
  // label is not among them.
  const std::vector<std::string> want = {"Comedy", "Romance", "in_stock",
                                         "region:eu"};
  ASSERT_EQ(s.num_labels(), static_cast<int32_t>(want.size()));
  for (int32_t l = 0; l < s.num_labels(); ++l) {
    EXPECT_EQ(s.LabelName(l), want[l]);
    EXPECT_EQ(s.FindLabel(want[l]), l);
  }
  EXPECT_EQ(s.FindLabel("ghost"), kUnknownIndex);
  EXPECT_EQ(s.FindLabel("comedy"), kUnknownIndex);
  EXPECT_EQ(s.FindLabel(""), kUnknownIndex);
  EXPECT_EQ(s.FindLabel("zzz"), kUnknownIndex);
  for (int32_t i = 0; i < kItems; ++i) {
    std::set<std::string> names;
    if (i % 2 == 0) names = {"Comedy", "Romance"};
    const auto it = labels_.find(s.ItemId(i));
    if (it != labels_.end()) names.insert(it->second.begin(), it->second.end());
    std::vector<int32_t> ids;
    for (const std::string& name : names) ids.push_back(s.FindLabel(name));
    std::sort(ids.begin(), ids.end());
    const auto got = s.ItemLabels(i);
    EXPECT_EQ(std::vector<int32_t>(got.begin(), got.end()), ids)
        << "item " << s.ItemId(i);
  }
}

TEST_F(SnapshotFoldInTest, Format3WithoutItemLabelsFile) {
  const std::string dir = Publish(true, false);
  ASSERT_FALSE(dir.empty());
  absl::StatusOr<std::shared_ptr<const Snapshot>> s = Snapshot::Load(dir);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)->manifest().format_version, 3);
  EXPECT_EQ((*s)->manifest().files.count(kItemLabelsFile), 0u);
  // The genres are still labels.
  EXPECT_EQ((*s)->num_labels(), 2);
  EXPECT_NE((*s)->FindLabel("Romance"), kUnknownIndex);
}

TEST_F(SnapshotFoldInTest, Format2StillLoads) {
  const std::string dir = Publish(false, false);
  ASSERT_FALSE(dir.empty());
  absl::StatusOr<std::shared_ptr<const Snapshot>> loaded = Snapshot::Load(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Snapshot& s = **loaded;
  EXPECT_EQ(s.manifest().format_version, 2);
  EXPECT_EQ(s.fold_in(), nullptr);
  EXPECT_FALSE(s.manifest().fold_in.has_value());
  EXPECT_EQ(s.manifest().files.count(kUserSeenRatingsFile), 0u);
  for (int32_t u = 0; u < kUsers; ++u) {
    EXPECT_TRUE(s.SeenRatings(u).empty()) << "user " << u;
  }
  EXPECT_FALSE(s.SeenItems(0).empty());
  // Genres are labels in any format.
  EXPECT_EQ(s.num_labels(), 2);
}

TEST_F(SnapshotFoldInTest, MissingSeenRatingsFileIsAnError) {
  const std::string dir = Publish(true, false);
  ASSERT_FALSE(dir.empty());
  const std::string path = absl::StrCat(dir, "/", kManifestFile);
  json j = json::parse(ReadFile(path));
  j["files"].erase(kUserSeenRatingsFile);
  WriteFile(path, j.dump(2));
  std::filesystem::remove(absl::StrCat(dir, "/", kUserSeenRatingsFile));
  const absl::StatusOr<std::shared_ptr<const Snapshot>> s = Snapshot::Load(dir);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr(kUserSeenRatingsFile));
}

TEST_F(SnapshotFoldInTest, SeenRatingsFileWithoutFoldInIsAnError) {
  // A format-3 file listed in a format-2 manifest.
  const std::string with = Publish(true, false);
  const std::string without = Publish(false, false);
  ASSERT_FALSE(with.empty());
  ASSERT_FALSE(without.empty());
  const std::string ratings =
      ReadFile(absl::StrCat(with, "/", kUserSeenRatingsFile));
  WriteFile(absl::StrCat(without, "/", kUserSeenRatingsFile), "");
  testutil::ReplaceFileKeepingManifestValid(without, kUserSeenRatingsFile,
                                            ratings);
  const absl::StatusOr<std::shared_ptr<const Snapshot>> s =
      Snapshot::Load(without);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr(kUserSeenRatingsFile));
}

TEST_F(SnapshotFoldInTest, ItemLabelsFileInFormat2IsAnError) {
  const std::string with = Publish(true, true);
  const std::string without = Publish(false, false);
  ASSERT_FALSE(with.empty());
  ASSERT_FALSE(without.empty());
  const std::string labels = ReadFile(absl::StrCat(with, "/", kItemLabelsFile));
  ASSERT_FALSE(labels.empty());
  WriteFile(absl::StrCat(without, "/", kItemLabelsFile), "");
  testutil::ReplaceFileKeepingManifestValid(without, kItemLabelsFile, labels);
  const absl::StatusOr<std::shared_ptr<const Snapshot>> s =
      Snapshot::Load(without);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr(kItemLabelsFile));
}

TEST_F(SnapshotFoldInTest, TamperedFormat3FilesAreCaught) {
  for (const char* name : {kUserSeenRatingsFile, kItemLabelsFile}) {
    SCOPED_TRACE(name);
    const std::string dir = Publish(true, true);
    ASSERT_FALSE(dir.empty());
    const std::string path = absl::StrCat(dir, "/", name);
    std::string bytes = ReadFile(path);
    ASSERT_FALSE(bytes.empty());
    bytes[bytes.size() - 1] ^= 0x01;  // same size, other checksum
    WriteFile(path, bytes);
    const absl::StatusOr<std::shared_ptr<const Snapshot>> s =
        Snapshot::Load(dir);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss) << s.status();
    EXPECT_THAT(s.status().message(), HasSubstr(name));
  }
}

TEST_F(SnapshotFoldInTest, BadSeenRatingsContentIsCaught) {
  const std::string dir = Publish(true, false);
  ASSERT_FALSE(dir.empty());
  const std::string ratings =
      ReadFile(absl::StrCat(dir, "/", kUserSeenRatingsFile));
  // One value fewer: the shape disagrees with user_seen_items.npy. (The
  // header's shape is patched by rewriting a shorter array's bytes; the
  // simplest shorter file is a truncated one, caught by the npy reader.)
  testutil::ReplaceFileKeepingManifestValid(
      dir, kUserSeenRatingsFile, ratings.substr(0, ratings.size() - 4));
  const absl::StatusOr<std::shared_ptr<const Snapshot>> s = Snapshot::Load(dir);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr(kUserSeenRatingsFile));
}

TEST_F(SnapshotFoldInTest, WriterChecksFoldInAndLabels) {
  // fold_in without retrieval embeddings.
  SnapshotContents c = Contents(true, false);
  c.retrieval = nullptr;
  absl::StatusOr<std::string> v = PublishSnapshot(tmp_.Path("root"), c);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument)
      << v.status();
  EXPECT_THAT(v.status().message(), HasSubstr("fold_in"));
  // labels without fold_in.
  c = Contents(false, true);
  v = PublishSnapshot(tmp_.Path("root"), c);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument)
      << v.status();
  EXPECT_THAT(v.status().message(), HasSubstr("labels"));
  // fold_in invalid for the model's factors.
  FoldInParams wrong = params_;
  wrong.rating.mean.resize(kFactors);
  c = Contents(false, false);
  c.fold_in = &wrong;
  v = PublishSnapshot(tmp_.Path("root"), c);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument)
      << v.status();
  EXPECT_THAT(v.status().message(), HasSubstr("fold_in"));
  // Nothing was published.
  EXPECT_FALSE(std::filesystem::exists(tmp_.Path("root/LATEST")));
  // A label holding the separator '|' or a line break is written with
  // spaces instead, as genres are: one label, not two.
  ItemLabelMap odd = {{"i1", {"a|b", "c\nd", ""}}};
  c = Contents(true, false);
  c.labels = &odd;
  v = PublishSnapshot(tmp_.Path("root"), c);
  ASSERT_TRUE(v.ok()) << v.status();
  const absl::StatusOr<std::shared_ptr<const Snapshot>> s =
      Snapshot::Load(tmp_.Path(absl::StrCat("root/", *v)));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_NE((*s)->FindLabel("a b"), kUnknownIndex);
  EXPECT_NE((*s)->FindLabel("c d"), kUnknownIndex);
  EXPECT_EQ((*s)->FindLabel("a"), kUnknownIndex);
  EXPECT_EQ((*s)->FindLabel(""), kUnknownIndex);
  EXPECT_EQ((*s)->ItemLabels((*s)->FindItem("i1")).size(), 2u);
}

}  // namespace
}  // namespace recserve
