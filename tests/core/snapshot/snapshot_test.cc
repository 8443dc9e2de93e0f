#include "core/snapshot/snapshot.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"
#include "core/base/npy.h"
#include "core/data/data_fingerprint.h"
#include "core/snapshot/snapshot_manifest.h"
#include "core/snapshot/snapshot_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/snapshot_tampering.h"
#include "tests/testutil/temp_files.h"
#include "tests/testutil/tiny_model.h"

namespace recserve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testutil::ReadFile;
using testutil::ReplaceFileKeepingManifestValid;
using testutil::WriteFile;

constexpr int32_t kUsers = 7;
constexpr int32_t kItems = 10;
constexpr int32_t kFactors = 4;

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tiny_ = testutil::MakeTinyModel(kUsers, kItems, kFactors);
    retrieval_ = testutil::MakeTinyRetrieval(kUsers, kItems, kRetrievalFactors);
    root_ = tmp_.path();
  }

  // Publishes the tiny model (format 1) and returns the version folder.
  std::string Publish(bool with_catalog = true) {
    SnapshotContents contents = Contents(with_catalog);
    absl::StatusOr<std::string> version = PublishSnapshot(root_, contents);
    EXPECT_TRUE(version.ok()) << version.status();
    return absl::StrCat(root_, "/", version.value_or("none"));
  }

  // Publishes the tiny model with retrieval embeddings (format 2).
  std::string PublishWithRetrieval() {
    SnapshotContents contents = Contents(true);
    contents.retrieval = &retrieval_;
    contents.retrieval_params = {{"alpha", 2.0}, {"iterations", 15}};
    contents.ranking = kRanking;
    absl::StatusOr<std::string> version = PublishSnapshot(root_, contents);
    EXPECT_TRUE(version.ok()) << version.status();
    return absl::StrCat(root_, "/", version.value_or("none"));
  }

  SnapshotContents Contents(bool with_catalog) {
    SnapshotContents contents;
    contents.train = &tiny_.train;
    contents.model = &tiny_.model;
    contents.items = with_catalog ? &tiny_.catalog : nullptr;
    contents.algo = "als";
    contents.training_params = {{"lambda", 0.1}, {"iterations", 10}};
    contents.metrics = {{"rmse", 0.93}};
    return contents;
  }

  absl::Status LoadStatus(const std::string& dir) {
    return Snapshot::Load(dir).status();
  }

  // Rewrites manifest.json with `edit` applied.
  void EditManifest(const std::string& dir,
                    const std::function<void(SnapshotManifest&)>& edit) {
    absl::StatusOr<SnapshotManifest> m =
        ParseManifest(ReadFile(dir + "/manifest.json"));
    ASSERT_TRUE(m.ok()) << m.status();
    edit(*m);
    WriteFile(dir + "/manifest.json", ManifestToJson(*m));
  }

  static constexpr int32_t kRetrievalFactors = 3;  // differs from kFactors
  static constexpr TwoStageOptions kRanking{.candidates = 5,
                                            .blend_weight = 0.25f};

  testutil::TempDir tmp_;
  testutil::TinyModel tiny_;
  RetrievalModel retrieval_;
  std::string root_;
};

TEST_F(SnapshotTest, RoundTripKeepsEveryValue) {
  std::string dir = Publish();
  EXPECT_EQ(dir, root_ + "/v000001");
  absl::StatusOr<std::shared_ptr<const Snapshot>> loaded =
      Snapshot::LoadLatest(root_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Snapshot& snap = **loaded;

  EXPECT_EQ(snap.version(), "v000001");
  EXPECT_EQ(snap.num_users(), kUsers);
  EXPECT_EQ(snap.num_items(), kItems);
  EXPECT_EQ(snap.factors(), kFactors);
  const SnapshotManifest& m = snap.manifest();
  EXPECT_EQ(m.algo, "als");
  EXPECT_EQ(m.num_ratings, 6 * 3 + 2);
  EXPECT_EQ(m.global_mean, 3.25f);
  EXPECT_EQ(m.training_params["iterations"], 10);
  EXPECT_EQ(m.metrics["rmse"], 0.93);
  EXPECT_EQ(m.data_fingerprint, FingerprintRatings(tiny_.train));
  EXPECT_EQ(m.data_fingerprint.size(), 32u);
  EXPECT_EQ(m.files.size(), 11u);

  for (int32_t u = 0; u < kUsers; ++u) {
    EXPECT_EQ(snap.UserId(u), absl::StrCat("u", u));
    EXPECT_EQ(snap.FindUser(absl::StrCat("u", u)), u);
  }
  for (int32_t i = 0; i < kItems; ++i) {
    EXPECT_EQ(snap.ItemId(i), absl::StrCat("i", i));
    EXPECT_EQ(snap.FindItem(absl::StrCat("i", i)), i);
  }
  EXPECT_EQ(snap.FindUser("nobody"), kUnknownIndex);
  EXPECT_EQ(snap.FindItem("u1"), kUnknownIndex);

  // Bit-exact factors and biases, and the same predictions as the model.
  EXPECT_EQ(FactorMatrix(snap.user_factors()), tiny_.model.user_factors);
  EXPECT_EQ(FactorMatrix(snap.item_factors()), tiny_.model.item_factors);
  EXPECT_EQ(Eigen::VectorXf(snap.user_bias()), tiny_.model.user_bias);
  EXPECT_EQ(Eigen::VectorXf(snap.item_bias()), tiny_.model.item_bias);
  for (int32_t u = -1; u < kUsers; ++u) {
    for (int32_t i = -1; i < kItems; ++i) {
      EXPECT_EQ(snap.Score(u, i), tiny_.model.Score(u, i)) << u << "," << i;
      EXPECT_EQ(snap.Predict(u, i), tiny_.model.Predict(u, i)) << u << "," << i;
    }
  }
  // Hand-computed: unknown user and item give the global mean; user 0 with
  // an unknown item gives mean + its bias.
  EXPECT_EQ(snap.Score(kUnknownIndex, kUnknownIndex), 3.25f);
  EXPECT_EQ(snap.Score(0, kUnknownIndex), 3.25f + tiny_.model.user_bias[0]);

  // User u rated items (7u + 3j) % 10, j < 3; user 0 also item 0 twice more.
  EXPECT_THAT(snap.SeenItems(0), ElementsAre(0, 3, 6));
  EXPECT_THAT(snap.SeenItems(1), ElementsAre(0, 3, 7));
  EXPECT_THAT(snap.SeenItems(2), ElementsAre(0, 4, 7));  // 14, 17, 20 % 10
  EXPECT_THAT(snap.SeenItems(kUsers - 1), IsEmpty());
  EXPECT_THAT(snap.SeenItems(kUnknownIndex), IsEmpty());
  std::vector<int32_t> popularity(kItems, 0);
  for (const Rating& r : tiny_.train.ratings) ++popularity[r.item];
  EXPECT_THAT(
      snap.item_popularity(),
      ElementsAre(popularity[0], popularity[1], popularity[2], popularity[3],
                  popularity[4], popularity[5], popularity[6], popularity[7],
                  popularity[8], popularity[9]));
  EXPECT_EQ(snap.item_popularity()[0], 5);  // u0 x3, u1 (j=1), u2 (j=2)

  ASSERT_TRUE(snap.has_item_metadata());
  ASSERT_NE(snap.ItemTitle(0), nullptr);
  EXPECT_EQ(*snap.ItemTitle(0), "Amélie 0 \xe2\x98\x85 part two");
  EXPECT_EQ(*snap.ItemTitle(8), "Amélie 8 \xe2\x98\x85 part two");
  EXPECT_EQ(snap.ItemTitle(1), nullptr);
  ASSERT_NE(snap.ItemGenres(2), nullptr);
  EXPECT_THAT(*snap.ItemGenres(2), ElementsAre("Comedy", "Romance"));
  EXPECT_EQ(snap.ItemGenres(3), nullptr);

  MfModel copy = snap.ToModel();
  EXPECT_EQ(copy.user_factors, tiny_.model.user_factors);
  EXPECT_EQ(copy.item_bias, tiny_.model.item_bias);
  EXPECT_EQ(copy.global_mean, 3.25f);
  EXPECT_EQ(copy.scale.max, 5.0f);
}

TEST_F(SnapshotTest, FilesHaveTheDocumentedFormats) {
  std::string dir = Publish();
  EXPECT_EQ(ReadFile(dir + "/user_ids.txt"), "u0\nu1\nu2\nu3\nu4\nu5\nu6\n");
  std::string titles = ReadFile(dir + "/item_titles.txt");
  EXPECT_EQ(titles.substr(0, titles.find('\n', titles.find('\n') + 1) + 1),
            "Amélie 0 \xe2\x98\x85 part two\n\n");
  std::string genres = ReadFile(dir + "/item_genres.txt");
  EXPECT_EQ(genres.substr(0, 17), "Comedy|Romance\n\nC");
  std::string pop = ReadFile(dir + "/item_popularity.npy");
  EXPECT_THAT(pop, HasSubstr("'descr': '<i4'"));
  EXPECT_THAT(
      ReadFile(dir + "/user_seen_offsets.npy"),
      HasSubstr("'descr': '<i8', 'fortran_order': False, 'shape': (8,)"));
  EXPECT_THAT(ReadFile(dir + "/user_factors.npy"),
              HasSubstr("'shape': (7, 4)"));
  absl::StatusOr<SnapshotManifest> m =
      ParseManifest(ReadFile(dir + "/manifest.json"));
  ASSERT_TRUE(m.ok());
  for (const auto& [name, info] : m->files) {
    absl::StatusOr<uint32_t> crc = Crc32OfFile(dir + "/" + name);
    ASSERT_TRUE(crc.ok());
    EXPECT_EQ(*crc, info.crc32) << name;
    EXPECT_EQ(ReadFile(dir + "/" + name).size(), info.bytes) << name;
  }
}

TEST_F(SnapshotTest, WithoutCatalogHasNoMetadataFiles) {
  std::string dir = Publish(/*with_catalog=*/false);
  absl::StatusOr<std::shared_ptr<const Snapshot>> snap = Snapshot::Load(dir);
  ASSERT_TRUE(snap.ok()) << snap.status();
  EXPECT_FALSE((*snap)->has_item_metadata());
  EXPECT_EQ((*snap)->ItemTitle(0), nullptr);
  EXPECT_EQ((*snap)->ItemGenres(0), nullptr);
  EXPECT_FALSE(std::filesystem::exists(dir + "/item_titles.txt"));
}

TEST_F(SnapshotTest, EmptyModelRoundTrips) {
  tiny_ = testutil::MakeTinyModel(1, 0, 0);
  std::string dir = Publish();
  absl::StatusOr<std::shared_ptr<const Snapshot>> snap = Snapshot::Load(dir);
  ASSERT_TRUE(snap.ok()) << snap.status();
  EXPECT_EQ((*snap)->num_items(), 0);
  EXPECT_TRUE((*snap)->has_item_metadata());
  EXPECT_THAT((*snap)->SeenItems(0), IsEmpty());
}

TEST_F(SnapshotTest, TruncatedNpyIsDataLoss) {
  std::string dir = Publish();
  std::string path = dir + "/user_factors.npy";
  std::string bytes = ReadFile(path);
  WriteFile(path, bytes.substr(0, bytes.size() - 10));
  absl::Status s = LoadStatus(dir);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("user_factors.npy: has 230 bytes, "
                                     "manifest.json says 240 (truncated)"));
  // Even with a manifest that agrees, the .npy itself is short.
  ReplaceFileKeepingManifestValid(dir, "user_factors.npy",
                                  bytes.substr(0, bytes.size() - 10));
  s = LoadStatus(dir);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("user_factors.npy: file has 230 bytes, "
                                     "expected 240"));
}

TEST_F(SnapshotTest, FlippedByteFailsChecksum) {
  std::string dir = Publish();
  std::string path = dir + "/item_factors.npy";
  std::string bytes = ReadFile(path);
  bytes[bytes.size() - 7] ^= 0x01;
  WriteFile(path, bytes);
  absl::Status s = LoadStatus(dir);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("item_factors.npy: checksum mismatch"));
}

TEST_F(SnapshotTest, WrongShapeInHeader) {
  std::string dir = Publish();
  std::vector<float> values(kUsers * 3, 0.5f);
  std::string bytes = MakeNpyHeader(NpyDtype::kFloat32, {kUsers, 3}) +
                      std::string(reinterpret_cast<const char*>(values.data()),
                                  values.size() * 4);
  ReplaceFileKeepingManifestValid(dir, "user_factors.npy", bytes);
  absl::Status s = LoadStatus(dir);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      s.message(),
      HasSubstr("user_factors.npy: expected shape (7, 4), found (7, 3)"));
}

TEST_F(SnapshotTest, WrongDtype) {
  std::string dir = Publish();
  std::string bytes =
      MakeNpyHeader(NpyDtype::kInt64, {kItems}) + std::string(kItems * 8, 0);
  ReplaceFileKeepingManifestValid(dir, "item_popularity.npy", bytes);
  absl::Status s = LoadStatus(dir);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("item_popularity.npy: expected dtype "
                                     "'<i4' (int32), found '<i8' (int64)"));
}

TEST_F(SnapshotTest, MissingFileIsNotFound) {
  std::string dir = Publish();
  std::filesystem::remove(dir + "/item_bias.npy");
  absl::Status s = LoadStatus(dir);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(),
              HasSubstr("item_bias.npy: listed in manifest.json but missing"));
  EXPECT_EQ(LoadStatus(root_ + "/v000042").code(), absl::StatusCode::kNotFound);
  std::filesystem::remove(dir + "/manifest.json");
  EXPECT_EQ(LoadStatus(dir).code(), absl::StatusCode::kNotFound);
}

TEST_F(SnapshotTest, ManifestCountsThatLie) {
  std::string dir = Publish();
  EditManifest(dir, [](SnapshotManifest& m) { m.num_users = 8; });
  absl::Status s = LoadStatus(dir);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("user_ids.txt: has 7 lines, expected 8 "
                                     "(num_users in manifest.json)"));

  EditManifest(dir, [](SnapshotManifest& m) {
    m.num_users = 7;
    m.factors = 5;
  });
  EXPECT_THAT(
      LoadStatus(dir).message(),
      HasSubstr("user_factors.npy: expected shape (7, 5), found (7, 4)"));

  EditManifest(dir, [](SnapshotManifest& m) {
    m.factors = 4;
    m.num_ratings = 21;
  });
  EXPECT_THAT(LoadStatus(dir).message(),
              HasSubstr("item_popularity.npy: counts sum to 20, manifest.json "
                        "says num_ratings 21"));

  EditManifest(dir, [](SnapshotManifest& m) { m.num_ratings = 20; });
  EXPECT_TRUE(LoadStatus(dir).ok());
}

TEST_F(SnapshotTest, ManifestFileListProblems) {
  std::string dir = Publish();
  EditManifest(dir, [](SnapshotManifest& m) { m.files.erase("item_ids.txt"); });
  EXPECT_THAT(LoadStatus(dir).message(),
              HasSubstr("does not list required file item_ids.txt"));
  EditManifest(dir, [&](SnapshotManifest& m) {
    m.files["item_ids.txt"] = m.files["user_ids.txt"];
    m.files["extra.bin"] = m.files["user_ids.txt"];
  });
  EXPECT_THAT(LoadStatus(dir).message(), HasSubstr("unknown file 'extra.bin'"));
  EditManifest(dir, [&](SnapshotManifest& m) {
    m.files.erase("extra.bin");
    m.files.erase("item_genres.txt");
  });
  EXPECT_THAT(LoadStatus(dir).message(), HasSubstr("lists only one of"));
}

TEST_F(SnapshotTest, ManifestVersionMustMatchFolder) {
  std::string dir = Publish();
  EditManifest(dir, [](SnapshotManifest& m) { m.version = "v000002"; });
  absl::Status s = LoadStatus(dir);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("version is 'v000002' but the folder is "
                                     "named 'v000001'"));
  // A copy under a name that is not a version name loads.
  EditManifest(dir, [](SnapshotManifest& m) { m.version = "v000001"; });
  std::filesystem::copy(dir, root_ + "/exported");
  EXPECT_TRUE(LoadStatus(root_ + "/exported").ok());
  EXPECT_TRUE(LoadStatus(dir + "/").ok());
}

TEST_F(SnapshotTest, GarbageAndFutureManifests) {
  std::string dir = Publish();
  WriteFile(dir + "/manifest.json", "{\"format_version\": 1");
  absl::Status s = LoadStatus(dir);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr(dir + "/manifest.json: not valid JSON"));
  WriteFile(dir + "/manifest.json", "{\"format_version\": 9}");
  s = LoadStatus(dir);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(),
              HasSubstr("unsupported format_version 9; this build reads "
                        "format_version 1, 2, 3, 4, 5, 6, 7 and 8"));
}

TEST_F(SnapshotTest, NanInFactors) {
  std::string dir = Publish();
  MfModel bad = tiny_.model;
  bad.user_factors(2, 1) = std::nanf("");
  std::string bytes =
      MakeNpyHeader(NpyDtype::kFloat32, {kUsers, kFactors}) +
      std::string(reinterpret_cast<const char*>(bad.user_factors.data()),
                  kUsers * kFactors * 4);
  ReplaceFileKeepingManifestValid(dir, "user_factors.npy", bytes);
  absl::Status s = LoadStatus(dir);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("user_factors.npy: non-finite value nan "
                                     "at row 2, column 1"));

  float inf = std::numeric_limits<float>::infinity();
  std::string bias_bytes =
      MakeNpyHeader(NpyDtype::kFloat32, {kItems}) +
      std::string(reinterpret_cast<const char*>(tiny_.model.item_bias.data()),
                  (kItems - 1) * 4) +
      std::string(reinterpret_cast<const char*>(&inf), 4);
  Publish();  // a fresh v000002 to corrupt
  ReplaceFileKeepingManifestValid(root_ + "/v000002", "item_bias.npy",
                                  bias_bytes);
  EXPECT_THAT(LoadStatus(root_ + "/v000002").message(),
              HasSubstr("item_bias.npy: non-finite value inf at row 9"));

  // Finite but absurd: scores from it would overflow (found by fuzzing).
  MfModel huge = tiny_.model;
  huge.item_bias[3] = 1.7e38f;
  Publish();  // v000003
  ReplaceFileKeepingManifestValid(
      root_ + "/v000003", "item_bias.npy",
      MakeNpyHeader(NpyDtype::kFloat32, {kItems}) +
          std::string(reinterpret_cast<const char*>(huge.item_bias.data()),
                      kItems * 4));
  EXPECT_THAT(LoadStatus(root_ + "/v000003").message(),
              HasSubstr("item_bias.npy: out-of-range value 1.7e+38 at row 3"));
}

TEST_F(SnapshotTest, DuplicateIds) {
  std::string dir = Publish();
  ReplaceFileKeepingManifestValid(dir, "user_ids.txt",
                                  "u0\nu1\nu2\nu3\nu1\nu5\nu6\n");
  absl::Status s = LoadStatus(dir);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("user_ids.txt:5: duplicate id 'u1' (also on line 2)"));
  ReplaceFileKeepingManifestValid(dir, "user_ids.txt",
                                  "u0\nu1\nu2\nu3\nu4\nu5\nu6");
  EXPECT_THAT(LoadStatus(dir).message(),
              HasSubstr("user_ids.txt: last line does not end with a newline"));
}

TEST_F(SnapshotTest, BadSeenItems) {
  std::string dir = Publish();
  auto npy = [](NpyDtype dtype, std::vector<int64_t> shape, const void* data,
                size_t bytes) {
    return MakeNpyHeader(dtype, shape) +
           std::string(static_cast<const char*>(data), bytes);
  };
  std::string good_offsets = ReadFile(dir + "/user_seen_offsets.npy");
  std::vector<int64_t> offsets = {0, 3, 2, 9, 12, 15, 18, 18};
  ReplaceFileKeepingManifestValid(
      dir, "user_seen_offsets.npy",
      npy(NpyDtype::kInt64, {8}, offsets.data(), 64));
  EXPECT_THAT(LoadStatus(dir).message(),
              HasSubstr("user_seen_offsets.npy: offsets decrease at user 1"));
  offsets = {0, 3, 6, 9, 12, 15, 18, 99};
  ReplaceFileKeepingManifestValid(
      dir, "user_seen_offsets.npy",
      npy(NpyDtype::kInt64, {8}, offsets.data(), 64));
  EXPECT_THAT(LoadStatus(dir).message(), HasSubstr("last offset is 99"));

  ReplaceFileKeepingManifestValid(dir, "user_seen_offsets.npy", good_offsets);
  std::string items = ReadFile(dir + "/user_seen_items.npy");
  std::string bad = items;
  int32_t out_of_range = kItems;
  std::memcpy(&bad[bad.size() - 4], &out_of_range, 4);
  ReplaceFileKeepingManifestValid(dir, "user_seen_items.npy", bad);
  EXPECT_THAT(
      LoadStatus(dir).message(),
      HasSubstr("user_seen_items.npy: user 5 has item 10 out of range"));
}

TEST_F(SnapshotTest, LatestNamingMissingVersion) {
  EXPECT_EQ(Snapshot::LoadLatest(root_).status().code(),
            absl::StatusCode::kNotFound);
  Publish();
  WriteFile(root_ + "/LATEST", "v000009\n");
  absl::Status s = Snapshot::LoadLatest(root_).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("names v000009 but"));
  WriteFile(root_ + "/LATEST", "../../etc\n");
  s = Snapshot::LoadLatest(root_).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("not a version name"));
}

// Random damage to file contents, with the manifest made to agree so that
// the content checks (not the checksums) must catch it. Loading must either
// fail cleanly or succeed; it must never crash.
TEST_F(SnapshotTest, RandomCorruptionNeverCrashes) {
  std::string dir = PublishWithRetrieval();
  std::vector<std::string> names = {
      "user_ids.txt",        "item_ids.txt",          "user_factors.npy",
      "user_bias.npy",       "item_factors.npy",      "item_bias.npy",
      "item_popularity.npy", "user_seen_offsets.npy", "user_seen_items.npy",
      "item_titles.txt",     "item_genres.txt",       "user_embeddings.npy",
      "item_embeddings.npy", "manifest.json"};
  std::map<std::string, std::string> originals;
  for (const std::string& n : names) originals[n] = ReadFile(dir + "/" + n);
  std::mt19937 rng(7);
  int failures = 0;
  for (int round = 0; round < 300; ++round) {
    const std::string& name = names[rng() % names.size()];
    std::string bytes = originals[name];
    if (bytes.empty()) continue;
    int mode = rng() % 3;
    if (mode == 0) {
      bytes[rng() % bytes.size()] = static_cast<char>(rng());
    } else if (mode == 1) {
      bytes.resize(rng() % bytes.size());
    } else {
      for (int k = 0; k < 8; ++k) bytes[rng() % bytes.size()] ^= 0xff;
    }
    if (name == "manifest.json") {
      WriteFile(dir + "/" + name, bytes);
    } else {
      ReplaceFileKeepingManifestValid(dir, name, bytes);
    }
    absl::StatusOr<std::shared_ptr<const Snapshot>> snap = Snapshot::Load(dir);
    if (!snap.ok()) {
      ++failures;
      EXPECT_FALSE(snap.status().message().empty());
    } else {
      // Whatever loaded must be safe to use everywhere.
      for (int32_t u = 0; u < (*snap)->num_users(); ++u) {
        for (int32_t i : (*snap)->SeenItems(u)) {
          EXPECT_GE(i, 0);
          EXPECT_LT(i, (*snap)->num_items());
        }
      }
    }
    // Restore.
    WriteFile(dir + "/" + name, originals[name]);
    WriteFile(dir + "/manifest.json", originals["manifest.json"]);
  }
  EXPECT_GT(failures, 100);
  EXPECT_TRUE(LoadStatus(dir).ok());
}

TEST_F(SnapshotTest, Format2RoundTripKeepsEveryEmbedding) {
  std::string dir = PublishWithRetrieval();
  absl::StatusOr<std::shared_ptr<const Snapshot>> loaded = Snapshot::Load(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Snapshot& snap = **loaded;
  EXPECT_EQ(snap.manifest().format_version, 2);
  ASSERT_TRUE(snap.has_retrieval());
  EXPECT_EQ(snap.retrieval_factors(), kRetrievalFactors);
  ASSERT_EQ(snap.user_embeddings().rows(), kUsers);
  ASSERT_EQ(snap.user_embeddings().cols(), kRetrievalFactors);
  ASSERT_EQ(snap.item_embeddings().rows(), kItems);
  ASSERT_EQ(snap.item_embeddings().cols(), kRetrievalFactors);
  for (int32_t u = 0; u < kUsers; ++u) {
    for (int32_t f = 0; f < kRetrievalFactors; ++f) {
      EXPECT_EQ(snap.user_embeddings()(u, f), retrieval_.user_factors(u, f))
          << u << "," << f;
    }
  }
  for (int32_t i = 0; i < kItems; ++i) {
    for (int32_t f = 0; f < kRetrievalFactors; ++f) {
      EXPECT_EQ(snap.item_embeddings()(i, f), retrieval_.item_factors(i, f))
          << i << "," << f;
    }
  }
  // A retrieval score is the dot product of the two rows.
  EXPECT_EQ(snap.user_embeddings().row(2).dot(snap.item_embeddings().row(7)),
            retrieval_.user_factors.row(2).dot(retrieval_.item_factors.row(7)));
  EXPECT_EQ(snap.ranking().candidates, 5);
  EXPECT_EQ(snap.ranking().blend_weight, 0.25f);
  const SnapshotManifest& m = snap.manifest();
  ASSERT_TRUE(m.retrieval.has_value());
  EXPECT_EQ(m.retrieval->factors, kRetrievalFactors);
  EXPECT_EQ(m.retrieval->params["alpha"], 2.0);
  EXPECT_EQ(m.retrieval->params["iterations"], 15);
  EXPECT_EQ(m.files.size(), 13u);
  // The rating model is untouched by the embeddings.
  EXPECT_EQ(snap.factors(), kFactors);
  EXPECT_EQ(FactorMatrix(snap.user_factors()), tiny_.model.user_factors);
  EXPECT_EQ(snap.Score(3, 4), tiny_.model.Score(3, 4));

  EXPECT_THAT(ReadFile(dir + "/user_embeddings.npy"),
              HasSubstr("'descr': '<f4', 'fortran_order': False, "
                        "'shape': (7, 3)"));
  EXPECT_THAT(ReadFile(dir + "/item_embeddings.npy"),
              HasSubstr("'shape': (10, 3)"));
  nlohmann::json raw = nlohmann::json::parse(ReadFile(dir + "/manifest.json"));
  EXPECT_EQ(raw["format_version"], 2);
  EXPECT_EQ(raw["retrieval"]["factors"], 3);
  EXPECT_EQ(raw["ranking"],
            nlohmann::json({{"candidates", 5}, {"blend_weight", 0.25}}));
  for (const char* name : {"user_embeddings.npy", "item_embeddings.npy"}) {
    absl::StatusOr<uint32_t> crc = Crc32OfFile(dir + "/" + name);
    ASSERT_TRUE(crc.ok());
    EXPECT_EQ(*crc, m.files.at(name).crc32) << name;
  }
}

// The manifest keys a format-1 reader knows.
const std::vector<std::string> kFormat1Keys = {
    "algo",         "created_at",      "data_fingerprint", "factors",
    "files",        "format_version",  "global_mean",      "metrics",
    "model_kind",   "num_items",       "num_ratings",      "num_users",
    "rating_scale", "training_params", "version"};

TEST_F(SnapshotTest, WithoutEmbeddingsIsFormat1WithDefaultRanking) {
  SnapshotContents contents = Contents(true);
  // Without embeddings, ranking and retrieval params are not recorded.
  contents.ranking = TwoStageOptions{.candidates = 9, .blend_weight = 0.75f};
  contents.retrieval_params = {{"ignored", true}};
  absl::StatusOr<std::string> version = PublishSnapshot(root_, contents);
  ASSERT_TRUE(version.ok()) << version.status();
  std::string dir = root_ + "/" + *version;

  nlohmann::json raw = nlohmann::json::parse(ReadFile(dir + "/manifest.json"));
  EXPECT_EQ(raw["format_version"], 1);
  std::vector<std::string> keys;
  for (const auto& [key, value] : raw.items()) keys.push_back(key);
  EXPECT_EQ(keys, kFormat1Keys);
  EXPECT_EQ(raw["files"].size(), 11u);
  EXPECT_FALSE(std::filesystem::exists(dir + "/user_embeddings.npy"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/item_embeddings.npy"));

  absl::StatusOr<std::shared_ptr<const Snapshot>> snap = Snapshot::Load(dir);
  ASSERT_TRUE(snap.ok()) << snap.status();
  EXPECT_FALSE((*snap)->has_retrieval());
  EXPECT_EQ((*snap)->retrieval_factors(), 0);
  EXPECT_EQ((*snap)->user_embeddings().rows(), 0);
  EXPECT_EQ((*snap)->user_embeddings().cols(), 0);
  EXPECT_EQ((*snap)->item_embeddings().size(), 0);
  EXPECT_EQ((*snap)->ranking().candidates, 200);
  EXPECT_EQ((*snap)->ranking().blend_weight, 0.0f);
  EXPECT_EQ((*snap)->ranking().candidates, kFormat1Ranking.candidates);
}

// Writes `values` as a .npy file with `shape` and returns its bytes.
template <typename T>
std::string NpyBytes(std::vector<int64_t> shape, const std::vector<T>& values) {
  return MakeNpyHeader(NpyDtypeOf<T>::value, shape) +
         std::string(reinterpret_cast<const char*>(values.data()),
                     values.size() * sizeof(T));
}

// A format-1 snapshot written by hand as an older build would have, without
// the writer: 2 users, 3 items, 1 factor.
TEST_F(SnapshotTest, HandMadeFormat1SnapshotLoads) {
  std::string dir = root_ + "/v000004";
  std::filesystem::create_directories(dir);
  std::map<std::string, std::string> files = {
      {"user_ids.txt", "alice\nbob\n"},
      {"item_ids.txt", "x\ny\nz\n"},
      {"user_factors.npy", NpyBytes<float>({2, 1}, {0.5f, -1.0f})},
      {"user_bias.npy", NpyBytes<float>({2}, {0.25f, 0.0f})},
      {"item_factors.npy", NpyBytes<float>({3, 1}, {2.0f, 0.0f, 1.0f})},
      {"item_bias.npy", NpyBytes<float>({3}, {0.0f, 0.5f, -0.5f})},
      {"item_popularity.npy", NpyBytes<int32_t>({3}, {1, 1, 0})},
      {"user_seen_offsets.npy", NpyBytes<int64_t>({3}, {0, 1, 2})},
      {"user_seen_items.npy", NpyBytes<int32_t>({2}, {0, 1})},
  };
  std::string listing;
  for (const auto& [name, bytes] : files) {
    WriteFile(dir + "/" + name, bytes);
    absl::StrAppend(&listing, listing.empty() ? "" : ",\n", "    \"", name,
                    "\": {\"bytes\": ", bytes.size(), ", \"crc32\": \"",
                    Crc32ToHex(Crc32(bytes)), "\"}");
  }
  WriteFile(dir + "/manifest.json", absl::StrCat(R"({
  "format_version": 1,
  "model_kind": "biased_mf",
  "algo": "sgd",
  "factors": 1,
  "num_users": 2,
  "num_items": 3,
  "num_ratings": 2,
  "rating_scale": {"min": 1, "max": 5, "step": 1},
  "global_mean": 3.0,
  "training_params": {"lr": 0.01},
  "metrics": {},
  "data_fingerprint": "0123456789abcdef0123456789abcdef",
  "created_at": "2024-05-01T12:00:00Z",
  "version": "v000004",
  "files": {
)",
                                                 listing, "\n  }\n}\n"));

  absl::StatusOr<std::shared_ptr<const Snapshot>> loaded = Snapshot::Load(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Snapshot& snap = **loaded;
  EXPECT_EQ(snap.manifest().format_version, 1);
  EXPECT_EQ(snap.FindUser("bob"), 1);
  EXPECT_EQ(snap.ItemId(2), "z");
  // 3 + 0.25 + 0 + 0.5 * 2, and 3 + 0 - 0.5 + (-1) * 1.
  EXPECT_EQ(snap.Score(0, 0), 4.25f);
  EXPECT_EQ(snap.Score(1, 2), 1.5f);
  EXPECT_THAT(snap.SeenItems(1), ElementsAre(1));
  EXPECT_FALSE(snap.has_retrieval());
  EXPECT_EQ(snap.retrieval_factors(), 0);
  EXPECT_EQ(snap.user_embeddings().size(), 0);
  EXPECT_EQ(snap.ranking().candidates, 200);
  EXPECT_EQ(snap.ranking().blend_weight, 0.0f);
}

TEST_F(SnapshotTest, CorruptEmbeddingFilesAreRejectedByName) {
  std::string dir = PublishWithRetrieval();
  const std::string manifest = ReadFile(dir + "/manifest.json");
  struct File {
    std::string name;
    int32_t rows;
    const FactorMatrix* values;
  };
  for (const File& f :
       {File{"user_embeddings.npy", kUsers, &retrieval_.user_factors},
        File{"item_embeddings.npy", kItems, &retrieval_.item_factors}}) {
    SCOPED_TRACE(f.name);
    const std::string path = dir + "/" + f.name;
    const std::string original = ReadFile(path);
    auto restore = [&] {
      WriteFile(path, original);
      WriteFile(dir + "/manifest.json", manifest);
    };

    // Truncated: the manifest's size, then the .npy's own size.
    std::string shorter = original.substr(0, original.size() - 8);
    WriteFile(path, shorter);
    absl::Status s = LoadStatus(dir);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(s.message(),
                HasSubstr(absl::StrCat(f.name, ": has ", shorter.size(),
                                       " bytes, manifest.json says ",
                                       original.size(), " (truncated)")));
    ReplaceFileKeepingManifestValid(dir, f.name, shorter);
    s = LoadStatus(dir);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(s.message(),
                HasSubstr(absl::StrCat(f.name, ": file has ", shorter.size(),
                                       " bytes, expected ", original.size())));
    restore();

    // One flipped bit in the data.
    std::string flipped = original;
    flipped[flipped.size() - 5] ^= 0x10;
    WriteFile(path, flipped);
    s = LoadStatus(dir);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(s.message(), HasSubstr(f.name + ": checksum mismatch"));
    restore();

    // Wrong width, and wrong dtype.
    ReplaceFileKeepingManifestValid(
        dir, f.name,
        NpyBytes<float>({f.rows, 2}, std::vector<float>(f.rows * 2, 0.5f)));
    s = LoadStatus(dir);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(),
                HasSubstr(absl::StrCat(f.name, ": expected shape (", f.rows,
                                       ", 3), found (", f.rows, ", 2)")));
    ReplaceFileKeepingManifestValid(
        dir, f.name,
        NpyBytes<int32_t>({f.rows, 3}, std::vector<int32_t>(f.rows * 3, 1)));
    EXPECT_THAT(LoadStatus(dir).message(),
                HasSubstr(f.name + ": expected dtype '<f4' (float32)"));
    restore();

    // NaN and infinity.
    FactorMatrix bad = *f.values;
    bad(f.rows - 1, 2) = std::nanf("");
    ReplaceFileKeepingManifestValid(
        dir, f.name,
        NpyBytes<float>({f.rows, 3}, std::vector<float>(
                                         bad.data(), bad.data() + bad.size())));
    s = LoadStatus(dir);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(),
                HasSubstr(absl::StrCat(f.name, ": non-finite value nan at row ",
                                       f.rows - 1, ", column 2")));
    bad = *f.values;
    bad(1, 0) = -std::numeric_limits<float>::infinity();
    ReplaceFileKeepingManifestValid(
        dir, f.name,
        NpyBytes<float>({f.rows, 3}, std::vector<float>(
                                         bad.data(), bad.data() + bad.size())));
    EXPECT_THAT(
        LoadStatus(dir).message(),
        HasSubstr(f.name + ": non-finite value -inf at row 1, column 0"));
    restore();
    EXPECT_TRUE(LoadStatus(dir).ok());
  }
}

TEST_F(SnapshotTest, RetrievalAndEmbeddingFilesMustAgree) {
  std::string dir = PublishWithRetrieval();
  const std::string manifest = ReadFile(dir + "/manifest.json");
  const std::string user_embeddings = ReadFile(dir + "/user_embeddings.npy");

  // Listed, but not on disk.
  std::filesystem::remove(dir + "/user_embeddings.npy");
  absl::Status s = LoadStatus(dir);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(),
              HasSubstr("user_embeddings.npy: listed in manifest.json but "
                        "missing"));
  WriteFile(dir + "/user_embeddings.npy", user_embeddings);

  // "retrieval" without the file in the listing.
  EditManifest(
      dir, [](SnapshotManifest& m) { m.files.erase("item_embeddings.npy"); });
  s = LoadStatus(dir);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("manifest.json: has \"retrieval\" but does not list "
                        "item_embeddings.npy"));
  WriteFile(dir + "/manifest.json", manifest);

  // The files without "retrieval": as format 1, and as format 2.
  EditManifest(dir, [](SnapshotManifest& m) {
    m.format_version = 1;
    m.retrieval.reset();
    m.ranking.reset();
  });
  s = LoadStatus(dir);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("manifest.json: lists user_embeddings.npy but has no "
                        "\"retrieval\" (format_version 1)"));
  WriteFile(dir + "/manifest.json", manifest);
  EditManifest(dir, [](SnapshotManifest& m) { m.retrieval.reset(); });
  EXPECT_THAT(LoadStatus(dir).message(),
              HasSubstr("manifest.json: field 'retrieval' is missing"));
  WriteFile(dir + "/manifest.json", manifest);

  // retrieval.factors that disagrees with the arrays.
  EditManifest(dir, [](SnapshotManifest& m) { m.retrieval->factors = 4; });
  EXPECT_THAT(
      LoadStatus(dir).message(),
      HasSubstr("user_embeddings.npy: expected shape (7, 4), found (7, 3)"));
  WriteFile(dir + "/manifest.json", manifest);
  EXPECT_TRUE(LoadStatus(dir).ok());
}

TEST_F(SnapshotTest, BadRankingValuesAreRejected) {
  std::string dir = PublishWithRetrieval();
  const std::string manifest = ReadFile(dir + "/manifest.json");
  struct Case {
    TwoStageOptions ranking;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{.candidates = 0, .blend_weight = 0.5f},
            "'ranking.candidates' is 0; must be at least 1"},
           {{.candidates = 10, .blend_weight = -0.25f},
            "'ranking.blend_weight' is -0.25; must be in [0, 1]"},
           {{.candidates = 10, .blend_weight = 1.5f},
            "'ranking.blend_weight' is 1.5; must be in [0, 1]"},
       }) {
    WriteFile(dir + "/manifest.json", manifest);
    EditManifest(dir, [&](SnapshotManifest& m) { m.ranking = c.ranking; });
    absl::Status s = LoadStatus(dir);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_THAT(s.message(), HasSubstr(c.message));
    EXPECT_THAT(s.message(), HasSubstr(dir + "/manifest.json"));
  }
  WriteFile(dir + "/manifest.json", manifest);
  EditManifest(dir, [](SnapshotManifest& m) {
    m.ranking = TwoStageOptions{.candidates = 1, .blend_weight = 1.0f};
  });
  absl::StatusOr<std::shared_ptr<const Snapshot>> snap = Snapshot::Load(dir);
  ASSERT_TRUE(snap.ok()) << snap.status();
  EXPECT_EQ((*snap)->ranking().candidates, 1);
  EXPECT_EQ((*snap)->ranking().blend_weight, 1.0f);
}

TEST_F(SnapshotTest, ConcurrentReadersShareOneSnapshot) {
  Publish();
  absl::StatusOr<std::shared_ptr<const Snapshot>> snap =
      Snapshot::LoadLatest(root_);
  ASSERT_TRUE(snap.ok());
  std::vector<std::thread> threads;
  std::vector<double> sums(4, 0.0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 200; ++rep) {
        for (int32_t u = 0; u < kUsers; ++u) {
          for (int32_t i = 0; i < kItems; ++i)
            sums[t] += (*snap)->Predict(u, i);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 1; t < 4; ++t) EXPECT_EQ(sums[t], sums[0]);
}

}  // namespace
}  // namespace recserve
