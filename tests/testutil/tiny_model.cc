#include "tests/testutil/tiny_model.h"

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/file_util.h"
#include "core/snapshot_manifest.h"
#include "gtest/gtest.h"

namespace recserve {
namespace testutil {

TinyModel MakeTinyModel(int32_t num_users, int32_t num_items, int32_t factors,
                        int32_t ratings_per_user, uint64_t seed) {
  TinyModel t;
  for (int32_t u = 0; u < num_users; ++u)
    t.train.users.GetOrAdd(absl::StrCat("u", u));
  for (int32_t i = 0; i < num_items; ++i)
    t.train.items.GetOrAdd(absl::StrCat("i", i));
  for (int32_t u = 0; u + 1 < num_users; ++u) {
    for (int32_t j = 0; j < ratings_per_user; ++j) {
      t.train.ratings.push_back(Rating{u, (u * 7 + j * 3) % num_items,
                                       static_cast<float>(1 + (u + j) % 5),
                                       1000 * int64_t{u} + j});
    }
  }
  if (num_users > 1 && num_items > 0) {
    t.train.ratings.push_back(Rating{0, 0, 4.0f, 5});
    t.train.ratings.push_back(Rating{0, 0, 2.0f, 6});
  }
  t.model = MakeInitialModel(num_users, num_items, factors, 0.5f, seed);
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::uniform_real_distribution<float> bias(-1.0f, 1.0f);
  for (int32_t u = 0; u < num_users; ++u) t.model.user_bias[u] = bias(rng);
  for (int32_t i = 0; i < num_items; ++i) t.model.item_bias[i] = bias(rng);
  t.model.global_mean = 3.25f;
  t.model.scale = RatingScale{1.0f, 5.0f, 1.0f};
  for (int32_t i = 0; i < num_items; i += 2) {
    t.catalog[absl::StrCat("i", i)] =
        ItemMetadata{absl::StrCat("Amélie ", i, " \xe2\x98\x85\tpart\ntwo"),
                     {"Comedy", "Romance"}};
  }
  return t;
}

namespace {

// Folders made by MakeTempDir, removed when the test binary exits normally
// (forked children leave through _exit and remove nothing).
class ScratchDirs {
 public:
  ~ScratchDirs() {
    if (std::getenv("RECSERVE_KEEP_TEST_DIRS") != nullptr) return;
    for (const std::string& dir : dirs_) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  }
  void Add(std::string dir) {
    absl::MutexLock lock(&mu_);
    dirs_.push_back(std::move(dir));
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> dirs_ ABSL_GUARDED_BY(mu_);
};

ScratchDirs& Scratch() {
  static ScratchDirs dirs;
  return dirs;
}

}  // namespace

std::string MakeTempDir() {
  std::string templ = absl::StrCat(::testing::TempDir(), "/snapshot_XXXXXX");
  if (::mkdtemp(templ.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp failed for " << templ;
  }
  Scratch().Add(templ);
  return templ;
}

std::string ReadFileOrDie(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFileToString(path);
  if (!bytes.ok()) {
    ADD_FAILURE() << bytes.status();
    return "";
  }
  return *bytes;
}

void WriteFileOrDie(const std::string& path, const std::string& bytes) {
  // No fsync: tests rewrite files often and do not simulate power loss.
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) ADD_FAILURE() << "cannot write " << path;
}

void ReplaceFileKeepingManifestValid(const std::string& dir,
                                     const std::string& name,
                                     const std::string& bytes) {
  WriteFileOrDie(absl::StrCat(dir, "/", name), bytes);
  std::string manifest_path = absl::StrCat(dir, "/manifest.json");
  absl::StatusOr<SnapshotManifest> manifest =
      ParseManifest(ReadFileOrDie(manifest_path));
  if (!manifest.ok()) {
    ADD_FAILURE() << manifest.status();
    return;
  }
  manifest->files[name] = SnapshotFileInfo{bytes.size(), Crc32(bytes)};
  WriteFileOrDie(manifest_path, ManifestToJson(*manifest));
}

}  // namespace testutil
}  // namespace recserve
