// Format 4: implicit-feedback (events-only) snapshots, written by
// PublishSnapshot from a retrieval model trained by implicit ALS, parsed and
// loaded; explicit snapshots with a non-default confidence scale; and the
// checks on the new manifest fields and files.

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/snapshot/snapshot.h"
#include "core/snapshot/snapshot_manifest.h"
#include "core/snapshot/snapshot_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/implicit_snapshot.h"
#include "tests/testutil/snapshot_tampering.h"
#include "tests/testutil/temp_files.h"
#include "tests/testutil/tiny_model.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class SnapshotImplicitTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fixture_ = new testutil::ImplicitFixture(testutil::MakeImplicitFixture());
  }
  static void TearDownTestSuite() { delete fixture_; }

  std::string Publish(const SnapshotContents& contents) {
    absl::StatusOr<std::string> version =
        PublishSnapshot(tmp_.Path("root"), contents);
    EXPECT_TRUE(version.ok()) << version.status();
    return version.ok() ? tmp_.Path(absl::StrCat("root/", *version)) : "";
  }
  std::string Publish() { return Publish(fixture_->Contents()); }

  static const testutil::ImplicitFixture& f() { return *fixture_; }

  testutil::TempDir tmp_;
  static testutil::ImplicitFixture* fixture_;
};

testutil::ImplicitFixture* SnapshotImplicitTest::fixture_ = nullptr;

TEST_F(SnapshotImplicitTest, RoundTripKeepsEveryArray) {
  const std::string dir = Publish();
  ASSERT_FALSE(dir.empty());
  absl::StatusOr<std::shared_ptr<const Snapshot>> loaded = Snapshot::Load(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Snapshot& s = **loaded;
  const Dataset& train = f().train;

  EXPECT_EQ(s.manifest().format_version, kFeedbackSnapshotFormatVersion);
  EXPECT_EQ(s.feedback(), Feedback::kImplicit);
  EXPECT_FALSE(s.has_rating_model());
  EXPECT_EQ(s.factors(), 0);
  EXPECT_EQ(s.global_mean(), 0.0f);
  EXPECT_EQ(s.user_bias().size(), 0);
  EXPECT_EQ(s.item_bias().size(), 0);
  EXPECT_EQ(s.num_users(), train.num_users());
  EXPECT_EQ(s.num_items(), train.num_items());
  EXPECT_EQ(s.manifest().num_ratings,
            static_cast<int64_t>(train.ratings.size()));
  // No rerank: the retrieval order.
  EXPECT_EQ(s.ranking().blend_weight, 1.0f);
  EXPECT_EQ(s.ranking().candidates, 50);

  // Ids and embeddings, exactly.
  for (int32_t u = 0; u < train.num_users(); ++u) {
    EXPECT_EQ(s.UserId(u), train.users.Id(u));
  }
  for (int32_t i = 0; i < train.num_items(); ++i) {
    EXPECT_EQ(s.ItemId(i), train.items.Id(i));
    ASSERT_NE(s.ItemTitle(i), nullptr);
    EXPECT_EQ(*s.ItemTitle(i), absl::StrCat("Item ", i));
  }
  ASSERT_EQ(s.retrieval_factors(), f().retrieval.item_factors.cols());
  EXPECT_EQ(FactorMatrix(s.user_embeddings()), f().retrieval.user_factors);
  EXPECT_EQ(FactorMatrix(s.item_embeddings()), f().retrieval.item_factors);

  // Seen cells with their signed values, and popularity of positive cells,
  // computed here from the training data.
  std::map<std::pair<int32_t, int32_t>, float> cells;
  for (const Rating& r : train.ratings) cells[{r.user, r.item}] += r.value;
  std::vector<int32_t> popularity(train.num_items(), 0);
  int negative = 0;
  for (int32_t u = 0; u < train.num_users(); ++u) {
    std::vector<int32_t> items;
    std::vector<float> values;
    for (const auto& [key, value] : cells) {
      if (key.first != u) continue;
      items.push_back(key.second);
      values.push_back(value);
      if (value >= 0) {
        ++popularity[key.second];
      } else {
        ++negative;
      }
    }
    const absl::Span<const int32_t> seen = s.SeenItems(u);
    const absl::Span<const float> seen_values = s.SeenRatings(u);
    EXPECT_EQ(std::vector<int32_t>(seen.begin(), seen.end()), items);
    EXPECT_EQ(std::vector<float>(seen_values.begin(), seen_values.end()),
              values);
  }
  EXPECT_GT(negative, 0) << "the fixture has negative events";
  const absl::Span<const int32_t> stored = s.item_popularity();
  EXPECT_EQ(std::vector<int32_t>(stored.begin(), stored.end()), popularity);

  // Events and fold-in settings.
  EXPECT_EQ(s.events().weights, f().events.weights);
  EXPECT_EQ(s.events().negative, f().events.negative);
  ASSERT_NE(s.fold_in(), nullptr);
  EXPECT_FALSE(s.fold_in()->has_rating());
  const RetrievalFoldInParams& r = s.fold_in()->retrieval;
  EXPECT_EQ(r.reg, f().fold_in.retrieval.reg);
  EXPECT_EQ(r.alpha, f().fold_in.retrieval.alpha);
  EXPECT_EQ(r.unobserved_weight, f().fold_in.retrieval.unobserved_weight);
  EXPECT_EQ(r.scale, ConfidenceScale::kLog);
  EXPECT_EQ(r.epsilon, f().fold_in.retrieval.epsilon);
  EXPECT_EQ(r.reg_exponent, 0.5f);

  // No rating model files; the manifest says what it is.
  for (const char* name :
       {kUserFactorsFile, kItemFactorsFile, kUserBiasFile, kItemBiasFile}) {
    EXPECT_EQ(s.manifest().files.count(name), 0u) << name;
    EXPECT_FALSE(std::filesystem::exists(absl::StrCat(dir, "/", name)));
  }
  const std::string text = ReadFile(absl::StrCat(dir, "/", kManifestFile));
  const json j = json::parse(text);
  EXPECT_EQ(j["feedback"], "implicit");
  EXPECT_EQ(j["events"]["weights"]["purchase"], 5.0);
  EXPECT_EQ(j["events"]["negative"], json::array({"dislike"}));
  EXPECT_FALSE(j["fold_in"].contains("rating"));
  EXPECT_EQ(j["fold_in"]["retrieval"]["scale"], "log");
  EXPECT_EQ(j["fold_in"]["retrieval"]["reg_exponent"], 0.5);
  EXPECT_EQ(j["factors"], 0);
  // Parse → serialize gives back the written text.
  absl::StatusOr<SnapshotManifest> parsed = ParseManifest(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(ManifestToJson(*parsed), text);
}

TEST_F(SnapshotImplicitTest, NoEventTypesRecordsEmptyEvents) {
  SnapshotContents c = f().Contents();
  c.events = nullptr;  // e.g. play counts: no event column
  const std::string dir = Publish(c);
  ASSERT_FALSE(dir.empty());
  absl::StatusOr<std::shared_ptr<const Snapshot>> s = Snapshot::Load(dir);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE((*s)->events().empty());
  const json j = json::parse(ReadFile(absl::StrCat(dir, "/", kManifestFile)));
  EXPECT_EQ(j["events"], json::parse(R"({"weights": {}, "negative": []})"));
}

TEST_F(SnapshotImplicitTest, ExplicitSnapshotsPickTheLowestFormat) {
  const testutil::TinyModel tiny = testutil::MakeTinyModel(6, 10, 3);
  const RetrievalModel retrieval = testutil::MakeTinyRetrieval(6, 10, 4);
  FoldInParams params;
  params.rating = RatingUserPrior::Ridge(3, 0.1f, 0.01f);
  params.retrieval = {.reg = 2.0f, .alpha = 0.5f, .unobserved_weight = 1.0f};
  SnapshotContents c;
  c.train = &tiny.train;
  c.model = &tiny.model;
  c.algo = "als";
  c.retrieval = &retrieval;
  c.fold_in = &params;
  // Default confidence: format 3, without the format-4 fields.
  std::string dir = Publish(c);
  ASSERT_FALSE(dir.empty());
  json j = json::parse(ReadFile(absl::StrCat(dir, "/", kManifestFile)));
  EXPECT_EQ(j["format_version"], kFoldInSnapshotFormatVersion);
  EXPECT_FALSE(j.contains("feedback"));
  EXPECT_FALSE(j.contains("events"));
  EXPECT_FALSE(j["fold_in"]["retrieval"].contains("scale"));

  // A log scale or frequency-scaled reg needs format 4, explicit.
  params.retrieval.scale = ConfidenceScale::kLog;
  params.retrieval.epsilon = 10.0f;
  params.retrieval.reg_exponent = 0.25f;
  dir = Publish(c);
  ASSERT_FALSE(dir.empty());
  j = json::parse(ReadFile(absl::StrCat(dir, "/", kManifestFile)));
  EXPECT_EQ(j["format_version"], kFeedbackSnapshotFormatVersion);
  EXPECT_EQ(j["feedback"], "explicit");
  EXPECT_FALSE(j.contains("events"));
  EXPECT_EQ(j["fold_in"]["retrieval"]["scale"], "log");
  absl::StatusOr<std::shared_ptr<const Snapshot>> s = Snapshot::Load(dir);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)->feedback(), Feedback::kExplicit);
  EXPECT_TRUE((*s)->has_rating_model());
  EXPECT_EQ((*s)->fold_in()->retrieval.epsilon, 10.0f);
  EXPECT_EQ((*s)->fold_in()->retrieval.reg_exponent, 0.25f);
  EXPECT_TRUE((*s)->fold_in()->has_rating());
  EXPECT_EQ((*s)->ToModel().user_factors, tiny.model.user_factors);
}

class ManifestImplicitJsonTest : public SnapshotImplicitTest {
 protected:
  void SetUp() override {
    const std::string dir = Publish();
    ASSERT_FALSE(dir.empty());
    manifest_ = json::parse(ReadFile(absl::StrCat(dir, "/", kManifestFile)));
    ASSERT_TRUE(ParseManifest(manifest_.dump()).ok());
  }
  static void ExpectInvalid(const json& j, const std::string& field) {
    const absl::StatusOr<SnapshotManifest> parsed = ParseManifest(j.dump());
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << field << ": " << parsed.status();
    EXPECT_THAT(parsed.status().message(), HasSubstr(field));
  }
  json manifest_;
};

TEST_F(ManifestImplicitJsonTest, NewFieldsAreChecked) {
  json j = manifest_;
  j.erase("feedback");
  ExpectInvalid(j, "feedback");
  j = manifest_;
  j["feedback"] = "auto";
  ExpectInvalid(j, "feedback");
  j = manifest_;
  j["feedback"] = 1;
  ExpectInvalid(j, "feedback");
  j = manifest_;
  j.erase("events");
  ExpectInvalid(j, "events");
  j = manifest_;
  j["events"]["weights"]["view"] = -1.0;
  ExpectInvalid(j, "events.weights.view");
  j = manifest_;
  j["events"]["weights"]["view"] = "1";
  ExpectInvalid(j, "events.weights.view");
  j = manifest_;
  j["events"]["weights"][""] = 1.0;
  ExpectInvalid(j, "events.weights");
  j = manifest_;
  j["events"]["negative"] = "dislike";
  ExpectInvalid(j, "events.negative");
  j = manifest_;
  j["events"]["negative"].push_back("dislike");
  ExpectInvalid(j, "events.negative[1]");
  j = manifest_;
  j["events"]["negative"].push_back(3);
  ExpectInvalid(j, "events.negative[1]");
  j = manifest_;
  j["events"]["extra"] = 1;
  ExpectInvalid(j, "events.extra");
  j = manifest_;
  j["factors"] = 3;
  ExpectInvalid(j, "factors");
  j = manifest_;
  j["fold_in"]["rating"] = {
      {"mean", {0.0}}, {"precision", {1.0}}, {"scales_with_count", true}};
  ExpectInvalid(j, "fold_in.rating");
  j = manifest_;
  j["fold_in"]["retrieval"]["scale"] = "cubic";
  ExpectInvalid(j, "fold_in.retrieval.scale");
  j = manifest_;
  j["fold_in"]["retrieval"].erase("scale");
  ExpectInvalid(j, "fold_in.retrieval.scale");
  j = manifest_;
  j["fold_in"]["retrieval"]["epsilon"] = 0.0;
  ExpectInvalid(j, "fold_in.retrieval.epsilon");
  j = manifest_;
  j["fold_in"]["retrieval"]["reg_exponent"] = -0.5;
  ExpectInvalid(j, "fold_in.retrieval.reg_exponent");
  j = manifest_;
  j.erase("fold_in");
  ExpectInvalid(j, "fold_in");
  // Explicit snapshots have no events, and need a rating prior.
  j = manifest_;
  j["feedback"] = "explicit";
  ExpectInvalid(j, "events");
  j.erase("events");
  ExpectInvalid(j, "fold_in.rating");
  // The format-4 fields are errors before format 4.
  j = manifest_;
  j["format_version"] = 3;
  ExpectInvalid(j, "needs format_version 4");
}

TEST_F(ManifestImplicitJsonTest, ValidateManifestKeepsFormat3Default) {
  absl::StatusOr<SnapshotManifest> m = ParseManifest(manifest_.dump());
  ASSERT_TRUE(m.ok());
  SnapshotManifest explicit3 = *m;
  explicit3.format_version = 3;
  explicit3.feedback = Feedback::kExplicit;
  explicit3.events.reset();
  explicit3.factors = 2;
  explicit3.fold_in->rating = RatingUserPrior::Ridge(2, 0.1f, 0.1f);
  // Format 3 cannot record a log scale.
  EXPECT_THAT(ValidateManifest(explicit3).message(),
              HasSubstr("fold_in.retrieval"));
  explicit3.fold_in->retrieval.scale = ConfidenceScale::kLinear;
  explicit3.fold_in->retrieval.epsilon = 1.0f;
  explicit3.fold_in->retrieval.reg_exponent = 0.0f;
  EXPECT_TRUE(ValidateManifest(explicit3).ok()) << ValidateManifest(explicit3);
  explicit3.feedback = Feedback::kImplicit;
  EXPECT_THAT(ValidateManifest(explicit3).message(), HasSubstr("feedback"));
}

// Rewrites the last `bytes.size()` bytes of `dir`/`name`, keeping the
// manifest's size and checksum valid.
void PatchTail(const std::string& dir, const std::string& name,
               const std::string& bytes) {
  std::string content = ReadFile(absl::StrCat(dir, "/", name));
  ASSERT_GE(content.size(), bytes.size());
  content.replace(content.size() - bytes.size(), bytes.size(), bytes);
  testutil::ReplaceFileKeepingManifestValid(dir, name, content);
}

TEST_F(SnapshotImplicitTest, CorruptFoldersAreRejected) {
  {
    SCOPED_TRACE("a non-finite seen value");
    const std::string dir = Publish();
    const float nan = std::nanf("");
    PatchTail(dir, kUserSeenRatingsFile,
              std::string(reinterpret_cast<const char*>(&nan), sizeof(nan)));
    const auto s = Snapshot::Load(dir);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.status().message(), HasSubstr(kUserSeenRatingsFile));
  }
  {
    SCOPED_TRACE("popularity disagrees with the positive cells");
    const std::string dir = Publish();
    const int32_t count = 1000;
    PatchTail(
        dir, kItemPopularityFile,
        std::string(reinterpret_cast<const char*>(&count), sizeof(count)));
    const auto s = Snapshot::Load(dir);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.status().message(), HasSubstr(kItemPopularityFile));
  }
  {
    SCOPED_TRACE("a rating model file in an implicit snapshot");
    const std::string dir = Publish();
    testutil::ReplaceFileKeepingManifestValid(dir, kUserBiasFile, "x");
    const auto s = Snapshot::Load(dir);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.status().message(), HasSubstr(kUserBiasFile));
    EXPECT_THAT(s.status().message(), HasSubstr("implicit"));
  }
  {
    SCOPED_TRACE("seen values missing");
    const std::string dir = Publish();
    json j = json::parse(ReadFile(absl::StrCat(dir, "/", kManifestFile)));
    j["files"].erase(kUserSeenRatingsFile);
    std::ofstream(absl::StrCat(dir, "/", kManifestFile), std::ios::trunc)
        << j.dump(2) << "\n";
    const auto s = Snapshot::Load(dir);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.status().message(), HasSubstr(kUserSeenRatingsFile));
  }
  {
    SCOPED_TRACE("a truncated embedding file");
    const std::string dir = Publish();
    const std::string path = absl::StrCat(dir, "/", kItemEmbeddingsFile);
    const std::string bytes = ReadFile(path);
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        << bytes.substr(0, bytes.size() / 2);
    const auto s = Snapshot::Load(dir);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(s.status().message(), HasSubstr(kItemEmbeddingsFile));
  }
}

TEST_F(SnapshotImplicitTest, WriterChecksImplicitContents) {
  const testutil::TinyModel tiny = testutil::MakeTinyModel(30, 45, 2);
  const auto expect_invalid = [&](const SnapshotContents& c,
                                  const std::string& what) {
    const absl::StatusOr<std::string> v = PublishSnapshot(tmp_.Path("root"), c);
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument) << what;
    EXPECT_THAT(v.status().message(), HasSubstr(what));
  };
  SnapshotContents c = f().Contents();
  c.model = &tiny.model;
  expect_invalid(c, "contents.model");
  c = f().Contents();
  c.retrieval = nullptr;
  expect_invalid(c, "contents.retrieval");
  c = f().Contents();
  c.fold_in = nullptr;
  expect_invalid(c, "contents.fold_in");
  FoldInParams with_rating = f().fold_in;
  with_rating.rating = RatingUserPrior::Ridge(2, 0.1f, 0.1f);
  c = f().Contents();
  c.fold_in = &with_rating;
  expect_invalid(c, "fold_in.rating");
  c = f().Contents();
  c.feedback = Feedback::kAuto;
  expect_invalid(c, "contents.feedback");
  EventWeights bad = f().events;
  bad.weights["view"] = 0.0f;
  c = f().Contents();
  c.events = &bad;
  expect_invalid(c, "contents.events");
  Dataset nan_train = f().train;
  nan_train.ratings[3].value = std::nanf("");
  c = f().Contents();
  c.train = &nan_train;
  expect_invalid(c, "train.ratings[3]");
  // Events belong to implicit snapshots only.
  c = SnapshotContents();
  c.train = &tiny.train;
  c.model = &tiny.model;
  c.algo = "als";
  c.events = &f().events;
  expect_invalid(c, "contents.events");
  EXPECT_FALSE(std::filesystem::exists(tmp_.Path("root/LATEST")));
}

}  // namespace
}  // namespace recserve
