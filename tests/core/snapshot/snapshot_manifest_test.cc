#include "core/snapshot/snapshot_manifest.h"

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

SnapshotManifest SampleManifest() {
  SnapshotManifest m;
  m.algo = "als";
  m.factors = 64;
  m.num_users = 943;
  m.num_items = 1682;
  m.num_ratings = 80000;
  m.rating_scale = RatingScale{0.5f, 5.0f, 0.5f};
  m.global_mean = 3.53f;
  m.training_params = {{"lambda", 0.05}, {"iterations", 15}, {"seed", 42}};
  m.metrics = {{"rmse", 0.91}, {"test", {{"mae", 0.72}, {"ndcg@10", nullptr}}}};
  m.data_fingerprint = "00112233445566778899aabbccddeeff";
  m.created_at = "2024-05-01T12:00:00Z";
  m.version = "v000007";
  m.files["user_factors.npy"] = SnapshotFileInfo{241536, 0x0a1b2c3d};
  m.files["user_ids.txt"] = SnapshotFileInfo{0, 0};
  return m;
}

TEST(SnapshotManifestTest, RoundTripsEveryField) {
  SnapshotManifest m = SampleManifest();
  ASSERT_TRUE(ValidateManifest(m).ok());
  std::string text = ManifestToJson(m);
  EXPECT_THAT(text, HasSubstr("\"crc32\": \"0a1b2c3d\""));
  EXPECT_THAT(text, HasSubstr("\"global_mean\": 3.53,"));  // not 3.529999...
  EXPECT_EQ(text.back(), '\n');
  absl::StatusOr<SnapshotManifest> back = ParseManifest(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->format_version, 1);
  EXPECT_EQ(back->model_kind, "biased_mf");
  EXPECT_EQ(back->algo, "als");
  EXPECT_EQ(back->factors, 64);
  EXPECT_EQ(back->num_users, 943);
  EXPECT_EQ(back->num_items, 1682);
  EXPECT_EQ(back->num_ratings, 80000);
  EXPECT_EQ(back->rating_scale.min, 0.5f);
  EXPECT_EQ(back->rating_scale.max, 5.0f);
  EXPECT_EQ(back->rating_scale.step, 0.5f);
  EXPECT_EQ(back->global_mean, 3.53f);  // bit-exact float
  EXPECT_EQ(back->training_params, m.training_params);
  EXPECT_EQ(back->metrics, m.metrics);
  EXPECT_EQ(back->data_fingerprint, m.data_fingerprint);
  EXPECT_EQ(back->created_at, m.created_at);
  EXPECT_EQ(back->version, "v000007");
  EXPECT_EQ(back->files, m.files);
  EXPECT_EQ(ManifestToJson(*back), text);
}

TEST(SnapshotManifestTest, FloatsRoundTripBitExactly) {
  SnapshotManifest m = SampleManifest();
  for (float f : {0.1f, 3.5299999f, 1e-30f, -2.7182817f, 16777217.0f}) {
    m.global_mean = f;
    absl::StatusOr<SnapshotManifest> back = ParseManifest(ManifestToJson(m));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->global_mean, f);
  }
}

// Applies `edit` to the sample manifest's JSON and parses the result.
absl::Status ParseEdited(const std::function<void(json&)>& edit) {
  json j = json::parse(ManifestToJson(SampleManifest()));
  edit(j);
  return ParseManifest(j.dump()).status();
}

TEST(SnapshotManifestTest, UnsupportedFormatVersionSaysWhatIsSupported) {
  for (int version : {0, 9, 17}) {
    absl::Status s = ParseEdited([version](json& j) {
      j["format_version"] = version;
      j["something_new"] = true;
    });
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
    EXPECT_THAT(s.message(), HasSubstr(absl::StrCat(
                                 "unsupported format_version ", version)));
    EXPECT_THAT(s.message(),
                HasSubstr("reads format_version 1, 2, 3, 4, 5, 6, 7 and 8"));
  }
  SnapshotManifest m = SampleManifest();
  m.format_version = 9;
  EXPECT_EQ(ValidateManifest(m).code(), absl::StatusCode::kFailedPrecondition);
}

// A format-2 manifest: the sample plus retrieval embeddings and ranking.
SnapshotManifest SampleFormat2Manifest() {
  SnapshotManifest m = SampleManifest();
  m.format_version = 2;
  m.retrieval = SnapshotRetrievalInfo{
      32, {{"alpha", 2.0}, {"iterations", 15}, {"nested", {{"a", "b"}}}}};
  m.ranking = TwoStageOptions{.candidates = 150, .blend_weight = 0.3f};
  m.files["user_embeddings.npy"] = SnapshotFileInfo{120832, 0xdeadbeef};
  m.files["item_embeddings.npy"] = SnapshotFileInfo{215424, 0x00000001};
  return m;
}

TEST(SnapshotManifestTest, Format2RoundTripsRetrievalAndRanking) {
  SnapshotManifest m = SampleFormat2Manifest();
  ASSERT_TRUE(ValidateManifest(m).ok()) << ValidateManifest(m);
  std::string text = ManifestToJson(m);
  EXPECT_THAT(text, HasSubstr("\"format_version\": 2,"));
  EXPECT_THAT(text, HasSubstr("\"blend_weight\": 0.3,"));  // not 0.30000001
  EXPECT_THAT(text, HasSubstr("\"candidates\": 150"));
  absl::StatusOr<SnapshotManifest> back = ParseManifest(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->format_version, 2);
  ASSERT_TRUE(back->retrieval.has_value());
  EXPECT_EQ(back->retrieval->factors, 32);
  EXPECT_EQ(back->retrieval->params, m.retrieval->params);
  EXPECT_EQ(back->retrieval->params["nested"]["a"], "b");
  ASSERT_TRUE(back->ranking.has_value());
  EXPECT_EQ(back->ranking->candidates, 150);
  EXPECT_EQ(back->ranking->blend_weight, 0.3f);  // bit-exact float
  EXPECT_EQ(back->files, m.files);
  EXPECT_EQ(ManifestToJson(*back), text);

  // The boundaries of the ranking range are valid.
  for (float w : {0.0f, 1.0f}) {
    m.ranking->blend_weight = w;
    m.ranking->candidates = 1;
    back = ParseManifest(ManifestToJson(m));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->ranking->blend_weight, w);
    EXPECT_EQ(back->ranking->candidates, 1);
  }
}

TEST(SnapshotManifestTest, Format1HasNoRetrievalOrRanking) {
  std::string text = ManifestToJson(SampleManifest());
  EXPECT_THAT(text, HasSubstr("\"format_version\": 1,"));
  EXPECT_THAT(text, Not(HasSubstr("retrieval")));
  EXPECT_THAT(text, Not(HasSubstr("ranking")));
  absl::StatusOr<SnapshotManifest> back = ParseManifest(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_FALSE(back->retrieval.has_value());
  EXPECT_FALSE(back->ranking.has_value());
}

TEST(SnapshotManifestTest, RejectsBadFormat2Fields) {
  struct Case {
    std::string label;
    std::function<void(json&)> edit;
    std::string message;
  };
  std::vector<Case> cases = {
      {"retrieval missing", [](json& j) { j.erase("retrieval"); },
       "'retrieval' is missing"},
      {"ranking missing", [](json& j) { j.erase("ranking"); },
       "'ranking' is missing"},
      {"retrieval not object", [](json& j) { j["retrieval"] = 32; },
       "'retrieval' is not an object"},
      {"retrieval factors missing",
       [](json& j) { j["retrieval"].erase("factors"); },
       "'retrieval.factors' is missing"},
      {"retrieval factors zero", [](json& j) { j["retrieval"]["factors"] = 0; },
       "'retrieval.factors' must be at least 1"},
      {"retrieval factors negative",
       [](json& j) { j["retrieval"]["factors"] = -4; },
       "'retrieval.factors' is out of range"},
      {"retrieval factors float",
       [](json& j) { j["retrieval"]["factors"] = 3.5; },
       "'retrieval.factors' is not an integer"},
      {"retrieval params missing",
       [](json& j) { j["retrieval"].erase("params"); },
       "'retrieval.params' is missing"},
      {"retrieval params array",
       [](json& j) { j["retrieval"]["params"] = json::array(); },
       "'retrieval.params' is not an object"},
      {"retrieval unknown key",
       [](json& j) { j["retrieval"]["kind"] = "hnsw"; },
       "'retrieval.kind' is not known"},
      {"ranking not object", [](json& j) { j["ranking"] = "two_stage"; },
       "'ranking' is not an object"},
      {"candidates zero", [](json& j) { j["ranking"]["candidates"] = 0; },
       "'ranking.candidates' is 0; must be at least 1"},
      {"candidates negative", [](json& j) { j["ranking"]["candidates"] = -5; },
       "'ranking.candidates' is out of range"},
      {"candidates huge",
       [](json& j) { j["ranking"]["candidates"] = 5000000000LL; },
       "'ranking.candidates' is out of range"},
      {"candidates missing", [](json& j) { j["ranking"].erase("candidates"); },
       "'ranking.candidates' is missing"},
      {"blend negative", [](json& j) { j["ranking"]["blend_weight"] = -0.1; },
       "'ranking.blend_weight' is -0.1; must be in [0, 1]"},
      {"blend above one", [](json& j) { j["ranking"]["blend_weight"] = 1.5; },
       "'ranking.blend_weight' is 1.5; must be in [0, 1]"},
      {"blend string", [](json& j) { j["ranking"]["blend_weight"] = "0.5"; },
       "'ranking.blend_weight' is not a number"},
      {"blend null", [](json& j) { j["ranking"]["blend_weight"] = nullptr; },
       "'ranking.blend_weight' is not a number"},
      {"ranking unknown key", [](json& j) { j["ranking"]["k"] = 10; },
       "'ranking.k' is not known"},
      {"format 1 with retrieval", [](json& j) { j["format_version"] = 1; },
       "'retrieval' needs format_version 2"},
      {"format 1 with ranking",
       [](json& j) {
         j["format_version"] = 1;
         j.erase("retrieval");
       },
       "'ranking' needs format_version 2"},
  };
  for (const Case& c : cases) {
    json j = json::parse(ManifestToJson(SampleFormat2Manifest()));
    c.edit(j);
    absl::Status s = ParseManifest(j.dump()).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.label << s;
    EXPECT_THAT(s.message(), HasSubstr("manifest.json: ")) << c.label;
    EXPECT_THAT(s.message(), HasSubstr(c.message)) << c.label << ": " << s;
  }
}

TEST(SnapshotManifestTest, ValidateChecksFormat2FieldsToo) {
  SnapshotManifest m = SampleFormat2Manifest();
  m.ranking->blend_weight = std::nanf("");
  EXPECT_THAT(ValidateManifest(m).message(),
              HasSubstr("'ranking.blend_weight' is nan; must be in [0, 1]"));
  m = SampleFormat2Manifest();
  m.retrieval->factors = 0;
  EXPECT_THAT(ValidateManifest(m).message(),
              HasSubstr("'retrieval.factors' must be at least 1"));
  m = SampleFormat2Manifest();
  m.format_version = 1;
  EXPECT_THAT(ValidateManifest(m).message(),
              HasSubstr("'retrieval' needs format_version 2"));
  m.retrieval.reset();
  EXPECT_THAT(ValidateManifest(m).message(),
              HasSubstr("'ranking' needs format_version 2"));
  m.ranking.reset();
  EXPECT_TRUE(ValidateManifest(m).ok());
}

TEST(SnapshotManifestTest, RejectsStrictly) {
  struct Case {
    std::string label;
    std::function<void(json&)> edit;
    std::string message;
  };
  std::vector<Case> cases = {
      {"missing field", [](json& j) { j.erase("num_items"); },
       "'num_items' is missing"},
      {"unknown field", [](json& j) { j["colour"] = "blue"; },
       "'colour' is not known"},
      {"string count", [](json& j) { j["num_users"] = "943"; },
       "'num_users' is not an integer"},
      {"float count", [](json& j) { j["factors"] = 64.5; },
       "'factors' is not an integer"},
      {"negative count", [](json& j) { j["num_ratings"] = -1; },
       "'num_ratings' is out of range"},
      {"huge count", [](json& j) { j["num_users"] = 3000000000LL; },
       "'num_users' is out of range"},
      {"model kind", [](json& j) { j["model_kind"] = "two_tower"; },
       "only 'biased_mf' is supported"},
      {"empty algo", [](json& j) { j["algo"] = ""; }, "'algo' is empty"},
      {"scale unknown key", [](json& j) { j["rating_scale"]["mid"] = 3; },
       "'rating_scale.mid' is not known"},
      {"scale inverted",
       [](json& j) {
         j["rating_scale"]["min"] = 5;
         j["rating_scale"]["max"] = 1;
       },
       "min <= max"},
      {"scale zero step", [](json& j) { j["rating_scale"]["step"] = 0; },
       "step > 0"},
      {"mean string", [](json& j) { j["global_mean"] = "3.5"; },
       "'global_mean' is not a number"},
      {"params array", [](json& j) { j["training_params"] = json::array(); },
       "'training_params' is not an object"},
      {"metric string", [](json& j) { j["metrics"]["rmse"] = "good"; },
       "'metrics.rmse' is not a finite number"},
      {"bad time", [](json& j) { j["created_at"] = "yesterday"; },
       "'created_at'"},
      {"local time",
       [](json& j) { j["created_at"] = "2024-05-01T12:00:00+02:00"; },
       "'created_at'"},
      {"bad version", [](json& j) { j["version"] = "7"; }, "'version'"},
      {"empty fingerprint", [](json& j) { j["data_fingerprint"] = ""; },
       "'data_fingerprint' is empty"},
      {"crc upper case",
       [](json& j) { j["files"]["user_ids.txt"]["crc32"] = "0A1B2C3D"; },
       "'files.user_ids.txt.crc32' is not 8 lowercase hex digits"},
      {"crc short",
       [](json& j) { j["files"]["user_ids.txt"]["crc32"] = "abc"; },
       "not 8 lowercase hex digits"},
      {"crc number", [](json& j) { j["files"]["user_ids.txt"]["crc32"] = 5; },
       "'files.user_ids.txt.crc32' is not a string"},
      {"file bytes missing",
       [](json& j) { j["files"]["user_ids.txt"].erase("bytes"); },
       "'files.user_ids.txt.bytes' is missing"},
      {"file path",
       [](json& j) {
         j["files"]["../etc/passwd"] = j["files"]["user_ids.txt"];
       },
       "not a plain file name"},
      {"file manifest",
       [](json& j) {
         j["files"]["manifest.json"] = j["files"]["user_ids.txt"];
       },
       "not a plain file name"},
      {"not an object",
       [](json& j) {
         j = json::array({1, 2});
       },
       "not a JSON object"},
  };
  for (const Case& c : cases) {
    absl::Status s = ParseEdited(c.edit);
    EXPECT_FALSE(s.ok()) << c.label;
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.label << s;
    EXPECT_THAT(s.message(), HasSubstr("manifest.json: ")) << c.label;
    EXPECT_THAT(s.message(), HasSubstr(c.message)) << c.label << ": " << s;
  }
}

TEST(SnapshotManifestTest, RejectsInvalidJsonAndDuplicateKeys) {
  absl::Status s = ParseManifest("{\"format_version\": 1,").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("not valid JSON"));
  std::string text = ManifestToJson(SampleManifest());
  // A second num_users after the first: nlohmann would keep the last.
  text.insert(text.find("\"num_users\""), "\"num_users\": 1, ");
  s = ParseManifest(text).status();
  EXPECT_THAT(s.message(), HasSubstr("duplicate key 'num_users'"));
  EXPECT_FALSE(ParseManifest("").ok());
  EXPECT_FALSE(ParseManifest(std::string("{\0}", 3)).ok());
}

TEST(SnapshotManifestTest, VersionNames) {
  EXPECT_EQ(FormatVersionName(1), "v000001");
  EXPECT_EQ(FormatVersionName(1234567), "v1234567");
  EXPECT_EQ(ParseVersionName("v000001"), 1);
  EXPECT_EQ(ParseVersionName("v999999"), 999999);
  EXPECT_EQ(ParseVersionName("v1234567"), 1234567);
  for (const char* bad : {"v000000", "v00001", "v0000001", "V000001", "v00000a",
                          "000001", "v-00001", "v000001 ", ""}) {
    EXPECT_EQ(ParseVersionName(bad), -1) << bad;
  }
}

}  // namespace
}  // namespace recserve
