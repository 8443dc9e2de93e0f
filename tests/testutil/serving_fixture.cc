#include "tests/testutil/serving_fixture.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/file_util.h"
#include "core/snapshot/snapshot_writer.h"
#include "gtest/gtest.h"
#include "tests/testutil/build_cache.h"
#include "tests/testutil/run_command.h"
#include "tests/testutil/tiny_model.h"

namespace recserve::testutil {

std::string PublishTinySnapshot(const std::string& root,
                                const TinySnapshotSpec& spec) {
  const TinyModel tiny = MakeTinyModel(spec.users, spec.items, spec.factors,
                                       spec.ratings_per_user, spec.seed);
  RetrievalModel retrieval =
      MakeTinyRetrieval(spec.users, spec.items,
                        std::max(spec.retrieval_factors, 1), spec.seed + 1);
  for (int32_t i = 1; i < std::min(spec.same_direction_items, spec.items);
       ++i) {
    retrieval.item_factors.row(i) =
        retrieval.item_factors.row(0) * (1.0f + 0.01f * static_cast<float>(i));
  }
  SnapshotContents contents;
  contents.train = &tiny.train;
  contents.model = &tiny.model;
  contents.items = &tiny.catalog;
  contents.algo = "als";
  if (spec.retrieval_factors > 0) {
    contents.retrieval = &retrieval;
    contents.ranking = spec.ranking;
  }
  absl::StatusOr<std::string> version = PublishSnapshot(root, contents);
  EXPECT_TRUE(version.ok()) << version.status();
  return version.ok() ? *version : "";
}

std::string TrainGeneratedSnapshot(const std::string& dir, int32_t users,
                                   int32_t items, int64_t ratings,
                                   const std::string& extra_flag) {
  auto train = [&](const std::string& into) -> absl::Status {
    const std::string csv = absl::StrCat(into, "/ratings.csv");
    CommandResult generated = RunCommand(
        {RECSERVE_TRAIN_BINARY, "generate", absl::StrCat("--users=", users),
         absl::StrCat("--items=", items), absl::StrCat("--ratings=", ratings),
         "--seed=11", absl::StrCat("--out=", csv)});
    if (generated.exit_code != 0) {
      return absl::InternalError("generate failed: " + generated.out);
    }
    std::vector<std::string> command = {
        RECSERVE_TRAIN_BINARY,
        absl::StrCat("--ratings=", csv),
        absl::StrCat("--items=", into, "/movies.csv"),
        "--algo=als",
        "--eval_max_users=200",
        absl::StrCat("--out=", into, "/snapshots")};
    if (!extra_flag.empty()) command.push_back(extra_flag);
    CommandResult trained = RunCommand(command);
    if (trained.exit_code != 0) {
      return absl::InternalError("train failed: " + trained.out);
    }
    return absl::OkStatus();
  };
  const std::string key =
      absl::StrCat("generated-", users, "x", items, "x", ratings, "-",
                   Crc32ToHex(Crc32(extra_flag)));
  const absl::Status copied = CopyCachedFixture(key, dir, train);
  EXPECT_TRUE(copied.ok()) << copied;
  return absl::StrCat(dir, "/snapshots");
}

}  // namespace recserve::testutil
