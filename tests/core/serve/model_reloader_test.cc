#include "core/serve/model_reloader.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/serve/serving_model_loader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/serving_fixture.h"
#include "tests/testutil/temp_files.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;
using testutil::PublishTinySnapshot;
using testutil::TinySnapshotSpec;

TEST(ServingModelLoaderTest, SavesBuiltIndexesAndLoadsThemNextTime) {
  testutil::TempDir tmp;
  const std::string version = PublishTinySnapshot(tmp.path(), {});
  const std::string dir = tmp.Path(version);
  ServingModelLoadReport first;
  ASSERT_TRUE(LoadServingModel(dir, {}, &first).ok());
  EXPECT_FALSE(first.retrieval_index_loaded);
  EXPECT_FALSE(first.similarity_index_loaded);
  EXPECT_TRUE(first.warnings.empty());
  const std::string checksum = SnapshotChecksum(dir).value();
  EXPECT_EQ(first.checksum, checksum);
  for (const IndexSpace space :
       {IndexSpace::kInnerProduct, IndexSpace::kCosine}) {
    EXPECT_TRUE(std::filesystem::exists(
        absl::StrCat(dir, "/", IndexFileName(checksum, space, {}))));
  }
  ServingModelLoadReport second;
  absl::StatusOr<std::shared_ptr<const ServingModel>> model =
      LoadServingModel(dir, {}, &second);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_TRUE(second.retrieval_index_loaded);
  EXPECT_TRUE(second.similarity_index_loaded);
  EXPECT_EQ((*model)->checksum(), checksum);
}

TEST(ServingModelLoaderTest, IndexNamesDependOnContentAndParameters) {
  ItemIndexOptions other;
  other.m = 32;
  EXPECT_NE(IndexFileName("0a0b0c0d", IndexSpace::kCosine, {}),
            IndexFileName("0a0b0c0e", IndexSpace::kCosine, {}));
  EXPECT_NE(IndexFileName("0a0b0c0d", IndexSpace::kCosine, {}),
            IndexFileName("0a0b0c0d", IndexSpace::kInnerProduct, {}));
  EXPECT_NE(IndexFileName("0a0b0c0d", IndexSpace::kCosine, {}),
            IndexFileName("0a0b0c0d", IndexSpace::kCosine, other));
}

TEST(ServingModelLoaderTest, RebuildsACorruptSavedIndex) {
  testutil::TempDir tmp;
  const std::string dir = tmp.Path(PublishTinySnapshot(tmp.path(), {}));
  ASSERT_TRUE(BuildSnapshotIndexes(dir, {}).ok());
  const std::string path =
      absl::StrCat(dir, "/",
                   IndexFileName(SnapshotChecksum(dir).value(),
                                 IndexSpace::kInnerProduct, {}));
  std::string bytes = testutil::ReadFile(path);
  ASSERT_GT(bytes.size(), 100u);
  bytes[bytes.size() / 2] ^= 0x5a;
  testutil::WriteFile(path, bytes);
  ServingModelLoadReport report;
  ASSERT_TRUE(LoadServingModel(dir, {}, &report).ok());
  EXPECT_FALSE(report.retrieval_index_loaded);
  EXPECT_TRUE(report.similarity_index_loaded);
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_THAT(report.warnings[0], HasSubstr("rebuilding"));
}

class ModelReloaderTest : public ::testing::Test {
 protected:
  ModelReloaderOptions Options() {
    ModelReloaderOptions o;
    o.snapshot_root = tmp_.path();
    o.poll_interval = absl::Milliseconds(20);
    o.on_loaded = [this](const ServingModel& m, const ServingModelLoadReport&) {
      std::lock_guard lock(mu_);
      loaded_.push_back(m.snapshot().version());
    };
    o.on_rejected = [this](const std::string& v, const absl::Status& s) {
      std::lock_guard lock(mu_);
      rejected_.push_back(absl::StrCat(v, ": ", s.message()));
    };
    return o;
  }

  testutil::TempDir tmp_;
  std::mutex mu_;
  std::vector<std::string> loaded_, rejected_;
};

TEST_F(ModelReloaderTest, SwapsInNewVersionsAndKeepsPinnedModelsAlive) {
  ModelReloader reloader(Options());
  ASSERT_TRUE(reloader.PollOnce().ok()) << "nothing published is not an error";
  EXPECT_EQ(reloader.Current(), nullptr);

  TinySnapshotSpec spec;
  const std::string v1 = PublishTinySnapshot(tmp_.path(), spec);
  ASSERT_TRUE(reloader.PollOnce().ok());
  const std::shared_ptr<const ServingModel> pinned = reloader.Current();
  ASSERT_NE(pinned, nullptr);
  EXPECT_EQ(pinned->snapshot().version(), v1);

  spec.seed = 5;
  const std::string v2 = PublishTinySnapshot(tmp_.path(), spec);
  ASSERT_TRUE(reloader.PollOnce().ok());
  EXPECT_EQ(reloader.Current()->snapshot().version(), v2);
  // The request that pinned v1 still answers from v1.
  RecommendQuery q;
  q.user_id = "u1";
  q.n = 3;
  EXPECT_TRUE(pinned->Recommend(q, {}, {}).ok());
  EXPECT_EQ(pinned->snapshot().version(), v1);
  std::lock_guard lock(mu_);
  EXPECT_EQ(loaded_, (std::vector<std::string>{v1, v2}));
  EXPECT_TRUE(rejected_.empty());
}

TEST_F(ModelReloaderTest, RejectsACorruptVersionAndKeepsServingTheOldOne) {
  ModelReloader reloader(Options());
  const std::string good = PublishTinySnapshot(tmp_.path(), {});
  ASSERT_TRUE(reloader.PollOnce().ok());
  TinySnapshotSpec spec;
  spec.seed = 9;
  const std::string bad = PublishTinySnapshot(tmp_.path(), spec);
  // Damage a published file: its size and CRC no longer match the manifest.
  const std::string factors =
      absl::StrCat(tmp_.Path(bad), "/", kItemFactorsFile);
  std::string bytes = testutil::ReadFile(factors);
  bytes[bytes.size() - 1] ^= 0x01;
  std::filesystem::permissions(factors, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  testutil::WriteFile(factors, bytes);

  const absl::Status status = reloader.PollOnce();
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(reloader.Current()->snapshot().version(), good);
  // A rejected version is not retried on every poll.
  EXPECT_TRUE(reloader.PollOnce().ok());
  {
    std::lock_guard lock(mu_);
    ASSERT_EQ(rejected_.size(), 1u);
    EXPECT_THAT(rejected_[0], HasSubstr(bad));
    EXPECT_THAT(rejected_[0], HasSubstr(kItemFactorsFile));
  }
  // The next good version is taken.
  const std::string next = PublishTinySnapshot(tmp_.path(), {});
  ASSERT_TRUE(reloader.PollOnce().ok());
  EXPECT_EQ(reloader.Current()->snapshot().version(), next);
}

TEST_F(ModelReloaderTest, ThreadPollsUntilStopped) {
  ModelReloader reloader(Options());
  reloader.Start();
  const std::string v1 = PublishTinySnapshot(tmp_.path(), {});
  for (int i = 0; i < 500 && reloader.Current() == nullptr; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_NE(reloader.Current(), nullptr) << "not loaded within 5 s";
  EXPECT_EQ(reloader.Current()->snapshot().version(), v1);
  reloader.Stop();
  reloader.Stop();  // idempotent
  PublishTinySnapshot(tmp_.path(), {});
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(reloader.Current()->snapshot().version(), v1) << "stopped";
}

// Loading runs niced, so that a reload under load leaves the CPU to the
// requests; the callbacks run on the loading thread and see its priority.
TEST_F(ModelReloaderTest, LoadsAtTheConfiguredNiceValue) {
  ModelReloaderOptions o = Options();
  o.nice = 7;
  std::atomic<int> seen{-100};
  o.on_loaded = [&seen](const ServingModel&, const ServingModelLoadReport&) {
    errno = 0;
    seen =
        ::getpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)));
  };
  const int mine =
      ::getpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)));
  ModelReloader reloader(o);
  PublishTinySnapshot(tmp_.path(), {});
  reloader.Start();
  for (int i = 0; i < 500 && seen == -100; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  reloader.Stop();
  EXPECT_EQ(seen, std::min(19, mine + 7));
  // The caller's own thread is untouched.
  EXPECT_EQ(
      ::getpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid))),
      mine);
}

}  // namespace
}  // namespace recserve

namespace recserve {
namespace {

// Hot reload under load at the level ThreadSanitizer can see whole (the
// server's version runs through gRPC, which Debian does not build for TSan):
// reader threads pin and query models while the reloader thread swaps in
// version after version. Every answer comes from one whole model, and old
// models are freed once their readers let go.
TEST(ModelReloaderConcurrencyTest, ReadersQueryWhileVersionsSwap) {
  testutil::TempDir tmp;
  ModelReloaderOptions o;
  o.snapshot_root = tmp.path();
  o.poll_interval = absl::Milliseconds(1);
  o.nice = 0;
  PublishTinySnapshot(tmp.path(), {});
  ModelReloader reloader(o);
  ASSERT_TRUE(reloader.PollOnce().ok());
  reloader.Start();

  std::atomic<bool> stop{false};
  std::atomic<int64_t> answers{0}, failures{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      // Bounded: 200,000 queries per thread at most.
      for (int i = 0; !stop && i < 200'000; ++i) {
        const std::shared_ptr<const ServingModel> model = reloader.Current();
        RecommendQuery q;
        q.user_id = absl::StrCat("u", (t + i) % 40);
        q.n = 3;
        const absl::StatusOr<Recommendation> r = model->Recommend(q, {}, {});
        const std::string& version = model->snapshot().version();
        if (!r.ok() || r->items.size() != 3 || version.empty()) ++failures;
        ++answers;
      }
    });
  }
  std::weak_ptr<const ServingModel> first = reloader.Current();
  std::string last;
  for (int v = 0; v < 8; ++v) {
    TinySnapshotSpec spec;
    spec.seed = 20 + v;
    last = PublishTinySnapshot(tmp.path(), spec);
    for (int i = 0; i < 500 && reloader.Current()->snapshot().version() != last;
         ++i) {
      absl::SleepFor(absl::Milliseconds(2));
    }
    ASSERT_EQ(reloader.Current()->snapshot().version(), last);
  }
  stop = true;
  for (std::thread& r : readers) r.join();
  reloader.Stop();
  EXPECT_GT(answers.load(), 0);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_TRUE(first.expired()) << "the first model outlived its readers";
}

}  // namespace
}  // namespace recserve
