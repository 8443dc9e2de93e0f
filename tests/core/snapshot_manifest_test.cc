#include "core/snapshot_manifest.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

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
  absl::Status s = ParseEdited([](json& j) {
    j["format_version"] = 2;
    j["something_new"] = true;
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("unsupported format_version 2"));
  EXPECT_THAT(s.message(), HasSubstr("reads format_version 1"));
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
