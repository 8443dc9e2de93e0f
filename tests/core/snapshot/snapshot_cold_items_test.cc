// Format 5: cold items and attribute maps in the manifest, written by
// PublishSnapshot and loaded by Snapshot::Load.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/npy.h"
#include "core/snapshot/snapshot.h"
#include "core/snapshot/snapshot_manifest.h"
#include "core/snapshot/snapshot_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/core/snapshot/cold_snapshot_fixture.h"
#include "tests/testutil/snapshot_tampering.h"
#include "tests/testutil/temp_files.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

constexpr int32_t kUsers = 8;
constexpr int32_t kWarm = 12;
constexpr int32_t kCold = 3;
constexpr int32_t kFactors = 3;
constexpr int32_t kRetrievalFactors = 4;

class SnapshotColdItemsTest : public ::testing::Test {
 protected:
  SnapshotColdItemsTest()
      : fixture_(testutil::MakeColdFixture(kUsers, kWarm, kCold, kFactors,
                                           kRetrievalFactors)) {}

  std::string Publish(const SnapshotContents& c) {
    absl::StatusOr<std::string> version = PublishSnapshot(dir_.path(), c);
    EXPECT_TRUE(version.ok()) << version.status();
    return version.ok() ? dir_.Path(*version) : "";
  }

  json ManifestJson(const std::string& version_dir) {
    return json::parse(
        testutil::ReadFile(absl::StrCat(version_dir, "/manifest.json")));
  }

  testutil::TempDir dir_;
  testutil::ColdSnapshotFixture fixture_;
};

TEST_F(SnapshotColdItemsTest, RoundTripsColdItemsAndMaps) {
  const std::string v = Publish(testutil::ContentsOf(fixture_));
  ASSERT_FALSE(v.empty());
  const json m = ManifestJson(v);
  EXPECT_EQ(m["format_version"], 5);
  EXPECT_EQ(m["cold_items"], kCold);
  EXPECT_EQ(m["attributes"]["names"].size(),
            static_cast<size_t>(fixture_.attributes.spec.size()));
  EXPECT_EQ(m["attributes"]["options"]["min_items"], 1);
  EXPECT_TRUE(m["files"].contains(kAttributeMapRatingFile));
  EXPECT_TRUE(m["files"].contains(kAttributeMapRetrievalFile));

  absl::StatusOr<std::shared_ptr<const Snapshot>> loaded = Snapshot::Load(v);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Snapshot& s = **loaded;
  EXPECT_EQ(s.num_cold_items(), kCold);
  EXPECT_EQ(s.first_cold_item(), kWarm);
  EXPECT_FALSE(s.IsColdItem(kWarm - 1));
  EXPECT_TRUE(s.IsColdItem(kWarm));
  for (int32_t i = kWarm; i < kWarm + kCold; ++i) {
    EXPECT_EQ(s.item_popularity()[i], 0);
  }
  ASSERT_NE(s.attributes(), nullptr);
  const ItemAttributeModel& a = *s.attributes();
  EXPECT_EQ(a.spec.names(), fixture_.attributes.spec.names());
  EXPECT_EQ(a.spec.options().min_items, 1);
  ASSERT_TRUE(a.rating.has_value());
  EXPECT_EQ(a.rating->weights, fixture_.attributes.rating->weights);
  EXPECT_EQ(a.rating->reg, 3.0f);
  EXPECT_EQ(a.retrieval.weights, fixture_.attributes.retrieval.weights);
  EXPECT_EQ(a.retrieval.reg, 10.0f);
  // The manifest round-trips through its own parser too.
  absl::StatusOr<SnapshotManifest> parsed =
      ParseManifest(ManifestToJson(s.manifest()));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->cold_items, kCold);
  ASSERT_TRUE(parsed->attributes.has_value());
  EXPECT_EQ(parsed->attributes->names, fixture_.attributes.spec.names());
  EXPECT_EQ(parsed->attributes->rating_reg, 3.0f);
  EXPECT_EQ(parsed->attributes->retrieval_reg, 10.0f);
}

TEST_F(SnapshotColdItemsTest, AttributesWithoutColdItemsAreFormat5) {
  SnapshotContents c = testutil::ContentsOf(fixture_);
  c.cold_items = 0;
  const std::string v = Publish(c);
  ASSERT_FALSE(v.empty());
  EXPECT_EQ(ManifestJson(v)["format_version"], 5);
  EXPECT_EQ(ManifestJson(v)["cold_items"], 0);
  absl::StatusOr<std::shared_ptr<const Snapshot>> loaded = Snapshot::Load(v);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->num_cold_items(), 0);
  EXPECT_FALSE((*loaded)->IsColdItem(kWarm + kCold - 1));
  EXPECT_NE((*loaded)->attributes(), nullptr);
}

TEST_F(SnapshotColdItemsTest, WithoutEitherTheFormatIsUnchanged) {
  SnapshotContents c = testutil::ContentsOf(fixture_);
  c.cold_items = 0;
  c.attributes = nullptr;
  const std::string v = Publish(c);
  ASSERT_FALSE(v.empty());
  const json m = ManifestJson(v);
  EXPECT_EQ(m["format_version"], 3);
  EXPECT_FALSE(m.contains("cold_items"));
  EXPECT_FALSE(m.contains("attributes"));
  absl::StatusOr<std::shared_ptr<const Snapshot>> loaded = Snapshot::Load(v);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->attributes(), nullptr);
  EXPECT_EQ((*loaded)->num_cold_items(), 0);
}

TEST_F(SnapshotColdItemsTest, WriterRejectsInconsistentContents) {
  {
    SnapshotContents c = testutil::ContentsOf(fixture_);
    c.attributes = nullptr;
    EXPECT_THAT(PublishSnapshot(dir_.path(), c).status().message(),
                HasSubstr("cold_items > 0 needs contents.attributes"));
  }
  {
    SnapshotContents c = testutil::ContentsOf(fixture_);
    c.cold_items = kCold + 1;  // item kWarm - 1 is rated
    EXPECT_THAT(PublishSnapshot(dir_.path(), c).status().message(),
                HasSubstr("which is cold"));
  }
  {
    SnapshotContents c = testutil::ContentsOf(fixture_);
    c.cold_items = kWarm + kCold + 1;
    EXPECT_THAT(PublishSnapshot(dir_.path(), c).status().message(),
                HasSubstr("contents.cold_items is"));
  }
  {
    SnapshotContents c = testutil::ContentsOf(fixture_);
    c.fold_in = nullptr;
    EXPECT_THAT(PublishSnapshot(dir_.path(), c).status().message(),
                HasSubstr("needs contents.retrieval and contents.fold_in"));
  }
  {
    ItemAttributeModel bad = fixture_.attributes;
    bad.rating->weights.conservativeResize(bad.rating->weights.rows(),
                                           kFactors);
    SnapshotContents c = testutil::ContentsOf(fixture_);
    c.attributes = &bad;
    EXPECT_THAT(PublishSnapshot(dir_.path(), c).status().message(),
                HasSubstr("attributes.rating weights are"));
  }
  {
    ItemAttributeModel bad = fixture_.attributes;
    bad.retrieval.weights(0, 0) = std::nanf("");
    SnapshotContents c = testutil::ContentsOf(fixture_);
    c.attributes = &bad;
    EXPECT_THAT(PublishSnapshot(dir_.path(), c).status().message(),
                HasSubstr("non-finite"));
  }
  {
    ItemAttributeModel bad = fixture_.attributes;
    bad.rating.reset();
    SnapshotContents c = testutil::ContentsOf(fixture_);
    c.attributes = &bad;
    EXPECT_THAT(PublishSnapshot(dir_.path(), c).status().message(),
                HasSubstr("no rating map"));
  }
  absl::StatusOr<std::vector<std::string>> versions = ListVersions(dir_.path());
  ASSERT_TRUE(versions.ok());
  EXPECT_TRUE(versions->empty());
}

TEST_F(SnapshotColdItemsTest, LoaderRejectsTamperedMaps) {
  const std::string v = Publish(testutil::ContentsOf(fixture_));
  ASSERT_FALSE(v.empty());
  const int64_t rows = fixture_.attributes.spec.size() + 1;
  {
    // One column short: the shape the manifest implies is checked.
    std::vector<float> values(rows * (kRetrievalFactors - 1), 0.5f);
    std::string bytes =
        MakeNpyHeader(NpyDtype::kFloat32, {rows, kRetrievalFactors - 1});
    bytes.append(reinterpret_cast<const char*>(values.data()),
                 values.size() * sizeof(float));
    testutil::ReplaceFileKeepingManifestValid(v, kAttributeMapRetrievalFile,
                                              bytes);
    absl::StatusOr<std::shared_ptr<const Snapshot>> loaded = Snapshot::Load(v);
    ASSERT_FALSE(loaded.ok());
    EXPECT_THAT(loaded.status().message(),
                HasSubstr(kAttributeMapRetrievalFile));
  }
  {
    std::vector<float> values(rows * (kFactors + 1), 0.5f);
    values[3] = std::numeric_limits<float>::infinity();
    std::string bytes = MakeNpyHeader(NpyDtype::kFloat32, {rows, kFactors + 1});
    bytes.append(reinterpret_cast<const char*>(values.data()),
                 values.size() * sizeof(float));
    const std::string v2 = Publish(testutil::ContentsOf(fixture_));
    testutil::ReplaceFileKeepingManifestValid(v2, kAttributeMapRatingFile,
                                              bytes);
    absl::StatusOr<std::shared_ptr<const Snapshot>> loaded = Snapshot::Load(v2);
    ASSERT_FALSE(loaded.ok());
    EXPECT_THAT(loaded.status().message(), HasSubstr(kAttributeMapRatingFile));
    EXPECT_THAT(loaded.status().message(), HasSubstr("non-finite"));
  }
}

TEST_F(SnapshotColdItemsTest, LoaderRejectsAColdItemWithPopularity) {
  const std::string v = Publish(testutil::ContentsOf(fixture_));
  ASSERT_FALSE(v.empty());
  // Mark one more item cold than the snapshot has: it has ratings.
  json m = ManifestJson(v);
  m["cold_items"] = kCold + 1;
  testutil::WriteFile(absl::StrCat(v, "/manifest.json"), m.dump(2));
  absl::StatusOr<std::shared_ptr<const Snapshot>> loaded = Snapshot::Load(v);
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("cold item"));
}

TEST_F(SnapshotColdItemsTest, LoaderRejectsMissingOrExtraMapFiles) {
  const std::string v = Publish(testutil::ContentsOf(fixture_));
  ASSERT_FALSE(v.empty());
  json m = ManifestJson(v);
  m.erase("attributes");
  m["cold_items"] = 0;
  testutil::WriteFile(absl::StrCat(v, "/manifest.json"), m.dump(2));
  absl::StatusOr<std::shared_ptr<const Snapshot>> loaded = Snapshot::Load(v);
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("has no \"attributes\""));

  m = ManifestJson(Publish(testutil::ContentsOf(fixture_)));
  m["files"].erase(kAttributeMapRatingFile);
  const std::string v3 = dir_.Path(m["version"].get<std::string>());
  testutil::WriteFile(absl::StrCat(v3, "/manifest.json"), m.dump(2));
  loaded = Snapshot::Load(v3);
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(
      loaded.status().message(),
      HasSubstr(absl::StrCat("does not list ", kAttributeMapRatingFile)));
}

// The manifest on its own: what format 5 requires and what earlier formats
// reject.
class ManifestFormat5Test : public SnapshotColdItemsTest {
 protected:
  ManifestFormat5Test() {
    const std::string v = Publish(testutil::ContentsOf(fixture_));
    manifest_ = ManifestJson(v);
  }
  absl::Status Parse(const json& j) { return ParseManifest(j.dump()).status(); }
  json manifest_;
};

TEST_F(ManifestFormat5Test, ParsesTheWrittenManifest) {
  EXPECT_TRUE(Parse(manifest_).ok());
}

TEST_F(ManifestFormat5Test, ColdItemsIsRequiredAndBounded) {
  json j = manifest_;
  j.erase("cold_items");
  EXPECT_THAT(Parse(j).message(), HasSubstr("'cold_items' is missing"));
  j = manifest_;
  j["cold_items"] = kWarm + kCold + 1;
  EXPECT_THAT(Parse(j).message(), HasSubstr("'cold_items' is"));
  j = manifest_;
  j["cold_items"] = -1;
  EXPECT_THAT(Parse(j).message(), HasSubstr("cold_items"));
  j = manifest_;
  j.erase("attributes");
  EXPECT_THAT(Parse(j).message(), HasSubstr("required when cold_items > 0"));
}

TEST_F(ManifestFormat5Test, EarlierFormatsRejectTheFields) {
  json j = manifest_;
  j["format_version"] = 4;
  EXPECT_THAT(Parse(j).message(), HasSubstr("needs format_version 5"));
  j.erase("cold_items");
  EXPECT_THAT(Parse(j).message(), HasSubstr("'attributes' needs"));
  j.erase("attributes");
  EXPECT_TRUE(Parse(j).ok()) << Parse(j);

  SnapshotManifest m = *ParseManifest(manifest_.dump());
  m.format_version = 4;
  EXPECT_THAT(ValidateManifest(m).message(),
              HasSubstr("needs format_version 5"));
}

TEST_F(ManifestFormat5Test, AttributesAreChecked) {
  json j = manifest_;
  j["attributes"]["names"].push_back("colour:red");
  EXPECT_THAT(Parse(j).message(), HasSubstr("'attributes'"));
  j = manifest_;
  j["attributes"]["names"].push_back(j["attributes"]["names"][0]);
  EXPECT_FALSE(Parse(j).ok());
  j = manifest_;
  j["attributes"]["rating_reg"] = -1.0;
  EXPECT_THAT(Parse(j).message(), HasSubstr("attributes.rating_reg"));
  j = manifest_;
  j["attributes"]["retrieval_reg"] = "x";
  EXPECT_THAT(Parse(j).message(), HasSubstr("attributes.retrieval_reg"));
  j = manifest_;
  j["attributes"]["options"]["year_bucket_years"] = 0;
  EXPECT_FALSE(Parse(j).ok());
  j = manifest_;
  j["attributes"]["options"]["colour"] = 1;
  EXPECT_THAT(Parse(j).message(), HasSubstr("attributes.options.colour"));
  j = manifest_;
  j["attributes"]["extra"] = 1;
  EXPECT_THAT(Parse(j).message(), HasSubstr("attributes.extra"));
  j = manifest_;
  j["attributes"]["names"][0] = 7;
  EXPECT_THAT(Parse(j).message(), HasSubstr("attributes.names[0]"));
}

TEST_F(ManifestFormat5Test, Format9IsNotRead) {
  json j = manifest_;
  j["format_version"] = 9;
  const absl::Status s = Parse(j);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("1, 2, 3, 4, 5, 6, 7 and 8"));
}

}  // namespace
}  // namespace recserve
