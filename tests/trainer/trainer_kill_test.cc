// The real recserve-train binary SIGKILLed at random moments of a run that
// trains, builds the server's indexes and publishes (--build_index): after
// every kill, LATEST names a complete version that the server's loader
// accepts with its saved indexes, and every version folder loads.
// (tests/core/snapshot/snapshot_publish_test kills the publishing code itself
// at a finer grain; this is the whole process, as an operator's job runner
// would kill it.)

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/serve/serving_model_loader.h"
#include "core/snapshot/snapshot.h"
#include "gtest/gtest.h"
#include "tests/testutil/run_command.h"
#include "tests/testutil/temp_files.h"

extern char** environ;

namespace recserve {
namespace {

// Starts `argv` with output discarded; returns its pid or -1.
pid_t Spawn(const std::vector<std::string>& argv) {
  std::vector<std::string> args = argv;
  std::vector<char*> c_args;
  for (std::string& a : args) c_args.push_back(a.data());
  c_args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null",
                                   O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null",
                                   O_WRONLY, 0);
  pid_t pid = -1;
  if (posix_spawn(&pid, c_args[0], &actions, nullptr, c_args.data(), environ) !=
      0) {
    pid = -1;
  }
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

int TempEntries(const std::string& root) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(root)) {
    n += e.path().filename().string().rfind(".tmp-", 0) == 0;
  }
  return n;
}

TEST(TrainerKillTest, SigkillAtRandomMomentsNeverBreaksLatest) {
  testutil::TempDir tmp;
  const std::string csv = tmp.Path("ratings.csv");
  const std::string root = tmp.Path("snapshots");
  ASSERT_EQ(
      testutil::RunCommand({RECSERVE_TRAIN_BINARY, "generate", "--users=400",
                            "--items=1500", "--ratings=30000", "--seed=5",
                            absl::StrCat("--out=", csv)})
          .exit_code,
      0);
  const std::vector<std::string> train = {RECSERVE_TRAIN_BINARY,
                                          absl::StrCat("--ratings=", csv),
                                          "--algo=als",
                                          "--factors=16",
                                          "--epochs=3",
                                          "--implicit_iterations=3",
                                          "--implicit_factors=32",
                                          "--split=none",
                                          "--build_index",
                                          "--keep_versions=3",
                                          absl::StrCat("--out=", root)};

  // One whole run first: a valid starting point, and how long a run takes.
  const absl::Time start = absl::Now();
  const testutil::CommandResult first = testutil::RunCommand(train);
  ASSERT_EQ(first.exit_code, 0) << first.out;
  const absl::Duration run = absl::Now() - start;

  std::mt19937 rng(20261123);
  int published = 0, left_temp = 0;
  for (int round = 0; round < 10; ++round) {
    const std::string before = *ResolveLatestVersion(root);
    const int temps_before = TempEntries(root);
    const pid_t pid = Spawn(train);
    ASSERT_GT(pid, 0);
    // Anywhere in the run, weighted to its second half, where the indexes
    // are built and the version is written and renamed into place.
    std::uniform_real_distribution<double> when(0.2, 1.1);
    absl::SleepFor(run * when(rng));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    const std::string latest_now = *ResolveLatestVersion(root);
    published += latest_now != before;
    left_temp += TempEntries(root) > temps_before;

    absl::StatusOr<std::string> latest = ResolveLatestVersion(root);
    ASSERT_TRUE(latest.ok()) << "round " << round << ": " << latest.status();
    ServingModelLoadOptions options;
    options.save_built_indexes = false;
    ServingModelLoadReport report;
    const auto model =
        LoadServingModel(absl::StrCat(root, "/", *latest), options, &report);
    ASSERT_TRUE(model.ok()) << "round " << round << ": " << model.status();
    EXPECT_TRUE(report.retrieval_index_loaded && report.similarity_index_loaded)
        << "round " << round << ": the version was published without its "
        << "indexes";
    const absl::StatusOr<std::vector<std::string>> versions =
        ListVersions(root);
    ASSERT_TRUE(versions.ok()) << versions.status();
    for (const std::string& v : *versions) {
      EXPECT_TRUE(Snapshot::Load(absl::StrCat(root, "/", v)).ok())
          << "round " << round << ": " << v;
    }
  }
  std::cout << "a run takes " << run << "; of 10 kills, " << published
            << " came after a publish and " << left_temp
            << " left a half-written version behind\n";
}

}  // namespace
}  // namespace recserve
