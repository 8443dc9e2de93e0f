// Format 6: recency-weighted fold-in's "recency_weight" and "recency_horizon"
// in fold_in.retrieval and the seen order, user_seen_later.npy, written,
// parsed, loaded and rejected when malformed; earlier formats read as
// unweighted.

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/npy.h"
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

using testutil::ReadFile;
using testutil::WriteFile;

std::string Int32Npy(const std::vector<int32_t>& values) {
  return MakeNpyHeader(
             NpyDtype::kInt32,
             std::vector<int64_t>{static_cast<int64_t>(values.size())}) +
         std::string(reinterpret_cast<const char*>(values.data()),
                     values.size() * sizeof(int32_t));
}

class SnapshotRecencyTest : public ::testing::Test {
 protected:
  SnapshotRecencyTest()
      : tiny_(testutil::MakeTinyModel(kUsers, kItems, kFactors, 5)),
        retrieval_(testutil::MakeTinyRetrieval(kUsers, kItems, 4)) {
    params_.rating = RatingUserPrior::Ridge(kFactors, 0.1f, 0.01f);
    params_.retrieval = {.reg = 3.5f,
                         .alpha = 0.25f,
                         .unobserved_weight = 0.75f,
                         .recency_weight = 100.0f,
                         .recency_horizon = 3.0f};
  }

  // Publishes the tiny model with fold-in `params`; the version's folder.
  std::string Publish(const FoldInParams& params) {
    SnapshotContents c;
    c.train = &tiny_.train;
    c.model = &tiny_.model;
    c.algo = "als";
    c.retrieval = &retrieval_;
    c.ranking = {.candidates = 7, .blend_weight = 0.25f};
    c.fold_in = &params;
    absl::StatusOr<std::string> version = PublishSnapshot(tmp_.Path("root"), c);
    EXPECT_TRUE(version.ok()) << version.status();
    return version.ok() ? tmp_.Path(absl::StrCat("root/", *version)) : "";
  }

  json ManifestJson(const std::string& dir) const {
    return json::parse(ReadFile(absl::StrCat(dir, "/", kManifestFile)));
  }

  // What Load says of the folder (OK when it loads).
  static absl::Status LoadStatus(const std::string& dir) {
    return Snapshot::Load(dir).status();
  }

  testutil::TempDir tmp_;
  testutil::TinyModel tiny_;
  RetrievalModel retrieval_;
  FoldInParams params_;
};

TEST_F(SnapshotRecencyTest, RecencyIsFormat6AndRoundTrips) {
  const std::string dir = Publish(params_);
  ASSERT_FALSE(dir.empty());
  absl::StatusOr<std::shared_ptr<const Snapshot>> snap = Snapshot::Load(dir);
  ASSERT_TRUE(snap.ok()) << snap.status();
  const SnapshotManifest& m = (*snap)->manifest();
  EXPECT_EQ(m.format_version, kRecencySnapshotFormatVersion);
  ASSERT_TRUE(m.fold_in.has_value());
  EXPECT_EQ(m.fold_in->retrieval.recency_weight, 100.0f);
  EXPECT_EQ(m.fold_in->retrieval.recency_horizon, 3.0f);
  EXPECT_EQ(m.feedback, Feedback::kExplicit);
  EXPECT_EQ(m.files.count(kUserSeenLaterFile), 1u);
  const json j = ManifestJson(dir);
  EXPECT_EQ(j["fold_in"]["retrieval"]["recency_weight"], 100.0);
  EXPECT_EQ(j["fold_in"]["retrieval"]["recency_horizon"], 3.0);
  EXPECT_EQ(j["cold_items"], 0);

  const std::string text = ManifestToJson(m);
  absl::StatusOr<SnapshotManifest> parsed = ParseManifest(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->fold_in->retrieval.recency_weight, 100.0f);
  EXPECT_EQ(parsed->fold_in->retrieval.recency_horizon, 3.0f);
  EXPECT_EQ(ManifestToJson(*parsed), text);
}

TEST_F(SnapshotRecencyTest, WithoutRecencyTheFormatAndFilesAreAsBefore) {
  FoldInParams params = params_;
  params.retrieval.recency_weight = 0.0f;
  params.retrieval.recency_horizon = 7.0f;  // unused at weight 0
  const std::string dir = Publish(params);
  ASSERT_FALSE(dir.empty());
  absl::StatusOr<std::shared_ptr<const Snapshot>> snap = Snapshot::Load(dir);
  ASSERT_TRUE(snap.ok()) << snap.status();
  const Snapshot& s = **snap;
  EXPECT_EQ(s.manifest().format_version, kFoldInSnapshotFormatVersion);
  EXPECT_EQ(s.manifest().files.count(kUserSeenLaterFile), 0u);
  EXPECT_FALSE(
      ManifestJson(dir)["fold_in"]["retrieval"].contains("recency_weight"));
  // Read back as no recency, at the default horizon.
  EXPECT_EQ(s.fold_in()->retrieval.recency_weight, 0.0f);
  EXPECT_EQ(s.fold_in()->retrieval.recency_horizon, 30.0f);
  for (int32_t u = 0; u < kUsers; ++u) EXPECT_TRUE(s.SeenLater(u).empty());
}

TEST_F(SnapshotRecencyTest, SeenLaterRanksEachUsersItemsByTheirLatestTime) {
  const std::string dir = Publish(params_);
  ASSERT_FALSE(dir.empty());
  absl::StatusOr<std::shared_ptr<const Snapshot>> snap = Snapshot::Load(dir);
  ASSERT_TRUE(snap.ok()) << snap.status();
  const Snapshot& s = **snap;
  // Each seen item's time is its pair's latest; the oracle ranks them by
  // counting.
  std::vector<std::map<int32_t, int64_t>> latest(kUsers);
  for (const Rating& r : tiny_.train.ratings) {
    auto [it, inserted] = latest[r.user].emplace(r.item, r.timestamp);
    if (!inserted) it->second = std::max(it->second, r.timestamp);
  }
  for (int32_t u = 0; u < kUsers; ++u) {
    const auto items = s.SeenItems(u);
    const auto later = s.SeenLater(u);
    ASSERT_EQ(later.size(), items.size()) << "user " << u;
    for (size_t j = 0; j < items.size(); ++j) {
      const int64_t t = latest[u].at(items[j]);
      int32_t want = 0;
      for (const auto& [item, other] : latest[u]) want += other > t ? 1 : 0;
      EXPECT_EQ(later[j], want) << "user " << u << " item " << items[j];
    }
  }
  // User 0 rated item 0 at times 0, 5 and 6 (the fixture's repeated pair):
  // its latest, 6, is the latest of all the user's.
  ASSERT_EQ(s.SeenItems(0)[0], 0);
  EXPECT_EQ(s.SeenLater(0)[0], 0);
  EXPECT_EQ(*std::max_element(s.SeenLater(0).begin(), s.SeenLater(0).end()),
            static_cast<int32_t>(s.SeenItems(0).size()) - 1);
  EXPECT_TRUE(s.SeenLater(kUnknownIndex).empty());
}

TEST_F(SnapshotRecencyTest, MalformedSeenOrderIsRejectedNamingTheFile) {
  const std::string dir = Publish(params_);
  ASSERT_FALSE(dir.empty());
  const std::string name = kUserSeenLaterFile;
  const std::string original = ReadFile(absl::StrCat(dir, "/", name));
  absl::StatusOr<std::shared_ptr<const Snapshot>> snap = Snapshot::Load(dir);
  ASSERT_TRUE(snap.ok()) << snap.status();
  const auto user0_seen = static_cast<int32_t>((*snap)->SeenItems(0).size());
  std::vector<int32_t> later;
  for (int32_t u = 0; u < kUsers; ++u) {
    const auto l = (*snap)->SeenLater(u);
    later.insert(later.end(), l.begin(), l.end());
  }
  snap->reset();
  ASSERT_FALSE(later.empty());

  const auto expect_rejected = [&](const std::string& bytes,
                                   const std::string& what) {
    testutil::ReplaceFileKeepingManifestValid(dir, name, bytes);
    const absl::Status status = LoadStatus(dir);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument)
        << what << ": " << status;
    EXPECT_THAT(status.message(), HasSubstr(name)) << what;
    testutil::ReplaceFileKeepingManifestValid(dir, name, original);
    ASSERT_TRUE(LoadStatus(dir).ok()) << what;
  };
  // One entry short.
  expect_rejected(
      Int32Npy(std::vector<int32_t>(later.begin(), later.end() - 1)), "short");
  // A count beyond the user's seen items: user 0's first entry.
  std::vector<int32_t> bad = later;
  bad[0] = user0_seen;
  expect_rejected(Int32Npy(bad), "out of range");
  bad = later;
  bad.back() = -1;
  expect_rejected(Int32Npy(bad), "negative");
  // The wrong dtype.
  std::vector<float> floats(later.begin(), later.end());
  expect_rejected(
      MakeNpyHeader(NpyDtype::kFloat32,
                    std::vector<int64_t>{static_cast<int64_t>(later.size())}) +
          std::string(reinterpret_cast<const char*>(floats.data()),
                      floats.size() * sizeof(float)),
      "dtype");

  // Not listed in a format-6 manifest.
  const std::string path = absl::StrCat(dir, "/", kManifestFile);
  const std::string manifest = ReadFile(path);
  json j = json::parse(manifest);
  j["files"].erase(name);
  WriteFile(path, j.dump(2));
  absl::Status status = LoadStatus(dir);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr(name));
  EXPECT_THAT(status.message(), HasSubstr("format_version 6"));
  WriteFile(path, manifest);
  ASSERT_TRUE(LoadStatus(dir).ok());
}

TEST_F(SnapshotRecencyTest, SeenOrderIsRejectedBeforeFormat6) {
  FoldInParams params = params_;
  params.retrieval.recency_weight = 0.0f;
  const std::string dir = Publish(params);
  ASSERT_FALSE(dir.empty());
  absl::StatusOr<std::shared_ptr<const Snapshot>> snap = Snapshot::Load(dir);
  ASSERT_TRUE(snap.ok()) << snap.status();
  size_t seen = 0;
  for (int32_t u = 0; u < kUsers; ++u) seen += (*snap)->SeenItems(u).size();
  snap->reset();
  const std::vector<int32_t> later(seen, 0);
  testutil::ReplaceFileKeepingManifestValid(dir, kUserSeenLaterFile,
                                            Int32Npy(later));
  const absl::Status status = LoadStatus(dir);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr(kUserSeenLaterFile));
  EXPECT_THAT(status.message(), HasSubstr("needs format_version 6"));
}

class ManifestRecencyJsonTest : public SnapshotRecencyTest {
 protected:
  void SetUp() override {
    const std::string dir = Publish(params_);
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

TEST_F(ManifestRecencyJsonTest, OutOfRangeValuesNameTheField) {
  json j = manifest_;
  j["fold_in"]["retrieval"]["recency_weight"] = -1.0;
  ExpectInvalid(j, "fold_in.retrieval.recency_weight", ">= 0");
  j = manifest_;
  j["fold_in"]["retrieval"]["recency_weight"] = 1e300;  // inf as a float
  ExpectInvalid(j, "fold_in.retrieval.recency_weight");
  j = manifest_;
  j["fold_in"]["retrieval"]["recency_horizon"] = 0.0;
  ExpectInvalid(j, "fold_in.retrieval.recency_horizon", "> 0");
  j = manifest_;
  j["fold_in"]["retrieval"]["recency_horizon"] = -2.0;
  ExpectInvalid(j, "fold_in.retrieval.recency_horizon");
  j = manifest_;
  j["fold_in"]["retrieval"]["recency_horizon"] = "3";
  ExpectInvalid(j, "fold_in.retrieval.recency_horizon", "not a number");
  // Both are required in format 6.
  for (const char* key : {"recency_weight", "recency_horizon"}) {
    j = manifest_;
    j["fold_in"]["retrieval"].erase(key);
    ExpectInvalid(j, absl::StrCat("fold_in.retrieval.", key), "missing");
  }
  // Weight 0 is allowed in format 6: no weighting.
  j = manifest_;
  j["fold_in"]["retrieval"]["recency_weight"] = 0.0;
  const absl::StatusOr<SnapshotManifest> parsed = ParseManifest(j.dump());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_FALSE(HasRecency(parsed->fold_in->retrieval));
}

TEST_F(ManifestRecencyJsonTest, EarlierFormatsHaveNoRecency) {
  // A format-5 manifest as older builds wrote it: without the fields, it
  // reads as unweighted.
  json j = manifest_;
  j["format_version"] = 5;
  j["fold_in"]["retrieval"].erase("recency_weight");
  j["fold_in"]["retrieval"].erase("recency_horizon");
  j["files"].erase(kUserSeenLaterFile);
  absl::StatusOr<SnapshotManifest> parsed = ParseManifest(j.dump());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->fold_in->retrieval.recency_weight, 0.0f);
  EXPECT_EQ(parsed->fold_in->retrieval.recency_horizon, 30.0f);
  // With them, it needs format 6.
  for (const char* key : {"recency_weight", "recency_horizon"}) {
    json with = j;
    with["fold_in"]["retrieval"][key] = 3.0;
    ExpectInvalid(with, absl::StrCat("fold_in.retrieval.", key),
                  "needs format_version 6");
  }
  // And so does a weight in memory.
  SnapshotManifest m = *parsed;
  m.fold_in->retrieval.recency_weight = 3.0f;
  const absl::Status status = ValidateManifest(m);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("fold_in.retrieval.recency_weight"));
  EXPECT_THAT(status.message(), HasSubstr("needs format_version 6"));
}

}  // namespace
}  // namespace recserve
