#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/snapshot/snapshot.h"
#include "core/snapshot/snapshot_manifest.h"
#include "core/snapshot/snapshot_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/temp_files.h"
#include "tests/testutil/tiny_model.h"

namespace recserve {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testutil::ReadFile;

SnapshotContents ContentsOf(const testutil::TinyModel& t) {
  SnapshotContents c;
  c.train = &t.train;
  c.model = &t.model;
  c.items = &t.catalog;
  c.algo = "sgd";
  return c;
}

std::vector<std::string> Entries(const std::string& root) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(root)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

int CountTempEntries(const std::string& root) {
  int n = 0;
  for (const std::string& name : Entries(root)) {
    n +=
        absl::StartsWith(name, ".tmp-") || absl::StartsWith(name, "LATEST.tmp");
  }
  return n;
}

bool HasTempEntries(const std::string& root) {
  return CountTempEntries(root) > 0;
}

TEST(SnapshotPublishTest, VersionsIncreaseAndLatestMoves) {
  testutil::TempDir tmp;
  std::string root = tmp.Path("models/mf");  // created
  testutil::TinyModel t = testutil::MakeTinyModel(5, 6, 3);
  for (int n = 1; n <= 3; ++n) {
    t.model.global_mean = static_cast<float>(n);
    absl::StatusOr<std::string> v = PublishSnapshot(root, ContentsOf(t));
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(*v, FormatVersionName(n));
    EXPECT_EQ(ReadFile(root + "/LATEST"), *v + "\n");
    absl::StatusOr<std::shared_ptr<const Snapshot>> snap =
        Snapshot::LoadLatest(root);
    ASSERT_TRUE(snap.ok()) << snap.status();
    EXPECT_EQ((*snap)->version(), *v);
    EXPECT_EQ((*snap)->global_mean(), static_cast<float>(n));
  }
  absl::StatusOr<std::vector<std::string>> versions = ListVersions(root);
  ASSERT_TRUE(versions.ok());
  EXPECT_THAT(*versions, ElementsAre("v000001", "v000002", "v000003"));
  EXPECT_THAT(Entries(root), ElementsAre(".publish.lock", "LATEST", "v000001",
                                         "v000002", "v000003"));
}

TEST(SnapshotPublishTest, KeepVersionsPrunesOldestButLoadedSnapshotsLive) {
  testutil::TempDir tmp;
  std::string root = tmp.path();
  testutil::TinyModel t = testutil::MakeTinyModel(5, 6, 3);
  PublishOptions options;
  options.keep_versions = 2;
  ASSERT_TRUE(PublishSnapshot(root, ContentsOf(t), options).ok());
  absl::StatusOr<std::shared_ptr<const Snapshot>> first =
      Snapshot::LoadLatest(root);
  ASSERT_TRUE(first.ok());
  for (int n = 0; n < 3; ++n) {
    ASSERT_TRUE(PublishSnapshot(root, ContentsOf(t), options).ok());
  }
  EXPECT_THAT(*ListVersions(root), ElementsAre("v000003", "v000004"));
  EXPECT_FALSE(HasTempEntries(root));
  // v000001 is gone from disk, but the loaded snapshot still reads it.
  EXPECT_FALSE(fs::exists(root + "/v000001"));
  EXPECT_EQ(FactorMatrix((*first)->item_factors()), t.model.item_factors);
  EXPECT_EQ((*first)->Predict(1, 2), t.model.Predict(1, 2));

  options.keep_versions = 1;
  ASSERT_TRUE(PublishSnapshot(root, ContentsOf(t), options).ok());
  EXPECT_THAT(*ListVersions(root), ElementsAre("v000005"));

  options.keep_versions = 0;  // keep everything
  for (int n = 0; n < 6; ++n) {
    ASSERT_TRUE(PublishSnapshot(root, ContentsOf(t), options).ok());
  }
  EXPECT_EQ(ListVersions(root)->size(), 7u);
}

TEST(SnapshotPublishTest, NameTakenBehindTheLocksBackIsSkipped) {
  testutil::TempDir tmp;
  std::string root = tmp.path();
  testutil::TinyModel t = testutil::MakeTinyModel(5, 6, 3);
  ASSERT_TRUE(PublishSnapshot(root, ContentsOf(t)).ok());
  // A plain file is not a version (ListVersions skips it), but it blocks the
  // name: the rename must fail and move on to the next number.
  testutil::WriteFile(root + "/v000002", "not a folder");
  absl::StatusOr<std::string> v = PublishSnapshot(root, ContentsOf(t));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, "v000003");
  absl::StatusOr<std::shared_ptr<const Snapshot>> snap =
      Snapshot::LoadLatest(root);
  ASSERT_TRUE(snap.ok()) << snap.status();
  EXPECT_EQ((*snap)->version(), "v000003");
}

TEST(SnapshotPublishTest, StaleTempEntriesAreRemovedFreshOnesKept) {
  testutil::TempDir tmp;
  std::string root = tmp.path();
  testutil::TinyModel t = testutil::MakeTinyModel(5, 6, 3);
  std::string stale = root + "/.tmp-v000001-1-deadbeef";
  std::string fresh = root + "/.tmp-v000001-2-cafef00d";
  fs::create_directories(stale);
  fs::create_directories(fresh);
  testutil::WriteFile(stale + "/user_factors.npy", "partial");
  testutil::WriteFile(root + "/LATEST.tmp", "v0000");
  struct timeval old[2] = {{::time(nullptr) - 7200, 0},
                           {::time(nullptr) - 7200, 0}};
  ASSERT_EQ(::utimes(stale.c_str(), old), 0);
  ASSERT_EQ(::utimes((root + "/LATEST.tmp").c_str(), old), 0);
  // Readers ignore temporary entries.
  EXPECT_TRUE(ListVersions(root)->empty());

  absl::StatusOr<std::string> v = PublishSnapshot(root, ContentsOf(t));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, "v000001");
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(fresh));

  PublishOptions options;
  options.stale_temp_age = absl::ZeroDuration();
  ASSERT_TRUE(PublishSnapshot(root, ContentsOf(t), options).ok());
  EXPECT_FALSE(HasTempEntries(root));
}

TEST(SnapshotPublishTest, InvalidContentsAreRejectedBeforeTouchingDisk) {
  testutil::TempDir tmp;
  std::string root = tmp.path();
  testutil::TinyModel t = testutil::MakeTinyModel(5, 6, 3);
  struct Case {
    std::string label;
    std::function<void(testutil::TinyModel&, SnapshotContents&,
                       PublishOptions&)>
        edit;
    std::string message;
  };
  std::vector<Case> cases = {
      {"no model", [](auto&, auto& c, auto&) { c.model = nullptr; },
       "contents.train and contents.model are required"},
      {"no algo", [](auto&, auto& c, auto&) { c.algo = ""; }, "algo is empty"},
      {"shape", [](auto& t, auto&, auto&) { t.model.item_bias.resize(5); },
       "does not match train (5 users, 6 items)"},
      {"nan", [](auto& t, auto&, auto&) { t.model.item_factors(4, 2) = NAN; },
       "model.item_factors has non-finite value nan at row 4, column 2"},
      {"huge", [](auto& t, auto&, auto&) { t.model.user_bias[1] = -2e6f; },
       "model.user_bias has out-of-range value -2e+06 at row 1, column 0"},
      {"inf mean",
       [](auto& t, auto&, auto&) { t.model.global_mean = INFINITY; },
       "global_mean"},
      {"bad rating index",
       [](auto& t, auto&, auto&) { t.train.ratings[3].item = 6; },
       "train.ratings[3] has user 1, item 6, outside the id maps"},
      {"metrics",
       [](auto&, auto& c, auto&) {
         c.metrics = {{"rmse", "low"}};
       },
       "'metrics.rmse' is not a finite number"},
      {"params", [](auto&, auto& c, auto&) { c.training_params = 3; },
       "'training_params' is not an object"},
      {"keep", [](auto&, auto&, auto& o) { o.keep_versions = -1; },
       "keep_versions is negative"},
  };
  for (const Case& c : cases) {
    testutil::TinyModel copy = t;
    SnapshotContents contents = ContentsOf(copy);
    PublishOptions options;
    c.edit(copy, contents, options);
    absl::StatusOr<std::string> v = PublishSnapshot(root, contents, options);
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument)
        << c.label << ": " << v.status();
    EXPECT_THAT(v.status().message(), HasSubstr(c.message)) << c.label;
  }
  // An id with a newline in an otherwise consistent model.
  testutil::TinyModel copy = testutil::MakeTinyModel(5, 6, 3);
  Dataset renamed;
  renamed.users.GetOrAdd("x\ny");
  for (int32_t u = 1; u < 5; ++u)
    renamed.users.GetOrAdd(copy.train.users.Id(u));
  renamed.items = copy.train.items;
  renamed.ratings = copy.train.ratings;
  SnapshotContents contents = ContentsOf(copy);
  contents.train = &renamed;
  EXPECT_THAT(PublishSnapshot(root, contents).status().message(),
              HasSubstr("user id at index 0 contains a newline"));
  EXPECT_TRUE(Entries(root).empty());
}

TEST(SnapshotPublishTest, InvalidRetrievalIsRejectedBeforeTouchingDisk) {
  testutil::TempDir tmp;
  std::string root = tmp.path();
  testutil::TinyModel t = testutil::MakeTinyModel(5, 6, 3);
  struct Case {
    std::string label;
    std::function<void(RetrievalModel&, SnapshotContents&)> edit;
    std::string message;
  };
  const std::string shape = "does not match train (5 users, 6 items)";
  std::vector<Case> cases = {
      {"user rows", [](auto& r, auto&) { r.user_factors.resize(4, 2); },
       "retrieval shape (user_factors 4x2, item_factors 6x2) " + shape},
      {"item rows", [](auto& r, auto&) { r.item_factors.resize(7, 2); },
       "item_factors 7x2"},
      {"widths differ", [](auto& r, auto&) { r.item_factors.resize(6, 3); },
       "(user_factors 5x2, item_factors 6x3)"},
      {"no factors",
       [](auto& r, auto&) {
         r.user_factors.resize(5, 0);
         r.item_factors.resize(6, 0);
       },
       "with k >= 1 factors"},
      {"nan", [](auto& r, auto&) { r.item_factors(5, 1) = NAN; },
       "retrieval.item_factors has non-finite value nan at row 5, column 1"},
      {"inf", [](auto& r, auto&) { r.user_factors(0, 0) = INFINITY; },
       "retrieval.user_factors has non-finite value inf at row 0, column 0"},
      {"params", [](auto&, auto& c) { c.retrieval_params = "alpha=2"; },
       "contents.retrieval_params is not a JSON object"},
      {"candidates", [](auto&, auto& c) { c.ranking.candidates = 0; },
       "contents.ranking.candidates is 0; must be at least 1"},
      {"blend high", [](auto&, auto& c) { c.ranking.blend_weight = 1.5f; },
       "contents.ranking.blend_weight is 1.5; must be in [0, 1]"},
      {"blend nan", [](auto&, auto& c) { c.ranking.blend_weight = NAN; },
       "contents.ranking.blend_weight is nan"},
  };
  for (const Case& c : cases) {
    RetrievalModel retrieval = testutil::MakeTinyRetrieval(5, 6, 2);
    SnapshotContents contents = ContentsOf(t);
    contents.retrieval = &retrieval;
    c.edit(retrieval, contents);
    absl::StatusOr<std::string> v = PublishSnapshot(root, contents);
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument)
        << c.label << ": " << v.status();
    EXPECT_THAT(v.status().message(), HasSubstr(c.message)) << c.label;
  }
  EXPECT_TRUE(Entries(root).empty());

  // Without embeddings the same ranking and params are not recorded, so not
  // checked either.
  SnapshotContents contents = ContentsOf(t);
  contents.retrieval_params = "alpha=2";
  contents.ranking.candidates = 0;
  absl::StatusOr<std::string> v = PublishSnapshot(root, contents);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ((*Snapshot::Load(root + "/" + *v))->ranking().candidates, 200);
}

TEST(SnapshotPublishTest, Format1And2VersionsAlternate) {
  testutil::TempDir tmp;
  std::string root = tmp.path();
  testutil::TinyModel t = testutil::MakeTinyModel(5, 6, 3);
  RetrievalModel retrieval = testutil::MakeTinyRetrieval(5, 6, 8);
  for (int n = 1; n <= 4; ++n) {
    SnapshotContents contents = ContentsOf(t);
    const bool with_retrieval = n % 2 == 0;
    if (with_retrieval) contents.retrieval = &retrieval;
    contents.ranking.candidates = 10 * n;
    ASSERT_TRUE(PublishSnapshot(root, contents).ok());
    absl::StatusOr<std::shared_ptr<const Snapshot>> snap =
        Snapshot::LoadLatest(root);
    ASSERT_TRUE(snap.ok()) << snap.status();
    EXPECT_EQ((*snap)->version(), FormatVersionName(n));
    EXPECT_EQ((*snap)->manifest().format_version, with_retrieval ? 2 : 1);
    EXPECT_EQ((*snap)->has_retrieval(), with_retrieval);
    EXPECT_EQ((*snap)->retrieval_factors(), with_retrieval ? 8 : 0);
    EXPECT_EQ((*snap)->ranking().candidates, with_retrieval ? 10 * n : 200);
    if (with_retrieval) {
      EXPECT_EQ(FactorMatrix((*snap)->item_embeddings()),
                retrieval.item_factors);
    }
  }
}

TEST(SnapshotPublishTest, ConcurrentPublishersGetDistinctVersions) {
  testutil::TempDir tmp;
  std::string root = tmp.path();
  testutil::TinyModel t = testutil::MakeTinyModel(50, 40, 8, 5);
  std::vector<pid_t> children;
  for (int c = 0; c < 2; ++c) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      PublishOptions options;
      options.keep_versions = 0;
      for (int n = 0; n < 4; ++n) {
        if (!PublishSnapshot(root, ContentsOf(t), options).ok()) ::_exit(1);
      }
      ::_exit(0);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  absl::StatusOr<std::vector<std::string>> versions = ListVersions(root);
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 8u);
  EXPECT_EQ(versions->back(), "v000008");
  EXPECT_EQ(*ResolveLatestVersion(root), "v000008");
  for (const std::string& v : *versions) {
    EXPECT_TRUE(Snapshot::Load(root + "/" + v).ok()) << v;
  }
}

// The crash test: a child publishes a largish snapshot in a loop and is
// SIGKILLed at random moments. After every kill, LATEST must name a
// complete snapshot that loads, and every version folder must load.
TEST(SnapshotPublishTest, SigkillAtRandomMomentsNeverBreaksLatest) {
  testutil::TempDir tmp;
  std::string root = tmp.path();
  testutil::TinyModel t = testutil::MakeTinyModel(3000, 2000, 32, 20);
  PublishOptions options;
  options.keep_versions = 3;
  const auto first_publish = std::chrono::steady_clock::now();
  ASSERT_TRUE(PublishSnapshot(root, ContentsOf(t), options).ok());
  // Kills land anywhere in about three publishes, so that some come
  // mid-publish and some after one completed, however slow the machine (a
  // sanitizer build, a loaded runner) makes a publish.
  const int64_t publish_us =
      std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::steady_clock::now() - first_publish)
          .count();
  const uint32_t window_us =
      static_cast<uint32_t>(std::max<int64_t>(150000, 3 * publish_us));

  std::mt19937 rng(20240501);
  int killed_mid_publish = 0;
  for (int round = 0; round < 20; ++round) {
    int temps_before = CountTempEntries(root);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      while (true) {
        if (!PublishSnapshot(root, ContentsOf(t), options).ok()) ::_exit(1);
      }
    }
    ::usleep(static_cast<useconds_t>(rng() % window_us));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "publisher failed on its own";
    killed_mid_publish += CountTempEntries(root) > temps_before;

    absl::StatusOr<std::string> latest = ResolveLatestVersion(root);
    ASSERT_TRUE(latest.ok()) << "round " << round << ": " << latest.status();
    absl::StatusOr<std::shared_ptr<const Snapshot>> snap =
        Snapshot::Load(root + "/" + *latest);
    ASSERT_TRUE(snap.ok()) << "round " << round << ": " << snap.status();
    EXPECT_EQ(FactorMatrix((*snap)->user_factors()), t.model.user_factors);
    absl::StatusOr<std::vector<std::string>> versions = ListVersions(root);
    ASSERT_TRUE(versions.ok()) << versions.status();
    for (const std::string& v : *versions) {
      absl::Status s = Snapshot::Load(root + "/" + v).status();
      EXPECT_TRUE(s.ok()) << "round " << round << ": " << s;
    }
  }
  int64_t last = ParseVersionName(*ResolveLatestVersion(root));
  EXPECT_GT(last, 1) << "no publish completed between kills";
  EXPECT_GT(killed_mid_publish, 0) << "no kill landed mid-publish";
  std::cout << "published " << last << " versions; " << killed_mid_publish
            << " of 20 kills left a temp entry behind\n";

  // The next publish works and clears what the dead publishers left.
  options.stale_temp_age = absl::ZeroDuration();
  absl::StatusOr<std::string> v = PublishSnapshot(root, ContentsOf(t), options);
  ASSERT_TRUE(v.ok()) << v.status();
  // Above LATEST's; one more if a kill landed between the rename and the
  // LATEST update (a complete folder that LATEST never named).
  EXPECT_GT(ParseVersionName(*v), last);
  EXPECT_LE(ParseVersionName(*v), last + 2);
  EXPECT_EQ(*ResolveLatestVersion(root), *v);
  EXPECT_FALSE(HasTempEntries(root));
  EXPECT_EQ(ListVersions(root)->size(), 3u);
}

}  // namespace
}  // namespace recserve
