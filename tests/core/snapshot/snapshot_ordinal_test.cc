// Format 8: the rating model's optional ordinal output, manifest
// "ordinal_output", written, parsed, loaded (bit for bit, predicting as the
// model did) and rejected when malformed; snapshots without it keep their
// earlier format.

#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/model/item_item_model.h"
#include "core/model/ordinal_output.h"
#include "core/snapshot/snapshot.h"
#include "core/snapshot/snapshot_manifest.h"
#include "core/snapshot/snapshot_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/temp_files.h"
#include "tests/testutil/tiny_model.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;
using testutil::ReadFile;
using testutil::WriteFile;

constexpr int32_t kUsers = 7;
constexpr int32_t kItems = 9;
constexpr int32_t kFactors = 3;
constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// For the tiny model's scale {1, 5, 1}: 5 values, 4 cutpoints. Uneven, and
// not exactly representable as decimals, so that a round trip through JSON
// is checked to the bit.
OrdinalOutput MakeOrdinal() {
  OrdinalOutput o;
  o.cutpoints = {1.7f, 2.4f + 1e-6f, 3.55f, 4.3f};
  o.stddev = 0.45f / 3.0f;
  return o;
}

bool SameBits(const OrdinalOutput& a, const OrdinalOutput& b) {
  return a.cutpoints.size() == b.cutpoints.size() &&
         std::memcmp(a.cutpoints.data(), b.cutpoints.data(),
                     a.cutpoints.size() * sizeof(float)) == 0 &&
         std::memcmp(&a.stddev, &b.stddev, sizeof(float)) == 0;
}

bool SameBits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

class SnapshotOrdinalTest : public ::testing::Test {
 protected:
  SnapshotOrdinalTest()
      : tiny_(testutil::MakeTinyModel(kUsers, kItems, kFactors, 4)),
        retrieval_(testutil::MakeTinyRetrieval(kUsers, kItems, 4)) {
    fold_in_.rating = RatingUserPrior::Ridge(kFactors, 0.1f, 0.01f);
    fold_in_.retrieval = {
        .reg = 3.5f, .alpha = 0.25f, .unobserved_weight = 0.75f};
    // Scores well beyond the scale, so that clamping and the expected
    // rating differ.
    tiny_.model.global_mean = 3.0f;
    for (int32_t u = 0; u < kUsers; ++u) {
      tiny_.model.user_bias[u] = 0.9f * static_cast<float>(u - kUsers / 2);
    }
    ordinal_model_ = tiny_.model;
    ordinal_model_.ordinal = MakeOrdinal();
  }

  SnapshotContents Contents(const MfModel* model) const {
    SnapshotContents c;
    c.train = &tiny_.train;
    c.model = model;
    c.algo = "bpmf";
    c.retrieval = &retrieval_;
    c.ranking = {.candidates = 7, .blend_weight = 0.25f};
    c.fold_in = &fold_in_;
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

  testutil::TempDir tmp_;
  const std::string root_ = tmp_.Path("root");
  testutil::TinyModel tiny_;
  MfModel ordinal_model_;
  RetrievalModel retrieval_;
  FoldInParams fold_in_;
};

TEST_F(SnapshotOrdinalTest, RoundTripsBitForBitAsFormat8) {
  const std::string dir = Publish(Contents(&ordinal_model_));
  ASSERT_FALSE(dir.empty());
  absl::StatusOr<std::shared_ptr<const Snapshot>> snap = Snapshot::Load(dir);
  ASSERT_TRUE(snap.ok()) << snap.status();
  const Snapshot& s = **snap;
  EXPECT_EQ(s.manifest().format_version, kOrdinalSnapshotFormatVersion);
  EXPECT_EQ(s.manifest().format_version, 8);
  EXPECT_EQ(kMaxSnapshotFormatVersion, 8);
  EXPECT_TRUE(SameBits(s.ordinal_output(), ordinal_model_.ordinal));
  EXPECT_TRUE(SameBits(s.manifest().ordinal_output, ordinal_model_.ordinal));
  EXPECT_TRUE(SameBits(s.ToModel().ordinal, ordinal_model_.ordinal));
  // Format 8 holds format 6's seen order too.
  EXPECT_EQ(s.manifest().files.count(kUserSeenLaterFile), 1u);
  EXPECT_EQ(s.SeenLater(0).size(), s.SeenItems(0).size());
  EXPECT_FALSE(s.has_item_item());

  // Predictions are the model's, to the bit, and not the clamped score.
  int differs = 0;
  for (int32_t u = kUnknownIndex; u < kUsers; ++u) {
    for (int32_t i = kUnknownIndex; i < kItems; ++i) {
      const float predicted = s.Predict(u, i);
      EXPECT_TRUE(SameBits(predicted, ordinal_model_.Predict(u, i)))
          << u << "," << i << ": " << predicted << " vs "
          << ordinal_model_.Predict(u, i);
      EXPECT_GE(predicted, 1.0f);
      EXPECT_LE(predicted, 5.0f);
      if (predicted != tiny_.model.scale.Clamp(s.Score(u, i))) ++differs;
    }
  }
  EXPECT_GT(differs, 0);
  for (const float score :
       {-1e6f, -3.0f, 0.0f, 1.0f, 2.4f, 3.55f, 4.99f, 5.0f, 7.5f, 1e6f}) {
    EXPECT_TRUE(SameBits(s.Rate(score), ordinal_model_.Rate(score))) << score;
  }

  const json j = ManifestJson(dir);
  EXPECT_EQ(j["format_version"], 8);
  ASSERT_TRUE(j.contains("ordinal_output"));
  EXPECT_EQ(j["ordinal_output"].size(), 2u);
  EXPECT_EQ(j["ordinal_output"]["cutpoints"].size(), 4u);
  EXPECT_EQ(j["ordinal_output"]["cutpoints"][2], 3.55);

  const std::string text = ManifestToJson(s.manifest());
  absl::StatusOr<SnapshotManifest> parsed = ParseManifest(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(SameBits(parsed->ordinal_output, ordinal_model_.ordinal));
  EXPECT_EQ(ManifestToJson(*parsed), text);
}

TEST_F(SnapshotOrdinalTest, WithAnItemItemModelToo) {
  ItemItemModel item_item;
  item_item.weights = FactorMatrix::Constant(5, 5, 0.25f);
  item_item.weights.diagonal().setZero();
  SnapshotContents c = Contents(&ordinal_model_);
  c.item_item = &item_item;
  const std::string dir = Publish(c);
  ASSERT_FALSE(dir.empty());
  absl::StatusOr<std::shared_ptr<const Snapshot>> snap = Snapshot::Load(dir);
  ASSERT_TRUE(snap.ok()) << snap.status();
  EXPECT_EQ((*snap)->manifest().format_version, 8);
  EXPECT_TRUE((*snap)->has_item_item());
  EXPECT_TRUE(SameBits((*snap)->ordinal_output(), ordinal_model_.ordinal));
}

TEST_F(SnapshotOrdinalTest, WithoutItHasNoneAndAnEarlierFormat) {
  const std::string dir = Publish(Contents(&tiny_.model));
  ASSERT_FALSE(dir.empty());
  absl::StatusOr<std::shared_ptr<const Snapshot>> snap = Snapshot::Load(dir);
  ASSERT_TRUE(snap.ok()) << snap.status();
  const Snapshot& s = **snap;
  EXPECT_EQ(s.manifest().format_version, kFoldInSnapshotFormatVersion);
  EXPECT_TRUE(s.ordinal_output().empty());
  EXPECT_EQ(s.ordinal_output().stddev, 0.0f);
  EXPECT_TRUE(s.ToModel().ordinal.empty());
  EXPECT_FALSE(ManifestJson(dir).contains("ordinal_output"));
  for (int32_t u = kUnknownIndex; u < kUsers; ++u) {
    for (int32_t i = kUnknownIndex; i < kItems; ++i) {
      EXPECT_EQ(s.Predict(u, i), tiny_.model.Predict(u, i));
      EXPECT_EQ(s.Predict(u, i), s.rating_scale().Clamp(s.Score(u, i)));
    }
  }
  EXPECT_EQ(s.Rate(7.5f), 5.0f);
  EXPECT_EQ(s.Rate(-2.0f), 1.0f);

  // Without retrieval it stays format 1.
  SnapshotContents bare = Contents(&tiny_.model);
  bare.retrieval = nullptr;
  bare.fold_in = nullptr;
  const std::string bare_dir = Publish(bare);
  ASSERT_FALSE(bare_dir.empty());
  EXPECT_EQ(ManifestJson(bare_dir)["format_version"], 1);

  // A format-8 manifest need not have one.
  json j = ManifestJson(dir);
  j["format_version"] = 8;
  j["feedback"] = "explicit";
  j["cold_items"] = 0;
  j["fold_in"]["retrieval"].update(json::parse(
      R"({"scale": "linear", "epsilon": 1, "reg_exponent": 0,
          "recency_weight": 0, "recency_horizon": 30})"));
  absl::StatusOr<SnapshotManifest> parsed = ParseManifest(j.dump());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->ordinal_output.empty());
  EXPECT_EQ(ManifestToJson(*parsed).find("ordinal_output"), std::string::npos);
}

TEST_F(SnapshotOrdinalTest, WriterRejectsBadOutputsAndPublishesNothing) {
  const auto expect_refused = [&](const SnapshotContents& c,
                                  const std::string& part,
                                  const std::string& what) {
    absl::StatusOr<std::string> v = PublishSnapshot(root_, c);
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument)
        << what << ": " << v.status();
    EXPECT_THAT(v.status().message(), HasSubstr("contents.model->ordinal"))
        << what;
    EXPECT_THAT(v.status().message(), HasSubstr(part)) << what;
  };
  const auto with = [&](auto edit) {
    MfModel m = ordinal_model_;
    edit(m.ordinal);
    return m;
  };
  MfModel m = with([](OrdinalOutput& o) { o.cutpoints.pop_back(); });
  expect_refused(Contents(&m), "3 cutpoints for a rating scale of 5 values",
                 "too few");
  m = with([](OrdinalOutput& o) { o.cutpoints.push_back(4.8f); });
  expect_refused(Contents(&m), "5 cutpoints", "too many");
  m = with([](OrdinalOutput& o) {
    o.cutpoints = {1.5f};
    o.stddev = 1.0f;
  });
  expect_refused(Contents(&m), "needs 4", "one");
  m = with([](OrdinalOutput& o) { std::swap(o.cutpoints[1], o.cutpoints[2]); });
  expect_refused(Contents(&m), "cutpoint 3", "descending");
  m = with([](OrdinalOutput& o) { o.cutpoints[2] = o.cutpoints[1]; });
  expect_refused(Contents(&m), "not above", "equal");
  for (const float bad : {kNan, kInf, -kInf}) {
    m = with([bad](OrdinalOutput& o) { o.cutpoints[3] = bad; });
    expect_refused(Contents(&m), "not finite", absl::StrCat("cutpoint ", bad));
  }
  for (const float bad : {0.0f, -0.5f, kNan, kInf}) {
    m = with([bad](OrdinalOutput& o) { o.stddev = bad; });
    expect_refused(Contents(&m), "stddev", absl::StrCat("stddev ", bad));
  }
  // Format 8 extends formats 3 to 7.
  SnapshotContents no_fold_in = Contents(&ordinal_model_);
  no_fold_in.fold_in = nullptr;
  expect_refused(no_fold_in, "needs contents.retrieval and contents.fold_in",
                 "no fold_in");
  SnapshotContents no_retrieval = no_fold_in;
  no_retrieval.retrieval = nullptr;
  expect_refused(no_retrieval, "needs contents.retrieval", "no retrieval");
  // Nothing was published.
  EXPECT_EQ(ResolveLatestVersion(root_).status().code(),
            absl::StatusCode::kNotFound);
}

class ManifestOrdinalJsonTest : public SnapshotOrdinalTest {
 protected:
  void SetUp() override {
    dir_ = Publish(Contents(&ordinal_model_));
    ASSERT_FALSE(dir_.empty());
    manifest_ = ManifestJson(dir_);
    ASSERT_TRUE(ParseManifest(manifest_.dump()).ok());
  }
  // ParseManifest, and Load of the folder with that manifest, fail with
  // InvalidArgument naming `field` and saying `what`.
  void ExpectInvalid(const json& j, const std::string& field,
                     const std::string& what) {
    const absl::StatusOr<SnapshotManifest> parsed = ParseManifest(j.dump());
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << field << ": " << parsed.status();
    EXPECT_THAT(parsed.status().message(), HasSubstr(field));
    EXPECT_THAT(parsed.status().message(), HasSubstr(what));
    const std::string path = absl::StrCat(dir_, "/", kManifestFile);
    const std::string original = ReadFile(path);
    WriteFile(path, j.dump(2));
    const absl::Status loaded = Snapshot::Load(dir_).status();
    EXPECT_EQ(loaded.code(), absl::StatusCode::kInvalidArgument)
        << field << ": " << loaded;
    EXPECT_THAT(loaded.message(), HasSubstr(field));
    WriteFile(path, original);
  }
  // ValidateManifest of the parsed manifest with `edit` applied fails with
  // InvalidArgument naming the field.
  void ExpectInvalidInMemory(void (*edit)(SnapshotManifest&),
                             const std::string& what) {
    absl::StatusOr<SnapshotManifest> parsed = ParseManifest(manifest_.dump());
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    SnapshotManifest m = *parsed;
    edit(m);
    const absl::Status status = ValidateManifest(m);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument)
        << what << ": " << status;
    EXPECT_THAT(status.message(), HasSubstr("'ordinal_output'")) << what;
  }
  json With(const char* key, const json& value) const {
    json j = manifest_;
    j["ordinal_output"][key] = value;
    return j;
  }

  std::string dir_;
  json manifest_;
};

TEST_F(ManifestOrdinalJsonTest, WrongCutpointCountIsRejected) {
  ExpectInvalid(With("cutpoints", {1.5, 2.5, 3.5}), "ordinal_output",
                "3 cutpoints for a rating scale of 5 values (needs 4)");
  ExpectInvalid(With("cutpoints", {1.5, 2.5, 3.5, 4.5, 4.7}), "ordinal_output",
                "5 cutpoints");
  ExpectInvalid(With("cutpoints", json::array()), "ordinal_output.cutpoints",
                "is empty");
  ExpectInvalidInMemory(
      [](SnapshotManifest& m) { m.ordinal_output.cutpoints.pop_back(); },
      "too few");
  // The count follows the scale: 9 values need 8.
  json j = manifest_;
  j["rating_scale"]["step"] = 0.5;
  ExpectInvalid(j, "ordinal_output", "for a rating scale of 9 values");
}

TEST_F(ManifestOrdinalJsonTest, NonAscendingCutpointsAreRejected) {
  ExpectInvalid(With("cutpoints", {1.5, 3.5, 2.5, 4.5}), "ordinal_output",
                "cutpoint 3 is not finite or not above the one before");
  ExpectInvalid(With("cutpoints", {1.5, 2.5, 2.5, 4.5}), "ordinal_output",
                "cutpoint 3");
  ExpectInvalid(With("cutpoints", {4.5, 3.5, 2.5, 1.5}), "ordinal_output",
                "cutpoint 2");
}

TEST_F(ManifestOrdinalJsonTest, NonFiniteValuesAreRejected) {
  // Beyond float range: infinite as a float, which the validation names.
  ExpectInvalid(With("cutpoints", {1.5, 2.5, 1e300, 4.5}), "ordinal_output",
                "cutpoint 3 is not finite");
  ExpectInvalid(With("cutpoints", {1.5, 2.5, nullptr, 4.5}),
                "ordinal_output.cutpoints[2]", "is not a number");
  ExpectInvalid(With("stddev", 1e300), "ordinal_output.stddev",
                "is not a finite float");
  ExpectInvalidInMemory(
      [](SnapshotManifest& m) { m.ordinal_output.cutpoints[1] = kNan; },
      "NaN cutpoint");
  ExpectInvalidInMemory(
      [](SnapshotManifest& m) { m.ordinal_output.cutpoints[3] = kInf; },
      "infinite cutpoint");
  ExpectInvalidInMemory(
      [](SnapshotManifest& m) { m.ordinal_output.stddev = kNan; },
      "NaN stddev");
  ExpectInvalidInMemory(
      [](SnapshotManifest& m) { m.ordinal_output.stddev = kInf; },
      "infinite stddev");
}

TEST_F(ManifestOrdinalJsonTest, StddevMustBePositive) {
  ExpectInvalid(With("stddev", 0.0), "ordinal_output",
                "stddev 0 is not finite and > 0");
  ExpectInvalid(With("stddev", -0.25), "ordinal_output", "stddev -0.25");
  ExpectInvalidInMemory(
      [](SnapshotManifest& m) { m.ordinal_output.stddev = -0.0f; }, "-0");
}

TEST_F(ManifestOrdinalJsonTest, FieldsAreParsedStrictly) {
  ExpectInvalid(With("extra", 1), "ordinal_output.extra", "is not known");
  ExpectInvalid(With("stddev", "0.5"), "ordinal_output.stddev",
                "is not a number");
  ExpectInvalid(With("cutpoints", "1.5 2.5 3.5 4.5"),
                "ordinal_output.cutpoints", "is not an array");
  ExpectInvalid(With("cutpoints", {1.5, "2.5", 3.5, 4.5}),
                "ordinal_output.cutpoints[1]", "is not a number");
  for (const char* key : {"cutpoints", "stddev"}) {
    json j = manifest_;
    j["ordinal_output"].erase(key);
    ExpectInvalid(j, absl::StrCat("ordinal_output.", key), "is missing");
  }
  json j = manifest_;
  j["ordinal_output"] = json::array({1.5, 2.5, 3.5, 4.5});
  ExpectInvalid(j, "ordinal_output", "is not an object");
  j["ordinal_output"] = nullptr;
  ExpectInvalid(j, "ordinal_output", "is not an object");
}

TEST_F(ManifestOrdinalJsonTest, EarlierFormatsHaveNone) {
  json j = manifest_;
  j["format_version"] = 7;
  ExpectInvalid(j, "'ordinal_output'", "needs format_version 8");
  ExpectInvalidInMemory([](SnapshotManifest& m) { m.format_version = 7; },
                        "format 7");
  // Without the field the same manifest is a valid format 7.
  j.erase("ordinal_output");
  EXPECT_TRUE(ParseManifest(j.dump()).ok());
}

TEST_F(ManifestOrdinalJsonTest, ImplicitFeedbackHasNone) {
  // The same snapshot's manifest as implicit feedback: no rating model.
  json j = manifest_;
  j["feedback"] = "implicit";
  j["factors"] = 0;
  j["global_mean"] = 0.0;
  j["events"] = {{"weights", {{"view", 1.0}}}, {"negative", json::array()}};
  j["fold_in"].erase("rating");
  for (const char* name :
       {kUserFactorsFile, kItemFactorsFile, kUserBiasFile, kItemBiasFile}) {
    j["files"].erase(name);
  }
  ExpectInvalid(j, "'ordinal_output'",
                "is not allowed with implicit feedback (no rating model)");
  ExpectInvalidInMemory(
      [](SnapshotManifest& m) {
        m.feedback = Feedback::kImplicit;
        m.factors = 0;
        m.fold_in->rating = RatingUserPrior();
        m.events = EventWeights();
      },
      "implicit");
  // Without the field it is a valid implicit manifest.
  j.erase("ordinal_output");
  const absl::StatusOr<SnapshotManifest> parsed = ParseManifest(j.dump());
  EXPECT_TRUE(parsed.ok()) << parsed.status();
}

}  // namespace
}  // namespace recserve
